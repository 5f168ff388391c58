/**
 * RANDOM: pick a backend at random, with probability proportional to weight.
 *
 * Stateless between picks, so it needs no coordination and has no cycle for
 * many proxies to fall into step with. Prefix sums are built once; a pick is one
 * binary search. A draw that `accept` rejects is retried a bounded number of
 * times, then a linear scan from a random start takes the first acceptable one.
 *
 * @module
 */
import { eligibleIndices, scaledIndex } from "./eligible.ts";
import type { Candidate, PickContext, Selector, SelectorOptions } from "./types.ts";
import { WeightedSampler } from "./weighted_sampler.ts";

/** Weighted draws per pick before the linear fallback (each may call `accept`). */
export const RANDOM_DRAW_ATTEMPTS = 4;

class WeightedRandomSelector implements Selector {
  readonly algorithm = "RANDOM";
  readonly #order: Int32Array;
  readonly #sampler: WeightedSampler;
  readonly #random: () => number;

  constructor(candidates: readonly Candidate[], options: SelectorOptions) {
    const order = eligibleIndices(candidates);
    this.#order = order;
    const weights = new Float64Array(order.length);
    for (let p = 0; p < order.length; p++) weights[p] = candidates[order[p]!]!.weight;
    this.#sampler = new WeightedSampler(weights);
    this.#random = options.random;
  }

  pick(context?: PickContext): number {
    const order = this.#order;
    const count = order.length;
    if (count === 0) return -1;
    const accept = context?.accept;
    const random = this.#random;
    for (let attempt = 0; attempt < RANDOM_DRAW_ATTEMPTS; attempt++) {
      const index = order[this.#sampler.sample(random())]!;
      if (accept === undefined || accept(index)) return index;
    }
    let p = scaledIndex(random(), count);
    for (let k = 0; k < count; k++) {
      const index = order[p]!;
      if (accept!(index)) return index;
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
