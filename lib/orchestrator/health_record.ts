/**
 * Health as the orchestrator keeps it in the store, and the decisions around it.
 *
 * `/switchyard/health/<group>/<address>` exists while the backend is unhealthy and is absent
 * while it is healthy, so only transitions write. A worker that takes a target over (failover,
 * rebalancing, restart) starts from what the store says: unhealthy if the node exists (it then
 * needs `rise` successes to clear it), healthy otherwise. Nothing is written on takeover, and a
 * failover cannot flip a backend on its own: that is what keeps health from flapping.
 *
 * Pure: no I/O, the clock is passed in.
 *
 * @module
 */
import {
  type HealthState,
  type HealthThresholds,
  initialHealth,
  observeHealth,
} from "../health/state_machine.ts";
import type { ProbeSettings } from "./targets.ts";

/** The data of a health node. */
export interface HealthRecord {
  readonly status: "unhealthy";
  /** When it became unhealthy (ms since epoch, the worker's clock). */
  readonly since: number;
  /** The last probe's error. */
  readonly reason: string;
  /** Consecutive failed probes when it was marked. */
  readonly failures: number;
  /** The worker that marked it. */
  readonly worker: string;
}

/**
 * Encodes a health node's data (JSON).
 *
 * @example
 * ```ts
 * import { decodeHealthRecord, encodeHealthRecord } from "./health_record.ts";
 * const bytes = encodeHealthRecord({ status: "unhealthy", since: 1, reason: "ECONNREFUSED",
 *   failures: 3, worker: "w1" });
 * console.log(decodeHealthRecord(bytes)?.reason); // "ECONNREFUSED"
 * ```
 */
export function encodeHealthRecord(r: HealthRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    status: r.status,
    since: r.since,
    since_iso: new Date(r.since).toISOString(),
    reason: r.reason,
    failures: r.failures,
    worker: r.worker,
  }));
}

/** Decodes a health node's data; undefined if it is not a health record. */
export function decodeHealthRecord(data: Uint8Array): HealthRecord | undefined {
  try {
    const d = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
    if (d.status !== "unhealthy" || typeof d.since !== "number") return undefined;
    return {
      status: "unhealthy",
      since: d.since,
      reason: typeof d.reason === "string" ? d.reason : "",
      failures: typeof d.failures === "number" ? d.failures : 0,
      worker: typeof d.worker === "string" ? d.worker : "",
    };
  } catch {
    return undefined;
  }
}

/**
 * The state a worker starts a newly assigned target in.
 *
 * @param now the current time
 * @param nodeExists whether the target's health node exists
 */
export function takeoverState(now: number, nodeExists: boolean): HealthState {
  return initialHealth(now, nodeExists ? "unhealthy" : "healthy");
}

/** The thresholds of a group's settings. */
export function thresholds(s: ProbeSettings): HealthThresholds {
  return { healthy: s.rise, unhealthy: s.fall };
}

/** What one probe result does to a target. */
export interface ProbeOutcome {
  readonly state: HealthState;
  /** The store write it calls for: create the node, delete it, or nothing. */
  readonly write: "create" | "delete" | null;
}

/**
 * Folds a probe result into a target's state (the shared state machine) and says what to write.
 *
 * @example
 * ```ts
 * import { applyProbe, takeoverState } from "./health_record.ts";
 * const settings = { type: "http", path: "/health", expectedStatus: 200, timeoutMs: 1000,
 *   intervalMs: 1000, rise: 2, fall: 3 } as const;
 * let s = takeoverState(0, false);
 * let write = null;
 * for (let i = 1; i <= 3; i++) ({ state: s, write } = applyProbe(s, false, "refused", i, settings));
 * console.log(s.status, write); // "unhealthy" "create"
 * ```
 */
export function applyProbe(
  state: HealthState,
  ok: boolean,
  error: string | null,
  now: number,
  settings: ProbeSettings,
): ProbeOutcome {
  const o = observeHealth(state, ok, now, thresholds(settings), error);
  if (!o.flipped) return { state: o.state, write: null };
  return { state: o.state, write: o.state.status === "unhealthy" ? "create" : "delete" };
}
