import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import {
  decide,
  type Decision,
  INITIAL_STATE,
  type InstanceView,
  type Sample,
  type ScaleState,
  utilizationOf,
} from "./decide.ts";
import { type Policy, type PolicyInput, validatePolicy } from "./policy.ts";

const BASE: PolicyInput = {
  min: 1,
  max: 5,
  capacity: { connections: 100 },
  target_utilization: 0.5,
  scale_out: { threshold: 0.8, after_seconds: 2, cooldown_seconds: 10, max_step: 2 },
  scale_in: { threshold: 0.25, after_seconds: 4, cooldown_seconds: 8, max_step: 1 },
  sample_max_age_seconds: 5,
  pending_timeout_seconds: 30,
};

function policy(patch: Partial<PolicyInput> = {}): Policy {
  const r = validatePolicy({ ...BASE, ...patch });
  if (!r.ok) throw new Error(r.issues.join("; "));
  return r.policy;
}

const fleet = (...ids: string[]): InstanceView[] => ids.map((id) => ({ id, removable: true }));

/** Samples of connections per instance, all taken at `at`. */
function conns(at: number, values: Record<string, number>): Sample[] {
  return Object.entries(values).map(([id, c]) => ({ id, at, values: { connections: c } }));
}

/** Runs decide() and returns the decision and next state. */
function step(
  p: Policy,
  now: number,
  instances: InstanceView[],
  samples: Sample[],
  state: ScaleState,
): { decision: Decision; state: ScaleState } {
  return decide({ now, policy: p, instances, samples, state });
}

Deno.test("decide() grows after the load stays above the threshold for after_seconds", () => {
  const p = policy();
  let s = INITIAL_STATE;
  const f = fleet("a");
  let r = step(p, 0, f, conns(0, { a: 90 }), s);
  assert.equal(r.decision.action, "hold");
  assert.equal(r.decision.reason, "sustaining_out");
  assert.equal(r.decision.utilization, 0.9);
  s = r.state;
  r = step(p, 1000, f, conns(1000, { a: 95 }), s);
  assert.equal(r.decision.reason, "sustaining_out");
  r = step(p, 2000, f, conns(2000, { a: 95 }), r.state);
  assert.equal(r.decision.action, "grow");
  assert.equal(r.decision.reason, "scale_out");
  // ceil(1 * 0.95 / 0.5) = 2
  assert.equal(r.decision.desired, 2);
  assert.equal(r.decision.current, 1);
  assert.match(r.decision.detail, /1 -> 2/);
  assert.deepEqual(r.state.pendingGrow, { to: 2, until: 32_000 });
  assert.equal(r.state.lastScaleOutAt, 2000);
});

Deno.test("decide() sizes a scale-out for the target, within max_step and max", () => {
  const p = policy({ scale_out: { ...BASE.scale_out, after_seconds: 0 } });
  // 2 instances at 1.5: ceil(2 * 1.5 / 0.5) = 6, step 2 -> 4
  let r = step(p, 0, fleet("a", "b"), conns(0, { a: 150, b: 150 }), INITIAL_STATE);
  assert.equal(r.decision.desired, 4);
  // 4 instances at 1.0 wants 8: max 5
  r = step(p, 0, fleet("a", "b", "c", "d"), conns(0, { a: 100, b: 100, c: 100, d: 100 }), {
    ...INITIAL_STATE,
  });
  assert.equal(r.decision.desired, 5);
  // just above the threshold still adds one
  r = step(p, 0, fleet("a", "b", "c"), conns(0, { a: 81, b: 81, c: 81 }), INITIAL_STATE);
  assert.equal(r.decision.desired, 5); // ceil(3*0.81/0.5) = 5, within step 2
  r = step(
    policy({ scale_out: { ...BASE.scale_out, after_seconds: 0 }, target_utilization: 0.79 }),
    0,
    fleet("a"),
    conns(0, { a: 81 }),
    INITIAL_STATE,
  );
  assert.equal(r.decision.desired, 2); // ceil(0.81/0.79) = 2
});

