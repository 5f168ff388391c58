/**
 * A retry budget: retries may add at most `ratio` of recent requests, plus a
 * floor of `minPerSecond`, so that a failing backend set cannot turn retries
 * into a traffic multiplier (the Envoy/Linkerd idea). Pure; time is passed in.
 *
 * @module
 */

const WINDOW_SECONDS = 10;

/**
 * Counts requests and retries in a sliding window of one-second buckets.
 *
 * @example
 * ```ts
 * import { RetryBudget } from "./retry_budget.ts";
 * const b = new RetryBudget(0.2, 0);
 * for (let i = 0; i < 10; i++) b.recordRequest(1000);
 * console.log(b.tryRetry(1000), b.tryRetry(1000), b.tryRetry(1000)); // true true false
 * ```
 */
export class RetryBudget {
  readonly #requests = new Float64Array(WINDOW_SECONDS);
  readonly #retries = new Float64Array(WINDOW_SECONDS);
  #second = -1;

  constructor(readonly ratio: number, readonly minPerSecond: number) {}

  #advance(nowMs: number): number {
    const sec = Math.floor(nowMs / 1000);
    if (this.#second < 0) this.#second = sec;
    if (sec > this.#second) {
      const steps = Math.min(sec - this.#second, WINDOW_SECONDS);
      for (let i = 1; i <= steps; i++) {
        const idx = (this.#second + i) % WINDOW_SECONDS;
        this.#requests[idx] = 0;
        this.#retries[idx] = 0;
      }
      this.#second = sec;
    }
    return this.#second % WINDOW_SECONDS;
  }

  /** Counts one client request (not retries). */
  recordRequest(nowMs: number): void {
    this.#requests[this.#advance(nowMs)]!++;
  }

  /** Takes one retry from the budget if there is room; returns whether it may go ahead. */
  tryRetry(nowMs: number): boolean {
    const idx = this.#advance(nowMs);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < WINDOW_SECONDS; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    const allowed = requests * this.ratio + this.minPerSecond * WINDOW_SECONDS;
    if (retries + 1 > allowed) return false;
    this.#retries[idx]!++;
    return true;
  }
}
