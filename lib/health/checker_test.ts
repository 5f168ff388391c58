import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { createLogger } from "../log.ts";
import { type CheckerTimers, HealthChecker, type HealthSink } from "./checker.ts";
import type { ProbeResult, ProbeTarget } from "./probe.ts";
import type { HealthTarget } from "./targets.ts";

/** A manual clock with timers that fire only when it is advanced. */
class FakeClock implements CheckerTimers {
  now = 0;
  #next = 1;
  readonly pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Due times of the pending timers, earliest first. */
  dues(): number[] {
    return [...this.pending.values()].map((t) => t.at).sort((a, b) => a - b);
  }
  /** Moves time to `until`, firing due timers in order and letting their probes settle. */
  async advance(until: number): Promise<void> {
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.pending) if (!first || e[1].at < first[1].at) first = e;
      if (!first || first[1].at > until) break;
      this.pending.delete(first[0]);
      this.now = Math.max(this.now, first[1].at);
      first[1].fn();
      await settle();
    }
    this.now = Math.max(this.now, until);
  }
}

/** Lets promise chains (a probe's result reaching the sink) run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

/** A sink recording every observation; `flip` decides what it answers. */
class RecordingSink implements HealthSink {
  seen: { address: string; ok: boolean; error: string | null; at: number }[] = [];
  flip = false;
  constructor(readonly clock: FakeClock) {}
  observeProbe(address: string, ok: boolean, error: string | null): boolean {
    this.seen.push({ address, ok, error, at: this.clock.now });
    return this.flip;
  }
}

function target(address: string, intervalMs = 10_000, extra: Partial<ProbeTarget> = {}) {
  const [host, port] = address.split(":");
  return {
    address,
    intervalMs,
    probe: {
      host: host!,
      port: Number(port),
      type: "http",
      path: "/health",
      expectedStatus: 200,
      timeoutMs: 2000,
      ...extra,
    },
  } satisfies HealthTarget;
}

interface Rig {
  clock: FakeClock;
  sink: RecordingSink;
  checker: HealthChecker;
  /** Probe calls: the target and the clock when it started. */
  probes: { target: ProbeTarget; at: number }[];
  lines: Record<string, unknown>[];
}

function rig(
  options: {
    random?: () => number;
    probe?: (t: ProbeTarget, clock: FakeClock) => Promise<ProbeResult>;
  } = {},
): Rig {
  const clock = new FakeClock();
  const sink = new RecordingSink(clock);
  const probes: Rig["probes"] = [];
  const lines: Record<string, unknown>[] = [];
  const checker = new HealthChecker({
    sink,
    probe: (t) => {
      probes.push({ target: t, at: clock.now });
      return options.probe?.(t, clock) ?? Promise.resolve({ ok: true, error: null, status: 200 });
    },
    log: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)), now: () => 0 }),
    random: options.random ?? (() => 0.5),
    now: () => clock.now,
    timers: clock,
  });
  return { clock, sink, checker, probes, lines };
}

Deno.test("HealthChecker probes each new target first within min(interval, 1 s), spread by random", async () => {
  const r = rig({ random: () => 0.5 });
  r.checker.sync([target("10.0.0.1:80", 10_000), target("10.0.0.2:80", 600)]);
  assert.deepEqual(r.clock.dues(), [300, 500]);
  await r.clock.advance(500);
  assert.deepEqual(r.probes.map((p) => [p.target.host, p.at]), [
    ["10.0.0.2", 300],
    ["10.0.0.1", 500],
  ]);
  r.checker.stop();
});

Deno.test("HealthChecker hands each result to the sink with the target's address", async () => {
  const r = rig({
    probe: (t) =>
      Promise.resolve(
        t.host === "10.0.0.1"
          ? { ok: true, error: null, status: 200 }
          : { ok: false, error: "status 503, expected 200", status: 503 },
      ),
  });
  r.checker.sync([target("10.0.0.1:80"), target("10.0.0.2:80")]);
  await r.clock.advance(1000);
  assert.deepEqual(r.sink.seen.map((s) => [s.address, s.ok, s.error]).sort(), [
    ["10.0.0.1:80", true, null],
    ["10.0.0.2:80", false, "status 503, expected 200"],
  ]);
  r.checker.stop();
});