Deno.test("decide(): one evaluation back in band restarts the scale-out clock", () => {
  const p = policy();
  const f = fleet("a");
  let r = step(p, 0, f, conns(0, { a: 90 }), INITIAL_STATE);
  r = step(p, 1500, f, conns(1500, { a: 50 }), r.state);
  assert.equal(r.decision.reason, "in_band");
  assert.equal(r.state.aboveSince, null);
  r = step(p, 2000, f, conns(2000, { a: 90 }), r.state);
  assert.equal(r.decision.reason, "sustaining_out");
  r = step(p, 3500, f, conns(3500, { a: 90 }), r.state);
  assert.equal(r.decision.reason, "sustaining_out");
  r = step(p, 4000, f, conns(4000, { a: 90 }), r.state);
  assert.equal(r.decision.action, "grow");
});

Deno.test("decide() waits for launched instances, then for the scale-out cooldown", () => {
  const p = policy({ scale_out: { ...BASE.scale_out, after_seconds: 0, max_step: 1 } });
  let r = step(p, 0, fleet("a"), conns(0, { a: 200 }), INITIAL_STATE);
  assert.equal(r.decision.action, "grow");
  assert.equal(r.decision.desired, 2);
  // the new one has not registered yet: counted, no second launch
  r = step(p, 1000, fleet("a"), conns(1000, { a: 200 }), r.state);
  assert.equal(r.decision.reason, "pending");
  assert.equal(r.decision.current, 2);
  // registered: pending cleared; cooldown left
  r = step(p, 3000, fleet("a", "b"), conns(3000, { a: 200, b: 0 }), r.state);
  assert.equal(r.state.pendingGrow, null);
  assert.equal(r.decision.reason, "cooldown_out");
  assert.match(r.decision.detail, /7\.0 s left/);
  r = step(p, 10_000, fleet("a", "b"), conns(10_000, { a: 200, b: 0 }), r.state);
  assert.equal(r.decision.action, "grow");
  assert.equal(r.decision.desired, 3);
});

Deno.test("decide(): a launch that never registers stops counting after pending_timeout", () => {
  const p = policy({ scale_out: { ...BASE.scale_out, after_seconds: 0, cooldown_seconds: 0 } });
  let r = step(p, 0, fleet("a"), conns(0, { a: 200 }), INITIAL_STATE);
  assert.equal(r.decision.desired, 3);
  r = step(p, 29_999, fleet("a"), conns(29_999, { a: 200 }), r.state);
  assert.equal(r.decision.reason, "pending");
  r = step(p, 30_000, fleet("a"), conns(30_000, { a: 200 }), r.state);
  assert.equal(r.decision.action, "grow");
  assert.equal(r.decision.current, 1);
});

Deno.test("decide() holds at max, and grows to min at once without samples", () => {
  const p = policy({ min: 2, max: 2, scale_out: { ...BASE.scale_out, after_seconds: 0 } });
  let r = step(p, 0, fleet(), [], INITIAL_STATE);
  assert.equal(r.decision.action, "grow");
  assert.equal(r.decision.reason, "below_min");
  assert.equal(r.decision.desired, 2);
  // still launching: no second launch
  r = step(p, 100, fleet(), [], r.state);
  assert.equal(r.decision.action, "hold");
  assert.equal(r.decision.reason, "insufficient_samples");
  r = step(p, 5000, fleet("a", "b"), conns(5000, { a: 300, b: 300 }), r.state);
  assert.equal(r.decision.reason, "at_max");
  // an instance died: back to min whatever the cooldown
  r = step(p, 6000, fleet("a"), conns(6000, { a: 300 }), r.state);
  assert.equal(r.decision.action, "grow");
  assert.equal(r.decision.reason, "below_min");
});

