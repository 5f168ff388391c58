import assert from "node:assert/strict";
import type { BackendView } from "../group/snapshot.ts";
import { FetchTransport } from "./fetch_transport.ts";
import { type Attempt, UpstreamError } from "./transport.ts";

/** An attempt on 127.0.0.1:`port` that records the observer's calls. */
function attempt(port: number, events: string[], responseTimeoutMs = 5000): Attempt {
  return {
    backend: { host: "127.0.0.1", port } as BackendView,
    fresh: false,
    target: "/x",
    clientIp: "192.0.2.7",
    connectTimeoutMs: 1000,
    responseTimeoutMs,
    observer: {
      head: (status) => events.push(`head ${status}`),
      end: (status, complete) => events.push(`end ${status} ${complete}`),
    },
  };
}

Deno.test("FetchTransport: a response body cancelled by the client ends the attempt once, incomplete", async () => {
  let cancelled = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream({
        start: (c) => c.enqueue(new TextEncoder().encode("first")),
        cancel: () => {
          cancelled = true;
        },
      }),
    ));
  try {
    const events: string[] = [];
    const res = await new FetchTransport().forward(
      new Request("http://shop.example/x"),
      attempt(server.addr.port, events),
    );
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "first");
    assert.deepEqual(events, ["head 200"], "in flight while the body streams");
    await reader.cancel();
    assert.deepEqual(events, ["head 200", "end 200 false"]);
    // the backend's stream is cancelled too: the fetch was let go
    for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cancelled, true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("FetchTransport: no head in time is a timeout; a refused connection is connect_failed", async () => {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => release = r);
  const silent = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await held;
    return new Response("late");
  });
  try {
    const events: string[] = [];
    const t0 = performance.now();
    const e = await new FetchTransport().forward(
      new Request("http://shop.example/x"),
      attempt(silent.addr.port, events, 300),
    ).catch((e) => e);
    assert.ok(e instanceof UpstreamError, String(e));
    assert.equal(e.cause502, "timeout");
    // a request without a body: connect (1000 ms) + response (300 ms) timeout
    assert.ok(performance.now() - t0 >= 1200, `${performance.now() - t0} ms`);
    assert.deepEqual(events, [], "no head, no end: the caller releases");
  } finally {
    release();
    await silent.shutdown();
  }
  // the same port, closed now: refused
  const closed = silent.addr.port;
  const e = await new FetchTransport().forward(
    new Request("http://shop.example/x"),
    attempt(closed, []),
  ).catch((e) => e);
  assert.ok(e instanceof UpstreamError, String(e));
  assert.equal(e.cause502, "connect_failed", e.message);
  assert.deepEqual(e.progress, {
    headSent: true, // fetch does not say nothing was sent
    bodySent: false,
    reusedConnection: false,
    responseStarted: false,
  });
});
