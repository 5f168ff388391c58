import assert from "node:assert/strict";
import {
  type HealthState,
  type HealthThresholds,
  initialHealth,
  nextProbeAt,
  observeHealth,
} from "./state_machine.ts";

/** The schema's defaults: 2 successes bring a backend back, 3 failures take it out. */
const DEFAULTS: HealthThresholds = { healthy: 2, unhealthy: 3 };

/** Feeds probe outcomes (t = 1, 2, ...) and returns each observation's flipped flag and state. */
function run(
  start: HealthState,
  outcomes: readonly boolean[],
  thresholds: HealthThresholds = DEFAULTS,
): { flips: boolean[]; states: HealthState[] } {
  let s = start;
  const flips: boolean[] = [];
  const states: HealthState[] = [];
  outcomes.forEach((ok, i) => {
    const o = observeHealth(s, ok, start.since + i + 1, thresholds, ok ? null : `e${i + 1}`);
    s = o.state;
    flips.push(o.flipped);
    states.push(s);
  });
  return { flips, states };
}

function unhealthyAt(t: number): HealthState {
  return initialHealth(t, "unhealthy");
}

Deno.test("initialHealth() starts healthy with no streaks, no error and since = now", () => {
  assert.deepEqual(initialHealth(42), {
    status: "healthy",
    successes: 0,
    failures: 0,
    since: 42,
    lastError: null,
  });
  assert.equal(initialHealth(7, "unhealthy").status, "unhealthy");
});

Deno.test("observeHealth() marks a healthy backend unhealthy on the third consecutive failure", () => {
  const { flips, states } = run(initialHealth(0), [false, false, false]);
  assert.deepEqual(flips, [false, false, true]);
  assert.deepEqual(states.map((s) => s.status), ["healthy", "healthy", "unhealthy"]);
  assert.deepEqual(states.map((s) => s.failures), [1, 2, 3]);
  assert.deepEqual(states[2], {
    status: "unhealthy",
    successes: 0,
    failures: 3,
    since: 3,
    lastError: "e3",
  });
});

Deno.test("observeHealth() marks an unhealthy backend healthy on the second consecutive success", () => {
  const { flips, states } = run(unhealthyAt(0), [true, true]);
  assert.deepEqual(flips, [false, true]);
  assert.deepEqual(states[0], {
    status: "unhealthy",
    successes: 1,
    failures: 0,
    since: 0,
    lastError: null,
  });
  assert.deepEqual(states[1], {
    status: "healthy",
    successes: 2,
    failures: 0,
    since: 2,
    lastError: null,
  });
});

Deno.test("observeHealth() resets the failure streak on a success", () => {
  const { flips, states } = run(initialHealth(0), [false, false, true, false, false, true]);
  assert.ok(flips.every((f) => !f));
  assert.deepEqual(states.map((s) => s.failures), [1, 2, 0, 1, 2, 0]);
  assert.ok(states.every((s) => s.status === "healthy"));
});

Deno.test("observeHealth() resets the success streak on a failure", () => {
  const { flips, states } = run(unhealthyAt(0), [true, false, true, false, true, true]);
  assert.deepEqual(flips, [false, false, false, false, false, true]);
  assert.deepEqual(states.map((s) => s.successes), [1, 0, 1, 0, 1, 2]);
  assert.deepEqual(states.map((s) => s.status).at(-1), "healthy");
});

Deno.test("observeHealth() keeps counting streaks past the threshold without flipping again", () => {
  const down = run(initialHealth(0), [false, false, false, false, false]);
  assert.deepEqual(down.flips, [false, false, true, false, false]);
  assert.deepEqual(down.states.map((s) => s.failures), [1, 2, 3, 4, 5]);
  const up = run(initialHealth(0), [true, true, true]);
  assert.deepEqual(up.flips, [false, false, false]);
  assert.deepEqual(up.states.map((s) => s.successes), [1, 2, 3]);
});

Deno.test("observeHealth() moves since only when the status flips", () => {
  const start = initialHealth(100);
  const { flips, states } = run(start, [false, false, false, false, true, true, true, false]);
  assert.deepEqual(flips, [false, false, true, false, false, true, false, false]);
  assert.deepEqual(states.map((s) => s.since), [100, 100, 103, 103, 103, 106, 106, 106]);
});

