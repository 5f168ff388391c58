import assert from "node:assert/strict";
import { parsePolicy, validatePolicy } from "./policy.ts";

const VALID = {
  min: 1,
  max: 3,
  capacity: { connections: 40 },
  target_utilization: 0.5,
  scale_out: { threshold: 0.8, after_seconds: 2, cooldown_seconds: 10, max_step: 2 },
  scale_in: { threshold: 0.25, after_seconds: 4, cooldown_seconds: 8, max_step: 1 },
};

Deno.test("validatePolicy() accepts a policy and fills in the defaults", () => {
  const r = validatePolicy(VALID);
  assert.ok(r.ok);
  assert.equal(r.policy.aggregate, "mean");
  assert.equal(r.policy.sample_max_age_seconds, 15);
  assert.equal(r.policy.min_sample_coverage, 0.5);
  assert.equal(r.policy.pending_timeout_seconds, 120);
  assert.deepEqual(r.policy.capacity, { connections: 40 });
});

Deno.test("validatePolicy() names the field and the reason of every problem", () => {
  const r = validatePolicy({
    ...VALID,
    min: 4,
    capacity: {},
    target_utilization: 0.9,
    scale_in: { ...VALID.scale_in, max_step: 0 },
  });
  assert.ok(!r.ok);
  const text = r.issues.join("\n");
  assert.match(text, /^max: must be >= min$/m);
  assert.match(text, /^capacity: name at least one of connections, cpu_percent/m);
  assert.match(text, /^scale_out\.threshold: must be above target_utilization$/m);
  assert.match(text, /^scale_in\.max_step: /m);
});

Deno.test("validatePolicy() rejects unknown keys (a typo never silently does nothing)", () => {
  const r = validatePolicy({ ...VALID, scale_out: { ...VALID.scale_out, cooldown: 5 } });
  assert.ok(!r.ok);
  assert.match(r.issues.join("\n"), /scale_out/);
  const top = validatePolicy({ ...VALID, maxx: 3 });
  assert.ok(!top.ok);
});

Deno.test("validatePolicy() needs the target strictly between the thresholds", () => {
  const equalIn = validatePolicy({ ...VALID, scale_in: { ...VALID.scale_in, threshold: 0.5 } });
  assert.ok(!equalIn.ok);
  assert.match(equalIn.issues.join(), /scale_in\.threshold: must be below target_utilization/);
  const negative = validatePolicy({ ...VALID, capacity: { connections: -1 } });
  assert.ok(!negative.ok);
});

Deno.test("parsePolicy() reports invalid JSON", () => {
  const r = parsePolicy("{ nope");
  assert.ok(!r.ok);
  assert.match(r.issues[0]!, /^invalid JSON: /);
  assert.ok(parsePolicy(JSON.stringify(VALID)).ok);
});
