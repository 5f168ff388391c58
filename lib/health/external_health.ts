/**
 * Health written by the orchestrator, applied to a group: the backends it
 * lists are unhealthy, every other configured backend is healthy. Only the
 * backends whose status changes get a new health state (their counters
 * restart), so re-applying the same set changes nothing.
 *
 * @module
 */
import type { GroupState } from "../group/group_state.ts";
import { type HealthState, initialHealth } from "./state_machine.ts";

/**
 * Applies the orchestrator's `unhealthy` set to `state` at wall time `now`;
 * true when any backend's status changed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GroupState } from "../group/group_state.ts";
 * import { applyExternalHealth } from "./external_health.ts";
 * const state = new GroupState("g", { now: Date.now, random: Math.random });
 * state.applyConfig("1", { backend_servers: ["10.0.0.1:80", "10.0.0.2:80"] });
 * assert.equal(applyExternalHealth(state, new Set(["10.0.0.2:80"]), Date.now()), true);
 * assert.equal(state.healthOf("10.0.0.2:80")?.status, "unhealthy");
 * assert.equal(applyExternalHealth(state, new Set(["10.0.0.2:80"]), Date.now()), false);
 * ```
 */
export function applyExternalHealth(
  state: GroupState,
  unhealthy: ReadonlySet<string>,
  now: number,
): boolean {
  const snap = state.snapshot;
  if (!snap) return false;
  const states = new Map<string, HealthState>();
  for (const b of snap.backends) {
    const want = unhealthy.has(b.address) ? "unhealthy" : "healthy";
    if (state.healthOf(b.address)?.status !== want) states.set(b.address, initialHealth(now, want));
  }
  return states.size > 0 && state.setHealth(states);
}
