/**
 * Owns one group's current snapshot and swaps it whole on every change.
 *
 * Config updates are validated first: an invalid one is recorded as rejected
 * (with its version and reason) and the last good snapshot keeps serving.
 * Health observations fold through the pure state machine; a flip, like an
 * outlier ejection (reported from the request path) or its end, only writes
 * the current snapshot's live status in O(1). The snapshot, with its selector,
 * is rebuilt only when the config, the backend set or an effective weight
 * changes: a config apply, a slow-start step (in `tick()`, off the request
 * path), or a recovery that starts a slow start. No I/O; the clock is injected.
 *
 * @module
 */
import type { BackendCounters } from "../balancer/types.ts";
import {
  type ConfigIssue,
  formatIssues,
  type GroupConfig,
  validateGroupConfig,
} from "../config/schema.ts";
import {
  FRESH_OUTLIER,
  isEjected,
  mayEject,
  type OutlierState,
  recordOutcome,
} from "../health/outlier.ts";
import { type HealthState, initialHealth, observeHealth } from "../health/state_machine.ts";
import { buildSnapshot, type GroupSnapshot, planWeights } from "./snapshot.ts";

/** A config version that failed validation. */
export interface RejectedConfig {
  readonly version: string;
  readonly reason: string;
  readonly issues: readonly ConfigIssue[];
  readonly at: number;
}

/** The outcome of {@link GroupState.applyConfig}. */
export type ApplyResult =
  | { readonly ok: true; readonly changed: boolean }
  | { readonly ok: false; readonly rejected: RejectedConfig };

/** Clock and randomness for a {@link GroupState}. */
export interface GroupStateOptions {
  /** Milliseconds; `Date.now` in production, a counter in tests. */
  readonly now: () => number;
  readonly random: () => number;
  /**
   * Called after every swap with the new and previous snapshot (config
   * changes and weight changes; health flips and ejections change the current
   * snapshot's live status without a swap).
   */
  readonly onSwap?: (next: GroupSnapshot, prev: GroupSnapshot | null) => void;
  /**
   * A check of a valid config beyond the schema, run before it is applied
   * (the runtime loads the upstream TLS CA file here); issues reject it and
   * the current snapshot keeps serving.
   */
  readonly prepare?: (config: GroupConfig) => readonly ConfigIssue[];
}

/**
 * A group's live state.
 *
 * @example
 * ```ts
 * import { GroupState } from "./group_state.ts";
 * const g = new GroupState("api", { now: Date.now, random: Math.random });
 * g.applyConfig("v1", { backend_servers: ["127.0.0.1:9001"] });
 * console.log(g.snapshot?.backends.length); // 1
 * ```
 */
export class GroupState {
  #snapshot: GroupSnapshot | null = null;
  readonly #counters = new Map<string, BackendCounters>();
  readonly #health = new Map<string, HealthState>();
  readonly #outlier = new Map<string, OutlierState>();
  readonly #rampStart = new Map<string, number>();
  readonly #ejectionCounts = new Map<string, number>();
  readonly #options: GroupStateOptions;
  /** Snapshots built since start (each builds a selector). */
  buildsTotal = 0;
  /** Backends ejected by outlier detection since start. */
  ejectionsTotal = 0;
  /** The last rejected config, or null. */
  rejected: RejectedConfig | null = null;
  /** Configs rejected since start. */
  rejectedTotal = 0;
  /** Configs applied since start. */
  appliedTotal = 0;
  /** Clock time of the last successful apply (ms), or 0. */
  lastAppliedAt = 0;

  constructor(readonly group: string, options: GroupStateOptions) {
    this.#options = options;
  }

  /** The snapshot to serve from, or null before the first valid config. */
  get snapshot(): GroupSnapshot | null {
    return this.#snapshot;
  }

