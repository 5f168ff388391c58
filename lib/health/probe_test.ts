import assert from "node:assert/strict";
import net from "node:net";
import fs from "node:fs";
import { startHttpsBackend } from "../../tests/support/https_backend.ts";
import { tempDir } from "../../tests/support/processes.ts";
import { makeCa, makeCert } from "../../tests/support/tls.ts";
import { probe, type ProbeTarget } from "./probe.ts";

/**
 * A local TCP server that answers every connection with `reply` (a raw
 * response, or null to stay silent), recording what each client sent.
 */
async function rawServer(
  reply: string | null | ((request: string) => string | null),
  options: { closeAfter?: boolean } = {},
): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let got = "";
    socket.on("data", (chunk) => {
      got += chunk.toString("latin1");
      if (!got.includes("\r\n\r\n")) return;
      requests.push(got);
      const r = typeof reply === "function" ? reply(got) : reply;
      if (r !== null) socket.write(r);
      if (options.closeAfter) socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const http = (port: number, extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
  host: "127.0.0.1",
  port,
  type: "http",
  path: "/health",
  expectedStatus: 200,
  timeoutMs: 5000,
  ...extra,
});

const response = (status: number, reason = "X") =>
  `HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\n\r\n`;

Deno.test("probe() over HTTP succeeds on the expected status and fails on any other", async () => {
  const table: [number, number, boolean, string | null][] = [
    // answered, expected, ok, error
    [200, 200, true, null],
    [204, 204, true, null],
    [503, 200, false, "status 503, expected 200"],
    [200, 204, false, "status 200, expected 204"],
    [301, 200, false, "status 301, expected 200"],
  ];
  for (const [answered, expected, ok, error] of table) {
    const server = await rawServer(response(answered));
    try {
      const r = await probe(http(server.port, { expectedStatus: expected }));
      assert.deepEqual(r, { ok, error, status: answered }, `${answered} vs ${expected}`);
    } finally {
      await server.close();
    }
  }
});

Deno.test("probe() sends a GET of the health path with host, user-agent and connection: close", async () => {
  const server = await rawServer(response(200));
  try {
    const r = await probe(http(server.port, { path: "/ready?deep=1" }));
    assert.equal(r.ok, true);
    const [request] = server.requests;
    const lines = request!.split("\r\n");
    assert.equal(lines[0], "GET /ready?deep=1 HTTP/1.1");
    assert.ok(lines.includes(`host: 127.0.0.1:${server.port}`), request);
    assert.ok(lines.includes("user-agent: switchyard-health/1"), request);
    assert.ok(lines.includes("connection: close"), request);
  } finally {
    await server.close();
  }
});

Deno.test("probe() brackets an IPv6 host in the host header", async () => {
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.on("data", (c) => {
      requests.push(c.toString("latin1"));
      socket.end(response(200));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const r = await probe({ ...http(port), host: "::1" });
    assert.equal(r.ok, true);
    assert.ok(requests[0]!.includes(`host: [::1]:${port}\r\n`), requests[0]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("probe() skips an interim 1xx response and judges the final one in the same chunk", async () => {
  const server = await rawServer("HTTP/1.1 100 Continue\r\n\r\n" + response(200));
  try {
    assert.deepEqual(await probe(http(server.port)), { ok: true, error: null, status: 200 });
  } finally {
    await server.close();
  }
});

Deno.test("probe() judges a response head that arrives in pieces", async () => {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => {
      socket.write("HTTP/1.1 50");
      setTimeout(() => socket.write("3 Busy\r\ncontent-length: 0\r\n"), 20);
      setTimeout(() => socket.write("\r\n"), 40);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    assert.deepEqual(await probe(http(port)), {
      ok: false,
      error: "status 503, expected 200",
      status: 503,
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("probe() times out against a server that never answers, after about its timeout", async () => {
  const server = await rawServer(null);
  try {
    const started = performance.now();
    const r = await probe(http(server.port, { timeoutMs: 200 }));
    const took = performance.now() - started;
    assert.deepEqual(r, { ok: false, error: "timeout after 200 ms", status: null });
    assert.ok(took >= 190, `resolved after ${took} ms`);
    assert.ok(took < 5000, `resolved after ${took} ms`);
    assert.equal(server.requests.length, 1, "the request did reach the server");
  } finally {
    await server.close();
  }
});

Deno.test("probe() reports a refused connection with its code, in both modes", async () => {
  const port = await closedPort();
  for (const type of ["http", "tcp"] as const) {
    const r = await probe(http(port, { type }));
    assert.deepEqual(r, { ok: false, error: "ECONNREFUSED", status: null }, type);
  }
});

Deno.test("probe() in TCP mode succeeds on connect and sends nothing", async () => {
  let connected = 0;
  let received = 0;
  const server = net.createServer((socket) => {
    connected++;
    socket.on("error", () => {});
    socket.on("data", (c) => (received += c.length));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const r = await probe(http(port, { type: "tcp" }));
    assert.deepEqual(r, { ok: true, error: null, status: null });
    const deadline = Date.now() + 5000;
    while (connected === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(connected, 1);
    assert.equal(received, 0);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("probe() fails on a connection closed before a response", async () => {
  const server = await rawServer("", { closeAfter: true });
  try {
    assert.deepEqual(await probe(http(server.port)), {
      ok: false,
      error: "connection closed",
      status: null,
    });
  } finally {
    await server.close();
  }
});

Deno.test("probe() fails on a response that is not HTTP", async () => {
  const server = await rawServer("SSH-2.0-OpenSSH\r\n\r\n");
  try {
    const r = await probe(http(server.port));
    assert.equal(r.ok, false);
    assert.equal(r.status, null);
    assert.match(r.error!, /^invalid response: /);
  } finally {
    await server.close();
  }
});

Deno.test("probe() fails on a response head larger than 64 KiB", async () => {
  const server = await rawServer(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70 * 1024)}`);
  try {
    assert.deepEqual(await probe(http(server.port)), {
      ok: false,
      error: "response head too large",
      status: null,
    });
  } finally {
    await server.close();
  }
});

Deno.test("probe() judges the final response when interim 1xx heads arrive in separate pieces", async () => {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => {
      socket.write("HTTP/1.1 100 Continue\r\n\r\n");
      setTimeout(() => socket.write("HTTP/1.1 102 Processing\r\n\r\n"), 20);
      setTimeout(() => socket.write(response(204)), 40);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    assert.deepEqual(await probe(http(port, { expectedStatus: 204 })), {
      ok: true,
      error: null,
      status: 204,
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("probe() over TLS: healthy through a verified handshake; a plain-HTTP backend or a wrong name fails", async () => {
  const dir = tempDir("uptls-probe");
  const ca = makeCa(dir);
  const backend = await startHttpsBackend(makeCert(dir, "b", "/CN=b.test", ["b.test"], ca));
  const plain = await rawServer("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
  const tls = (servername: string) => ({
    servername,
    ca: fs.readFileSync(ca.cert, "utf8"),
    rejectUnauthorized: true,
    ALPNProtocols: ["http/1.1"],
  });
  const target = (port: number, type: "http" | "tcp", servername = "b.test"): ProbeTarget => ({
    host: "127.0.0.1",
    port,
    type,
    path: "/health",
    expectedStatus: 200,
    timeoutMs: 5000,
    tls: tls(servername),
  });
  try {
    assert.deepEqual(await probe(target(backend.port, "http")), {
      ok: true,
      error: null,
      status: 200,
    });
    assert.deepEqual(await probe(target(backend.port, "tcp")), {
      ok: true,
      error: null,
      status: null,
    });
    // (the tcp probe resets right after its handshake: the server may not see it complete)
    assert.equal(backend.servernames[0], "b.test", "the probe sent the SNI name");
    assert.equal(backend.requests(), 1, "the http probe sent its GET inside TLS");

    const wrongName = await probe(target(backend.port, "http", "else.test"));
    assert.equal(wrongName.ok, false);
    assert.match(wrongName.error!, /^TLS: ERR_TLS_CERT_ALTNAME_INVALID/);
    for (const type of ["http", "tcp"] as const) {
      // this plain server waits for a request head a ClientHello never completes: a timeout
      const r = await probe({ ...target(plain.port, type), timeoutMs: 1000 });
      assert.equal(r.ok, false, `${type} probe of a plain backend`);
      assert.match(r.error!, /^TLS: |^timeout/);
    }
    // the plain backend answers a plain probe (positive control)
    const { tls: _, ...plainTarget } = target(plain.port, "http");
    assert.equal((await probe(plainTarget)).ok, true);
  } finally {
    await backend.close();
    await plain.close();
  }
});
