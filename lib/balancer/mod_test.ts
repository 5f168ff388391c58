import assert from "node:assert/strict";
import { type Algorithm, ALGORITHMS } from "../config/schema.ts";
import {
  consistentHash,
  type ConsistentHashSelector,
  createSelector,
  ipHash,
  leastConnections,
  mulberry32,
  powerOfTwoChoices,
  roundRobin,
  SELECTOR_FACTORIES,
  weightedRandom,
  weightedRoundRobin,
} from "./mod.ts";
import { makeCandidates } from "./testing.ts";

Deno.test("SELECTOR_FACTORIES has exactly one factory per config algorithm", () => {
  assert.deepEqual(Object.keys(SELECTOR_FACTORIES).sort(), [...ALGORITHMS].sort());
  assert.deepEqual(SELECTOR_FACTORIES, {
    ROUND_ROBIN: roundRobin,
    WEIGHTED_ROUND_ROBIN: weightedRoundRobin,
    LEAST_CONNECTIONS: leastConnections,
    POWER_OF_TWO_CHOICES: powerOfTwoChoices,
    CONSISTENT_HASH: consistentHash,
    IP_HASH: ipHash,
    RANDOM: weightedRandom,
  });
  assert.ok(Object.isFrozen(SELECTOR_FACTORIES));
});

Deno.test("createSelector() builds the selector the algorithm names", () => {
  for (const algorithm of ALGORITHMS) {
    const selector = createSelector(algorithm, makeCandidates([1, 2]), { random: mulberry32(1) });
    assert.equal(selector.algorithm, algorithm);
  }
});

Deno.test("createSelector() passes tableSize through to CONSISTENT_HASH", () => {
  const selector = createSelector("CONSISTENT_HASH", makeCandidates([1, 2]), {
    random: mulberry32(1),
    tableSize: 500,
  }) as ConsistentHashSelector;
  assert.equal(selector.tableSize, 503);
});

Deno.test("createSelector() rejects a name that is not an algorithm", () => {
  for (const name of ["LEAST_CONN", "round_robin", "toString", "__proto__", ""]) {
    assert.throws(
      () => createSelector(name as Algorithm, makeCandidates([1]), { random: mulberry32(1) }),
      TypeError,
    );
  }
});
