/**
 * A route's `split` action (canaries, blue/green): which group a request goes
 * to, by weight. Built once per config on the balancers' weighted sampler; a
 * pick is one binary search and allocates nothing.
 *
 * @module
 */
import { WeightedSampler } from "../balancer/weighted_sampler.ts";
import type { Route } from "./schema.ts";

/** A route's `split`, as validated (weights sum to more than 0). */
export type Split = NonNullable<Route["split"]>;

/** A compiled split. */
export interface CompiledSplit {
  /** The groups that can be picked (weight > 0), in config order. */
  readonly groups: readonly string[];
  /** The group for a uniform `r` in [0, 1): each with probability weight / total. */
  pick(r: number): string;
}

/**
 * Compiles a split. Groups of weight 0 are left out, so they are never picked
 * (a canary at 0 is off, whatever the random number).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileSplit } from "./split.ts";
 * const s = compileSplit([{ group: "api-v1", weight: 95 }, { group: "api-v2", weight: 5 }]);
 * assert.equal(s.pick(0), "api-v1");
 * assert.equal(s.pick(0.949), "api-v1");
 * assert.equal(s.pick(0.95), "api-v2");
 * ```
 */
export function compileSplit(split: Split): CompiledSplit {
  const live = split.filter((s) => s.weight > 0);
  if (live.length === 0) throw new Error("split weights must sum to more than 0");
  const groups = live.map((s) => s.group);
  const sampler = new WeightedSampler(live.map((s) => s.weight));
  return { groups, pick: (r) => groups[sampler.sample(r)]! };
}
