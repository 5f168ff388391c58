/**
 * RANDOM: pick a backend at random, with probability proportional to weight.
 *
 * Stateless between picks, so it needs no coordination and has no cycle for
 * many proxies to fall into step with. Prefix sums are built once over every
 * backend with a valid weight; a pick is one binary search. A draw that lands on
 * a backend unavailable at pick time or that `accept` rejects is retried a
 * bounded number of times; then one weighted draw among the available backends
 * (an O(n) pass, so shares stay proportional however many are down), and a
 * linear scan from there when `accept` rejects that one too.
 *
 * @module
 */
import { type Availability, resolveAvailability } from "./availability.ts";
import { weightedIndices } from "./eligible.ts";
import type { Candidate, PickContext, Selector, SelectorOptions } from "./types.ts";
import { drawAvailable, WeightedSampler } from "./weighted_sampler.ts";

/** Weighted draws per pick before the linear fallback (each may call `accept`). */
export const RANDOM_DRAW_ATTEMPTS = 4;

class WeightedRandomSelector implements Selector {
  readonly algorithm = "RANDOM";
  readonly #order: Int32Array;
  readonly #weights: Float64Array;
  readonly #sampler: WeightedSampler;
  readonly #availability: Availability;
  readonly #random: () => number;

  constructor(candidates: readonly Candidate[], options: SelectorOptions) {
    const order = weightedIndices(candidates);
    this.#order = order;
    const weights = new Float64Array(order.length);
    for (let p = 0; p < order.length; p++) weights[p] = candidates[order[p]!]!.weight;
    this.#weights = weights;
    this.#sampler = new WeightedSampler(weights);
    this.#availability = resolveAvailability(candidates, options.availability);
    this.#random = options.random;
  }

  pick(context?: PickContext): number {
    const order = this.#order;
    const count = order.length;
    if (count === 0) return -1;
    const accept = context?.accept;
    const random = this.#random;
    const availability = this.#availability;
    const levels = availability.levels;
    for (let attempt = 0; attempt < RANDOM_DRAW_ATTEMPTS; attempt++) {
      const index = order[this.#sampler.sample(random())]!;
      if (levels[index]! >= availability.floor && (accept === undefined || accept(index))) {
        return index;
      }
    }
    let p = drawAvailable(order, this.#weights, availability, random(), -1);
    if (p < 0) return -1;
    for (let k = 0; k < count; k++) {
      const index = order[p]!;
      if (levels[index]! >= availability.floor && (accept === undefined || accept(index))) {
        return index;
      }
      p = p + 1 === count ? 0 : p + 1;
    }
    return -1;
  }
}

/**
 * Builds a RANDOM selector: weighted random picks among eligible backends.
 *
 * @example
 * ```ts
 * import { weightedRandom } from "./random.ts";
 * import { mulberry32 } from "./hash.ts";
 * const selector = weightedRandom([
 *   { address: "10.0.0.1:80", weight: 3, usable: true, counters: { inflight: 0 } },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters: { inflight: 0 } },
 * ], { random: mulberry32(7) });
 * selector.pick(); // 0 three times out of four, on average
 * ```
 */
export function weightedRandom(
  candidates: readonly Candidate[],
  options: SelectorOptions,
): Selector {
  return new WeightedRandomSelector(candidates, options);
}