Deno.test("HealthChecker reports a probe that throws as a failure with its error", async () => {
  const r = rig({ probe: () => Promise.reject(new Error("boom")) });
  r.checker.sync([target("10.0.0.1:80")]);
  await r.clock.advance(1000);
  assert.deepEqual(r.sink.seen.map((s) => [s.ok, s.error]), [[false, "Error: boom"]]);
  assert.equal(r.clock.pending.size, 1, "the loop goes on after a throwing probe");
  r.checker.stop();
});

Deno.test("HealthChecker logs a flip the sink reports, and nothing when it does not flip", async () => {
  const r = rig({
    probe: () => Promise.resolve({ ok: false, error: "ECONNREFUSED", status: null }),
  });
  r.checker.sync([target("10.0.0.1:80", 1000)]);
  await r.clock.advance(600);
  assert.equal(r.sink.seen.length, 1);
  assert.equal(r.lines.filter((l) => l.msg === "backend unhealthy").length, 0);
  r.sink.flip = true;
  await r.clock.advance(2000);
  const flips = r.lines.filter((l) => l.msg === "backend unhealthy");
  assert.equal(flips.length, 1);
  assert.equal(flips[0]!.backend, "10.0.0.1:80");
  assert.equal(flips[0]!.error, "ECONNREFUSED");
  r.checker.stop();
});

Deno.test("HealthChecker schedules the next probe interval ± 10% after the previous one started", async () => {
  // the probe takes 300 ms: the interval counts from its start, not its end
  const slow = (_t: ProbeTarget, clock: FakeClock) => {
    clock.now += 300;
    return Promise.resolve({ ok: true, error: null, status: 200 });
  };
  const table: [number, number][] = [
    // random(), start of the second probe: the first starts at random·1 s, the
    // second interval·(1 + 0.1·(2·random − 1)) later
    [0, 0 + 9000],
    [0.5, 500 + 10_000],
    [0.75, 750 + 10_500],
  ];
  for (const [random, second] of table) {
    const r = rig({ random: () => random, probe: slow });
    r.checker.sync([target("10.0.0.1:80", 10_000)]);
    await r.clock.advance(second - 1);
    assert.equal(r.probes.length, 1, `random ${random}: one probe before ${second}`);
    await r.clock.advance(second);
    assert.deepEqual(r.probes.map((p) => p.at), [random * 1000, second], `random ${random}`);
    r.checker.stop();
  }
});

Deno.test("HealthChecker keeps every gap between probes within the interval ± 10%", async () => {
  const r = rig({ random: mulberry32(7) });
  r.checker.sync([target("10.0.0.1:80", 1000)]);
  await r.clock.advance(100_000);
  assert.ok(r.probes.length >= 90, `${r.probes.length} probes in 100 s`);
  const gaps = r.probes.slice(1).map((p, i) => p.at - r.probes[i]!.at);
  assert.ok(Math.min(...gaps) >= 900, `shortest gap ${Math.min(...gaps)}`);
  assert.ok(Math.max(...gaps) < 1100, `longest gap ${Math.max(...gaps)}`);
  assert.ok(Math.max(...gaps) - Math.min(...gaps) > 50, "the gaps are spread, not fixed");
  r.checker.stop();
});

Deno.test("HealthChecker.sync keeps the schedule of unchanged targets", async () => {
  const r = rig();
  r.checker.sync([target("10.0.0.1:80")]);
  await r.clock.advance(1000);
  const before = r.clock.dues();
  r.checker.sync([target("10.0.0.1:80")]);
  assert.deepEqual(r.clock.dues(), before);
  r.checker.stop();
});

Deno.test("HealthChecker.sync reschedules a target whose settings changed, soon, with the new settings", async () => {
  const r = rig();
  r.checker.sync([target("10.0.0.1:80", 10_000)]);
  await r.clock.advance(1000);
  assert.equal(r.probes.length, 1);
  assert.deepEqual(r.clock.dues(), [500 + 10_000]);
  r.checker.sync([target("10.0.0.1:80", 10_000, { path: "/ready" })]);
  assert.deepEqual(r.clock.dues(), [1000 + 500], "the next probe moves up");
  await r.clock.advance(1500);
  assert.equal(r.probes.length, 2);
  assert.equal(r.probes[1]!.target.path, "/ready");
  r.checker.sync([target("10.0.0.1:80", 2000, { path: "/ready" })]);
  assert.deepEqual(r.clock.dues(), [1500 + 500], "a new interval reschedules too");
  r.checker.stop();
});

