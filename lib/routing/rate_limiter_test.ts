import assert from "node:assert/strict";
import { TokenBucketLimiter } from "./rate_limiter.ts";

/** [what, options, steps [key, nowMs, expected result]]. */
const CASES: [string, { rate: number; burst: number }, [string, number, number][]][] = [
  ["a burst is allowed, then refused", { rate: 1, burst: 3 }, [
    ["a", 0, 0],
    ["a", 0, 0],
    ["a", 0, 0],
    ["a", 0, 1],
    ["a", 10, 1],
  ]],
  ["tokens come back at rate per second", { rate: 2, burst: 2 }, [
    ["a", 0, 0],
    ["a", 0, 0],
    ["a", 0, 1],
    ["a", 499, 1],
    ["a", 500, 0],
    ["a", 500, 1],
    ["a", 1000, 0],
  ]],
  ["refill stops at burst", { rate: 10, burst: 2 }, [
    ["a", 0, 0],
    ["a", 60_000, 0],
    ["a", 60_000, 0],
    ["a", 60_000, 1],
  ]],
  ["keys are isolated", { rate: 1, burst: 1 }, [
    ["a", 0, 0],
    ["a", 0, 1],
    ["b", 0, 0],
    ["b", 0, 1],
    ["c", 0, 0],
  ]],
  ["Retry-After rounds the wait up to whole seconds", { rate: 0.1, burst: 1 }, [
    ["a", 0, 0],
    ["a", 0, 10],
    ["a", 1_000, 9],
    ["a", 9_500, 1],
    ["a", 10_000, 0],
  ]],
  ["Retry-After is at least 1 at high rates", { rate: 1000, burst: 1 }, [
    ["a", 0, 0],
    ["a", 0, 1],
    ["a", 1, 0],
  ]],
  ["refused requests take nothing", { rate: 1, burst: 1 }, [
    ["a", 0, 0],
    ["a", 500, 1],
    ["a", 900, 1],
    ["a", 1000, 0],
  ]],
  ["a clock stepping back adds no tokens", { rate: 1, burst: 1 }, [
    ["a", 5_000, 0],
    ["a", 1_000, 1],
    ["a", 5_999, 1],
    ["a", 6_000, 0],
  ]],
];

for (const [what, options, steps] of CASES) {
  Deno.test(`TokenBucketLimiter.take(): ${what}`, () => {
    const limiter = new TokenBucketLimiter({ ...options, maxKeys: 100 });
    steps.forEach(([key, now, expected], i) => {
      assert.equal(limiter.take(key, now), expected, `step ${i}: ${key} at ${now} ms`);
    });
  });
}

Deno.test("TokenBucketLimiter never holds more than maxKeys buckets, with 10x keys", () => {
  const limiter = new TokenBucketLimiter({ rate: 1, burst: 1, maxKeys: 1000 });
  for (let i = 0; i < 10_000; i++) {
    assert.equal(limiter.take(`k${i}`, 0), 0);
    assert.ok(limiter.size <= 1000);
  }
  assert.equal(limiter.size, 1000);
});

Deno.test("TokenBucketLimiter evicts the least recently used key, not a busy one", () => {
  const limiter = new TokenBucketLimiter({ rate: 0.001, burst: 1, maxKeys: 2 });
  assert.equal(limiter.take("busy", 0), 0);
  assert.equal(limiter.take("old", 0), 0);
  assert.equal(limiter.take("busy", 1), 1000); // touched: now the most recent
  assert.equal(limiter.take("new", 2), 0); // evicts "old"
  assert.equal(limiter.take("busy", 3), 1000); // still limited: its bucket was kept
  assert.equal(limiter.take("old", 4), 0); // evicted: starts full again
});

Deno.test("TokenBucketLimiter refuses nonsense settings", () => {
  for (const o of [{ rate: 0, burst: 1 }, { rate: 1, burst: 0 }, { rate: NaN, burst: 1 }]) {
    assert.throws(() => new TokenBucketLimiter({ ...o, maxKeys: 1 }));
  }
  assert.throws(() => new TokenBucketLimiter({ rate: 1, burst: 1, maxKeys: 0 }));
});