Deno.test("observeHealth() records the failure reason and clears it after a success", () => {
  let s = initialHealth(0);
  s = observeHealth(s, false, 1, DEFAULTS, "connect ECONNREFUSED").state;
  assert.equal(s.lastError, "connect ECONNREFUSED");
  s = observeHealth(s, false, 2, DEFAULTS, "status 503").state;
  assert.equal(s.lastError, "status 503");
  s = observeHealth(s, false, 3, DEFAULTS).state;
  assert.equal(s.lastError, "probe failed", "a failure without a reason gets a generic one");
  assert.equal(s.status, "unhealthy");
  s = observeHealth(s, true, 4, DEFAULTS, "ignored on success").state;
  assert.equal(s.lastError, null);
  assert.equal(s.status, "unhealthy", "one success is not enough to come back");
});

Deno.test("observeHealth() with thresholds of 1 flips on every change of outcome", () => {
  const one = { healthy: 1, unhealthy: 1 };
  const { flips, states } = run(initialHealth(0), [false, false, true, true, false], one);
  assert.deepEqual(flips, [true, false, true, false, true]);
  assert.deepEqual(states.map((s) => s.status), [
    "unhealthy",
    "unhealthy",
    "healthy",
    "healthy",
    "unhealthy",
  ]);
});

Deno.test("observeHealth() honours asymmetric thresholds", () => {
  const t = { healthy: 5, unhealthy: 1 };
  const down = run(initialHealth(0), [false], t);
  assert.deepEqual(down.flips, [true]);
  const up = run(down.states[0]!, [true, true, true, true, true], t);
  assert.deepEqual(up.flips, [false, false, false, false, true]);
});

Deno.test("observeHealth() treats a backend that starts unhealthy like one that became so", () => {
  const { flips } = run(unhealthyAt(0), [false, false, false, true, true]);
  assert.deepEqual(flips, [false, false, false, false, true]);
});

Deno.test("observeHealth() does not mutate the state it is given", () => {
  const s = Object.freeze(initialHealth(0));
  const o = observeHealth(s, false, 1, DEFAULTS, "x");
  assert.notEqual(o.state, s);
  assert.deepEqual(s, initialHealth(0));
});

Deno.test("nextProbeAt() without jitter is exactly one interval after the last probe", () => {
  assert.equal(nextProbeAt(1000, 10_000, 0, () => 0.123), 11_000);
  assert.equal(nextProbeAt(1000, 10_000, 0.1, () => 0.5), 11_000);
});

Deno.test("nextProbeAt() stays within ±jitter of the interval", () => {
  const last = 5000;
  const interval = 10_000;
  const jitter = 0.1;
  assert.equal(nextProbeAt(last, interval, jitter, () => 0), last + interval * (1 - jitter));
  const almostOne = 1 - Number.EPSILON;
  const top = nextProbeAt(last, interval, jitter, () => almostOne);
  assert.ok(top < last + interval * (1 + jitter) && top > last + interval * (1 + jitter) - 1e-6);
  let seed = 1;
  const random = () => {
    // a small LCG is enough to sweep [0, 1)
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < 10_000; i++) {
    const t = nextProbeAt(last, interval, jitter, random);
    assert.ok(t >= last + 9000 && t < last + 11_000, `${t}`);
  }
});

Deno.test("nextProbeAt() spreads probes over the whole jitter range", () => {
  const buckets = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const t = nextProbeAt(0, 1000, 0.5, () => i / 100);
    buckets.add(Math.floor((t - 500) / 100));
  }
  assert.deepEqual([...buckets].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("nextProbeAt() clamps jitter to [0, 1] so the next probe is never before the last", () => {
  assert.equal(nextProbeAt(1000, 1000, 5, () => 0), 1000);
  assert.equal(nextProbeAt(1000, 1000, -0.5, () => 0), 2000);
  assert.equal(nextProbeAt(1000, 1000, Number.NaN, () => 0), 2000);
});
