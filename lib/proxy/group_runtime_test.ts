/**
 * GroupRuntime with a fake clock and a hand-driven scheduler: its own tick
 * timer ramps slow start and ends ejections without traffic, its reap timer
 * closes idle upstream connections, pools follow snapshots, the retry budget
 * is rebuilt only when the retry settings change, probing turns on and off,
 * and close() stops everything.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { silentLogger } from "../log.ts";
import type { ProbeResult, ProbeTarget } from "../health/probe.ts";
import { type Every, GroupRuntime, REAP_INTERVAL_MS, TICK_INTERVAL_MS } from "./group_runtime.ts";
import { GroupRuntimeCore } from "./group_runtime_core.ts";
import { H2UpstreamPool } from "./h2_upstream.ts";

/** A scheduler whose timers fire only when the test says so. */
class FakeTimers {
  readonly timers = new Map<number, { ms: number; fn: () => void }>();
  #next = 1;
  readonly every: Every = (ms, fn) => {
    const id = this.#next++;
    this.timers.set(id, { ms, fn });
    return () => this.timers.delete(id);
  };
  /** Fires every timer of period `ms` once. */
  fire(ms: number): void {
    for (const t of [...this.timers.values()]) if (t.ms === ms) t.fn();
  }
}

function harness(probe?: (t: ProbeTarget) => Promise<ProbeResult>) {
  const clock = { wall: 1_000_000, mono: 5_000 };
  const timers = new FakeTimers();
  const runtime = new GroupRuntime({
    group: "g",
    log: silentLogger,
    wallNow: () => clock.wall,
    now: () => clock.mono,
    random: () => 0.5,
    every: timers.every,
    probe,
  });
  return { clock, timers, runtime };
}

const weightOf = (rt: GroupRuntime, address: string) =>
  rt.state.snapshot!.backends.find((b) => b.address === address)!.weight;

Deno.test("GroupRuntime: its own tick timer ramps slow start with no traffic and no listener", () => {
  const { clock, timers, runtime } = harness();
  const cfg = {
    backend_servers: ["10.0.0.1:80"],
    algorithm: "WEIGHTED_ROUND_ROBIN",
    slow_start_seconds: 1,
  };
  runtime.state.applyConfig("1", cfg);
  runtime.state.applyConfig("2", {
    ...cfg,
    backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", weight: 10 }],
  });
  assert.equal(weightOf(runtime, "10.0.0.2:80"), 1, "10% at first");
  clock.wall += 500;
  assert.equal(weightOf(runtime, "10.0.0.2:80"), 1, "time alone does not rebuild");
  timers.fire(TICK_INTERVAL_MS);
  assert.equal(weightOf(runtime, "10.0.0.2:80"), 5, "half way after 0.5 s");
  clock.wall += 600;
  timers.fire(TICK_INTERVAL_MS);
  assert.equal(weightOf(runtime, "10.0.0.2:80"), 10, "full weight after the window");
  runtime.close();
});

Deno.test("GroupRuntime: outcomes eject a backend and the tick timer brings it back", () => {
  const { clock, timers, runtime } = harness();
  runtime.state.applyConfig("1", {
    backend_servers: ["10.0.0.1:80", "10.0.0.2:80"],
    outlier_detection: { consecutive_failures: 2, base_ejection_seconds: 1 },
  });
  runtime.recordOutcome("10.0.0.1:80", true);
  runtime.recordOutcome("10.0.0.1:80", true);
  const ejected = () => runtime.state.snapshot!.backends[0]!.ejected;
  assert.equal(ejected(), true);
  clock.wall += 1_100;
  assert.equal(ejected(), true, "time alone does not rebuild");
  timers.fire(TICK_INTERVAL_MS);
  assert.equal(ejected(), false, "back after the ejection time, without traffic");
  runtime.close();
});

Deno.test("GroupRuntime: the reap timer closes idle upstream connections past their idle timeout", async () => {
  const server = net.createServer((s) => s.on("error", () => {}));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const { clock, timers, runtime } = harness();
  try {
    runtime.state.applyConfig("1", {
      backend_servers: [`127.0.0.1:${port}`],
      upstream_keepalive: { idle_timeout_seconds: 1 },
    });
    const pool = runtime.pool(runtime.state.snapshot!.backends[0]!);
    const conn = await pool.connect(5_000);
    pool.release(conn, clock.mono);
    assert.equal(pool.idleCount, 1);
    clock.mono += 500;
    timers.fire(REAP_INTERVAL_MS);
    assert.equal(pool.idleCount, 1, "still within its idle timeout");
    clock.mono += 600;
    timers.fire(REAP_INTERVAL_MS);
    assert.equal(pool.idleCount, 0, "closed once idle longer than the timeout");
    assert.equal(conn.closed, true);
  } finally {
    runtime.close();
    await new Promise((r) => server.close(r));
  }
});

