/**
 * The contract every balancing algorithm implements.
 *
 * A selector is built once per snapshot (when backends, weights or health
 * change) and then picks synchronously on the request path: no I/O, no
 * allocation per pick beyond what the algorithm needs, bounded work.
 *
 * @module
 */
import type { Algorithm } from "../config/schema.ts";

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

/** What a selector sees of one backend. Immutable except for `counters`. */
export interface Candidate {
  /** Canonical `host:port`, the backend's identity. */
  readonly address: string;
  /** Effective weight (a positive number; slow start may make it fractional). */
  readonly weight: number;
  /** False when unhealthy, ejected or draining: never picked. */
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
}

/** Builds a selector over a candidate list. */
export type SelectorFactory = (
  candidates: readonly Candidate[],
  options: SelectorOptions,
) => Selector;