  /** Validates and applies a config blob; rejects without touching the current snapshot. */
  applyConfig(version: string, blob: unknown): ApplyResult {
    const result = validateGroupConfig(this.group, blob);
    if (!result.ok) return this.reject(version, result.issues);
    const prev = this.#snapshot;
    if (prev && prev.version === version && sameConfig(prev.config, result.value)) {
      return { ok: true, changed: false };
    }
    const prepared = this.#options.prepare?.(result.value);
    if (prepared !== undefined && prepared.length > 0) return this.reject(version, prepared);
    const keep = new Set(result.value.backend_servers.map((b) => b.address));
    if (prev) {
      // Backends new to the group slow-start (the first config serves at full weight at once).
      const now = this.#options.now();
      const had = new Set(prev.backends.map((b) => b.address));
      for (const a of keep) if (!had.has(a)) this.#rampStart.set(a, now);
    }
    // Build first: should building throw, the serving snapshot and health are untouched.
    const next = this.#build(version, result.value);
    for (
      const map of [
        this.#health,
        this.#counters,
        this.#outlier,
        this.#rampStart,
        this.#ejectionCounts,
      ]
    ) {
      for (const a of map.keys()) if (!keep.has(a)) map.delete(a);
    }
    this.appliedTotal++;
    this.lastAppliedAt = this.#options.now();
    this.#publish(next);
    return { ok: true, changed: true };
  }

  /** Records a config that could not even be read (bad JSON, missing node...). */
  reject(version: string, issues: readonly ConfigIssue[]): ApplyResult {
    const rejected: RejectedConfig = {
      version,
      reason: formatIssues(issues),
      issues,
      at: this.#options.now(),
    };
    this.rejected = rejected;
    this.rejectedTotal++;
    return { ok: false, rejected };
  }

  /**
   * Folds an active probe result in; returns true when the backend flipped.
   * A result for an address that is not in the current snapshot (a probe that
   * finished after its backend was removed) is ignored.
   */
  observeProbe(address: string, ok: boolean, error: string | null = null): boolean {
    const snap = this.#snapshot;
    const index = snap ? snap.indexOf(address) : -1;
    if (!snap || index < 0) return false;
    const cfg = snap.config;
    const now = this.#options.now();
    const prev = this.#health.get(address) ?? initialHealth(now);
    const obs = observeHealth(prev, ok, now, {
      healthy: cfg.healthy_threshold,
      unhealthy: cfg.unhealthy_threshold,
    }, error);
    this.#health.set(address, obs.state);
    snap.status.setHealth(index, obs.state);
    if (obs.flipped && obs.state.status === "healthy" && this.#recovered(snap, index, now)) {
      this.#publish(this.#build(snap.version, cfg));
    }
    return obs.flipped;
  }

