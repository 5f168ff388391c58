/**
 * The balancing algorithms: pure, synchronous selectors over a snapshot of
 * candidates, one per `Algorithm` name of the group config.
 *
 * Build a selector with {@linkcode createSelector} whenever backends, weights or
 * health change, then call `pick()` per request (and per retry, with an `accept`
 * that rejects backends already tried). Every selector returns an index into the
 * candidate list or -1, never an unusable or rejected candidate, and does
 * bounded work per pick (at most `candidates + 16` calls to `accept`).
 *
 * @module
 */
import type { Algorithm } from "../config/schema.ts";
import { consistentHash, type ConsistentHashOptions } from "./consistent_hash.ts";
import { ipHash } from "./ip_hash.ts";
import { leastConnections } from "./least_connections.ts";
import { powerOfTwoChoices } from "./power_of_two.ts";
import { weightedRandom } from "./random.ts";
import { roundRobin } from "./round_robin.ts";
import type { Candidate, Selector, SelectorFactory } from "./types.ts";
import { weightedRoundRobin } from "./weighted_round_robin.ts";

export type {
  BackendCounters,
  Candidate,
  PickContext,
  Selector,
  SelectorFactory,
  SelectorOptions,
} from "./types.ts";
export type { Algorithm } from "../config/schema.ts";
export {
  consistentHash,
  type ConsistentHashOptions,
  type ConsistentHashSelector,
} from "./consistent_hash.ts";
export { ipHash } from "./ip_hash.ts";
export { leastConnections } from "./least_connections.ts";
export { powerOfTwoChoices } from "./power_of_two.ts";
export { weightedRandom } from "./random.ts";
export { roundRobin } from "./round_robin.ts";
export { weightedRoundRobin } from "./weighted_round_robin.ts";
export { isEligible } from "./eligible.ts";
export {
  hashKey,
  hashKeyAlt,
  mix32,
  mulberry32,
  murmur3,
  PRIMARY_SEED,
  SECONDARY_SEED,
} from "./hash.ts";

/**
 * Options of {@linkcode createSelector}: the randomness source plus per-algorithm knobs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSelector, type CreateSelectorOptions, mulberry32 } from "./mod.ts";
 * const options: CreateSelectorOptions = { random: mulberry32(7), tableSize: 1009 };
 * const counters = { inflight: 0 };
 * const s = createSelector("CONSISTENT_HASH", [
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters },
 * ], options);
 * // the same key always lands on the same backend
 * assert.equal(s.pick({ key: "user-42" }), s.pick({ key: "user-42" }));
 * ```
 */
export type CreateSelectorOptions = ConsistentHashOptions;

/** The factory of every algorithm, by config name (a table rather than a switch, for tests). */
export const SELECTOR_FACTORIES: Readonly<Record<Algorithm, SelectorFactory>> = Object.freeze({
  ROUND_ROBIN: roundRobin,
  WEIGHTED_ROUND_ROBIN: weightedRoundRobin,
  LEAST_CONNECTIONS: leastConnections,
  POWER_OF_TWO_CHOICES: powerOfTwoChoices,
  CONSISTENT_HASH: consistentHash,
  IP_HASH: ipHash,
  RANDOM: weightedRandom,
});

/**
 * Builds the selector for a group's `algorithm` over a snapshot of candidates.
 * Throws a `TypeError` for a name that is not an `Algorithm` (config validation
 * should have caught it) and a `RangeError` for an invalid `tableSize`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSelector, mulberry32 } from "./mod.ts";
 * const counters = { inflight: 0 };
 * const selector = createSelector("WEIGHTED_ROUND_ROBIN", [
 *   { address: "10.0.0.1:80", weight: 2, usable: true, counters },
 *   { address: "10.0.0.2:80", weight: 1, usable: false, counters },
 * ], { random: mulberry32(1) });
 * assert.equal(selector.pick(), 0); // the only usable backend
 * assert.equal(selector.pick({ accept: (i) => i !== 0 }), -1); // nothing else qualifies
 * ```
 */
export function createSelector(
  algorithm: Algorithm,
  candidates: readonly Candidate[],
  options: CreateSelectorOptions,
): Selector {
  const factory = Object.hasOwn(SELECTOR_FACTORIES, algorithm)
    ? SELECTOR_FACTORIES[algorithm]
    : undefined;
  if (factory === undefined) throw new TypeError(`unknown balancing algorithm: ${algorithm}`);
  return factory(candidates, options);
}
