/**
 * Passive health (outlier detection): a backend that fails N requests in a
 * row (connect failures, resets, 5xx) is ejected for a while, longer each
 * time it is ejected again, as Envoy does. Pure: the proxy reports outcomes
 * and the time; this decides.
 *
 * @module
 */

/** Outlier-detection settings of a group. */
export interface OutlierSettings {
  /** Off switch. */
  readonly enabled: boolean;
  /** Consecutive failures that eject a backend. */
  readonly consecutiveFailures: number;
  /** Whether a 5xx answer counts as a failure (connect failures and resets always do). */
  readonly count5xx: boolean;
  /** First ejection length; the n-th ejection in a row lasts n times this. */
  readonly baseEjectionMs: number;
  /** Cap on one ejection's length. */
  readonly maxEjectionMs: number;
  /** Never eject more than this share of the group's backends (a floor of available ones). */
  readonly maxEjectionPercent: number;
}

/** Passive-health state of one backend. */
export interface OutlierState {
  readonly consecutiveFailures: number;
  /** Ejected until this time (ms); 0 when not ejected. */
  readonly ejectedUntil: number;
  /** Ejections in a row (the back-off multiplier); decays after a quiet period. */
  readonly ejections: number;
  /** When the last ejection ended or would end (for the decay). */
  readonly lastEjectionEnd: number;
}

/** A backend nobody has complained about. */
export const FRESH_OUTLIER: OutlierState = {
  consecutiveFailures: 0,
  ejectedUntil: 0,
  ejections: 0,
  lastEjectionEnd: 0,
};

/** What one outcome did. */
export interface OutlierResult {
  readonly state: OutlierState;
  /** True when this outcome ejected the backend. */
  readonly ejected: boolean;
}

/** True when the backend is ejected at `now`. */
export function isEjected(state: OutlierState, now: number): boolean {
  return state.ejectedUntil > now;
}

/**
 * How many of `total` backends may be ejected at once without going below
 * the floor (at least one backend always stays unless `maxEjectionPercent` is 100).
 */
export function ejectionCapacity(total: number, maxEjectionPercent: number): number {
  const cap = Math.floor((total * maxEjectionPercent) / 100);
  return maxEjectionPercent >= 100 ? total : Math.min(cap, Math.max(0, total - 1));
}

/**
 * The floor: how many of `total` backends must stay available (healthy and
 * not ejected) whatever outlier detection thinks, i.e. `total` minus
 * {@link ejectionCapacity}; at least 1 unless `maxEjectionPercent` is 100.
 */
export function minAvailable(total: number, maxEjectionPercent: number): number {
  return total - ejectionCapacity(total, maxEjectionPercent);
}

/**
 * Whether ejecting one more backend keeps the group at or above its floor.
 *
 * @param total Backends in the group.
 * @param available Backends available now (healthy and not ejected).
 * @param candidateAvailable Whether the backend to eject is itself among `available`
 *   (ejecting one that is already out of rotation costs nothing).
 *
 * @example
 * ```ts
 * import { mayEject } from "./outlier.ts";
 * console.log(mayEject(3, 3, true, 50), mayEject(3, 2, true, 50)); // true false
 * ```
 */
export function mayEject(
  total: number,
  available: number,
  candidateAvailable: boolean,
  maxEjectionPercent: number,
): boolean {
  const after = candidateAvailable ? available - 1 : available;
  return after >= minAvailable(total, maxEjectionPercent);
}

/**
 * Folds one request outcome into a backend's state.
 *
 * @param failure The attempt failed (connect refused/reset/timeout, or a 5xx when counted).
 * @param mayEject False when ejecting would break the floor of available backends.
 *
 * @example
 * ```ts
 * import { FRESH_OUTLIER, recordOutcome } from "./outlier.ts";
 * const settings = { enabled: true, consecutiveFailures: 2, count5xx: true, baseEjectionMs: 1000,
 *   maxEjectionMs: 30000, maxEjectionPercent: 50 };
 * let s = recordOutcome(FRESH_OUTLIER, true, 0, settings, true).state;
 * const r = recordOutcome(s, true, 10, settings, true);
 * console.log(r.ejected, r.state.ejectedUntil); // true 1010
 * ```
 */
export function recordOutcome(
  state: OutlierState,
  failure: boolean,
  now: number,
  settings: OutlierSettings,
  mayEject: boolean,
): OutlierResult {
  if (!settings.enabled) return { state, ejected: false };
  let ejections = state.ejections;
  // A backend that has behaved for a full max-ejection period starts over.
  if (
    ejections > 0 && state.ejectedUntil <= now &&
    now - state.lastEjectionEnd > settings.maxEjectionMs
  ) {
    ejections = 0;
  }
  if (!failure) {
    if (state.consecutiveFailures === 0 && ejections === state.ejections) {
      return { state, ejected: false };
    }
    return { state: { ...state, consecutiveFailures: 0, ejections }, ejected: false };
  }
  const failures = state.consecutiveFailures + 1;
  if (isEjected(state, now) || failures < settings.consecutiveFailures || !mayEject) {
    return { state: { ...state, consecutiveFailures: failures, ejections }, ejected: false };
  }
  const n = ejections + 1;
  const length = Math.min(settings.baseEjectionMs * n, settings.maxEjectionMs);
  return {
    state: {
      consecutiveFailures: 0,
      ejectedUntil: now + length,
      ejections: n,
      lastEjectionEnd: now + length,
    },
    ejected: true,
  };
}

/** True when `status` counts as a failure for outlier detection. */
export function isFailureStatus(status: number, settings: OutlierSettings): boolean {
  return settings.count5xx && status >= 500 && status <= 599;
}
