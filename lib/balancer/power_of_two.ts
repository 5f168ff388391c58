/**
 * POWER_OF_TWO_CHOICES: draw two backends at random (weighted), send to the less
 * loaded one.
 *
 * Two choices give most of least-connections' benefit while being robust to
 * stale or shared counters (many proxies do not all stampede the one idle
 * backend). Draws are proportional to weight, the second without replacement,
 * and load is `inflight / weight`. On a tie the FIRST draw wins, so with idle
 * backends the traffic split equals the weight split exactly (in expectation).
 * A draw that lands on a backend unavailable at pick time or that `accept`
 * rejects is retried a bounded number of times; then one weighted draw among
 * the available backends (an O(n) pass) stands in, and should `accept` reject
 * that first choice, a linear scan from it takes the least-loaded acceptable
 * backend.
 *
 * @module
 */
import { type Availability, resolveAvailability } from "./availability.ts";
import { weightedIndices } from "./eligible.ts";
import type {
  BackendCounters,
  Candidate,
  PickContext,
  Selector,
  SelectorOptions,
} from "./types.ts";
import { drawAvailable, WeightedSampler } from "./weighted_sampler.ts";

/** Draws per choice before giving up on random sampling (each may call `accept`). */
export const P2C_DRAW_ATTEMPTS = 4;

class PowerOfTwoSelector implements Selector {
  readonly algorithm = "POWER_OF_TWO_CHOICES";
  readonly #order: Int32Array;
  readonly #weight: Float64Array;
  readonly #counters: readonly BackendCounters[];
  readonly #sampler: WeightedSampler;
  readonly #availability: Availability;
  readonly #random: () => number;

  constructor(candidates: readonly Candidate[], options: SelectorOptions) {
    const order = weightedIndices(candidates);
    this.#availability = resolveAvailability(candidates, options.availability);
    this.#order = order;
    this.#weight = new Float64Array(order.length);
    const counters: BackendCounters[] = [];
    for (let p = 0; p < order.length; p++) {
      const candidate = candidates[order[p]!]!;
      this.#weight[p] = candidate.weight;
      counters.push(candidate.counters);
    }
    this.#counters = counters;
    this.#sampler = new WeightedSampler(this.#weight);
    this.#random = options.random;
  }

  pick(context?: PickContext): number {
    const order = this.#order;
    const count = order.length;
    if (count === 0) return -1;
    const accept = context?.accept;
    const random = this.#random;
    const sampler = this.#sampler;
    const availability = this.#availability;
    const levels = availability.levels;

    let first = -1;
    for (let attempt = 0; attempt < P2C_DRAW_ATTEMPTS; attempt++) {
      const p = sampler.sample(random());
      const index = order[p]!;
      if (levels[index]! >= availability.floor && (accept === undefined || accept(index))) {
        first = p;
        break;
      }
    }
    if (first < 0) {
      const p = drawAvailable(order, this.#weight, availability, random(), -1);
      if (p < 0) return -1;
      if (accept !== undefined && !accept(order[p]!)) return this.#leastLoadedFrom(p, accept);
      first = p;
    }
    if (count === 1) return order[first]!;

    for (let attempt = 0; attempt < P2C_DRAW_ATTEMPTS; attempt++) {
      const p = sampler.sampleExcluding(random(), first);
      if (p === first) continue;
      const index = order[p]!;
      if (levels[index]! < availability.floor || (accept !== undefined && !accept(index))) {
        continue;
      }
      return order[this.#lessLoaded(first, p)]!;
    }
    const second = drawAvailable(order, this.#weight, availability, random(), first);
    if (second < 0 || (accept !== undefined && !accept(order[second]!))) return order[first]!;
    return order[this.#lessLoaded(first, second)]!;
  }

  /** `a` unless `b` carries strictly less load per unit of weight. */
  #lessLoaded(a: number, b: number): number {
    const weight = this.#weight;
    return this.#load(b) * weight[a]! < this.#load(a) * weight[b]! ? b : a;
  }

  #load(p: number): number {
    const inflight = this.#counters[p]!.inflight;
    return inflight > 0 ? inflight : 0;
  }

  #leastLoadedFrom(start: number, accept: ((index: number) => boolean) | undefined): number {
    const order = this.#order;
    const count = order.length;
    const levels = this.#availability.levels;
    const floor = this.#availability.floor;
    let best = -1;
    for (let k = 0, p = start; k < count; k++, p = p + 1 === count ? 0 : p + 1) {
      const index = order[p]!;
      if (levels[index]! < floor || (accept !== undefined && !accept(index))) continue;
      best = best < 0 ? p : this.#lessLoaded(best, p);
    }
    return best < 0 ? -1 : order[best]!;
  }
}

/**
 * Builds a POWER_OF_TWO_CHOICES selector: two weighted random draws, the one with
 * less `inflight / weight` wins, the first on a tie.
 *
 * @example
 * ```ts
 * import { powerOfTwoChoices } from "./power_of_two.ts";
 * import { mulberry32 } from "./hash.ts";
 * const selector = powerOfTwoChoices([
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters: { inflight: 9 } },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters: { inflight: 0 } },
 * ], { random: mulberry32(1) });
 * selector.pick(); // 1: with two backends both are drawn, and 1 is idle
 * ```
 */
export function powerOfTwoChoices(
  candidates: readonly Candidate[],
  options: SelectorOptions,
): Selector {
  return new PowerOfTwoSelector(candidates, options);
}
