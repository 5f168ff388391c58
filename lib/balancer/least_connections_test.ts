import assert from "node:assert/strict";
import { leastConnections } from "./least_connections.ts";
import {
  forbiddenRandom,
  makeCandidates,
  maxShareError,
  measureShares,
  weightShares,
} from "./testing.ts";
import type { BackendCounters } from "./types.ts";

const options = { random: forbiddenRandom };

Deno.test("leastConnections() gives idle backends work in proportion to weight", () => {
  for (const weights of [[5, 1, 1], [1, 2, 3, 4], [0.25, 1, 0.5]]) {
    const selector = leastConnections(makeCandidates(weights), options);
    const shares = measureShares(selector, weights.length, 100_000);
    assert.ok(maxShareError(shares, weightShares(weights)) < 0.01, `${weights}: ${shares}`);
  }
});

Deno.test("leastConnections() breaks ties among idle backends by smooth weighted round robin", () => {
  const selector = leastConnections(makeCandidates([5, 1, 1]), options);
  assert.deepEqual(Array.from({ length: 7 }, () => selector.pick()), [0, 0, 1, 0, 2, 0, 0]);
});

Deno.test("leastConnections() sends new work to the idle backend", () => {
  const candidates = makeCandidates([
    { weight: 5, inflight: 4 },
    { weight: 1, inflight: 0 },
    { weight: 3, inflight: 2 },
  ]);
  const selector = leastConnections(candidates, options);
  for (let i = 0; i < 10; i++) assert.equal(selector.pick(), 1);
});

Deno.test("leastConnections() compares in-flight requests per unit of weight", () => {
  const candidates = makeCandidates([{ weight: 4, inflight: 3 }, { weight: 1, inflight: 1 }]);
  const selector = leastConnections(candidates, options);
  assert.equal(selector.pick(), 0); // 3/4 < 1/1
  candidates[0]!.counters.inflight = 5; // 5/4 > 1/1
  assert.equal(selector.pick(), 1);
  candidates[0]!.counters.inflight = 4; // 4/4 = 1/1: a tie, broken by weight
  const counts = [0, 0];
  for (let i = 0; i < 50; i++) counts[selector.pick()]!++;
  assert.deepEqual(counts, [40, 10]);
});

Deno.test("leastConnections() among ties only rotates over the least loaded", () => {
  const candidates = makeCandidates([
    { weight: 1, inflight: 2 },
    { weight: 2, inflight: 1 },
    { weight: 1, inflight: 5 },
    { weight: 1, inflight: 1 },
  ]);
  // Loads: 2, 0.5, 5, 1: backend 1 alone is least loaded.
  const selector = leastConnections(candidates, options);
  assert.equal(selector.pick(), 1);
  candidates[1]!.counters.inflight = 2; // loads 2, 1, 5, 1: 1 and 3 tie, weights 2:1
  assert.deepEqual(Array.from({ length: 6 }, () => selector.pick()), [1, 3, 1, 1, 3, 1]);
});

Deno.test("leastConnections() skips rejected backends even when they are the least loaded", () => {
  const candidates = makeCandidates([{ inflight: 0 }, { inflight: 3 }, { inflight: 7 }]);
  const selector = leastConnections(candidates, options);
  assert.equal(selector.pick({ accept: (i) => i !== 0 }), 1);
  assert.equal(selector.pick({ accept: (i) => i === 2 }), 2);
});

Deno.test("leastConnections() keeps in-flight proportional to weight under sustained load", () => {
  const weights = [1, 2, 3, 4];
  const candidates = makeCandidates(weights);
  const selector = leastConnections(candidates, options);
  for (let i = 0; i < 1000; i++) candidates[selector.pick()]!.counters.inflight++;
  assert.deepEqual(candidates.map((c) => c.counters.inflight), [100, 200, 300, 400]);
});

Deno.test("leastConnections() honours in-flight counts across a rebuild", () => {
  const shared: BackendCounters[] = [{ inflight: 0 }, { inflight: 0 }, { inflight: 0 }];
  const first = leastConnections(makeCandidates(shared.map((counters) => ({ counters }))), options);
  // Traffic through the first snapshot leaves requests in flight on 0 and 1.
  shared[first.pick()]!.inflight += 10;
  shared[first.pick()]!.inflight += 10;
  assert.equal(shared.filter((c) => c.inflight === 10).length, 2);
  const idle = shared.findIndex((c) => c.inflight === 0);
  // A new snapshot, new Candidate objects (new weight too), same counters objects.
  const rebuilt = leastConnections(
    makeCandidates(shared.map((counters) => ({ counters, weight: 2 }))),
    options,
  );
  for (let i = 0; i < 5; i++) assert.equal(rebuilt.pick(), idle);
  // Live updates made through the old snapshot's counters steer the new one too.
  const other = (idle + 1) % 3;
  shared[idle]!.inflight = 50;
  shared[other]!.inflight = 9;
  assert.equal(rebuilt.pick(), other);
});

Deno.test("leastConnections() counts negative or NaN in-flight as zero", () => {
  const candidates = makeCandidates([{ inflight: -3 }, { inflight: NaN }, { inflight: 1 }]);
  const selector = leastConnections(candidates, options);
  const picks = Array.from({ length: 4 }, () => selector.pick());
  assert.deepEqual(picks, [0, 1, 0, 1]);
});
