import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { Autoscaler } from "./controller.ts";
import type { Sample } from "./decide.ts";
import type { FleetMember } from "./fleet.ts";
import type { MetricsSource } from "./metrics_source.ts";
import { type Policy, validatePolicy } from "./policy.ts";
import type { Provider, ScaleRequest } from "./provider.ts";
import { AutoscalerMetrics } from "./admin.ts";

function policy(): Policy {
  const r = validatePolicy({
    min: 1,
    max: 3,
    capacity: { connections: 40 },
    target_utilization: 0.5,
    scale_out: { threshold: 0.8, after_seconds: 0, cooldown_seconds: 10, max_step: 2 },
    scale_in: { threshold: 0.25, after_seconds: 0, cooldown_seconds: 5, max_step: 1 },
  });
  if (!r.ok) throw new Error(r.issues.join());
  return r.policy;
}

const member = (id: string): FleetMember => ({
  group: "g",
  id,
  address: `127.0.0.1:${id.length}`,
  admin: `127.0.0.1:9${id.length}`,
  region: null,
  pid: null,
  runtime: null,
  startedAt: null,
  load: null,
});

/** A provider that may remove any member and accepts every request (after `onApply`). */
function acceptingProvider(onApply: () => void = () => {}): Provider {
  return {
    kind: "x",
    removable: () => true,
    apply: () => Promise.resolve(onApply()),
    status: () => ({}),
    stop: () => Promise.resolve(),
  };
}

/** A fleet and source the test drives, and a provider that records (or fails). */
function harness() {
  let now = 1_000_000;
  const fleet: FleetMember[] = [member("a")];
  const load = new Map<string, number>([["a", 0]]);
  const requests: ScaleRequest[] = [];
  let fail = false;
  const source: MetricsSource = {
    kind: "fake",
    sample: (members) =>
      Promise.resolve(members.map((m): Sample => ({
        id: m.id,
        at: now,
        values: { connections: load.get(m.id) ?? 0 },
      }))),
    status: () => ({}),
  };
  const provider: Provider = {
    kind: "fake",
    removable: (m) => m.id !== "a",
    apply: (r) => {
      requests.push(r);
      return fail ? Promise.reject(new Error("cloud says no")) : Promise.resolve();
    },
    status: () => ({}),
    stop: () => Promise.resolve(),
  };
  const metrics = new AutoscalerMetrics("g", policy(), () => true);
  const scaler = new Autoscaler({
    group: "g",
    policy: policy(),
    fleet: () => fleet,
    source,
    provider,
    now: () => now,
    log: silentLogger,
    hooks: metrics,
  });
  return {
    scaler,
    fleet,
    load,
    requests,
    metrics,
    tick: (ms: number) => (now += ms),
    failNext: (v: boolean) => (fail = v),
  };
}

Deno.test("Autoscaler grows through the provider, counts launches, then shrinks what it may", async () => {
  const h = harness();
  h.load.set("a", 60);
  let d = await h.scaler.evaluate();
  assert.equal(d?.action, "grow");
  assert.equal(h.requests.length, 1);
  assert.equal(h.requests[0]!.add, 2);
  assert.deepEqual(h.requests[0]!.remove, []);
  // launched, not registered yet: counted (at max now)
  h.tick(1000);
  d = await h.scaler.evaluate();
  assert.equal(d?.reason, "at_max");
  assert.equal(d?.current, 3);
  // they register; the load goes
  h.fleet.push(member("bb"), member("ccc"));
  h.load.set("a", 0);
  h.tick(10_000);
  d = await h.scaler.evaluate();
  assert.equal(d?.action, "shrink");
  assert.equal(h.requests.length, 2);
  assert.deepEqual(h.requests[1]!.remove.map((m) => m.id), ["bb"], "a is not removable");
  const status = h.scaler.status() as { history: { action: string; result?: string }[] };
  assert.deepEqual(
    status.history.filter((r) => r.action !== "hold").map((r) => `${r.action}:${r.result}`),
    ["grow:ok", "shrink:ok"],
  );
  const text = h.metrics.registry.render();
  assert.match(
    text,
    /switchyard_autoscaler_actions_total\{group="g",action="grow",result="ok"\} 1/,
  );
  assert.match(
    text,
    /switchyard_autoscaler_decisions_total\{group="g",action="hold",reason="at_max"\} 1/,
  );
  assert.match(text, /switchyard_autoscaler_registered_instances\{group="g"\} 3/);
  assert.match(text, /switchyard_autoscaler_capacity\{group="g",metric="connections"\} 40/);
});

