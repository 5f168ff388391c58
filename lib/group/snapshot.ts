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
import { type HealthState, initialHealth } from "../health/state_machine.ts";

/** One backend as the request path sees it. */
export interface BackendView extends Candidate {
  readonly host: string;
  readonly port: number;
  /** Weight from the config. */
  readonly configuredWeight: number;
  readonly health: HealthState;
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
  /** Clock time of the build (ms). */
  readonly builtAt: number;
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
  readonly random: () => number;
  readonly now: number;
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
  const backends: BackendView[] = [];
  let usableCount = 0;
  for (const spec of input.config.backend_servers) {
    let counters = input.counters.get(spec.address);
    if (!counters) {
      counters = { inflight: 0 };
      input.counters.set(spec.address, counters);
    }
    const health = input.health.get(spec.address) ?? initialHealth(input.now);
    const usable = health.status === "healthy";
    if (usable) usableCount++;
    backends.push({
      address: spec.address,
      host: spec.host,
      port: spec.port,
      weight: spec.weight,
      configuredWeight: spec.weight,
      usable,
      counters,
      health,
    });
  }
  const selector = createSelector(input.config.algorithm, backends, { random: input.random });
  return {
    group: input.group,
    version: input.version,
    config: input.config,
    backends,
    selector,
    usableCount,
    builtAt: input.now,
  };
}
