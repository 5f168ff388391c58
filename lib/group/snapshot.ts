/**
 * The snapshot the request path reads: one group's config, every backend with
 * its weight, and the selector built over them, plus the live status (health,
 * ejection, availability) the selector reads per pick.
 *
 * Config, backend list, weights and selector live in ONE immutable value so an
 * update is atomic: a reader sees either the old snapshot or the new one, never
 * backends from one and a selector from the other. It is rebuilt only when the
 * config, the backend set or the (effective) weights change. Health flips and
 * ejections write the snapshot's {@link LiveStatus} in O(1) instead, so they
 * never rebuild a selector (a Maglev table is 65,537 slots) and never run a
 * rebuild on the request path. The in-flight counters are shared across
 * snapshots so that least-connections keeps its view across rebuilds.
 *
 * @module
 */
import { createSelector } from "../balancer/mod.ts";
import type { BackendCounters, Candidate, Selector } from "../balancer/types.ts";
import type { GroupConfig } from "../config/schema.ts";
import { FRESH_OUTLIER, type OutlierSettings, type OutlierState } from "../health/outlier.ts";
import { type HealthState, initialHealth } from "../health/state_machine.ts";
import { type BackendStatusInit, LiveStatus } from "./live_status.ts";

/** One backend as the request path sees it. */
export interface BackendView extends Candidate {
  readonly host: string;
  readonly port: number;
  /** Weight from the config (`weight` is the effective one, lower while slow-starting). */
  readonly configuredWeight: number;
  /** Active health, live. */
  readonly health: HealthState;
  /** Passive health (outlier detection) state, live. */
  readonly outlier: OutlierState;
  /** Ejected by outlier detection now. */
  readonly ejected: boolean;
  /** Draining (`"drain": true` in the config): never picked, even in panic mode. */
  readonly draining: boolean;
}

/** Everything one group's request path needs. */
export interface GroupSnapshot {
  readonly group: string;
  /** Version of the config this was built from (store-specific: hash, znode version...). */
  readonly version: string;
  readonly config: GroupConfig;
  readonly backends: readonly BackendView[];
  readonly selector: Selector;
  /** Backends that may be picked now (live). */
  readonly usableCount: number;
  /** Too few backends are healthy: traffic is spread over all of them (panic mode; live). */
  readonly panic: boolean;
  /** Outlier-detection settings in milliseconds, derived once from the config. */
  readonly outlierSettings: OutlierSettings;
  /** Clock time of the build (ms). */
  readonly builtAt: number;
  /** When `tick()` has work next (an ejection ends, a slow start steps up); Infinity when never. */
  readonly nextChangeAt: number;
  /** The live, mutable part: health, ejections, availability (written by the group state only). */
  readonly status: LiveStatus;
  /** Index of the backend with this address, or -1. O(1). */
  indexOf(address: string): number;
}

/** Inputs of {@link buildSnapshot}. */
export interface SnapshotInput {
  readonly group: string;
  readonly version: string;
  readonly config: GroupConfig;
  /** Known health by backend address; missing backends start healthy. */
  readonly health: ReadonlyMap<string, HealthState>;
  /** Live counters by address, shared across snapshots; missing entries are created. */
  readonly counters: Map<string, BackendCounters>;
  /** Outlier-detection state by address (missing: never failed). */
  readonly outlier?: ReadonlyMap<string, OutlierState>;
  /** Slow start: when each ramping backend started ramping (added, recovered, un-ejected). */
  readonly rampStart?: ReadonlyMap<string, number>;
  readonly random: () => number;
  readonly now: number;
}

/** Weight share a slow-starting backend begins with. */
const RAMP_FLOOR = 0.1;

/** The outlier settings of a config, in milliseconds. */
export function outlierSettingsOf(config: GroupConfig): OutlierSettings {
  const o = config.outlier_detection;
  return {
    enabled: o.enabled,
    consecutiveFailures: o.consecutive_failures,
    count5xx: o.count_5xx,
    baseEjectionMs: o.base_ejection_seconds * 1000,
    maxEjectionMs: o.max_ejection_seconds * 1000,
    maxEjectionPercent: o.max_ejection_percent,
  };
}

/** Effective weights at a moment, and when they next change. */
export interface WeightPlan {
  /** Effective weight per configured backend, in config order. */
  readonly weights: Float64Array;
  /** When a slow start steps (or starts) next; Infinity when none is pending. */
  readonly nextStepAt: number;
}

/**
 * The effective weights of a config's backends at `now`: the configured
 * weight, or, while a backend slow-starts, a share of it growing linearly from
 * 10% over `slow_start_seconds`, in about 20 steps. A ramp that starts in the
 * future (a backend ejected now ramps from its ejection's end) leaves the
 * weight alone until it starts: the backend is unavailable meanwhile, and an
 * ejection must not change weights (that would rebuild the selector on the
 * request path). Pure.
 *
 * @example
 * ```ts
 * import { planWeights } from "./snapshot.ts";
 * import { validateGroupConfig } from "../config/schema.ts";
 * const cfg = validateGroupConfig("g", { backend_servers: ["10.0.0.1:80"], slow_start_seconds: 10 });
 * if (cfg.ok) {
 *   const plan = planWeights(cfg.value, new Map([["10.0.0.1:80", 0]]), 5_000);
 *   console.log(plan.weights[0], plan.nextStepAt); // 0.5 5500
 * }
 * ```
 */
