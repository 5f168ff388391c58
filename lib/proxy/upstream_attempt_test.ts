/**
 * UpstreamAttempt against real loopback backends (one listening, one
 * refusing) with a fake exchange as its owner: the retry on another backend,
 * the answer when none is left, and the lease released once on every end.
 */
import assert from "node:assert/strict";
import net from "node:net";
import type { GroupSnapshot } from "../group/snapshot.ts";
import { parseRequestHead, type RequestHead } from "../http1/head.ts";
import { type Logger, silentLogger } from "../log.ts";
import { type AttemptOwner, UpstreamAttempt } from "./upstream_attempt.ts";
import { Fault } from "./upstream_fault.ts";
import type { ProxyContext } from "./context.ts";
import type { UpstreamConnection } from "./upstream_pool.ts";
import { testContext, testRuntime } from "./testing.ts";

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A listening backend (it accepts and says nothing) and a port where nothing listens. */
async function backends() {
  const sockets = new Set<net.Socket>();
  const live = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => live.listen(0, "127.0.0.1", r));
  const gone = net.createServer();
  await new Promise<void>((r) => gone.listen(0, "127.0.0.1", r));
  const refusing = (gone.address() as net.AddressInfo).port;
  await new Promise<void>((r) => gone.close(() => r()));
  return {
    live: `127.0.0.1:${(live.address() as net.AddressInfo).port}`,
    refusing: `127.0.0.1:${refusing}`,
    close: () => {
      for (const s of sockets) s.destroy();
      live.close();
    },
  };
}

/** A proxy context over `servers` (round robin), recording debug messages. */
function context(servers: string[]) {
  const debug: string[] = [];
  const log: Logger = { ...silentLogger, debug: (msg) => void debug.push(msg) };
  const runtime = testRuntime({
    backend_servers: servers,
    algorithm: "ROUND_ROBIN",
    retry: { budget_ratio: 1, min_retries_per_second: 100 },
  });
  const ctx = testContext(runtime, { log });
  const state = runtime.state;
  const pools = runtime.pools;
  const snap = state.snapshot!;
  const inflight = (address: string) =>
    snap.backends.find((b) => b.address === address)!.counters.inflight;
  return { ctx, snap, pools, debug, inflight };
}

/** An exchange as the attempt sees it, recording what it is told. */
function owner() {
  const told = { ready: [] as UpstreamConnection[], failed: [] as Fault[], resets: 0 };
  const o: AttemptOwner = {
    finished: false,
    headSent: false,
    bodySent: false,
    responseStarted: false,
    attemptReady: (up) => void told.ready.push(up),
    attemptReset: () => void told.resets++,
    attemptsFailed: (f) => void told.failed.push(f),
    onUpstreamData() {},
    onUpstreamEnd() {},
    onUpstreamClose() {},
    onUpstreamDrain() {},
  };
  return { o, told };
}

function get(): RequestHead {
  const h = parseRequestHead("GET / HTTP/1.1\r\nhost: x", {
    maxHeaderCount: 100,
    maxUriLength: 8192,
  });
  assert.ok(!("error" in h));
  return h;
}

function attempt(ctx: ProxyContext, snap: GroupSnapshot, o: AttemptOwner) {
  return new UpstreamAttempt(o, ctx, get(), snap, "127.0.0.1");
}

Deno.test("UpstreamAttempt retries a refused connect on the other backend, releasing the first lease", async () => {
  const b = await backends();
  const { ctx, snap, pools, debug, inflight } = context([b.refusing, b.live]);
  try {
    // round robin: of two attempts in a row, one starts on the refusing backend
    for (let i = 0; i < 2; i++) {
      const { o, told } = owner();
      const a = attempt(ctx, snap, o);
      a.start();
      await until("a connection", () => told.ready.length === 1 || told.failed.length > 0);
      assert.deepEqual(told.failed, []);
      assert.equal(told.ready[0], a.up);
      assert.equal(a.up!.owner, o); // the exchange owns the connection
      assert.equal(a.lease!.address, b.live);
      assert.equal(inflight(b.live), 1);
      assert.equal(inflight(b.refusing), 0);
      a.drop();
      a.drop(); // every end path may drop: the count comes down once
      assert.equal(inflight(b.live), 0);
      assert.ok(told.ready[0]!.closed);
    }
    // the positive control that the retry path ran at all (once or twice: the retry moves the cursor)
    assert.ok(debug.length >= 1);
    assert.ok(debug.every((m) => m === "retrying on another backend"));
  } finally {
    for (const p of pools.values()) p.closeIdle();
    b.close();
  }
});

Deno.test("UpstreamAttempt with no backend left answers ConnectFailed, the lease released and reported", async () => {
  const b = await backends();
  const { ctx, snap, inflight } = context([b.refusing]);
  const outcomes: [string, boolean][] = [];
  const record = ctx.state.recordOutcome.bind(ctx.state);
  ctx.state.recordOutcome = (address: string, failure: boolean) => {
    outcomes.push([address, failure]);
    return record(address, failure);
  };
  try {
    const { o, told } = owner();
    const a = attempt(ctx, snap, o);
    a.start();
    await until("the answer", () => told.failed.length > 0);
    assert.deepEqual(told.failed, [Fault.ConnectFailed]);
    assert.deepEqual(told.ready, []);
    assert.equal(told.resets, 1);
    assert.equal(a.lease, null);
    assert.equal(inflight(b.refusing), 0);
    assert.deepEqual(outcomes, [[b.refusing, true]]);
  } finally {
    b.close();
  }
});

Deno.test("UpstreamAttempt.finish() pools the connection (or closes it) and releases the lease", async () => {
  const b = await backends();
  const { ctx, snap, pools, inflight } = context([b.live]);
  try {
    const { o, told } = owner();
    const a = attempt(ctx, snap, o);
    a.start();
    await until("a connection", () => told.ready.length === 1);
    a.finish(true);
    assert.equal(inflight(b.live), 0);
    assert.equal(pools.get(b.live)!.idleCount, 1);
    // the next attempt takes the pooled connection, and finish(false) closes it
    const next = owner();
    const a2 = attempt(ctx, snap, next.o);
    a2.start();
    assert.equal(next.told.ready[0], told.ready[0]); // synchronously, from the pool
    assert.equal(a2.reused, true); // it served an exchange: a lost one may be retried fresh
    a2.finish(false);
    assert.ok(told.ready[0]!.closed);
    assert.equal(pools.get(b.live)!.idleCount, 0);
    assert.equal(inflight(b.live), 0);
  } finally {
    for (const p of pools.values()) p.closeIdle();
    b.close();
  }
});
