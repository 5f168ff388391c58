/**
 * Weighted sampling by prefix sums, shared by RANDOM and POWER_OF_TWO_CHOICES.
 *
 * The cumulative weights are built once per snapshot; a draw is one binary
 * search (O(log n)) and allocates nothing.
 *
 * @module
 */
import type { Availability } from "./availability.ts";

/** Draws positions 0..size-1 with probability proportional to their weights. */
export class WeightedSampler {
  /** Number of positions. */
  readonly size: number;
  /** Sum of all weights. */
  readonly total: number;
  readonly #cumulative: Float64Array;

  /** `weights` must be positive and finite (see `eligible.ts`). */
  constructor(weights: ArrayLike<number>) {
    this.size = weights.length;
    this.#cumulative = new Float64Array(weights.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      sum += weights[i]!;
      this.#cumulative[i] = sum;
    }
    this.total = sum;
  }

  /**
   * The position whose weight interval contains `r * total`, for `r` in [0, 1).
   * Always in [0, size) when size > 0, whatever `r` is (NaN and r >= 1 give the last).
   */
  sample(r: number): number {
    return this.#locate(r * this.total);
  }

  /**
   * Like `sample`, but over every position except `excluded` (a draw without
   * replacement, for a distinct second choice), still with one random number.
   * Rounding may rarely return `excluded` itself; callers treat that as a miss.
   */
  sampleExcluding(r: number, excluded: number): number {
    const cumulative = this.#cumulative;
    const start = excluded > 0 ? cumulative[excluded - 1]! : 0;
    const width = cumulative[excluded]! - start;
    let x = r * (this.total - width);
    if (x >= start) x += width;
    return this.#locate(x);
  }

  #locate(x: number): number {
    const cumulative = this.#cumulative;
    let lo = 0;
    let hi = this.size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * A weighted draw among the positions whose candidate is available now
 * (`order[p]` is position p's candidate index), leaving out position
 * `excluded` (-1 for none): one O(n) pass to sum, one to locate. Returns the
 * position, or -1 when none is available.
 *
 * The exact fallback after rejection sampling over the full sampler gives up:
 * when most of the weight is unavailable, a scan from a random start would
 * favour whichever backend follows a run of unavailable ones; this keeps the
 * shares proportional to weight among the available ones.
 */
export function drawAvailable(
  order: Int32Array,
  weights: Float64Array,
  availability: Availability,
  r: number,
  excluded: number,
): number {
  const levels = availability.levels;
  const floor = availability.floor;
  let total = 0;
  let last = -1;
  for (let p = 0; p < order.length; p++) {
    if (p === excluded || levels[order[p]!]! < floor) continue;
    total += weights[p]!;
    last = p;
  }
  if (last < 0) return -1;
  const x = r * total;
  let sum = 0;
  for (let p = 0; p < last; p++) {
    if (p === excluded || levels[order[p]!]! < floor) continue;
    sum += weights[p]!;
    if (sum > x) return p;
  }
  return last;
}
