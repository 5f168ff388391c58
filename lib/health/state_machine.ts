/**
 * The health state machine shared by the embedded proxy checker and the
 * orchestrator: N consecutive failures mark a backend unhealthy, M consecutive
 * successes mark it healthy again. Pure: the caller passes the probe outcome
 * and the time.
 *
 * @module
 */

/**
 * Whether a backend may receive traffic according to active checks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HealthStatus, initialHealth } from "./state_machine.ts";
 * const status: HealthStatus = initialHealth(0).status;
 * assert.equal(status, "healthy"); // new backends serve at once
 * ```
 */
export type HealthStatus = "healthy" | "unhealthy";

/**
 * The state of one backend's active health.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HealthState, observeHealth } from "./state_machine.ts";
 * const down: HealthState = {
 *   status: "unhealthy", successes: 0, failures: 3, since: 0, lastError: "timeout",
 * };
 * const next = observeHealth(down, true, 10, { healthy: 2, unhealthy: 3 }).state;
 * assert.equal(next.status, "unhealthy"); // one success is not enough
 * assert.equal(next.successes, 1);
 * assert.equal(next.lastError, null);
 * ```
 */
export interface HealthState {
  readonly status: HealthStatus;
  /** Consecutive successful probes (reset by a failure). */
  readonly successes: number;
  /** Consecutive failed probes (reset by a success). */
  readonly failures: number;
  /** When the status last changed (ms, caller's clock). */
  readonly since: number;
  /** The last probe's failure reason, or null after a success. */
  readonly lastError: string | null;
}

/**
 * Rise/fall thresholds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HealthThresholds, initialHealth, observeHealth } from "./state_machine.ts";
 * const oneStrike: HealthThresholds = { healthy: 1, unhealthy: 1 };
 * const r = observeHealth(initialHealth(0), false, 5, oneStrike, "connection refused");
 * assert.equal(r.state.status, "unhealthy");
 * assert.equal(r.state.lastError, "connection refused");
 * ```
 */
export interface HealthThresholds {
  /** Consecutive successes that bring an unhealthy backend back (default 2). */
  readonly healthy: number;
  /** Consecutive failures that take a healthy backend out (default 3). */
  readonly unhealthy: number;
}

/**
 * The outcome of one observation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HealthObservation, initialHealth, observeHealth } from "./state_machine.ts";
 * const t = { healthy: 2, unhealthy: 2 };
 * const first: HealthObservation = observeHealth(initialHealth(0), false, 1, t);
 * const second: HealthObservation = observeHealth(first.state, false, 2, t);
 * assert.deepEqual([first.flipped, second.flipped], [false, true]);
 * assert.equal(second.state.since, 2); // when the status changed
 * ```
 */
export interface HealthObservation {
  readonly state: HealthState;
  /** True when this observation changed the status. */
  readonly flipped: boolean;
}

/**
 * The state a backend starts in. New backends start healthy so a fresh config
 * serves at once; active checks take a dead one out after `unhealthy` probes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initialHealth } from "./state_machine.ts";
 * assert.deepEqual(initialHealth(1000), {
 *   status: "healthy", successes: 0, failures: 0, since: 1000, lastError: null,
 * });
 * assert.equal(initialHealth(0, "unhealthy").status, "unhealthy");
 * ```
 */
export function initialHealth(now: number, status: HealthStatus = "healthy"): HealthState {
  return { status, successes: 0, failures: 0, since: now, lastError: null };
}

/**
 * Folds one probe result into the state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initialHealth, observeHealth } from "./state_machine.ts";
 * const t = { healthy: 2, unhealthy: 3 };
 * let s = initialHealth(0);
 * for (let i = 1; i <= 3; i++) s = observeHealth(s, false, i, t).state;
 * assert.equal(s.status, "unhealthy");
 * for (let i = 4; i <= 5; i++) s = observeHealth(s, true, i, t).state;
 * assert.equal(s.status, "healthy");
 * ```
 */
export function observeHealth(
  state: HealthState,
  ok: boolean,
  now: number,
  thresholds: HealthThresholds,
  error: string | null = null,
): HealthObservation {
  if (ok) {
    const successes = state.successes + 1;
    if (state.status === "unhealthy" && successes >= thresholds.healthy) {
      return {
        state: { status: "healthy", successes, failures: 0, since: now, lastError: null },
        flipped: true,
      };
    }
    return {
      state: { status: state.status, successes, failures: 0, since: state.since, lastError: null },
      flipped: false,
    };
  }
  const failures = state.failures + 1;
  const lastError = error ?? "probe failed";
  if (state.status === "healthy" && failures >= thresholds.unhealthy) {
    return {
      state: { status: "unhealthy", successes: 0, failures, since: now, lastError },
      flipped: true,
    };
  }
  return {
    state: { status: state.status, successes: 0, failures, since: state.since, lastError },
    flipped: false,
  };
}

/**
 * When the next probe of a target should run: one interval after the last,
 * moved by up to ±`jitter` of the interval so probes of many targets spread
 * out instead of firing together. `jitter` is clamped to [0, 1], so the next
 * probe is never scheduled before `last`.
 *
 * @param random Uniform in [0, 1).
 * @returns A time in `[last + interval·(1 − jitter), last + interval·(1 + jitter))`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextProbeAt } from "./state_machine.ts";
 * assert.equal(nextProbeAt(1000, 10_000, 0.1, () => 0.5), 11_000);
 * assert.equal(nextProbeAt(1000, 10_000, 0.1, () => 0), 10_000);
 * ```
 */
export function nextProbeAt(
  last: number,
  intervalMs: number,
  jitter: number,
  random: () => number,
): number {
  const j = jitter > 0 ? Math.min(jitter, 1) : 0;
  return last + intervalMs * (1 + j * (2 * random() - 1));
}
