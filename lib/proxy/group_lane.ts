/**
 * One group as its requests see it: the {@link ProxyContext} an exchange
 * runs in. The group's own parts (state, pools, retry budget, metrics, the
 * limits its config sets) come from its {@link GroupRuntime}; the clocks and
 * the drain flag are the listener's, shared by every group it routes to.
 *
 * @module
 */
import type { GroupSnapshot } from "../group/snapshot.ts";
import type { BackendView } from "../group/snapshot.ts";
import type { GroupState } from "../group/group_state.ts";
import type { Logger } from "../log.ts";
import {
  DEFAULT_LIMITS,
  limitsOf,
  type ListenerFacts,
  type ProxyContext,
  type ProxyLimits,
} from "./context.ts";
import type { GroupRuntimeCore } from "./group_runtime_core.ts";
import type { ProxyMetrics } from "./metrics.ts";
import type { AccessLog } from "./access_log.ts";
import type { RetryBudget } from "./retry_budget.ts";
import type { UpstreamPool } from "./upstream_pool.ts";

/** A group's request-side context. */
export class GroupLane implements ProxyContext {
  readonly state: GroupState;
  limits: ProxyLimits;
  readonly #overrides: Partial<ProxyLimits>;

  constructor(
    readonly runtime: GroupRuntimeCore,
    readonly listener: ListenerFacts,
    readonly metrics: ProxyMetrics,
    overrides: Partial<ProxyLimits> = {},
  ) {
    this.state = runtime.state;
    this.#overrides = overrides;
    const snap = this.state.snapshot;
    this.limits = { ...(snap ? limitsOf(snap.config) : DEFAULT_LIMITS), ...overrides };
    // gRPC statuses of the group's h2 responses (only h2 pools call it)
    runtime.grpcStatus = (code) => metrics.countGrpc(code);
  }

  /**
   * Call after every snapshot swap: follows the config's limits and forgets
   * removed backends' metrics.
   */
  onSnapshot(next: GroupSnapshot): void {
    this.limits = { ...limitsOf(next.config), ...this.#overrides };
    const keep = new Set<string>();
    for (const b of next.backends) keep.add(b.address);
    this.metrics.pruneBackends(keep);
  }

  pool(backend: BackendView): UpstreamPool {
    return this.runtime.pool(backend);
  }

  budget(): RetryBudget {
    return this.runtime.budget();
  }

  get log(): Logger {
    return this.listener.log;
  }

  now(): number {
    return this.listener.now();
  }

  wallNow(): number {
    return this.listener.wallNow();
  }

  get coarseNow(): number {
    return this.listener.coarseNow;
  }

  get coarseWall(): number {
    return this.listener.coarseWall;
  }

  get draining(): boolean {
    return this.listener.draining;
  }

  get accessLog(): AccessLog | null {
    return this.listener.accessLog ?? null;
  }
}