Deno.test("decide() shrinks to max at once, removing the least loaded removable ones", () => {
  const p = policy({ max: 2 });
  const instances: InstanceView[] = [
    { id: "static", removable: false },
    { id: "b", removable: true },
    { id: "c", removable: true },
    { id: "d", removable: true },
  ];
  const r = step(p, 0, instances, conns(0, { static: 0, b: 30, c: 10, d: 20 }), INITIAL_STATE);
  assert.equal(r.decision.action, "shrink");
  assert.equal(r.decision.reason, "above_max");
  assert.deepEqual(r.decision.remove, ["c", "d"]);
  assert.equal(r.decision.desired, 2);
  const none = step(
    p,
    0,
    [
      { id: "x", removable: false },
      { id: "y", removable: false },
      { id: "z", removable: false },
    ],
    [],
    INITIAL_STATE,
  );
  assert.equal(none.decision.reason, "nothing_removable");
  assert.equal(none.decision.action, "hold");
});

Deno.test("decide() scales in after the load stays low, one step, least loaded first", () => {
  const p = policy();
  const f = fleet("a", "b", "c");
  let r = step(p, 0, f, conns(0, { a: 10, b: 5, c: 20 }), INITIAL_STATE);
  assert.equal(r.decision.reason, "sustaining_in");
  r = step(p, 3999, f, conns(3999, { a: 10, b: 5, c: 20 }), r.state);
  assert.equal(r.decision.reason, "sustaining_in");
  r = step(p, 4000, f, conns(4000, { a: 10, b: 5, c: 20 }), r.state);
  assert.equal(r.decision.action, "shrink");
  assert.equal(r.decision.reason, "scale_in");
  assert.deepEqual(r.decision.remove, ["b"]);
  assert.equal(r.decision.desired, 2);
  assert.deepEqual(r.state.removing, [{ id: "b", until: 34_000 }]);
  // b drains (still registered): not counted, no second scale-in meanwhile
  r = step(p, 20_000, f, conns(20_000, { a: 10, b: 0, c: 20 }), r.state);
  assert.equal(r.decision.current, 2);
  assert.equal(r.decision.reason, "sustaining_in");
  r = step(p, 24_500, f, conns(24_500, { a: 10, b: 0, c: 20 }), r.state);
  assert.equal(r.decision.reason, "pending");
  // b is gone: cooldown (8 s after the scale-in) is long over, the window too
  const f2 = fleet("a", "c");
  r = step(p, 25_000, f2, conns(25_000, { a: 10, c: 20 }), r.state);
  assert.equal(r.decision.action, "shrink");
  assert.deepEqual(r.state.removing, [{ id: "a", until: 55_000 }], "b forgotten, a added");
  assert.deepEqual(r.decision.remove, ["a"]);
  r = step(p, 40_000, fleet("c"), conns(40_000, { c: 1 }), r.state);
  assert.equal(r.decision.reason, "at_min");
});

Deno.test("decide(): scale-in waits out its cooldown after a scale-out", () => {
  const p = policy({ scale_in: { ...BASE.scale_in, after_seconds: 0, cooldown_seconds: 20 } });
  const state: ScaleState = { ...INITIAL_STATE, lastScaleOutAt: 0 };
  let r = step(p, 10_000, fleet("a", "b"), conns(10_000, { a: 0, b: 0 }), state);
  assert.equal(r.decision.reason, "cooldown_in");
  r = step(p, 20_000, fleet("a", "b"), conns(20_000, { a: 0, b: 0 }), r.state);
  assert.equal(r.decision.action, "shrink");
});

