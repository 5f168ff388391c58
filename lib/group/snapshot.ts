/**
 * The immutable snapshot the request path reads: one group's config, every
 * backend with its health and weight, and the selector built over them.
 *
 * Config and health live in ONE value so an update is atomic: a reader sees
 * either the old snapshot or the new one, never backends from one and health
 * from the other. Only the in-flight counters are shared (and mutable) so that
 * least-connections keeps its view across rebuilds.
 *
 * @module
 */
import { createSelector } from "../balancer/mod.ts";
import type { BackendCounters, Candidate, Selector } from "../balancer/types.ts";
import type { GroupConfig } from "../config/schema.ts";
import { FRESH_OUTLIER, type OutlierSettings, type OutlierState } from "../health/outlier.ts";
import { type HealthState, initialHealth } from "../health/state_machine.ts";

/** One backend as the request path sees it. */
export interface BackendView extends Candidate {
  readonly host: string;
  readonly port: number;
  /** Weight from the config (`weight` is the effective one, lower while slow-starting). */
  readonly configuredWeight: number;
  readonly health: HealthState;
  /** Passive health (outlier detection) state. */
  readonly outlier: OutlierState;
  /** Ejected by outlier detection at build time. */
  readonly ejected: boolean;
  /** Draining (`"drain": true` in the config): never picked, even in panic mode. */
  readonly draining: boolean;
}

/** Everything one group's request path needs, frozen at build time. */
export interface GroupSnapshot {
  readonly group: string;
  /** Version of the config this was built from (store-specific: hash, znode version...). */
  readonly version: string;
  readonly config: GroupConfig;
  readonly backends: readonly BackendView[];
  readonly selector: Selector;
  /** Backends that may be picked. */
  readonly usableCount: number;
  /** Too few backends were healthy: traffic is spread over all of them (panic mode). */
  readonly panic: boolean;
  /** Outlier-detection settings in milliseconds, derived once from the config. */
  readonly outlierSettings: OutlierSettings;
  /** Clock time of the build (ms). */
  readonly builtAt: number;
  /** When a rebuild is due (an ejection ends, a slow start steps up); Infinity when never. */
  readonly nextChangeAt: number;
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
  const rampMs = config.slow_start_seconds * 1000;
  const rampStep = Math.max(100, rampMs / 20);
  let nextChangeAt = Infinity;
  const views: {
    spec: GroupConfig["backend_servers"][number];
    counters: BackendCounters;
    health: HealthState;
    outlier: OutlierState;
    ejected: boolean;
    weight: number;
  }[] = [];
  let usableCount = 0;
  for (const spec of config.backend_servers) {
    let counters = input.counters.get(spec.address);
    if (!counters) {
      counters = { inflight: 0 };
      input.counters.set(spec.address, counters);
    }
    const health = input.health.get(spec.address) ?? initialHealth(now);
    const outlier = input.outlier?.get(spec.address) ?? FRESH_OUTLIER;
    const ejected = outlier.ejectedUntil > now;
    if (ejected) nextChangeAt = Math.min(nextChangeAt, outlier.ejectedUntil);
    let weight = spec.weight;
    const start = input.rampStart?.get(spec.address);
    if (rampMs > 0 && start !== undefined && now < start + rampMs) {
      weight = spec.weight * Math.max(RAMP_FLOOR, (now - start) / rampMs);
      nextChangeAt = Math.min(nextChangeAt, Math.max(now, start) + rampStep);
    }
    if (health.status === "healthy" && !ejected && spec.drain !== true) usableCount++;
    views.push({ spec, counters, health, outlier, ejected, weight });
  }
  const total = views.filter((v) => v.spec.drain !== true).length;
  const panic = config.panic_threshold_percent > 0 && total > 0 &&
    usableCount * 100 < config.panic_threshold_percent * total;
  const backends: BackendView[] = views.map((v) => ({
    address: v.spec.address,
    host: v.spec.host,
    port: v.spec.port,
    weight: v.weight,
    configuredWeight: v.spec.weight,
    usable: v.spec.drain !== true && (panic || (v.health.status === "healthy" && !v.ejected)),
    counters: v.counters,
    health: v.health,
    outlier: v.outlier,
    ejected: v.ejected,
    draining: v.spec.drain === true,
  }));
  const selector = createSelector(config.algorithm, backends, { random: input.random });
  return {
    group: input.group,
    version: input.version,
    config,
    backends,
    selector,
    usableCount: panic ? total : usableCount,
    panic,
    outlierSettings: outlierSettingsOf(config),
    builtAt: now,
    nextChangeAt,
  };
}
