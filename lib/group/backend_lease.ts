/**
 * A backend lease: one attempt's claim on one backend, from the pick until the
 * attempt's last byte.
 *
 * Why a lease: least-connections and power-of-two read each backend's
 * in-flight count, so the count must cover the whole exchange (a streaming
 * response included) and must come down exactly once however the attempt ends
 * (done, failed, retried elsewhere, client gone, timed out). The lease is the
 * one place the count moves: {@link BackendLease.release} is idempotent, so
 * every end path may call it. It also reports the attempt's outcome to passive
 * health (outlier detection) at most once. No I/O, no clock.
 *
 * @module
 */
import type { BackendView } from "./snapshot.ts";

/** Where a lease reports an attempt's outcome (the group's passive health). */
export interface OutcomeSink {
  /** One attempt's outcome: `failure` true for a failed attempt (see outlier detection). */
  recordOutcome(address: string, failure: boolean): unknown;
}

/**
 * One attempt on one backend: counted in flight from construction until
 * {@link release}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendLease } from "./backend_lease.ts";
 * import type { BackendView } from "./snapshot.ts";
 *
 * const backend = { address: "127.0.0.1:9001", counters: { inflight: 0 } } as BackendView;
 * const outcomes: boolean[] = [];
 * const lease = new BackendLease(backend, { recordOutcome: (_a, failure) => outcomes.push(failure) });
 * assert.equal(backend.counters.inflight, 1);
 * lease.report(false);
 * lease.report(true); // a second outcome for the same attempt is ignored
 * lease.release();
 * lease.release(); // idempotent
 * assert.equal(backend.counters.inflight, 0);
 * assert.deepEqual(outcomes, [false]);
 * ```
 */
export class BackendLease {
  #released = false;
  #reported = false;

  constructor(readonly backend: BackendView, private readonly sink: OutcomeSink) {
    backend.counters.inflight++;
  }

  /** The leased backend's address. */
  get address(): string {
    return this.backend.address;
  }

  /** Whether {@link release} was called. */
  get released(): boolean {
    return this.#released;
  }

  /** Whether an outcome was reported. */
  get reported(): boolean {
    return this.#reported;
  }

  /**
   * Reports this attempt's outcome to passive health, once: later calls are
   * ignored (an attempt has one outcome). An attempt that ends without a
   * verdict on the backend (the client left, a dead pooled connection) just
   * never reports.
   */
  report(failure: boolean): void {
    if (this.#reported) return;
    this.#reported = true;
    this.sink.recordOutcome(this.backend.address, failure);
  }

  /** Ends the attempt: no longer in flight. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.backend.counters.inflight--;
  }
}
