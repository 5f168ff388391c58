/**
 * ClientConnection over a real loopback socket pair, with a real backend
 * socket behind it: pipelining order, head limits, the header timeout and
 * idle close (the sweeper's clock is passed in).
 */
import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import net from "node:net";
import { ClientConnection } from "./client_connection.ts";
import type { ProxyLimits } from "./context.ts";
import { testContext, testListener, testRuntime } from "./testing.ts";

/** A backend answering each request with its path as the body, `/slow` after 150 ms. */
async function backend(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    let buf = "";
    let queue = Promise.resolve();
    s.on("data", (d) => {
      buf += d.toString("latin1");
      let end;
      while ((end = buf.indexOf("\r\n\r\n")) >= 0) {
        const path = buf.slice(0, end).split(" ")[1]!;
        buf = buf.slice(end + 4);
        queue = queue.then(async () => {
          if (path === "/slow") await new Promise((r) => setTimeout(r, 150));
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`);
        });
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

interface Proxy {
  port: number;
  connections: ClientConnection[];
  close(): void;
}

/** A listener wrapping each accepted socket in a ClientConnection. */
async function proxy(
  backendPort: number | null,
  limits: Partial<ProxyLimits> = {},
): Promise<Proxy> {
  const runtime = testRuntime(
    backendPort === null ? undefined : { backend_servers: [`127.0.0.1:${backendPort}`] },
  );
  const ctx = testListener(testContext(runtime, { limits }));
  const connections: ClientConnection[] = [];
  const server = net.createServer((socket) => {
    connections.push(new ClientConnection(socket, ctx, () => {}));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => {
      for (const c of connections) c.socket.destroy();
      for (const p of runtime.pools.values()) p.closeIdle();
      server.close();
    },
  };
}

/** A raw client: everything it received, and whether the proxy closed on it. */
async function client(port: number) {
  const socket = net.connect({ port, host: "127.0.0.1" });
  await new Promise<void>((r, j) => socket.once("connect", r).once("error", j));
  const got = { text: "", ended: false };
  socket.on("data", (d: Buffer) => got.text += d.toString("latin1"));
  socket.on("end", () => got.ended = true);
  socket.on("close", () => got.ended = true);
  socket.on("error", () => {});
  return { socket, got };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("ClientConnection answers pipelined requests in order, one at a time", async () => {
  const b = await backend();
  const p = await proxy(b.port);
  const { socket, got } = await client(p.port);
  try {
    socket.write(
      "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n" +
        "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    await until("the connection to close", () => got.ended);
    const bodies = [...got.text.matchAll(/\r\n\r\n(\/[a-z]+)/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ["/slow", "/fast", "/last"]);
    assert.equal(got.text.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
    assert.match(got.text, /connection: close\r\n/i);
    assert.equal(p.connections[0]!.requests, 3);
  } finally {
    socket.destroy();
    p.close();
    b.close();
  }
});

/** [name, request bytes, limits, expected status] */
const REFUSALS: [string, string, Partial<ProxyLimits>, number][] = [
  [
    "a head over max_header_bytes gets 431",
    `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"x".repeat(2000)}\r\n\r\n`,
    { maxHeaderBytes: 1024 },
    431,
  ],
  [
    "a head over max_header_bytes that never ends gets 431",
    `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"x".repeat(2000)}`,
    { maxHeaderBytes: 1024 },
    431,
  ],
  [
    "more fields than max_header_count get 431",
    `GET / HTTP/1.1\r\nHost: a\r\n${"X-F: 1\r\n".repeat(5)}\r\n`,
    { maxHeaderCount: 3 },
    431,
  ],
  [
    "a target over max_uri_length gets 414",
    `GET /${"a".repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    { maxUriLength: 100 },
    414,
  ],
  ["a bare LF gets 400 before the head ends", "GET / HTTP/1.1\nHost: a\n", {}, 400],
  ["a missing Host gets 400", "GET / HTTP/1.1\r\n\r\n", {}, 400],
];

for (const [name, bytes, limits, status] of REFUSALS) {
  Deno.test(`ClientConnection: ${name} and closes`, async () => {
    const p = await proxy(null, limits);
    const { socket, got } = await client(p.port);
    try {
      socket.write(bytes);
      await until("the connection to close", () => got.ended);
      assert.match(got.text, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(got.text, /connection: close\r\n/);
    } finally {
      socket.destroy();
      p.close();
    }
  });
}

Deno.test("ClientConnection answers 503 with Retry-After before any config", async () => {
  const p = await proxy(null);
  const { socket, got } = await client(p.port);
  try {
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the connection to close", () => got.ended);
    assert.match(got.text, /^HTTP\/1\.1 503 /);
    assert.match(got.text, /retry-after: 1\r\n/);
  } finally {
    socket.destroy();
    p.close();
  }
});

Deno.test("ClientConnection answers an incomplete head 408 at the header timeout", async () => {
  const p = await proxy(null, { headerTimeoutMs: 5_000 });
  const { socket, got } = await client(p.port);
  try {
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n");
    await until("the proxy to accept", () => p.connections.length === 1);
    const conn = p.connections[0]!;
    await until("the bytes to arrive", () => (conn.socket as net.Socket).bytesRead > 0);
    conn.checkTimeouts(performance.now()); // before the deadline: nothing
    assert.equal(conn.deadline > performance.now(), true);
    conn.checkTimeouts(performance.now() + 6_000);
    await until("the connection to close", () => got.ended);
    assert.match(got.text, /^HTTP\/1\.1 408 /);
    assert.match(got.text, /request head timeout/);
  } finally {
    socket.destroy();
    p.close();
  }
});

Deno.test("ClientConnection closes an idle keep-alive connection silently at the idle timeout", async () => {
  const b = await backend();
  const p = await proxy(b.port, { idleTimeoutMs: 5_000 });
  const { socket, got } = await client(p.port);
  try {
    socket.write("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the response", () => got.text.endsWith("/one"));
    const conn = p.connections[0]!;
    assert.ok(conn.idle);
    const answered = got.text.length;
    conn.checkTimeouts(performance.now() + 1_000); // within the idle timeout: still open
    socket.write("GET /two HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the second response", () => got.text.endsWith("/two"));
    assert.equal(got.ended, false);
    assert.ok(got.text.length > answered);
    const sent = got.text.length;
    conn.checkTimeouts(performance.now() + 6_000);
    await until("the connection to close", () => got.ended);
    assert.equal(got.text.length, sent, "no bytes (no 408) for an idle connection");
  } finally {
    socket.destroy();
    p.close();
    b.close();
  }
});