export function planWeights(
  config: GroupConfig,
  rampStart: ReadonlyMap<string, number> | undefined,
  now: number,
): WeightPlan {
  const rampMs = config.slow_start_seconds * 1000;
  const rampStep = Math.max(100, rampMs / 20);
  const specs = config.backend_servers;
  const weights = new Float64Array(specs.length);
  let nextStepAt = Infinity;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    let weight = spec.weight;
    const start = rampStart?.get(spec.address);
    if (rampMs > 0 && start !== undefined && now < start + rampMs) {
      if (start > now) {
        nextStepAt = Math.min(nextStepAt, start);
      } else {
        weight = spec.weight * Math.max(RAMP_FLOOR, (now - start) / rampMs);
        nextStepAt = Math.min(nextStepAt, now + rampStep);
      }
    }
    weights[i] = weight;
  }
  return { weights, nextStepAt };
}

/** A backend of one snapshot: fixed identity and weight, live status by index. */
class Backend implements BackendView {
  readonly #status: LiveStatus;
  readonly #index: number;

  constructor(
    readonly address: string,
    readonly host: string,
    readonly port: number,
    readonly weight: number,
    readonly configuredWeight: number,
    readonly draining: boolean,
    readonly counters: BackendCounters,
    status: LiveStatus,
    index: number,
  ) {
    this.#status = status;
    this.#index = index;
  }

  get usable(): boolean {
    return this.#status.isUsable(this.#index);
  }

  get health(): HealthState {
    return this.#status.health(this.#index);
  }

  get outlier(): OutlierState {
    return this.#status.outlier(this.#index);
  }

  get ejected(): boolean {
    return this.#status.ejected(this.#index);
  }

  /** Plain fields, for logs and `JSON.stringify`. */
  toJSON(): Record<string, unknown> {
    return {
      address: this.address,
      host: this.host,
      port: this.port,
      weight: this.weight,
      configuredWeight: this.configuredWeight,
      usable: this.usable,
      counters: this.counters,
      health: this.health,
      outlier: this.outlier,
      ejected: this.ejected,
      draining: this.draining,
    };
  }
}

class Snapshot implements GroupSnapshot {
  readonly #index: ReadonlyMap<string, number>;

  constructor(
    readonly group: string,
    readonly version: string,
    readonly config: GroupConfig,
    readonly backends: readonly BackendView[],
    readonly selector: Selector,
    readonly outlierSettings: OutlierSettings,
    readonly builtAt: number,
    readonly status: LiveStatus,
  ) {
    this.#index = new Map(backends.map((b, i) => [b.address, i]));
  }

  get usableCount(): number {
    return this.status.usableCount;
  }

  get panic(): boolean {
    return this.status.panic;
  }

  get nextChangeAt(): number {
    return this.status.nextChangeAt;
  }

  indexOf(address: string): number {
    return this.#index.get(address) ?? -1;
  }
}

/**
 * Builds a snapshot. Pure apart from adding entries to `counters`.
 *
 * @example
 * ```ts
 * import { buildSnapshot } from "./snapshot.ts";
 * import { validateGroupConfig } from "../config/schema.ts";
 * const cfg = validateGroupConfig("g", { backend_servers: ["127.0.0.1:9001"] });
 * if (cfg.ok) {
 *   const s = buildSnapshot({ group: "g", version: "1", config: cfg.value, health: new Map(),
 *     counters: new Map(), random: Math.random, now: 0 });
 *   console.log(s.backends[s.selector.pick()]?.address); // 127.0.0.1:9001
 * }
 * ```
 */
export function buildSnapshot(input: SnapshotInput): GroupSnapshot {
  const { config, now } = input;
  const plan = planWeights(config, input.rampStart, now);
  let nextChangeAt = plan.nextStepAt;
  const specs = config.backend_servers;
  const entries: BackendStatusInit[] = [];
  const counters: BackendCounters[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    let c = input.counters.get(spec.address);
    if (!c) {
      c = { inflight: 0 };
      input.counters.set(spec.address, c);
    }
    counters.push(c);
    const outlier = input.outlier?.get(spec.address) ?? FRESH_OUTLIER;
    const ejected = outlier.ejectedUntil > now;
    if (ejected) nextChangeAt = Math.min(nextChangeAt, outlier.ejectedUntil);
    entries.push({
      health: input.health.get(spec.address) ?? initialHealth(now),
      outlier,
      ejected,
      draining: spec.drain === true,
      pickable: plan.weights[i]! > 0 && plan.weights[i]! < Infinity,
    });
  }
  const status = new LiveStatus(entries, config.panic_threshold_percent, nextChangeAt);
  const backends: BackendView[] = specs.map((spec, i) =>
    new Backend(
      spec.address,
      spec.host,
      spec.port,
      plan.weights[i]!,
      spec.weight,
      spec.drain === true,
      counters[i]!,
      status,
      i,
    )
  );
  const selector = createSelector(config.algorithm, backends, {
    random: input.random,
    availability: status.availability,
  });
  return new Snapshot(
    input.group,
    input.version,
    config,
    backends,
    selector,
    outlierSettingsOf(config),
    now,
    status,
  );
}
