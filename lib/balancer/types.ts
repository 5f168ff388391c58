/**
 * The contract every balancing algorithm implements.
 *
 * A selector is built when the backend set or the weights change, and then
 * picks synchronously on the request path: no I/O, no allocation per pick
 * beyond what the algorithm needs, bounded work. Health, ejections and panic
 * mode do not rebuild it: it reads them per pick from an {@link Availability}.
 *
 * @module
 */
import type { Algorithm } from "../config/schema.ts";
import type { Availability } from "./availability.ts";

/**
 * Live per-backend counters that outlive any one snapshot.
 *
 * The proxy keeps one object per backend address and hands the same object to
 * every snapshot it builds, so in-flight counts survive config and health
 * changes (a rebuilt selector keeps them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BackendCounters, createSelector, mulberry32 } from "./mod.ts";
 * const busy: BackendCounters = { inflight: 5 };
 * const idle: BackendCounters = { inflight: 0 };
 * const s = createSelector("LEAST_CONNECTIONS", [
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters: busy },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters: idle },
 * ], { random: mulberry32(1) });
 * assert.equal(s.pick(), 1);
 * ```
 */
export interface BackendCounters {
  /** Requests sent to this backend and not yet finished. */
  inflight: number;
}

/**
 * What a selector sees of one backend. Weight and address are fixed for the selector's life.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Candidate, createSelector, mulberry32 } from "./mod.ts";
 * const candidates: Candidate[] = [
 *   { address: "10.0.0.1:80", weight: 1, usable: false, counters: { inflight: 0 } },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters: { inflight: 0 } },
 * ];
 * const s = createSelector("ROUND_ROBIN", candidates, { random: mulberry32(1) });
 * assert.deepEqual([s.pick(), s.pick()], [1, 1]); // an unusable candidate is never picked
 * ```
 */
export interface Candidate {
  /** Canonical `host:port`, the backend's identity. */
  readonly address: string;
  /** Effective weight (a positive number; slow start may make it fractional). */
  readonly weight: number;
  /**
   * False when unhealthy, ejected or draining: never picked. Read once, at build
   * time, and only when the selector is built without a live
   * {@link SelectorOptions.availability}.
   */
  readonly usable: boolean;
  /** Shared live counters (in-flight), read by LEAST_CONNECTIONS and POWER_OF_TWO_CHOICES. */
  readonly counters: BackendCounters;
}

/**
 * Per-pick inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSelector, mulberry32, type PickContext } from "./mod.ts";
 * const counters = { inflight: 0 };
 * const s = createSelector("IP_HASH", [
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters },
 * ], { random: mulberry32(1) });
 * const first = s.pick({ key: "192.0.2.7" });
 * // a retry with the same key skips the backend already tried
 * const retry: PickContext = { key: "192.0.2.7", accept: (i) => i !== first };
 * assert.equal(s.pick(retry), 1 - first);
 * ```
 */
export interface PickContext {
  /** Hash key for CONSISTENT_HASH and IP_HASH (client IP, header, cookie...). */
  readonly key?: string;
  /**
   * Extra filter, e.g. "not already tried" on a retry. Called with a candidate
   * index; `false` skips that candidate. Unusable candidates are skipped before
   * this is consulted.
   */
  readonly accept?: (index: number) => boolean;
}

/**
 * Picks a backend index from a fixed candidate list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSelector, mulberry32, type Selector } from "./mod.ts";
 * const counters = { inflight: 0 };
 * const s: Selector = createSelector("ROUND_ROBIN", [
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters },
 * ], { random: mulberry32(1) });
 * assert.equal(s.algorithm, "ROUND_ROBIN");
 * const first = s.pick();
 * assert.equal(s.pick(), 1 - first); // round robin alternates
 * ```
 */
export interface Selector {
  readonly algorithm: Algorithm;
  /** Returns the index of the chosen candidate, or -1 when none is acceptable. */
  pick(context?: PickContext): number;
}

/**
 * Everything an algorithm may depend on besides the candidates.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSelector, mulberry32, type SelectorOptions } from "./mod.ts";
 * const candidates = [
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters: { inflight: 0 } },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters: { inflight: 0 } },
 * ];
 * // the same seed gives the same RANDOM sequence: tests are deterministic
 * const picks = (options: SelectorOptions) => {
 *   const s = createSelector("RANDOM", candidates, options);
 *   return [s.pick(), s.pick(), s.pick(), s.pick()];
 * };
 * assert.deepEqual(picks({ random: mulberry32(3) }), picks({ random: mulberry32(3) }));
 * ```
 */
export interface SelectorOptions {
  /** Uniform random in [0, 1); injected so tests are deterministic. */
  readonly random: () => number;
  /**
   * Live availability of the candidates (same length, same order), read at
   * every pick; its owner flips entries on health changes and ejections
   * without rebuilding the selector. Default: fixed by each candidate's
   * `usable` at build time.
   */
  readonly availability?: Availability;
}

/** Builds a selector over a candidate list. */
export type SelectorFactory = (
  candidates: readonly Candidate[],
  options: SelectorOptions,
) => Selector;
