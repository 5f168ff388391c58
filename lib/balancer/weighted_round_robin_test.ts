import assert from "node:assert/strict";
import { Availability, STANDBY, UP } from "./availability.ts";
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

Deno.test("weightedRoundRobin() skips an unavailable peer and keeps the smooth sequence for the rest", () => {
  const candidates = makeCandidates([5, 1, 1]);
  const availability = Availability.of(candidates);
  availability.set(2, STANDBY);
  const live = weightedRoundRobin(candidates, { random: forbiddenRandom, availability });
  const alone = weightedRoundRobin(makeCandidates([5, 1]), { random: forbiddenRandom });
  const a = Array.from({ length: 18 }, () => live.pick());
  const b = Array.from({ length: 18 }, () => alone.pick());
  assert.deepEqual(a, b, "down from the start: exactly the two-peer sequence");
  assert.deepEqual(a.slice(0, 6), [0, 0, 0, 1, 0, 0]);
});

Deno.test("weightedRoundRobin() keeps exact proportions when a peer goes down and comes back mid-cycle", () => {
  const candidates = makeCandidates([5, 1, 1]);
  const availability = Availability.of(candidates);
  const selector = weightedRoundRobin(candidates, { random: forbiddenRandom, availability });
  for (let i = 0; i < 3; i++) selector.pick(); // mid-cycle
  availability.set(2, STANDBY);
  const down = [0, 0, 0];
  for (let i = 0; i < 600; i++) down[selector.pick()]!++;
  assert.ok(Math.abs(down[0]! - 500) <= 2 && Math.abs(down[1]! - 100) <= 2, `${down}`);
  assert.equal(down[2], 0);
  let run = 0;
  let longest = 0;
  const back = [0, 0, 0];
  availability.set(2, UP);
  for (let i = 0; i < 700; i++) {
    const p = selector.pick();
    back[p]!++;
    run = p === 0 ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  assert.ok(Math.abs(back[0]! - 500) <= 2 && Math.abs(back[1]! - 100) <= 2, `${back}`);
  assert.ok(Math.abs(back[2]! - 100) <= 2, `${back}`);
  assert.ok(longest <= 2, `light peers bunched: ${longest} in a row`);
});
