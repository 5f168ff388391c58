/**
 * One `--listener` proxy process's parts, wired together: the listener's
 * routes and groups ({@link ListenerRuntime}), the metrics every group shares,
 * the proxy server and the admin app. The proxy role feeds it configs from a
 * file or from ZooKeeper; tests can build one in-process.
 *
 * @module
 */
import process from "node:process";
import { applyExternalHealth } from "../health/external_health.ts";
import type { Logger } from "../log.ts";
import { groupReferences } from "../routing/references.ts";
import type { RouteIssue } from "../routing/schema.ts";
import { addProcessMetrics } from "../runtime/process.ts";
import { runtimeVersion } from "../runtime/serve.ts";
import { contentVersion } from "../source/config_file.ts";
import type { ListenerFileUpdate } from "../source/listener_file.ts";
import { adminRoutes, statusDocument } from "./admin_app.ts";
import { type ListenerApplied, ListenerRuntime } from "./listener_runtime.ts";
import { ProxyMetricFamilies, ProxyMetrics } from "./metrics.ts";
import { type BoundPorts, type ListenAt, ProxyListeners } from "./proxy_listeners.ts";
import { ProxyServer } from "./server.ts";
import type { AccessLog } from "./access_log.ts";
import type { LoadSample } from "./load_reporter.ts";
import { type TlsListenerOptions, TlsTermination } from "./tls_termination.ts";
import { workerIndex } from "./workers.ts";

/** How a listener instance is set up. */
export interface ListenerInstanceOptions {
  readonly id: string;
  readonly listener: string;
  readonly log: Logger;
  /** Where the config comes from, shown in `/status`. */
  readonly source: string;
  /** Extra `/status` fields (source state). */
  readonly statusExtra?: () => Record<string, unknown>;
  /** Where sampled requests are logged (`--access-log`), or none. */
  readonly accessLog?: AccessLog | null;
  /** A TLS listener beside the plain one (`--tls-listen`), or none. */
  readonly tls?: TlsListenerOptions | null;
}

/** A listener proxy's moving parts. */
export class ListenerInstance {
  readonly families = new ProxyMetricFamilies();
  readonly runtime: ListenerRuntime;
  readonly metrics: ProxyMetrics;
  readonly server: ProxyServer;
  readonly startedAt = Date.now();
  /** The TLS listener's certificates and settings (`--tls-listen`), or null. */
  readonly tls: TlsTermination | null;
  readonly #listeners: ProxyListeners;
  readonly #log: Logger;

  constructor(readonly options: ListenerInstanceOptions) {
    this.#log = options.log;
    this.runtime = new ListenerRuntime({
      listener: options.listener,
      log: options.log,
      families: this.families,
    });
    this.metrics = new ProxyMetrics(null, this.families, options.listener);
    addProcessMetrics(this.families.registry, this.startedAt);
    this.tls = options.tls
      ? new TlsTermination({ ...options.tls, log: options.log, registry: this.families.registry })
      : null;
    this.server = new ProxyServer({
      router: this.runtime,
      log: options.log,
      metrics: this.metrics,
      accessLog: options.accessLog ?? null,
      tls: this.tls,
    });
    this.#listeners = new ProxyListeners(this.server, this.tls, options.tls?.listen ?? null);
  }

  /**
   * Applies a file's update: the groups the routes reference, then the
   * routes. An update with issues changes nothing.
   */
  applyFile(update: ListenerFileUpdate): ListenerApplied {
    if ("issues" in update) return this.runtime.rejectListener(update.version, update.issues);
    const wanted = referencedGroups(update.listener);
    for (const name of wanted) {
      // versioned by the group's own content, as a --group proxy's file source does: an edit
      // of another part of the file leaves this group's snapshot alone
      const blob = update.groups[name];
      const r = this.runtime.applyGroup(name, contentVersion(JSON.stringify(blob)), blob);
      if (!r.ok) {
        const issue: RouteIssue = {
          listener: this.options.listener,
          field: `groups.${name}`,
          reason: r.rejected.reason,
        };
        return this.runtime.rejectListener(update.version, [issue]);
      }
    }
    return this.runtime.applyListener(update.version, update.listener);
  }

