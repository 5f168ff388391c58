/**
 * The autoscaler role's metrics and admin listener: `/healthz`, `/status` (JSON: the policy,
 * the fleet with its samples, the last decision and why, recent actions, the provider and the
 * file_sd writer) and `/metrics` (Prometheus text).
 *
 * @module
 */
import { Hono } from "hono";
import { Counter, Gauge, PROMETHEUS_CONTENT_TYPE, Registry } from "../metrics/registry.ts";
import type { Decision } from "./decide.ts";
import type { Policy } from "./policy.ts";
import { CAPACITY_METRICS } from "./policy.ts";

/** The autoscaler's metric families. */
export class AutoscalerMetrics {
  readonly registry = new Registry();
  readonly #decisions = this.registry.add(
    new Counter(
      "switchyard_autoscaler_decisions_total",
      "Evaluations, by what was decided and why.",
      ["group", "action", "reason"],
    ),
  );
  readonly #actions = this.registry.add(
    new Counter(
      "switchyard_autoscaler_actions_total",
      "Grow and shrink actions carried out through the provider, by result.",
      ["group", "action", "result"],
    ),
  );
  readonly #sampleErrors = this.registry.add(
    new Counter(
      "switchyard_autoscaler_sample_errors_total",
      "Evaluations whose metrics source failed as a whole.",
      ["group"],
    ),
  );
  readonly #sdWrites = this.registry.add(
    new Counter("switchyard_sd_writes_total", "Prometheus target files written, by role.", [
      "role",
    ]),
  );
  readonly #sdTargets = this.registry.add(
    new Gauge("switchyard_sd_targets", "Targets in the last written file, by role.", ["role"]),
  );
  #last: { decision: Decision; registered: number } | null = null;

  /**
   * @param group the group scaled (null: file_sd only)
   * @param policy its policy
   * @param acting whether this process is the acting autoscaler
   */
  constructor(
    readonly group: string | null,
    readonly policy: Policy | null,
    readonly acting: () => boolean,
  ) {
    const r = this.registry;
    if (group === null || policy === null) return;
    r.add(
      new Gauge(
        "switchyard_autoscaler_leader",
        "1 while this autoscaler is the one acting for its group.",
        ["group"],
        (g) => g.labels(group).set(acting() ? 1 : 0),
      ),
    );
    const fromLast = (
      name: string,
      help: string,
      value: (d: Decision, reg: number) => number | null,
    ) =>
      r.add(
        new Gauge(name, help, ["group"], (g) => {
          g.retain(() => false);
          const v = this.#last && value(this.#last.decision, this.#last.registered);
          if (v !== null && v !== undefined && Number.isFinite(v)) g.labels(group).set(v);
        }),
      );
    fromLast(
      "switchyard_autoscaler_instances",
      "Instances counted by the last evaluation (registered, plus launching, minus draining).",
      (d) => d.current,
    );
    fromLast(
      "switchyard_autoscaler_desired_instances",
      "The fleet size the last evaluation aimed at.",
      (d) => d.desired,
    );
    fromLast(
      "switchyard_autoscaler_registered_instances",
      "Proxies registered in ZooKeeper at the last evaluation.",
      (_d, reg) => reg,
    );
    fromLast(
      "switchyard_autoscaler_sampled_instances",
      "Proxies with a fresh sample at the last evaluation.",
      (d) => d.sampled,
    );
    fromLast(
      "switchyard_autoscaler_utilization",
      "The fleet's utilization at the last evaluation (1 = at capacity).",
      (d) => d.utilization,
    );
    fromLast(
      "switchyard_autoscaler_last_evaluation_timestamp_seconds",
      "When the last evaluation ran (Unix seconds).",
      (d) => d.at / 1000,
    );
    r.add(
      new Gauge(
        "switchyard_autoscaler_policy_instances",
        "The policy's bounds on the fleet size.",
        ["group", "bound"],
        (g) => {
          g.labels(group, "min").set(policy.min);
          g.labels(group, "max").set(policy.max);
        },
      ),
    );
    r.add(
      new Gauge(
        "switchyard_autoscaler_capacity",
        "What one proxy can take, per metric, as the policy says (utilization 1.0).",
        ["group", "metric"],
        (g) => {
          for (const m of CAPACITY_METRICS) {
            const v = policy.capacity[m];
            if (v !== undefined) g.labels(group, m).set(v);
          }
        },
      ),
    );
  }

  /** Hook: after each evaluation. */
  onDecision = (decision: Decision, registered: number): void => {
    this.#last = { decision, registered };
    if (this.group !== null) {
      this.#decisions.labels(this.group, decision.action, decision.reason).inc();
    }
  };

  /** Hook: after each action. */
  onAction = (decision: Decision, ok: boolean): void => {
    if (this.group !== null) {
      this.#actions.labels(this.group, decision.action, ok ? "ok" : "error").inc();
    }
  };

  /** Hook: the metrics source failed. */
  onSampleError = (): void => {
    if (this.group !== null) this.#sampleErrors.labels(this.group).inc();
  };

  /** Hook: a target file was written. */
  onSdWrite = (role: string, targets: number): void => {
    this.#sdWrites.labels(role).inc();
    this.#sdTargets.labels(role).set(targets);
  };
}

/** The admin listener's routes. */
export function autoscalerAdminApp(
  registry: Registry,
  healthy: () => boolean,
  status: () => Record<string, unknown>,
): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => (healthy() ? c.text("ok\n") : c.text("not ready\n", 503)));
  app.get("/status", (c) => c.json(status()));
  app.get(
    "/metrics",
    (c) => c.body(registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );
  return app;
}
