/**
 * Weighted sampling by prefix sums, shared by RANDOM and POWER_OF_TWO_CHOICES.
 *
 * The cumulative weights are built once per snapshot; a draw is one binary
 * search (O(log n)) and allocates nothing.
 *
 * @module
 */

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
