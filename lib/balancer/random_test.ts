import assert from "node:assert/strict";
import { mulberry32 } from "./hash.ts";
import { RANDOM_DRAW_ATTEMPTS, weightedRandom } from "./random.ts";
import { makeCandidates, maxShareError, measureShares, weightShares } from "./testing.ts";

Deno.test("weightedRandom() splits 100,000 picks by weight within 1 point", () => {
  for (const weights of [[5, 1, 1], [1, 2, 3, 4], [0.25, 1, 0.5]]) {
    const selector = weightedRandom(makeCandidates(weights), { random: mulberry32(9) });
    const shares = measureShares(selector, weights.length, 100_000);
    assert.ok(maxShareError(shares, weightShares(weights)) < 0.01, `${weights}: ${shares}`);
  }
});

Deno.test("weightedRandom() shares among usable backends only", () => {
  const candidates = makeCandidates([1, { weight: 6, usable: false }, 3]);
  const selector = weightedRandom(candidates, { random: mulberry32(9) });
  const shares = measureShares(selector, 3, 100_000);
  assert.ok(maxShareError(shares, [0.25, 0, 0.75]) < 0.01, `shares ${shares}`);
});

Deno.test("weightedRandom() uses one random number per pick when nothing is rejected", () => {
  let calls = 0;
  const random = mulberry32(1);
  const selector = weightedRandom(makeCandidates([1, 2, 3]), {
    random: () => (calls++, random()),
  });
  for (let i = 0; i < 100; i++) selector.pick();
  assert.equal(calls, 100);
});

Deno.test("weightedRandom() retries rejected draws, then scans for an acceptable backend", () => {
  let calls = 0;
  const selector = weightedRandom(makeCandidates([1, 1, 1, 1]), {
    random: () => (calls++, 0), // always draws backend 0
  });
  assert.equal(selector.pick({ accept: (i) => i === 3 }), 3);
  assert.equal(calls, RANDOM_DRAW_ATTEMPTS + 1);
});

Deno.test("weightedRandom() spreads retries over the backends still acceptable", () => {
  const selector = weightedRandom(makeCandidates([1, 1, 1]), { random: mulberry32(2) });
  const shares = measureShares(selector, 3, 30_000, () => ({ accept: (i) => i !== 1 }));
  assert.ok(maxShareError(shares, [0.5, 0, 0.5]) < 0.01, `shares ${shares}`);
});
