/**
 * WEIGHTED_ROUND_ROBIN: nginx's smooth weighted round robin.
 *
 * Each pick, every eligible peer that `accept` allows gains its weight
 * (`current += weight`); the peer with the highest `current` wins (the first one
 * on a tie) and gives back the round's total (`current -= total`). Weights 5, 1, 1
 * yield `a a b a c a a`: exact proportions over every cycle, with the heavy
 * backend's turns spread out rather than bunched. Peers that are unavailable at
 * pick time (unhealthy, ejected, draining) or that `accept` rejects sit the
 * round out with their `current` frozen, as nginx does for down and
 * already-tried peers: the others keep their smooth sequence, in exact
 * proportion among themselves. A rebuilt selector starts from zero, which only
 * shifts where in the cycle it resumes.
 *
 * @module
 */
import { type Availability, resolveAvailability } from "./availability.ts";
import { weightedIndices } from "./eligible.ts";
import type { Candidate, PickContext, Selector, SelectorOptions } from "./types.ts";

class WeightedRoundRobinSelector implements Selector {
  readonly algorithm = "WEIGHTED_ROUND_ROBIN";
  readonly #order: Int32Array;
  readonly #weight: Float64Array;
  readonly #current: Float64Array;
  readonly #availability: Availability;

  constructor(candidates: readonly Candidate[], availability: Availability) {
    this.#availability = availability;
    this.#order = weightedIndices(candidates);
    this.#weight = new Float64Array(this.#order.length);
    for (let p = 0; p < this.#order.length; p++) {
      this.#weight[p] = candidates[this.#order[p]!]!.weight;
    }
    this.#current = new Float64Array(this.#order.length);
  }

  pick(context?: PickContext): number {
    const order = this.#order;
    const weight = this.#weight;
    const current = this.#current;
    const levels = this.#availability.levels;
    const floor = this.#availability.floor;
    const accept = context?.accept;
    let best = -1;
    let total = 0;
    for (let p = 0; p < order.length; p++) {
      const index = order[p]!;
      if (levels[index]! < floor || (accept !== undefined && !accept(index))) continue;
      const w = weight[p]!;
      const c = current[p]! + w;
      current[p] = c;
      total += w;
      if (best < 0 || c > current[best]!) best = p;
    }
    if (best < 0) return -1;
    current[best] = current[best]! - total;
    return order[best]!;
  }
}

/**
 * Builds a WEIGHTED_ROUND_ROBIN selector (smooth weighted round robin, as nginx).
 * Deterministic: `options.random` is not used.
 *
 * @example
 * ```ts
 * import { weightedRoundRobin } from "./weighted_round_robin.ts";
 * import { mulberry32 } from "./hash.ts";
 * const c = (address: string, weight: number) =>
 *   ({ address, weight, usable: true, counters: { inflight: 0 } });
 * const selector = weightedRoundRobin([c("a:1", 5), c("b:1", 1), c("c:1", 1)], {
 *   random: mulberry32(1),
 * });
 * const sequence = Array.from({ length: 7 }, () => selector.pick()); // [0, 0, 1, 0, 2, 0, 0]
 * ```
 */
export function weightedRoundRobin(
  candidates: readonly Candidate[],
  options: SelectorOptions,
): Selector {
  return new WeightedRoundRobinSelector(
    candidates,
    resolveAvailability(candidates, options.availability),
  );
}
