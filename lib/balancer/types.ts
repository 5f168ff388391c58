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
 */
export interface BackendCounters {
  /** Requests sent to this backend and not yet finished. */
  inflight: number;
}

/** What a selector sees of one backend. Weight and address are fixed for the selector's life. */
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

/** Per-pick inputs. */
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

/** Picks a backend index from a fixed candidate list. */
export interface Selector {
  readonly algorithm: Algorithm;
  /** Returns the index of the chosen candidate, or -1 when none is acceptable. */
  pick(context?: PickContext): number;
}

/** Everything an algorithm may depend on besides the candidates. */
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