  /** Turns the embedded health checkers on (no orchestrator) or off. */
  setProbing(on: boolean): void {
    if (!this.runtime.setProbing(on)) return;
    this.#log.info(on ? "active health checks on" : "active health checks off");
  }

  /**
   * Health written by the orchestrator for one group: the backends listed are
   * unhealthy, every other configured backend is healthy.
   */
  setExternalHealth(group: string, unhealthy: ReadonlySet<string>): void {
    const state = this.runtime.groups.get(group)?.runtime.state;
    if (state && applyExternalHealth(state, unhealthy, Date.now())) {
      this.#log.info("health from orchestrator", { group, unhealthy: [...unhealthy] });
    }
  }

  /** The `/status` document: the listener's routes and each group's state. */
  status(): Record<string, unknown> {
    const rt = this.runtime;
    const groups: Record<string, unknown> = {};
    for (const [name, g] of rt.groups) {
      const doc = statusDocument(g.runtime.state, this.#statusInfo());
      groups[name] = {
        config: doc.config,
        rejected_total: doc.rejected_total,
        last_rejected: doc.last_rejected,
        panic: doc.panic,
        usable_backends: doc.usable_backends,
        outlier_ejections_total: doc.outlier_ejections_total,
        backends: doc.backends,
      };
    }
    return {
      role: "proxy",
      id: this.options.id,
      pid: process.pid,
      worker: workerIndex(),
      listener: this.options.listener,
      runtime: runtimeVersion(),
      listen: this.#listeners.listenAddress,
      source: this.options.source,
      started_at: new Date(this.startedAt).toISOString(),
      draining: this.server.draining,
      connections: this.server.connectionCount,
      health_checks: rt.probing ? "proxy" : "external",
      ...(this.tls ? { tls_listen: this.#listeners.tlsListenAddress, tls: this.tls.status() } : {}),
      ...this.options.statusExtra?.(),
      routes: rt.config
        ? {
          version: rt.version,
          applied_at: new Date(rt.lastAppliedAt).toISOString(),
          applied_total: rt.appliedTotal,
          names: rt.config.routes.map((r) => r.name),
          default_route: rt.config.default_route ?? null,
        }
        : null,
      rejected_total: rt.rejectedTotal,
      last_rejected: rt.rejected
        ? {
          version: rt.rejected.version,
          issues: rt.rejected.issues,
          at: new Date(rt.rejected.at).toISOString(),
        }
        : null,
      groups,
    };
  }

  #statusInfo() {
    return {
      id: this.options.id,
      runtime: runtimeVersion(),
      startedAt: this.startedAt,
      source: this.options.source,
      listen: this.#listeners.listenAddress,
      healthChecks: this.runtime.probing,
      connections: () => this.server.connectionCount,
      draining: () => this.server.draining,
    };
  }

  /**
   * Starts the proxy and admin listeners; resolves with the bound ports.
   * When either cannot listen, rejects with its `ListenError` after stopping
   * everything.
   */
  start(listen: ListenAt, adminListen: ListenAt): Promise<BoundPorts> {
    return this.#listeners.start(listen, adminListen, () =>
      adminRoutes({
        registry: this.families.registry,
        draining: () => this.server.draining,
        ready: () => this.runtime.config !== null,
        status: () => this.status(),
      }).fetch, () => this.shutdown(0));
  }

  /** Client connections and requests in flight now, over every group (the registration's load). */
  load(): LoadSample {
    let inflight = 0;
    for (const g of this.runtime.groups.values()) {
      for (const b of g.runtime.state.snapshot?.backends ?? []) inflight += b.counters.inflight;
    }
    return { connections: this.server.connectionCount, inflight };
  }

  /** The address clients reach this proxy on (after {@link start}). */
  get listenAddress(): string {
    return this.#listeners.listenAddress;
  }

  /** Drains and stops everything. */
  async shutdown(drainMs: number): Promise<void> {
    this.runtime.setProbing(false);
    await this.#listeners.shutdown(drainMs, () => this.runtime.close());
  }
}

/** The groups a (not yet validated) listener blob's routes name (forward, split, mirror). */
export function referencedGroups(blob: unknown): Set<string> {
  return new Set(groupReferences(blob).map((r) => r.group));
}