Deno.test("decide(): scale-in never leaves the fleet above the target", () => {
  const p = policy({ scale_in: { ...BASE.scale_in, after_seconds: 0, max_step: 3 } });
  // 4 at 0.2 = 0.8 of work: 2 instances keep 0.4 (ok), 1 would run 0.8
  let r = step(p, 0, fleet("a", "b", "c", "d"), conns(0, { a: 20, b: 20, c: 20, d: 20 }), {
    ...INITIAL_STATE,
  });
  assert.equal(r.decision.action, "shrink");
  assert.equal(r.decision.remove.length, 2);
  // 2 at 0.24: 1 instance would run 0.48 <= 0.5: allowed
  r = step(p, 0, fleet("a", "b"), conns(0, { a: 24, b: 24 }), INITIAL_STATE);
  assert.equal(r.decision.action, "shrink");
  // with a lower target the same is refused
  const strict = policy({
    target_utilization: 0.4,
    scale_in: { ...BASE.scale_in, after_seconds: 0 },
  });
  r = step(strict, 0, fleet("a", "b"), conns(0, { a: 24, b: 24 }), INITIAL_STATE);
  assert.equal(r.decision.reason, "would_overload");
  // min 0: an idle fleet may go to zero
  const zero = policy({ min: 0, scale_in: { ...BASE.scale_in, after_seconds: 0 } });
  r = step(zero, 0, fleet("a"), conns(0, { a: 0 }), INITIAL_STATE);
  assert.equal(r.decision.action, "shrink");
  assert.equal(r.decision.desired, 0);
  r = step(zero, 0, fleet("a"), conns(0, { a: 1 }), INITIAL_STATE);
  assert.equal(r.decision.reason, "would_overload");
});

Deno.test("decide(): scale-in only removes removable instances", () => {
  const p = policy({ scale_in: { ...BASE.scale_in, after_seconds: 0 } });
  const r = step(
    p,
    0,
    [{ id: "static", removable: false }, { id: "auto", removable: true }],
    conns(0, { static: 0, auto: 5 }),
    INITIAL_STATE,
  );
  assert.deepEqual(r.decision.remove, ["auto"]);
  const none = step(
    p,
    0,
    [{ id: "s1", removable: false }, { id: "s2", removable: false }],
    conns(0, { s1: 0, s2: 0 }),
    INITIAL_STATE,
  );
  assert.equal(none.decision.reason, "nothing_removable");
});

Deno.test("decide() ignores stale, future and missing samples; too few holds everything", () => {
  const p = policy({ scale_out: { ...BASE.scale_out, after_seconds: 0 } });
  const f = fleet("a", "b", "c");
  // a is fresh and hot, b is stale, c has none: 1 of 3 < 50%
  let r = step(p, 10_000, f, [
    ...conns(10_000, { a: 200 }),
    ...conns(4_999, { b: 200 }),
  ], { ...INITIAL_STATE, aboveSince: 0 });
  assert.equal(r.decision.reason, "insufficient_samples");
  assert.equal(r.decision.sampled, 1);
  assert.equal(r.state.aboveSince, null, "the clock restarts without evidence");
  // b's sample is from the future beyond max age: ignored too
  r = step(p, 10_000, f, [...conns(10_000, { a: 200 }), ...conns(15_001, { b: 200 })], r.state);
  assert.equal(r.decision.reason, "insufficient_samples");
  // two fresh of three: decide on those two only (mean of a and b)
  r = step(p, 10_000, f, conns(9_000, { a: 200, b: 0 }), r.state);
  assert.equal(r.decision.sampled, 2);
  assert.equal(r.decision.utilization, 1);
  assert.equal(r.decision.action, "grow");
  // a sample without any policy metric counts as missing
  r = step(p, 0, fleet("a"), [{ id: "a", at: 0, values: { cpu_percent: 99 } }], INITIAL_STATE);
  assert.equal(r.decision.reason, "insufficient_samples");
  // samples of unknown instances are ignored
  r = step(p, 0, fleet("a"), conns(0, { zz: 500, a: 50 }), INITIAL_STATE);
  assert.equal(r.decision.reason, "in_band");
});

Deno.test("decide(): aggregate max reacts to the hottest proxy, mean to the fleet", () => {
  const samples = conns(0, { a: 120, b: 10, c: 10 });
  const mean = step(
    policy({ scale_out: { ...BASE.scale_out, after_seconds: 0 } }),
    0,
    fleet(
      "a",
      "b",
      "c",
    ),
    samples,
    INITIAL_STATE,
  );
  assert.equal(mean.decision.reason, "in_band");
  const max = step(
    policy({ aggregate: "max", scale_out: { ...BASE.scale_out, after_seconds: 0 } }),
    0,
    fleet("a", "b", "c"),
    samples,
    INITIAL_STATE,
  );
  assert.equal(max.decision.action, "grow");
  assert.equal(max.decision.utilization, 1.2);
});