Deno.test("HealthChecker.sync starts added targets and stops removed ones", async () => {
  const r = rig();
  r.checker.sync([target("10.0.0.1:80", 1000)]);
  await r.clock.advance(600);
  r.checker.sync([target("10.0.0.2:80", 1000)]);
  assert.equal(r.clock.pending.size, 1, "the removed target's timer is gone");
  await r.clock.advance(10_000);
  const hosts = r.probes.map((p) => p.target.host);
  assert.equal(hosts.filter((h) => h === "10.0.0.1").length, 1);
  assert.ok(hosts.filter((h) => h === "10.0.0.2").length >= 8);
  r.checker.stop();
});

Deno.test("HealthChecker drops the result of a probe whose target was removed while it ran", async () => {
  let finish!: (r: ProbeResult) => void;
  const r = rig({ probe: () => new Promise((resolve) => (finish = resolve)) });
  r.checker.sync([target("10.0.0.1:80")]);
  await r.clock.advance(1000);
  assert.equal(r.probes.length, 1);
  r.checker.sync([target("10.0.0.2:80")]);
  finish({ ok: false, error: "late", status: null });
  await settle();
  assert.deepEqual(r.sink.seen.filter((s) => s.address === "10.0.0.1:80"), []);
  // positive control: the remaining target's result does reach the sink
  await r.clock.advance(2000);
  finish({ ok: true, error: null, status: 200 });
  await settle();
  assert.deepEqual(r.sink.seen.map((s) => s.address), ["10.0.0.2:80"]);
  r.checker.stop();
});

Deno.test("HealthChecker does not start a second probe of a target while one runs", async () => {
  let finish!: (r: ProbeResult) => void;
  const r = rig({ probe: () => new Promise((resolve) => (finish = resolve)) });
  r.checker.sync([target("10.0.0.1:80", 10_000)]);
  await r.clock.advance(600);
  // a settings change while the probe runs schedules one soon: it must not overlap
  r.checker.sync([target("10.0.0.1:80", 10_000, { path: "/ready" })]);
  await r.clock.advance(5000);
  assert.equal(r.probes.length, 1);
  finish({ ok: true, error: null, status: 200 });
  await settle();
  assert.equal(r.sink.seen.length, 1);
  await r.clock.advance(20_000);
  assert.equal(r.probes.length, 2, "the loop resumes after the running probe");
  assert.equal(r.probes[1]!.target.path, "/ready");
  finish({ ok: true, error: null, status: 200 });
  r.checker.stop();
});

Deno.test("HealthChecker.stop clears every timer, drops a running probe's result and ignores later syncs", async () => {
  let finish!: (r: ProbeResult) => void;
  const r = rig({ probe: () => new Promise((resolve) => (finish = resolve)) });
  r.checker.sync([target("10.0.0.1:80"), target("10.0.0.2:80")]);
  await r.clock.advance(500);
  assert.equal(r.probes.length, 2);
  r.checker.stop();
  assert.equal(r.clock.pending.size, 0);
  finish({ ok: false, error: "late", status: null });
  await settle();
  assert.deepEqual(r.sink.seen, []);
  r.checker.sync([target("10.0.0.3:80")]);
  assert.equal(r.clock.pending.size, 0);
});

Deno.test("HealthChecker runs on the real timers by default", async () => {
  const seen: string[] = [];
  const checker = new HealthChecker({
    sink: { observeProbe: (address) => (seen.push(address), false) },
    probe: () => Promise.resolve({ ok: true, error: null, status: 200 }),
    log: createLogger({ level: "error", write: () => {}, now: () => 0 }),
    random: () => 0,
    now: () => performance.now(),
  });
  checker.sync([target("10.0.0.1:80", 50)]);
  const deadline = Date.now() + 5000;
  while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  checker.stop();
  assert.ok(seen.length >= 3, `${seen.length} probes`);
});
