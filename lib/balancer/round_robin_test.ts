import assert from "node:assert/strict";
import { mulberry32 } from "./hash.ts";
import { roundRobin } from "./round_robin.ts";
import { makeCandidates, maxShareError, measureShares } from "./testing.ts";

Deno.test("roundRobin() gives every usable backend an equal share, ignoring weights", () => {
  for (const weights of [[5, 1, 1], [1, 2, 3, 4]]) {
    const selector = roundRobin(makeCandidates(weights), { random: mulberry32(1) });
    const shares = measureShares(selector, weights.length, 100_000);
    const equal = weights.map(() => 1 / weights.length);
    assert.ok(maxShareError(shares, equal) < 0.0001, `shares ${shares}`);
  }
});

Deno.test("roundRobin() rotates in list order from a random start", () => {
  const starts = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const selector = roundRobin(makeCandidates([1, 1, 1, 1]), { random: mulberry32(seed) });
    const picks = Array.from({ length: 8 }, () => selector.pick());
    starts.add(picks[0]!);
    for (let i = 1; i < picks.length; i++) assert.equal(picks[i], (picks[i - 1]! + 1) % 4);
  }
  assert.equal(starts.size, 4);
});

Deno.test("roundRobin() skips unusable backends", () => {
  const candidates = makeCandidates([1, { usable: false }, 1, { usable: false }, 1]);
  const selector = roundRobin(candidates, { random: () => 0 });
  assert.deepEqual(Array.from({ length: 6 }, () => selector.pick()), [0, 2, 4, 0, 2, 4]);
});

Deno.test("roundRobin() skips rejected backends and resumes after the one it picked", () => {
  const selector = roundRobin(makeCandidates([1, 1, 1, 1]), { random: () => 0 });
  assert.equal(selector.pick(), 0);
  assert.equal(selector.pick({ accept: (i) => i !== 1 }), 2);
  assert.equal(selector.pick(), 3);
  assert.equal(selector.pick({ accept: (i) => i === 2 }), 2);
  assert.equal(selector.pick(), 3);
  assert.equal(selector.pick({ accept: () => false }), -1);
  assert.equal(selector.pick(), 0);
});
