/**
 * A route's local rate limit: a token bucket per key (client IP or a header
 * value), in bounded memory. Pure: the clock is passed to every call, there
 * are no timers.
 *
 * @module
 */

/** A bucket: tokens left as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket limiter's settings (a route's `rate_limit`). */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly rate: number;
  /** Bucket size: requests allowed in a burst. */
  readonly burst: number;
  /** Buckets kept at most; the least recently used is evicted beyond. */
  readonly maxKeys: number;
}

/**
 * Token buckets by key. A new key starts with a full bucket; each request
 * takes one token; tokens come back at `rate` per second up to `burst`.
 *
 * Memory is bounded: at most `maxKeys` buckets, the least recently used
 * evicted (a Map keeps insertion order; a touched key is moved to the end).
 * An evicted key starts again with a full bucket, so `maxKeys` must exceed
 * the number of clients active within a refill period for the limit to hold
 * under a flood of distinct keys: the trade-off of bounded memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TokenBucketLimiter } from "./rate_limiter.ts";
 * const limiter = new TokenBucketLimiter({ rate: 1, burst: 2, maxKeys: 1000 });
 * assert.equal(limiter.take("10.0.0.1", 0), 0); // allowed
 * assert.equal(limiter.take("10.0.0.1", 0), 0);
 * assert.equal(limiter.take("10.0.0.1", 0), 1); // wait 1 s (Retry-After: 1)
 * assert.equal(limiter.take("10.0.0.1", 1000), 0); // one token back
 * ```
 */
export class TokenBucketLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    if (!(options.rate > 0) || !(options.burst >= 1) || !(options.maxKeys >= 1)) {
      throw new Error("rate must be > 0, burst and maxKeys at least 1");
    }
    this.#rate = options.rate / 1000; // per ms
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys;
  }

  /** Buckets held now (at most maxKeys). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes a token for `key` at `nowMs`. Returns 0 when the request is
   * allowed, else the whole seconds (at least 1) until a token is back: the
   * `Retry-After` value of the 429. A clock that steps back adds no tokens.
   */
  take(key: string, nowMs: number): number {
    const buckets = this.#buckets;
    const b = buckets.get(key);
    if (b === undefined) {
      if (buckets.size >= this.#maxKeys) {
        buckets.delete(buckets.keys().next().value!);
      }
      buckets.set(key, { tokens: this.#burst - 1, at: nowMs });
      return 0;
    }
    // most recently used last: delete and set again
    buckets.delete(key);
    buckets.set(key, b);
    if (nowMs > b.at) {
      b.tokens = Math.min(this.#burst, b.tokens + (nowMs - b.at) * this.#rate);
      b.at = nowMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#rate / 1000));
  }
}
