/**
 * ROUND_ROBIN: rotate over the usable backends, one request each.
 *
 * Weights are deliberately ignored (every eligible backend gets an equal share);
 * groups that want proportional shares name WEIGHTED_ROUND_ROBIN. The rotation
 * starts at a random position so that proxies rebuilding at the same moment do
 * not all send their next request to the same backend.
 *
 * @module
 */
import { type Availability, resolveAvailability } from "./availability.ts";
import { scaledIndex, weightedIndices } from "./eligible.ts";
import type { Candidate, PickContext, Selector, SelectorOptions } from "./types.ts";

class RoundRobinSelector implements Selector {
  readonly algorithm = "ROUND_ROBIN";
  readonly #order: Int32Array;
  readonly #availability: Availability;
  #cursor: number;

  constructor(candidates: readonly Candidate[], options: SelectorOptions) {
    this.#order = weightedIndices(candidates);
    this.#availability = resolveAvailability(candidates, options.availability);
    this.#cursor = this.#order.length > 0 ? scaledIndex(options.random(), this.#order.length) : 0;
  }

  pick(context?: PickContext): number {
    const order = this.#order;
    const count = order.length;
    const levels = this.#availability.levels;
    const floor = this.#availability.floor;
    const accept = context?.accept;
    let position = this.#cursor;
    for (let tried = 0; tried < count; tried++) {
      const index = order[position]!;
      position = position + 1 === count ? 0 : position + 1;
      if (levels[index]! >= floor && (accept === undefined || accept(index))) {
        this.#cursor = position;
        return index;
      }
    }
    return -1;
  }
}

/**
 * Builds a ROUND_ROBIN selector: equal shares, in list order, skipping backends
 * unavailable at pick time and those `accept` rejects (the rotation continues
 * after the winner).
 *
 * @example
 * ```ts
 * import { roundRobin } from "./round_robin.ts";
 * import { mulberry32 } from "./hash.ts";
 * const counters = { inflight: 0 };
 * const selector = roundRobin([
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters },
 *   { address: "10.0.0.2:80", weight: 5, usable: true, counters },
 * ], { random: mulberry32(1) });
 * const first = selector.pick(); // 0 or 1, then they alternate
 * ```
 */
export function roundRobin(
  candidates: readonly Candidate[],
  options: SelectorOptions,
): Selector {
  return new RoundRobinSelector(candidates, options);
}
