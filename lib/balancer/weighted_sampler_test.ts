import assert from "node:assert/strict";
import { mulberry32 } from "./hash.ts";
import { maxShareError, weightShares } from "./testing.ts";
import { WeightedSampler } from "./weighted_sampler.ts";

Deno.test("WeightedSampler.sample() maps r onto the weights' intervals", () => {
  const sampler = new WeightedSampler([1, 2, 1]);
  assert.equal(sampler.total, 4);
  assert.equal(sampler.size, 3);
  const cases: [number, number][] = [[0, 0], [0.2499, 0], [0.25, 1], [0.7499, 1], [0.75, 2], [
    0.9999,
    2,
  ]];
  for (const [r, expected] of cases) assert.equal(sampler.sample(r), expected, `r = ${r}`);
});

Deno.test("WeightedSampler.sample() stays in range whatever r is", () => {
  const sampler = new WeightedSampler([0.25, 3, 0.5]);
  for (const r of [-1, -0, 1, 1.5, NaN, Infinity, -Infinity, 1 - 2 ** -53]) {
    const p = sampler.sample(r);
    assert.ok(p >= 0 && p < 3, `r = ${r} gave ${p}`);
  }
});

Deno.test("WeightedSampler.sample() draws in proportion to the weights", () => {
  const weights = [0.25, 1, 2, 4.75];
  const sampler = new WeightedSampler(weights);
  const random = mulberry32(4);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 100_000; i++) counts[sampler.sample(random())]!++;
  const shares = counts.map((c) => c / 100_000);
  assert.ok(maxShareError(shares, weightShares(weights)) < 0.01, `shares ${shares}`);
});

Deno.test("WeightedSampler.sampleExcluding() draws the others in proportion to their weights", () => {
  const weights = [1, 2, 3, 4];
  const sampler = new WeightedSampler(weights);
  const random = mulberry32(6);
  for (let excluded = 0; excluded < weights.length; excluded++) {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 50_000; i++) counts[sampler.sampleExcluding(random(), excluded)]!++;
    assert.equal(counts[excluded], 0);
    const rest = weights.map((w, i) => (i === excluded ? 0 : w));
    const shares = counts.map((c) => c / 50_000);
    assert.ok(maxShareError(shares, weightShares(rest)) < 0.01, `shares ${shares}`);
  }
  // On a grid of exact values the excluded position never comes back.
  for (let k = 0; k < 1000; k++) {
    for (let excluded = 0; excluded < weights.length; excluded++) {
      assert.notEqual(sampler.sampleExcluding(k / 1000, excluded), excluded);
    }
  }
});