Deno.test("utilizationOf() takes the largest ratio over the policy's metrics", () => {
  const cap = { connections: 100, cpu_percent: 80, p99_seconds: 0.2 };
  const s = (values: Sample["values"]): Sample => ({ id: "a", at: 0, values });
  assert.deepEqual(utilizationOf(s({ connections: 50, cpu_percent: 60 }), cap), {
    value: 0.75,
    metric: "cpu_percent",
  });
  const slow = utilizationOf(s({ connections: 50, p99_seconds: 0.3 }), cap);
  assert.equal(slow?.metric, "p99_seconds");
  assert.ok(Math.abs(slow.value - 1.5) < 1e-9);
  // null (no request lately), NaN, negative and metrics without capacity are ignored
  assert.deepEqual(
    utilizationOf(s({ connections: 10, p99_seconds: null, cpu_percent: NaN, rps: 1e9 }), cap),
    { value: 0.1, metric: "connections" },
  );
  assert.equal(utilizationOf(s({ connections: -1 }), cap), null);
  assert.equal(utilizationOf(s({}), cap), null);
});

// ---------------------------------------------------------------------------------------------
// Properties

interface Model {
  policy: Policy;
  now: number;
  state: ScaleState;
  /** Registered instances. */
  instances: InstanceView[];
  /** Launches that register at `at`. */
  launching: { id: string; at: number }[];
  /** Removals that leave at `at`. */
  leaving: { id: string; at: number }[];
  next: number;
  history: { decision: Decision; lastOut: number | null; lastIn: number | null }[];
}

function newModel(p: Policy, size: number, removable: (i: number) => boolean): Model {
  const instances = Array.from({ length: size }, (_, i) => ({
    id: `i${i}`,
    removable: removable(i),
  }));
  return {
    policy: p,
    now: 0,
    state: INITIAL_STATE,
    instances,
    launching: [],
    leaving: [],
    next: size,
    history: [],
  };
}

/** Evaluates once with the given per-instance utilizations, then applies the decision. */
function evaluate(
  m: Model,
  util: (id: string) => number | null,
  random: () => number,
  sampleAge = 0,
): Decision {
  const cap = m.policy.capacity.connections!;
  const samples: Sample[] = [];
  for (const i of m.instances) {
    const u = util(i.id);
    if (u !== null) {
      samples.push({ id: i.id, at: m.now - sampleAge, values: { connections: u * cap } });
    }
  }
  const before = m.state;
  const r = decide({
    now: m.now,
    policy: m.policy,
    instances: m.instances,
    samples,
    state: m.state,
  });
  m.state = r.state;
  m.history.push({
    decision: r.decision,
    lastOut: before.lastScaleOutAt,
    lastIn: before.lastScaleInAt,
  });
  const d = r.decision;
  if (d.action === "grow") {
    const add = d.desired - d.current;
    for (let k = 0; k < add; k++) {
      m.launching.push({ id: `i${m.next++}`, at: m.now + 500 + Math.floor(random() * 3000) });
    }
  } else if (d.action === "shrink") {
    for (const id of d.remove) {
      m.leaving.push({ id, at: m.now + 500 + Math.floor(random() * 4000) });
    }
  }
  return d;
}

/** Advances the clock, registering launched instances and dropping removed ones when due. */
function advance(m: Model, ms: number): void {
  m.now += ms;
  for (const l of m.launching.filter((x) => x.at <= m.now)) {
    m.instances.push({ id: l.id, removable: true });
  }
  m.launching = m.launching.filter((x) => x.at > m.now);
  const gone = new Set(m.leaving.filter((x) => x.at <= m.now).map((x) => x.id));
  m.instances = m.instances.filter((i) => !gone.has(i.id));
  m.leaving = m.leaving.filter((x) => x.at > m.now);
}