Deno.test("Autoscaler: a failed grow is not pending, but its cooldown holds", async () => {
  const h = harness();
  h.load.set("a", 60);
  h.failNext(true);
  let d = await h.scaler.evaluate();
  assert.equal(d?.action, "grow");
  h.tick(1000);
  d = await h.scaler.evaluate();
  assert.equal(d?.reason, "cooldown_out", "not 'pending': nothing was launched");
  assert.equal(d?.current, 1);
  h.failNext(false);
  h.tick(10_000);
  d = await h.scaler.evaluate();
  assert.equal(d?.action, "grow");
  assert.match(
    h.metrics.registry.render(),
    /switchyard_autoscaler_actions_total\{group="g",action="grow",result="error"\} 1/,
  );
});

Deno.test("Autoscaler: only the acting leader decides; a new leadership starts afresh", async () => {
  let acting = false;
  const h = harness();
  h.load.set("a", 60);
  const scaler = new Autoscaler({
    group: "g",
    policy: policy(),
    fleet: () => h.fleet,
    source: { kind: "x", sample: () => Promise.resolve([]), status: () => ({}) },
    provider: acceptingProvider(),
    now: () => 0,
    log: silentLogger,
    acting: () => acting,
  });
  assert.equal(await scaler.evaluate(), null);
  acting = true;
  const d = await scaler.evaluate();
  assert.equal(d?.reason, "insufficient_samples");
});

Deno.test("Autoscaler: a failing source means no samples, not a crash; unknown fleet means no decision", async () => {
  let known = false;
  const errors: unknown[] = [];
  const scaler = new Autoscaler({
    group: "g",
    policy: policy(),
    fleet: () => (known ? [member("a")] : null),
    source: {
      kind: "x",
      sample: () => Promise.reject(new Error("prometheus down")),
      status: () => ({}),
    },
    provider: acceptingProvider(),
    now: () => 0,
    log: silentLogger,
    hooks: { onSampleError: (e) => errors.push(e) },
  });
  assert.equal(await scaler.evaluate(), null);
  known = true;
  assert.equal((await scaler.evaluate())?.reason, "insufficient_samples");
  assert.equal(errors.length, 1);
});

Deno.test("Autoscaler in dry run decides but never calls the provider", async () => {
  let applied = 0;
  const scaler = new Autoscaler({
    group: "g",
    policy: policy(),
    fleet: () => [member("a")],
    source: {
      kind: "x",
      sample: () => Promise.resolve([{ id: "a", at: 0, values: { connections: 100 } }]),
      status: () => ({}),
    },
    provider: acceptingProvider(() => void applied++),
    now: () => 0,
    log: silentLogger,
    dryRun: true,
  });
  assert.equal((await scaler.evaluate())?.action, "grow");
  assert.equal(applied, 0);
  const s = scaler.status() as { history: { result?: string }[] };
  assert.equal(s.history.at(-1)?.result, "dry-run");
});

Deno.test("Autoscaler.start() evaluates on an interval without overlapping; stop() waits", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const scaler = new Autoscaler({
    group: "g",
    policy: policy(),
    fleet: () => [member("a")],
    source: {
      kind: "slow",
      sample: async () => {
        calls++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 15));
        inFlight--;
        return [];
      },
      status: () => ({}),
    },
    provider: acceptingProvider(),
    now: () => 0,
    log: silentLogger,
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The wait after stop() in which no evaluation may start (each takes about 16 ms). */
  const WINDOW_MS = 300;
  scaler.start(1);
  const deadline = Date.now() + 10_000;
  while (calls < 2 && Date.now() < deadline) await sleep(5);
  // positive control: while running, the loop starts evaluations within the same wait
  const running = calls;
  await sleep(WINDOW_MS);
  assert.ok(calls > running, `evaluations while running: ${running} -> ${calls}`);
  await scaler.stop();
  const after = calls;
  await sleep(WINDOW_MS);
  assert.ok(calls >= 2, `calls ${calls}`);
  assert.equal(calls, after, "no evaluation after stop");
  assert.equal(maxInFlight, 1);
});
