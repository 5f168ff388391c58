/**
 * The orchestrator's metrics and admin listener: `/healthz`, `/status` (JSON) and `/metrics`
 * (Prometheus text).
 *
 * @module
 */
import { Hono } from "hono";
import {
  Counter,
  Gauge,
  Histogram,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
} from "../metrics/registry.ts";
import type { NodeStatus } from "./node.ts";
import type { Transition, WorkerEvents } from "./worker.ts";

/** Probe lag buckets (seconds): 0.5 ms to 10 s, fine around the 250 ms objective. */
export const LAG_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.002,
  0.005,
  0.01,
  0.02,
  0.05,
  0.1,
  0.15,
  0.2,
  0.25,
  0.3,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** The orchestrator's metric families, fed through the node's hooks. */
export class OrchestratorMetrics {
  readonly registry = new Registry();
  readonly #probes = this.registry.add(
    new Counter("switchyard_orchestrator_probes_total", "Health probes run, by result.", [
      "result",
    ]),
  );
  readonly #lag = this.registry.add(
    new Histogram(
      "switchyard_orchestrator_probe_lag_seconds",
      "How late probes started against their schedule (seconds).",
      [],
      LAG_BUCKETS,
    ),
  );
  readonly #duration = this.registry.add(
    new Histogram(
      "switchyard_orchestrator_probe_duration_seconds",
      "Duration of health probes (seconds).",
    ),
  );
  readonly #transitions = this.registry.add(
    new Counter(
      "switchyard_orchestrator_health_transitions_total",
      "Backend health transitions decided by this worker, by new status.",
      ["to"],
    ),
  );
  readonly #writes = this.registry.add(
    new Counter(
      "switchyard_orchestrator_health_writes_total",
      "Health node writes, by outcome (fenced: refused because the assignment changed).",
      ["outcome"],
    ),
  );
  readonly #leaderChanges = this.registry.add(
    new Counter(
      "switchyard_orchestrator_leadership_changes_total",
      "Times this process started or stopped acting as master.",
    ),
  );
  readonly #assignmentWrites = this.registry.add(
    new Counter(
      "switchyard_orchestrator_assignment_writes_total",
      "Assignment nodes written (created, set or deleted) while master.",
    ),
  );
  readonly #ok = this.#probes.labels("ok");
  readonly #fail = this.#probes.labels("fail");
  readonly #lagChild = this.#lag.labels();
  readonly #durationChild = this.#duration.labels();

  /** @param status the node's status, read at scrape time for the gauges */
  constructor(status: () => NodeStatus) {
    this.registry.add(
      new Gauge(
        "switchyard_orchestrator_is_master",
        "1 while this process acts as master.",
        [],
        (g) => g.labels().set(status().isMaster ? 1 : 0),
      ),
    );
    this.registry.add(
      new Gauge(
        "switchyard_orchestrator_assigned_targets",
        "Targets assigned to this worker.",
        [],
        (g) => g.labels().set(status().worker.targets),
      ),
    );
    this.registry.add(
      new Gauge(
        "switchyard_orchestrator_unhealthy_targets",
        "Targets of this worker it holds unhealthy.",
        [],
        (g) => g.labels().set(status().worker.unhealthy),
      ),
    );
    this.registry.add(
      new Gauge(
        "switchyard_orchestrator_pending_health_writes",
        "Health writes waiting to be made (or retried).",
        [],
        (g) => g.labels().set(status().worker.pendingWrites),
      ),
    );
    this.registry.add(
      new Gauge(
        "switchyard_orchestrator_store_connected",
        "1 while the coordination store is connected.",
        [],
        (g) => g.labels().set(status().connection === "connected" ? 1 : 0),
      ),
    );
    this.#transitions.labels("healthy");
    this.#transitions.labels("unhealthy");
    for (const o of ["ok", "fenced", "error"]) this.#writes.labels(o);
  }

  /** Hooks for the worker. */
  readonly workerEvents: WorkerEvents = {
    probe: (ok, lagMs, durationMs) => {
      (ok ? this.#ok : this.#fail).inc();
      this.#lagChild.observe(Math.max(0, lagMs) / 1000);
      this.#durationChild.observe(durationMs / 1000);
    },
    transition: (t: Transition) => this.#transitions.labels(t.to).inc(),
    write: (outcome) => this.#writes.labels(outcome).inc(),
  };

  /** Hook for leadership changes. */
  readonly onLeadership = (_acting: boolean): void => this.#leaderChanges.labels().inc();

  /** Hook for assignment writes. */
  readonly onAssignmentWrite = (changed: number): void =>
    this.#assignmentWrites.labels().inc(changed);
}

/** Facts `/status` shows besides the node's own. */
export interface AdminInfo {
  readonly runtime: string;
  readonly startedAt: number;
  readonly zk: string;
  /** Live worker ids (read from the store on demand), null when unreadable. */
  workers(): Promise<string[] | null>;
  stopping(): boolean;
}

/**
 * The `/status` document.
 *
 * @param s the node's status
 * @param info process facts
 * @param workers live workers
 */
export function statusDocument(
  s: NodeStatus,
  info: AdminInfo,
  workers: string[] | null,
): Record<string, unknown> {
  const w = s.worker;
  return {
    role: "orchestrator",
    id: s.id,
    runtime: info.runtime,
    started_at: new Date(info.startedAt).toISOString(),
    zk: info.zk,
    connection: s.connection,
    session: s.session,
    is_master: s.isMaster,
    master_id: s.isMaster ? s.id : s.masterId,
    election: {
      node: s.election.own,
      leader_node: s.election.leaderNode,
      watching: s.election.watching,
    },
    workers,
    assignment: {
      size: w.targets,
      version: w.assignmentVersion,
      assigned_by: w.assignedBy,
      unhealthy: w.unhealthy,
      registered: w.registered,
    },
    probes: { inflight: w.inflight, pending_writes: w.pendingWrites },
    probe_lag: {
      samples: w.lag.count,
      median_ms: round(w.lag.medianMs),
      p99_ms: round(w.lag.p99Ms),
      max_ms: round(w.lag.maxMs),
    },
    last_transitions: w.lastTransitions.map((t) => ({
      at: new Date(t.at).toISOString(),
      group: t.group,
      backend: t.address,
      to: t.to,
      reason: t.reason,
    })),
    master: s.isMaster
      ? {
        term: s.master.term,
        groups: s.master.groups,
        targets: s.master.targets,
        workers: s.master.workers,
        rejected_groups: s.master.rejectedGroups,
        last_plan_at: s.master.lastPlanAt === null
          ? null
          : new Date(s.master.lastPlanAt).toISOString(),
        assignment_writes: s.master.writes,
      }
      : null,
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * The admin app.
 *
 * @param status the node's status
 * @param metrics the registry to render
 * @param info process facts
 */
export function orchestratorAdminApp(
  status: () => NodeStatus,
  metrics: Registry,
  info: AdminInfo,
): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    const s = status();
    if (info.stopping()) return c.text("stopping\n", 503);
    if (s.connection !== "connected" || !s.worker.registered) {
      return c.text(`not ready (${s.connection})\n`, 503);
    }
    return c.text("ok\n");
  });
  app.get("/status", async (c) => c.json(statusDocument(status(), info, await info.workers())));
  app.get(
    "/metrics",
    (c) => c.body(metrics.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );
  return app;
}