function randomPolicy(random: () => number): Policy {
  const min = Math.floor(random() * 3);
  const max = Math.max(1, min) + Math.floor(random() * 6);
  const inT = 0.1 + random() * 0.3;
  const target = inT + 0.1 + random() * 0.3;
  const outT = target + 0.1 + random() * 0.5;
  const r = validatePolicy({
    min,
    max,
    capacity: { connections: 100 },
    target_utilization: target,
    aggregate: random() < 0.5 ? "mean" : "max",
    scale_out: {
      threshold: outT,
      after_seconds: Math.floor(random() * 5),
      cooldown_seconds: Math.floor(random() * 20),
      max_step: 1 + Math.floor(random() * 3),
    },
    scale_in: {
      threshold: inT,
      after_seconds: Math.floor(random() * 8),
      cooldown_seconds: Math.floor(random() * 30),
      max_step: 1 + Math.floor(random() * 3),
    },
    sample_max_age_seconds: 3,
    min_sample_coverage: 0.3 + random() * 0.7,
    pending_timeout_seconds: 10 + Math.floor(random() * 20),
  });
  if (!r.ok) throw new Error(r.issues.join("; "));
  return r.policy;
}

Deno.test("property: every decision respects bounds, steps, cooldowns and sustain windows", () => {
  for (let seed = 1; seed <= 150; seed++) {
    const random = mulberry32(seed);
    const p = randomPolicy(random);
    const m = newModel(p, Math.floor(random() * (p.max + 3)), () => random() < 0.8);
    let level = random() * 1.5;
    for (let t = 0; t < 400; t++) {
      if (random() < 0.05) level = random() * 2; // load regime changes now and then
      const d = evaluate(
        m,
        () => {
          const r = random();
          if (r < 0.05) return null; // missing sample
          return Math.max(0, level * (0.8 + random() * 0.4));
        },
        random,
        random() < 0.05 ? 10_000 : 0,
      );
      const h = m.history.at(-1)!;
      const ctx = `seed ${seed} t ${t}: ${JSON.stringify(d)}`;
      if (d.action === "hold") {
        assert.equal(d.desired, d.current, ctx);
        assert.equal(d.remove.length, 0, ctx);
      } else if (d.action === "grow") {
        assert.ok(d.desired > d.current, ctx);
        assert.ok(d.desired <= p.max, ctx);
        if (d.reason === "below_min") {
          assert.equal(d.desired, p.min, ctx);
        } else {
          assert.equal(d.reason, "scale_out", ctx);
          assert.ok(d.desired - d.current <= p.scale_out.max_step, ctx);
          assert.ok(d.utilization! > p.scale_out.threshold, ctx);
          if (h.lastOut !== null) {
            assert.ok(m.now - h.lastOut >= p.scale_out.cooldown_seconds * 1000, ctx);
          }
          // sustained: every evaluation in the window was above the threshold
          const from = m.now - p.scale_out.after_seconds * 1000;
          for (const e of m.history.filter((x) => x.decision.at >= from)) {
            assert.ok(
              e.decision.utilization !== null &&
                e.decision.utilization > p.scale_out.threshold &&
                e.decision.reason !== "insufficient_samples",
              ctx,
            );
          }
        }
      } else {
        assert.equal(d.remove.length, d.current - d.desired, ctx);
        assert.equal(new Set(d.remove).size, d.remove.length, ctx);
        for (const id of d.remove) {
          const inst = m.instances.find((i) => i.id === id);
          assert.ok(inst?.removable, ctx);
        }
        if (d.reason === "above_max") {
          assert.ok(d.desired >= p.max, ctx);
        } else {
          assert.equal(d.reason, "scale_in", ctx);
          assert.ok(d.remove.length <= p.scale_in.max_step, ctx);
          assert.ok(d.desired >= p.min, ctx);
          assert.ok(d.utilization! < p.scale_in.threshold, ctx);
          const projected = d.desired === 0 ? 0 : (d.utilization! * d.current) / d.desired;
          assert.ok(projected <= p.target_utilization + 1e-9, ctx);
          const last = Math.max(h.lastOut ?? -Infinity, h.lastIn ?? -Infinity);
          assert.ok(m.now - last >= p.scale_in.cooldown_seconds * 1000, ctx);
          const from = m.now - p.scale_in.after_seconds * 1000;
          for (const e of m.history.filter((x) => x.decision.at >= from)) {
            assert.ok(
              e.decision.utilization !== null &&
                e.decision.utilization < p.scale_in.threshold,
              ctx,
            );
          }
        }
      }
      advance(m, 250 + Math.floor(random() * 1500));
    }
  }
});

