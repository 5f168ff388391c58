import assert from "node:assert/strict";
import { mulberry32 } from "./hash.ts";
import { P2C_DRAW_ATTEMPTS, powerOfTwoChoices } from "./power_of_two.ts";
import {
  makeCandidates,
  maxShareError,
  measureShares,
  scriptedRandom,
  weightShares,
} from "./testing.ts";

Deno.test("powerOfTwoChoices() splits idle traffic by weight within 1 point", () => {
  for (const weights of [[5, 1, 1], [1, 2, 3, 4], [0.25, 1, 0.5]]) {
    const selector = powerOfTwoChoices(makeCandidates(weights), { random: mulberry32(10) });
    const shares = measureShares(selector, weights.length, 100_000);
    assert.ok(maxShareError(shares, weightShares(weights)) < 0.01, `${weights}: ${shares}`);
  }
});

Deno.test("powerOfTwoChoices() keeps the first draw on a tie", () => {
  // Equal weights: r = 0.1 draws 0 first; the second draw (without 0) is 1.
  const first0 = powerOfTwoChoices(makeCandidates([1, 1]), { random: scriptedRandom([0.1, 0.9]) });
  assert.equal(first0.pick(), 0);
  const first1 = powerOfTwoChoices(makeCandidates([1, 1]), { random: scriptedRandom([0.9, 0.1]) });
  assert.equal(first1.pick(), 1);
});

Deno.test("powerOfTwoChoices() prefers the less loaded of its two draws", () => {
  const candidates = makeCandidates([{ inflight: 5 }, { inflight: 2 }]);
  const selector = powerOfTwoChoices(candidates, { random: mulberry32(3) });
  // With two backends both are always drawn, so the lighter one always wins.
  for (let i = 0; i < 1000; i++) assert.equal(selector.pick(), 1);
});

Deno.test("powerOfTwoChoices() compares in-flight requests per unit of weight", () => {
  const candidates = makeCandidates([{ weight: 4, inflight: 3 }, { weight: 1, inflight: 1 }]);
  const selector = powerOfTwoChoices(candidates, { random: mulberry32(3) });
  for (let i = 0; i < 100; i++) assert.equal(selector.pick(), 0); // 3/4 < 1/1
});

Deno.test("powerOfTwoChoices() picks backends by load rank as two distinct draws predict", () => {
  // Ten equal backends with loads 0..9: backend i wins when it is drawn with a
  // heavier one, probability 2 (9 - i) / 90.
  const n = 10;
  const candidates = makeCandidates(Array.from({ length: n }, (_, i) => ({ inflight: i })));
  const selector = powerOfTwoChoices(candidates, { random: mulberry32(12) });
  const shares = measureShares(selector, n, 100_000);
  const expected = Array.from({ length: n }, (_, i) => (2 * (n - 1 - i)) / (n * (n - 1)));
  assert.ok(maxShareError(shares, expected) < 0.01, `shares ${shares}`);
  assert.equal(shares[n - 1], 0);
});

Deno.test("powerOfTwoChoices() stops sending to a backend whose requests never finish", () => {
  const candidates = makeCandidates([1, 1, 1, 1]);
  const selector = powerOfTwoChoices(candidates, { random: mulberry32(21) });
  // Backends 1-3 answer at once; backend 0 is stuck and keeps every request.
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20_000; i++) {
    const index = selector.pick();
    counts[index]!++;
    if (index === 0) candidates[0]!.counters.inflight++;
  }
  assert.ok(counts[0]! <= 1, `stuck backend got ${counts[0]} requests`);
});

Deno.test("powerOfTwoChoices() falls back to a scan when draws keep hitting rejected backends", () => {
  const candidates = makeCandidates([{ inflight: 0 }, { inflight: 4 }, { inflight: 2 }]);
  let draws = 0;
  const selector = powerOfTwoChoices(candidates, {
    random: () => {
      draws++;
      return 0; // always draws backend 0
    },
  });
  // Backend 0 is rejected: after the bounded draws, the scan takes the least loaded other.
  assert.equal(selector.pick({ accept: (i) => i !== 0 }), 2);
  assert.equal(draws, P2C_DRAW_ATTEMPTS + 1);
});

Deno.test("powerOfTwoChoices() returns the first draw when no distinct second one is acceptable", () => {
  const candidates = makeCandidates([{ inflight: 9 }, { inflight: 0 }, { inflight: 0 }]);
  const selector = powerOfTwoChoices(candidates, { random: () => 0 });
  assert.equal(selector.pick({ accept: (i) => i === 0 }), 0);
});
