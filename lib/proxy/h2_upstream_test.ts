/**
 * The h2 pool against an in-process HTTP/2 backend built on the project's own
 * server session (lib/http2/session.ts) over node:net, scripted per test:
 * multiplexing, SETTINGS_MAX_CONCURRENT_STREAMS, REFUSED_STREAM and GOAWAY
 * replays, resets, and the HTTP/1.1 rendering of responses (chunked with
 * trailers, trailers-only, HEAD) with the gRPC status reported.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ErrorCode, goawayFrame } from "../http2/frames.ts";
import type { H2ServerSession } from "../http2/session.ts";
import { backend, echo, slowEcho } from "./h2_test_backend.ts";
import { H2UpstreamPool } from "./h2_upstream.ts";
import type { UpstreamConnection } from "./upstream_pool.ts";

/** Sends one HTTP/1.1 request over a stream connection; resolves with the HTTP/1.1 bytes back. */
function exchange(
  conn: UpstreamConnection,
  head: string,
  body = "",
): Promise<{ text: string; closedWithError: boolean }> {
  return new Promise((resolve) => {
    let text = "";
    const done = () =>
      /\r\n\r\n$/.test(text) && (/\r\n0\r\n/.test(text) || /content-length: 0/.test(text));
    conn.owner = {
      onUpstreamData(chunk) {
        text += Buffer.from(chunk).toString("latin1");
        if (done()) resolve({ text, closedWithError: false });
      },
      onUpstreamEnd: () => {},
      onUpstreamClose: (e) => resolve({ text, closedWithError: e !== null }),
      onUpstreamDrain: () => {},
    };
    conn.write(head);
    if (body !== "") conn.write(new TextEncoder().encode(body));
  });
}

const post = (body: string, path = "/pkg.Svc/Call") =>
  `POST ${path} HTTP/1.1\r\nhost: backend.test\r\ncontent-type: application/grpc\r\n` +
  `te: trailers\r\nconnection: te\r\ncontent-length: ${body.length}\r\n\r\n`;

function pool(port: number, onGrpcStatus: ((code: string) => void) | null = null) {
  return new H2UpstreamPool({
    host: "127.0.0.1",
    port,
    maxIdle: 8,
    idleTimeoutMs: 4000,
    h2: true,
    onGrpcStatus,
  });
}

async function call(p: H2UpstreamPool, body: string, path?: string) {
  const conn = p.acquire() ?? await p.connect(5000);
  const r = await exchange(conn, post(body, path), body);
  p.release(conn, 0);
  return r;
}

Deno.test({
  name:
    "h2 pool: a request becomes a stream; the response comes back as HTTP/1.1 chunked with trailers; gRPC status reported",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend(echo);
    const codes: string[] = [];
    const p = pool(b.port, (c) => codes.push(c));
    try {
      const r = await call(p, "ping");
      assert.equal(r.closedWithError, false);
      assert.equal(
        r.text,
        "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\nx-path: /pkg.Svc/Call\r\n" +
          "transfer-encoding: chunked\r\n\r\n4\r\nping\r\n0\r\ngrpc-status: 0\r\ngrpc-message: OK\r\n\r\n",
      );
      assert.deepEqual(b.requests, ["POST /pkg.Svc/Call ping"]);
      assert.deepEqual(codes, ["0"]);
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name:
    "h2 pool: a trailers-only response is a bodiless HTTP/1.1 response with its status fields; HEAD gets no framing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend(({ stream, request }, session) => {
      if (request.method === "HEAD") {
        session.respond(stream, 200, ["content-length"], ["12"], true);
        return;
      }
      session.respond(
        stream,
        200,
        ["content-type", "grpc-status", "grpc-message"],
        ["application/grpc", "5", "not found"],
        true,
      );
    });
    const codes: string[] = [];
    const p = pool(b.port, (c) => codes.push(c));
    try {
      const r = await call(p, "x");
      assert.equal(
        r.text,
        "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 5\r\n" +
          "grpc-message: not found\r\ncontent-length: 0\r\n\r\n",
      );
      assert.deepEqual(codes, ["5"]);
      const conn = p.acquire() ?? await p.connect(5000);
      const head = await new Promise<string>((resolve) => {
        conn.owner = {
          onUpstreamData: (c) => resolve(Buffer.from(c).toString("latin1")),
          onUpstreamEnd: () => {},
          onUpstreamClose: () => {},
          onUpstreamDrain: () => {},
        };
        conn.write("HEAD /x HTTP/1.1\r\nhost: b\r\n\r\n");
      });
      p.release(conn, 0);
      assert.equal(head, "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n");
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name: "h2 pool: concurrent requests share one connection (multiplexed streams)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend(slowEcho);
    const p = pool(b.port);
    try {
      await call(p, "first"); // the connection and the backend's SETTINGS are in place
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => call(p, `m${i}`)),
      );
      for (const [i, r] of results.entries()) assert.match(r.text, new RegExp(`\r\nm${i}\r\n`));
      assert.equal(b.connections, 1);
      assert.ok(b.peakStreams > 1, `streams open at once: ${b.peakStreams}`);
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name: "h2 pool: a cold pool under concurrent requests makes one connection (they wait for it)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend(slowEcho);
    const p = pool(b.port);
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(p, `k${i}`)));
      for (const [i, r] of results.entries()) assert.match(r.text, new RegExp(`\r\nk${i}\r\n`));
      assert.equal(b.connections, 1);
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name:
    "h2 pool: SETTINGS_MAX_CONCURRENT_STREAMS honoured: streams past it go to other connections",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend(slowEcho, 2);
    const p = pool(b.port);
    try {
      await call(p, "first");
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => call(p, `c${i}`)),
      );
      for (const [i, r] of results.entries()) {
        assert.equal(r.closedWithError, false);
        assert.match(r.text, new RegExp(`\r\nc${i}\r\n`));
      }
      assert.ok(b.peakStreams <= 2, `at most 2 streams per connection (${b.peakStreams})`);
      assert.ok(b.connections >= 3, `6 streams at 2 per connection: ${b.connections} connections`);
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name:
    "h2 pool: REFUSED_STREAM is replayed (head and body) and answered; other resets fail the attempt",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend((ctx, session, socket) => {
      if (ctx.nth === 0) session.resetStream(ctx.stream, ErrorCode.REFUSED_STREAM);
      else if (new TextDecoder().decode(ctx.body) === "boom") {
        session.resetStream(ctx.stream, ErrorCode.INTERNAL_ERROR);
      } else echo(ctx, session, socket);
    });
    const p = pool(b.port);
    try {
      const r = await call(p, "again");
      assert.equal(r.closedWithError, false);
      assert.match(r.text, /\r\nagain\r\n0\r\ngrpc-status: 0/);
      assert.deepEqual(b.requests, ["POST /pkg.Svc/Call again", "POST /pkg.Svc/Call again"]);
      const failed = await call(p, "boom");
      assert.equal(failed.closedWithError, true);
      assert.equal(failed.text, "");
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name:
    "h2 pool: a GOAWAY below a stream replays it on a new connection, which replaces the one going away",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend((ctx, session, socket) => {
      if (ctx.conn === 0) {
        // going away without having processed it: last-stream-id 0
        socket.write(goawayFrame(0, ErrorCode.NO_ERROR));
        return;
      }
      echo(ctx, session, socket);
    });
    const p = pool(b.port);
    try {
      const r = await call(p, "moved");
      assert.equal(r.closedWithError, false);
      assert.match(r.text, /\r\nmoved\r\n/);
      assert.equal(b.connections, 2);
      const again = await call(p, "next");
      assert.match(again.text, /\r\nnext\r\n/);
      assert.equal(b.connections, 2, "the new connection serves the next request");
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name: "h2 pool: a backend that is not there is a ConnectError, as for HTTP/1.1",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend(echo);
    const port = b.port;
    await b.close();
    await assert.rejects(
      pool(port).connect(2000),
      /connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED|refused/i,
    );
  },
});