  /**
   * Active checks found a backend healthy again: it slow-starts, and a
   * passive ejection still running ends now (as Envoy un-ejects on a
   * successful active check); its ejection count keeps the back-off.
   * Availability flips in place. Returns true when the group slow-starts:
   * the backend's weight changes, so the caller rebuilds (health checks and
   * the orchestrator's writes run off the request path).
   */
  #recovered(snap: GroupSnapshot, index: number, now: number): boolean {
    const address = snap.backends[index]!.address;
    this.#rampStart.set(address, now);
    const o = this.#outlier.get(address);
    if (o && (o.ejectedUntil > now || o.consecutiveFailures > 0)) {
      const outlier = {
        ...o,
        consecutiveFailures: 0,
        ejectedUntil: 0,
        lastEjectionEnd: Math.min(o.lastEjectionEnd, now),
      };
      this.#outlier.set(address, outlier);
      snap.status.setOutlier(index, outlier);
      snap.status.setEjected(index, false);
    }
    return snap.config.slow_start_seconds > 0;
  }

  /**
   * Passive health: folds one request's outcome in (request path: O(1), no
   * allocation when nothing changes). Returns true when this outcome ejected
   * the backend: its availability flips and its return is scheduled for
   * `tick()`; nothing is rebuilt.
   */
  recordOutcome(address: string, failure: boolean): boolean {
    const snap = this.#snapshot;
    if (!snap) return false;
    const settings = snap.outlierSettings;
    if (!settings.enabled) return false;
    const prev = this.#outlier.get(address);
    if (!failure && (prev === undefined || prev.consecutiveFailures === 0)) return false;
    const index = snap.indexOf(address);
    if (index < 0) return false; // a late outcome for a backend just removed
    const status = snap.status;
    const now = this.#options.now();
    const allowed = failure &&
      mayEject(
        snap.backends.length,
        status.availableCount,
        status.isAvailable(index),
        settings.maxEjectionPercent,
      );
    const r = recordOutcome(prev ?? FRESH_OUTLIER, failure, now, settings, allowed);
    this.#outlier.set(address, r.state);
    status.setOutlier(index, r.state);
    if (r.ejected) {
      this.ejectionsTotal++;
      this.#ejectionCounts.set(address, (this.#ejectionCounts.get(address) ?? 0) + 1);
      // it slow-starts from the ejection's end (a weight change, due in tick())
      this.#rampStart.set(address, r.state.ejectedUntil);
      status.setEjected(index, true);
      if (r.state.ejectedUntil < status.nextChangeAt) status.nextChangeAt = r.state.ejectedUntil;
    }
    return r.ejected;
  }

  /**
   * Applies what time alone changes: ejections that ended flip availability
   * back in place; slow-start steps change weights and rebuild the snapshot.
   * Called by a timer every ~100 ms, never on the request path; it is a
   * comparison when nothing is due. Returns true when something was due.
   */
  tick(): boolean {
    const snap = this.#snapshot;
    if (!snap) return false;
    const now = this.#options.now();
    if (now < snap.nextChangeAt) return false;
    const plan = planWeights(snap.config, this.#rampStart, now);
    const backends = snap.backends;
    for (let i = 0; i < backends.length; i++) {
      if (plan.weights[i] !== backends[i]!.weight) {
        this.#publish(this.#build(snap.version, snap.config));
        return true;
      }
    }
    const status = snap.status;
    let next = plan.nextStepAt;
    for (let i = 0; i < backends.length; i++) {
      const o = this.#outlier.get(backends[i]!.address);
      const ejected = o !== undefined && isEjected(o, now);
      if (ejected) next = Math.min(next, o.ejectedUntil);
      if (ejected !== status.ejected(i)) status.setEjected(i, ejected);
    }
    status.nextChangeAt = next;
    return true;
  }

  /**
   * Sets the health of the given backends (health written by the orchestrator);
   * backends not in `states` keep theirs. Returns whether any status changed
   * (a backend seen for the first time counts as changed). Flips availability
   * in place; only a recovery into a slow start rebuilds. States of addresses
   * not configured yet are kept for when a config adds them.
   */
  setHealth(states: ReadonlyMap<string, HealthState>): boolean {
    let changed = false;
    let rebuild = false;
    const now = this.#options.now();
    const snap = this.#snapshot;
    for (const [address, state] of states) {
      const cur = this.#health.get(address);
      if (!cur || cur.status !== state.status) changed = true;
      this.#health.set(address, state);
      const index = snap ? snap.indexOf(address) : -1;
      if (!snap || index < 0) continue;
      snap.status.setHealth(index, state);
      if (cur?.status === "unhealthy" && state.status === "healthy") {
        if (this.#recovered(snap, index, now)) rebuild = true;
      }
    }
    if (snap && rebuild) this.#publish(this.#build(snap.version, snap.config));
    return changed;
  }

  /** Current health of one backend. */
  healthOf(address: string): HealthState | undefined {
    return this.#health.get(address);
  }

  /** Times outlier detection ejected this backend since it joined the group. */
  ejectionsOf(address: string): number {
    return this.#ejectionCounts.get(address) ?? 0;
  }

  #build(version: string, config: GroupConfig): GroupSnapshot {
    this.buildsTotal++;
    return buildSnapshot({
      group: this.group,
      version,
      config,
      health: this.#health,
      counters: this.#counters,
      outlier: this.#outlier,
      rampStart: this.#rampStart,
      random: this.#options.random,
      now: this.#options.now(),
    });
  }

  #publish(next: GroupSnapshot): void {
    const prev = this.#snapshot;
    for (const b of next.backends) {
      if (!this.#health.has(b.address)) this.#health.set(b.address, b.health);
    }
    this.#snapshot = next;
    this.#options.onSwap?.(next, prev);
  }
}

function sameConfig(a: GroupConfig, b: GroupConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
