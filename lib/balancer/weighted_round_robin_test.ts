import assert from "node:assert/strict";
import {
  forbiddenRandom,
  makeCandidates,
  maxShareError,
  measureShares,
  weightShares,
} from "./testing.ts";
import { weightedRoundRobin } from "./weighted_round_robin.ts";

Deno.test("weightedRoundRobin() yields nginx's smooth sequence a a b a c a a for 5, 1, 1", () => {
  const selector = weightedRoundRobin(makeCandidates([5, 1, 1]), { random: forbiddenRandom });
  const names = "abc";
  const sequence = Array.from({ length: 21 }, () => names[selector.pick()]).join("");
  assert.equal(sequence, "aabacaa".repeat(3));
});

Deno.test("weightedRoundRobin() splits 100,000 picks by weight within 1 point", () => {
  for (const weights of [[5, 1, 1], [1, 2, 3, 4], [0.25, 0.5, 0.25], [3, 0.125, 7]]) {
    const selector = weightedRoundRobin(makeCandidates(weights), { random: forbiddenRandom });
    const shares = measureShares(selector, weights.length, 100_000);
    assert.ok(maxShareError(shares, weightShares(weights)) < 0.01, `${weights}: ${shares}`);
  }
});

Deno.test("weightedRoundRobin() is exact over every full cycle of integer weights", () => {
  const weights = [1, 2, 3, 4];
  const selector = weightedRoundRobin(makeCandidates(weights), { random: forbiddenRandom });
  for (let cycle = 0; cycle < 50; cycle++) {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10; i++) counts[selector.pick()]!++;
    assert.deepEqual(counts, weights);
  }
});

Deno.test("weightedRoundRobin() shares among usable backends only", () => {
  const candidates = makeCandidates([2, { weight: 5, usable: false }, 1]);
  const selector = weightedRoundRobin(candidates, { random: forbiddenRandom });
  const shares = measureShares(selector, 3, 30_000);
  assert.ok(maxShareError(shares, [2 / 3, 0, 1 / 3]) < 0.001, `shares ${shares}`);
});

Deno.test("weightedRoundRobin() leaves rejected backends out of the round, as nginx", () => {
  const selector = weightedRoundRobin(makeCandidates([5, 1, 1]), { random: forbiddenRandom });
  const notA = { accept: (i: number) => i !== 0 };
  // Only b and c take part: equal weights alternate, b first.
  assert.deepEqual(Array.from({ length: 4 }, () => selector.pick(notA)), [1, 2, 1, 2]);
  // a's current weight was untouched, so the full sequence resumes where it was.
  assert.deepEqual(Array.from({ length: 7 }, () => selector.pick()), [0, 0, 1, 0, 2, 0, 0]);
});