Deno.test("GroupRuntime: pools follow snapshots; the retry budget is rebuilt only when its settings change", () => {
  const { runtime } = harness();
  runtime.state.applyConfig("1", {
    backend_servers: ["10.0.0.1:80", "10.0.0.2:80"],
    upstream_keepalive: { max_idle: 8 },
  });
  const [a, b] = runtime.state.snapshot!.backends;
  const poolA = runtime.pool(a!);
  runtime.pool(b!);
  assert.equal(runtime.pool(a!), poolA);
  assert.equal(poolA.options.maxIdle, 8);
  const budget = runtime.budget();
  assert.equal(budget.ratio, 0.2);

  runtime.state.applyConfig("2", {
    backend_servers: ["10.0.0.1:80"],
    upstream_keepalive: { max_idle: 3 },
  });
  assert.deepEqual(
    [...runtime.pools.keys()],
    ["10.0.0.1:80"],
    "the removed backend's pool is gone",
  );
  assert.equal(poolA.options.maxIdle, 3, "settings follow the config");
  assert.equal(runtime.budget(), budget, "same retry settings: same budget");

  runtime.state.applyConfig("3", {
    backend_servers: ["10.0.0.1:80"],
    retry: { budget_ratio: 0.5 },
  });
  assert.notEqual(runtime.budget(), budget);
  assert.equal(runtime.budget().ratio, 0.5);
  runtime.close();
});