Deno.test("property: load flapping faster than the sustain windows never scales", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = mulberry32(1000 + seed);
    const p = policy({
      min: 1,
      max: 8,
      scale_out: { threshold: 0.8, after_seconds: 3, cooldown_seconds: 0, max_step: 4 },
      scale_in: { threshold: 0.25, after_seconds: 5, cooldown_seconds: 0, max_step: 4 },
    });
    const m = newModel(p, 2 + Math.floor(random() * 5), () => true);
    // a square wave between "very hot" and "idle", each half shorter than either window,
    // sampled at random instants (at least once per half: what is never seen cannot count)
    const half = 300 + Math.floor(random() * 2400);
    const hot = 0.85 + random() * 3;
    const cold = random() * 0.2;
    for (let t = 0; t < 300; t++) {
      const phase = Math.floor(m.now / half) % 2 === 0;
      const d = evaluate(m, () => (phase ? hot : cold) * (0.95 + random() * 0.1), random);
      assert.equal(d.action, "hold", `seed ${seed}: ${JSON.stringify(d)}`);
      advance(m, 50 + Math.floor(random() * (half / 2)));
    }
  }
});

Deno.test("property: load noise inside the band never scales", () => {
  for (let seed = 1; seed <= 100; seed++) {
    const random = mulberry32(2000 + seed);
    const p = policy({
      scale_out: { threshold: 0.8, after_seconds: 0, cooldown_seconds: 0, max_step: 4 },
      scale_in: { threshold: 0.25, after_seconds: 0, cooldown_seconds: 0, max_step: 4 },
    });
    const m = newModel(p, 1 + Math.floor(random() * 5), () => true);
    for (let t = 0; t < 200; t++) {
      // every instance's utilization anywhere in the band, independently
      const d = evaluate(m, () => 0.25 + random() * 0.55, random);
      assert.equal(d.action, "hold", `seed ${seed}: ${JSON.stringify(d)}`);
      assert.ok(d.reason === "in_band", d.reason);
      advance(m, 100 + Math.floor(random() * 2000));
    }
  }
});

Deno.test("property: a steady load with ±10% noise converges without ever reversing", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = mulberry32(3000 + seed);
    const p = policy({
      min: 1,
      max: 12,
      scale_out: { threshold: 0.8, after_seconds: 1, cooldown_seconds: 3, max_step: 2 },
      scale_in: { threshold: 0.25, after_seconds: 2, cooldown_seconds: 4, max_step: 2 },
    });
    const m = newModel(p, 1 + Math.floor(random() * 10), () => true);
    // total work in "instances at full capacity", spread evenly over the registered instances
    const work = 0.05 + random() * 5;
    const actions: string[] = [];
    for (let t = 0; t < 300; t++) {
      const n = m.instances.length;
      const d = evaluate(
        m,
        () => (n === 0 ? null : (work / n) * (0.9 + random() * 0.2)),
        random,
      );
      if (d.action !== "hold" && d.reason !== "below_min") actions.push(d.action);
      advance(m, 250 + Math.floor(random() * 1000));
    }
    const ctx = `seed ${seed}, work ${work}: ${actions.join(",")}`;
    assert.ok(new Set(actions).size <= 1, `reversed: ${ctx}`);
    // settled: the fleet's true utilization is in the band (or the fleet is at a bound)
    const n = m.instances.length;
    const u = work / n;
    assert.ok(
      (u >= 0.25 * 0.9 && u <= 0.8 * 1.1) || n === p.min || n === p.max,
      `not settled at n=${n}, u=${u}: ${ctx}`,
    );
  }
});
