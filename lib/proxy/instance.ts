/**
 * One proxy process's parts, wired together: the group runtime (state, pools,
 * retry budget, health checker, the group's own clock), metrics, the proxy
 * server and the admin app.
 * The proxy role builds one and feeds it configs and health from a file or
 * from ZooKeeper; tests can build one in-process.
 *
 * @module
 */
import type { ConfigIssue } from "../config/schema.ts";
import type { GroupState } from "../group/group_state.ts";
import { applyExternalHealth } from "../health/external_health.ts";
import type { Logger } from "../log.ts";
import { addProcessMetrics } from "../runtime/process.ts";
import { runtimeVersion } from "../runtime/serve.ts";
import { adminApp } from "./admin_app.ts";
import { GroupRuntime } from "./group_runtime.ts";
import { ProxyMetrics } from "./metrics.ts";
import { type BoundPorts, type ListenAt, ProxyListeners } from "./proxy_listeners.ts";
import { ProxyServer } from "./server.ts";
import type { AccessLog } from "./access_log.ts";
import type { LoadSample } from "./load_reporter.ts";
import { type TlsListenerOptions, TlsTermination } from "./tls_termination.ts";

/** How a proxy instance is set up. */
export interface ProxyInstanceOptions {
  readonly id: string;
  readonly group: string;
  readonly log: Logger;
  /** Where the config comes from, shown in `/status` (e.g. `file:/etc/lb.json`). */
  readonly source: string;
  /** Extra `/status` fields (source state). */
  readonly statusExtra?: () => Record<string, unknown>;
  /** Where sampled requests are logged (`--access-log`), or none. */
  readonly accessLog?: AccessLog | null;
  /** A TLS listener beside the plain one (`--tls-listen`), or none. */
  readonly tls?: TlsListenerOptions | null;
}

/**
 * A proxy's moving parts.
 *
 * @example
 * ```ts ignore
 * const p = new ProxyInstance({ id: "p1", group: "g", log, source: "test" });
 * p.applyBlob("1", { backend_servers: ["127.0.0.1:9001"] });
 * await p.start({ host: "127.0.0.1", port: 8080 }, { host: "127.0.0.1", port: 9090 });
 * ```
 */
export class ProxyInstance {
  readonly runtime: GroupRuntime;
  readonly state: GroupState;
  readonly metrics: ProxyMetrics;
  readonly server: ProxyServer;
  readonly startedAt = Date.now();
  /** The TLS listener's certificates and settings (`--tls-listen`), or null. */
  readonly tls: TlsTermination | null;
  readonly #listeners: ProxyListeners;
  readonly #log: Logger;

  constructor(readonly options: ProxyInstanceOptions) {
    this.#log = options.log;
    let server: ProxyServer | null = null;
    this.runtime = new GroupRuntime({
      group: options.group,
      log: options.log,
      onSwap: (next) => server?.onSnapshot(next),
    });
    this.state = this.runtime.state;
    this.metrics = new ProxyMetrics(this.state);
    addProcessMetrics(this.metrics.registry, this.startedAt);
    this.tls = options.tls
      ? new TlsTermination({ ...options.tls, log: options.log, registry: this.metrics.registry })
      : null;
    server = new ProxyServer({
      runtime: this.runtime,
      log: options.log,
      metrics: this.metrics,
      accessLog: options.accessLog ?? null,
      tls: this.tls,
    });
    this.server = server;
    this.#listeners = new ProxyListeners(server, this.tls, options.tls?.listen ?? null);
  }

  /** Whether this proxy runs active health checks itself. */
  get probing(): boolean {
    return this.runtime.probing;
  }

  /**
   * Turns the embedded health checker on (no orchestrator) or off (health
   * comes from the orchestrator through {@link setExternalHealth}).
   */
  setProbing(on: boolean): void {
    if (!this.runtime.setProbing(on)) return;
    this.#log.info(on ? "active health checks on" : "active health checks off");
  }

  /** Validates and applies a config blob; logs the outcome. Returns whether it was applied. */
  applyBlob(version: string, blob: unknown): boolean {
    const r = this.state.applyConfig(version, blob);
    if (!r.ok) {
      this.#log.warn("config rejected; keeping the last good one", {
        version,
        reason: r.rejected.reason,
      });
      return false;
    }
    if (r.changed) {
      this.#log.info("config applied", {
        version,
        backends: this.state.snapshot?.backends.length,
        algorithm: this.state.snapshot?.config.algorithm,
      });
    }
    return true;
  }

  /** Records a config that could not be used at all (unreadable, not JSON, deleted...). */
  reject(version: string, issues: readonly ConfigIssue[]): void {
    const r = this.state.reject(version, issues);
    if (!r.ok) {
      this.#log.warn("config rejected; keeping the last good one", {
        version,
        reason: r.rejected.reason,
      });
    }
  }

  /**
   * Health written by the orchestrator: the backends listed are unhealthy,
   * every other configured backend is healthy.
   */
  setExternalHealth(unhealthy: ReadonlySet<string>): void {
    if (applyExternalHealth(this.state, unhealthy, Date.now())) {
      this.#log.info("health from orchestrator", { unhealthy: [...unhealthy] });
    }
  }

  /**
   * Starts the proxy and admin listeners; resolves with the bound ports.
   * When either cannot listen, rejects with its `ListenError` after stopping
   * everything (listener, sweeper, health checks), so nothing lingers.
   */
  start(listen: ListenAt, adminListen: ListenAt): Promise<BoundPorts> {
    return this.#listeners.start(
      listen,
      adminListen,
      () =>
        adminApp(this.state, this.metrics.registry, {
          id: this.options.id,
          runtime: runtimeVersion(),
          startedAt: this.startedAt,
          source: this.options.source,
          listen: this.#listeners.listenAddress,
          healthChecks: this.probing,
          connections: () => this.server.connectionCount,
          draining: () => this.server.draining,
          extra: () => ({
            health_checks: this.probing ? "proxy" : "orchestrator",
            ...(this.tls
              ? { tls_listen: this.#listeners.tlsListenAddress, tls: this.tls.status() }
              : {}),
            ...this.options.statusExtra?.(),
          }),
        }).fetch,
      () => this.shutdown(0),
    );
  }

  /** Client connections and requests in flight now (the registration's load). */
  load(): LoadSample {
    let inflight = 0;
    for (const b of this.state.snapshot?.backends ?? []) inflight += b.counters.inflight;
    return { connections: this.server.connectionCount, inflight };
  }

  /** The address clients reach this proxy on (after {@link start}). */
  get listenAddress(): string {
    return this.#listeners.listenAddress;
  }

  /** Drains and stops everything (health checks first, then the listener, then the group's timers and pools). */
  async shutdown(drainMs: number): Promise<void> {
    this.runtime.setProbing(false);
    await this.#listeners.shutdown(drainMs, () => this.runtime.close());
  }
}