Deno.test("GroupRuntime: probing turns the health checker on and off; close() stops timers and probes", async () => {
  const probed: string[] = [];
  const { timers, runtime } = harness((t) => {
    probed.push(`${t.host}:${t.port}`);
    return Promise.resolve({ ok: false, error: "down", status: null });
  });
  const applied = runtime.state.applyConfig("1", {
    backend_servers: ["10.0.0.1:80"],
    health_check_frequency_seconds: 0.05,
    unhealthy_threshold: 1,
  });
  assert.ok(applied.ok, JSON.stringify(applied));
  assert.equal(timers.timers.size, 2, "tick and reap timers run from the start");
  assert.equal(runtime.probing, false);
  assert.equal(runtime.setProbing(true), true);
  assert.equal(runtime.setProbing(true), false, "already on");
  const deadline = Date.now() + 10_000;
  while (runtime.state.snapshot!.backends[0]!.health.status !== "unhealthy") {
    assert.ok(Date.now() < deadline, `no probe verdict; probed ${probed}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(probed.includes("10.0.0.1:80"));
  runtime.close();
  runtime.close(); // idempotent
  assert.equal(runtime.probing, false);
  assert.equal(timers.timers.size, 0, "close() stops the timers");
  assert.equal(runtime.setProbing(true), false, "no probing after close");
  const after = probed.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(probed.length, after, "no probes after close");
});

Deno.test("GroupRuntime: an unreadable tls.ca_file rejects the config and the last good one keeps serving", () => {
  const { runtime } = harness();
  assert.equal(runtime.state.applyConfig("1", { backend_servers: ["10.0.0.1:80"] }).ok, true);
  const r = runtime.state.applyConfig("2", {
    backend_servers: ["10.0.0.2:443"],
    tls: { enabled: true, ca_file: "/nonexistent/switchyard-ca.pem" },
  });
  assert.ok(!r.ok);
  assert.match(
    r.rejected.reason,
    /^group "g": tls\.ca_file: cannot read \/nonexistent\/switchyard-ca\.pem: ENOENT$/,
  );
  assert.equal(runtime.state.snapshot!.version, "1");
  assert.equal(runtime.state.snapshot!.backends[0]!.address, "10.0.0.1:80");
  // the same blob without the file's problem applies (positive control)
  const ok = runtime.state.applyConfig("3", {
    backend_servers: ["10.0.0.2:443"],
    tls: { enabled: true },
  });
  assert.equal(ok.ok, true);
  runtime.close();
});

Deno.test("GroupRuntime: pools connect over TLS per the group's settings and are replaced when they change", () => {
  const { runtime } = harness();
  runtime.state.applyConfig("1", { backend_servers: ["10.0.0.1:443", "b.test:443"] });
  const [ip, named] = runtime.state.snapshot!.backends;
  const plain = runtime.pool(ip!);
  assert.equal(plain.options.tls, null, "plain TCP without tls");

  runtime.state.applyConfig("2", {
    backend_servers: ["10.0.0.1:443", "b.test:443"],
    tls: { enabled: true },
  });
  const secure = runtime.pool(ip!);
  assert.notEqual(secure, plain, "TLS turned on: a new pool");
  assert.deepEqual(secure.options.tls, {
    servername: undefined,
    ca: undefined,
    rejectUnauthorized: true,
    ALPNProtocols: ["http/1.1"],
  });
  assert.equal(runtime.pool(named!).options.tls?.servername, "b.test");

  // another config, same TLS settings: pools stay
  runtime.state.applyConfig("3", {
    backend_servers: ["10.0.0.1:443", "b.test:443"],
    tls: { enabled: true },
    connect_timeout_seconds: 1,
  });
  assert.equal(runtime.pool(ip!), secure, "same TLS settings: same pool");

  runtime.state.applyConfig("4", {
    backend_servers: ["10.0.0.1:443", "b.test:443"],
    tls: { enabled: true, verify: false, server_name: "api.internal" },
  });
  const changed = runtime.pool(ip!);
  assert.notEqual(changed, secure, "TLS settings changed: a new pool");
  assert.equal(changed.options.tls?.rejectUnauthorized, false);
  assert.equal(changed.options.tls?.servername, "api.internal");

  runtime.state.applyConfig("5", { backend_servers: ["10.0.0.1:443", "b.test:443"] });
  assert.equal(runtime.pool(ip!).options.tls, null, "TLS off again: plain pools");
  runtime.close();
});

Deno.test("GroupRuntimeCore without a TLS loader (the fetch transport) rejects tls.enabled", () => {
  const runtime = new GroupRuntimeCore({ group: "g", log: silentLogger });
  const r = runtime.state.applyConfig("1", {
    backend_servers: ["10.0.0.1:443"],
    tls: { enabled: true },
  });
  assert.ok(!r.ok);
  assert.match(r.rejected.reason, /tls\.enabled: upstream TLS is not available here/);
  assert.equal(runtime.state.applyConfig("2", { backend_servers: ["10.0.0.1:80"] }).ok, true);
  runtime.close();
});

Deno.test("GroupRuntime: protocol h2 makes h2 pools (gRPC statuses to grpcStatus); changing protocol retires the pools", () => {
  const { runtime } = harness();
  const codes: string[] = [];
  runtime.grpcStatus = (code) => codes.push(code);
  runtime.state.applyConfig("1", { backend_servers: ["10.0.0.1:50051"] });
  const [b] = runtime.state.snapshot!.backends;
  const plain = runtime.pool(b!);
  assert.equal(plain instanceof H2UpstreamPool, false, "http/1.1 by default");

  runtime.state.applyConfig("2", { backend_servers: ["10.0.0.1:50051"], protocol: "h2" });
  const h2 = runtime.pool(b!);
  assert.ok(h2 instanceof H2UpstreamPool, "protocol h2: an h2 pool");
  assert.equal(plain.acquire(), null);
  h2.onGrpcStatus!("0");
  assert.deepEqual(codes, ["0"]);

  // another config, same protocol: the pool stays
  runtime.state.applyConfig("3", {
    backend_servers: ["10.0.0.1:50051"],
    protocol: "h2",
    connect_timeout_seconds: 1,
  });
  assert.equal(runtime.pool(b!), h2, "same protocol: same pool");

  runtime.state.applyConfig("4", { backend_servers: ["10.0.0.1:50051"], protocol: "http/1.1" });
  const back = runtime.pool(b!);
  assert.notEqual(back, h2);
  assert.equal(back instanceof H2UpstreamPool, false, "back to HTTP/1.1: a plain pool");
  runtime.close();
});

Deno.test("GroupRuntimeCore without h2 pools (the embedded load balancer) rejects protocol h2, field named", () => {
  const runtime = new GroupRuntimeCore({ group: "g", log: silentLogger });
  const r = runtime.state.applyConfig("1", { backend_servers: ["10.0.0.1:80"], protocol: "h2" });
  assert.ok(!r.ok);
  assert.match(r.rejected.reason, /protocol: upstream HTTP\/2 is not available here/);
  assert.equal(runtime.state.applyConfig("2", { backend_servers: ["10.0.0.1:80"] }).ok, true);
  runtime.close();
});
