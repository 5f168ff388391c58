/**
 * The proxy's admin listener (a Hono app): `/healthz` for liveness,
 * `/status` as JSON for people and tools, `/metrics` for Prometheus.
 * Served on its own address, never through the proxy port.
 *
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import type { GroupState } from "../group/group_state.ts";
import { PROMETHEUS_CONTENT_TYPE, type Registry } from "../metrics/registry.ts";
import { workerIndex } from "./workers.ts";

/** Facts the status page shows besides the group state. */
export interface StatusInfo {
  readonly id: string;
  readonly runtime: string;
  readonly startedAt: number;
  /** Where the config comes from, e.g. `file:/etc/lb.json`. */
  readonly source: string;
  readonly listen: string;
  /** Whether the proxy runs active health checks itself. */
  readonly healthChecks: boolean;
  connections(): number;
  draining(): boolean;
  /** Source-specific facts merged into `/status` (ZooKeeper state, local snapshot...). */
  extra?(): Record<string, unknown>;
}

/** The `/status` document. */
export function statusDocument(state: GroupState, info: StatusInfo): Record<string, unknown> {
  const snap = state.snapshot;
  return {
    role: "proxy",
    id: info.id,
    pid: process.pid,
    worker: workerIndex(),
    group: state.group,
    runtime: info.runtime,
    listen: info.listen,
    source: info.source,
    started_at: new Date(info.startedAt).toISOString(),
    draining: info.draining(),
    connections: info.connections(),
    health_checks: info.healthChecks ? "proxy" : "external",
    ...info.extra?.(),
    config: snap
      ? {
        version: snap.version,
        applied_at: new Date(state.lastAppliedAt).toISOString(),
        algorithm: snap.config.algorithm,
        applied_total: state.appliedTotal,
      }
      : null,
    rejected_total: state.rejectedTotal,
    last_rejected: state.rejected
      ? {
        version: state.rejected.version,
        reason: state.rejected.reason,
        issues: state.rejected.issues,
        at: new Date(state.rejected.at).toISOString(),
      }
      : null,
    panic: snap?.panic ?? false,
    usable_backends: snap?.usableCount ?? 0,
    outlier_ejections_total: state.ejectionsTotal,
    backends: (snap?.backends ?? []).map((b) => ({
      address: b.address,
      weight: b.configuredWeight,
      effective_weight: b.weight,
      usable: b.usable,
      health: b.health.status,
      consecutive_failures: b.health.failures,
      consecutive_successes: b.health.successes,
      last_error: b.health.lastError,
      inflight: b.counters.inflight,
      ejected: b.ejected,
      draining: b.draining,
      ejected_until: b.ejected ? new Date(b.outlier.ejectedUntil).toISOString() : null,
      ejections_total: state.ejectionsOf(b.address),
      request_failures_in_a_row: b.outlier.consecutiveFailures,
    })),
  };
}

/**
 * Builds the admin app.
 *
 * @example
 * ```ts ignore
 * const app = adminApp(state, registry, info);
 * await serve(app.fetch, { hostname: "127.0.0.1", port: 9090 });
 * ```
 */
export function adminApp(state: GroupState, registry: Registry, info: StatusInfo): Hono {
  return adminRoutes({
    registry,
    draining: info.draining,
    ready: () => state.snapshot !== null,
    status: () => statusDocument(state, info),
  });
}

/** What {@link adminRoutes} serves. */
export interface AdminSource {
  readonly registry: Registry;
  draining(): boolean;
  /** True once there is a config to serve (`/healthz` answers 503 before). */
  ready(): boolean;
  status(): Record<string, unknown>;
}

/** The admin app over any proxy (one group, or a listener's routes). */
export function adminRoutes(source: AdminSource): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    if (source.draining()) return c.text("draining\n", 503);
    return source.ready() ? c.text("ok\n") : c.text("no config\n", 503);
  });
  app.get("/status", (c) => c.json(source.status()));
  app.get(
    "/metrics",
    (c) => c.body(source.registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );
  return app;
}