Deno.test({
  name:
    "h2 pool: a connection idle past the keep-alive timeout is closed by reap (GOAWAY); a busy one is kept",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await backend(echo);
    const p = pool(b.port); // idleTimeoutMs 4000
    try {
      const conn = await p.connect(5000);
      await exchange(conn, post("a"), "a");
      p.release(conn, 1_000);
      p.reap(4_000); // idle for 3 s: kept
      const again = p.acquire();
      assert.ok(again !== null, "the idle connection is kept and takes a stream");
      again.destroy(); // given up before its request: the connection is idle again
      p.reap(6_000); // idle for 5 s: closed
      assert.equal(p.acquire(), null, "no connection left to take a stream");

      const busy = await p.connect(5000); // a stream handed out, its request not sent yet
      p.reap(1_000_000);
      p.reap(2_000_000);
      const r = await exchange(busy, post("kept"), "kept");
      assert.match(r.text, /\r\nkept\r\n/, "the busy connection was kept");
      p.release(busy, 0);
      assert.equal(b.connections, 2);
    } finally {
      p.retire();
      await b.close();
    }
  },
});

Deno.test({
  name:
    "h2 pool: a reader that stops reading stops the backend (bounded buffering: the stream window is not reopened); resuming gets the rest",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const TOTAL = 512 * 1024;
    const CHUNK = new Uint8Array(16 * 1024).fill(120);
    let sent = 0;
    const pump = (stream: number, session: H2ServerSession) => {
      while (sent < TOTAL) {
        sent += CHUNK.length;
        if (!session.sendData(stream, CHUNK, sent >= TOTAL)) return;
      }
    };
    const b = await backend(({ stream }, session) => {
      session.respond(stream, 200, ["content-length"], [String(TOTAL)], false);
      pump(stream, session);
    });
    b.onWritable = pump;
    const p = pool(b.port);
    try {
      const conn = await p.connect(5000);
      let received = 0;
      const all = new Promise<void>((resolve) => {
        conn.owner = {
          onUpstreamData(chunk) {
            if (received === 0) conn.socket.pause(); // the client is slow: the relay pauses
            received += chunk.length;
            if (received >= TOTAL) resolve();
          },
          onUpstreamEnd: () => {},
          onUpstreamClose: () => {},
          onUpstreamDrain: () => {},
        };
      });
      conn.write("GET /big HTTP/1.1\r\nhost: b\r\n\r\n");
      await waitFor(() => sent > 0);
      await new Promise((r) => setTimeout(r, 300));
      // bounded: one stream window (64 KiB), what the paused reader's buffer takes before it
      // says full (its highWaterMark, credited back at once), and the chunk in flight
      assert.ok(sent <= 128 * 1024, `sent ${sent} of ${TOTAL} while the reader was paused`);
      conn.socket.resume();
      await all;
      assert.ok(received >= TOTAL);
      p.release(conn, 0);
    } finally {
      p.retire();
      await b.close();
    }
  },
});

async function waitFor(predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
