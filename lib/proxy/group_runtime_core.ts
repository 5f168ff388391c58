/**
 * One group's data-plane runtime: the group state, the upstream pools, the
 * retry budget, the health checker and the group's own clock. The proxy
 * role's instance and the embedded load balancer (`createLoadBalancer`) are
 * both built on one, so they share the behaviour that is not per request:
 *
 * - slow-start steps and the end of ejections happen on time without traffic
 *   and without a listener (a ~100 ms tick timer of its own calls
 *   `GroupState.tick()`);
 * - idle upstream connections are closed after the keep-alive idle timeout
 *   (a reap timer);
 * - pools follow the snapshots (settings updated, removed backends' pools
 *   retired), and the retry budget is rebuilt when the retry settings change;
 * - outcomes reach outlier detection (it is the lease's {@link OutcomeSink}).
 *
 * Timers are unref'd (they never keep a process alive) and stop on
 * {@link GroupRuntimeCore.close}. The clock and the timer scheduler are
 * injected so tests drive them by hand.
 *
 * The I/O is injected too, the health probe and the connection pools, so
 * this module imports no node:net: an edge runtime without raw TCP sockets
 * (Deno Deploy, Cloudflare Workers) runs the same core with a fetch probe and
 * no pools (`createLoadBalancer({ transport: "fetch" })`). The proxy role and
 * the socket transport use `GroupRuntime` (group_runtime.ts), this core wired
 * to the TCP probe and node:net pools.
 *
 * @module
 */
import type { GroupSnapshot } from "../group/snapshot.ts";
import type { BackendView } from "../group/snapshot.ts";
import type { OutcomeSink } from "../group/backend_lease.ts";
import { GroupState } from "../group/group_state.ts";
import { HealthChecker } from "../health/checker.ts";
import { healthTargets } from "../health/targets.ts";
import type { Logger } from "../log.ts";
import type { ConfigIssue, GroupConfig } from "../config/schema.ts";
import { tlsConnectOptions, type UpstreamTls } from "../tls/upstream_tls.ts";
import type { UpstreamTlsLoad } from "../tls/upstream_tls_load.ts";
import { RetryBudget } from "./retry_budget.ts";
import type { PoolOptions, UpstreamPool } from "./upstream_pool.ts";

/** How often the group's tick runs (slow-start steps, ejection ends): the design's ~100 ms. */
export const TICK_INTERVAL_MS = 100;
/** How often idle upstream connections past their idle timeout are closed. */
export const REAP_INTERVAL_MS = 100;

/** Repeats `fn` every `ms`; returns how to stop it. */
export type Every = (ms: number, fn: () => void) => () => void;

/** The real scheduler: `setInterval`, unref'd so it never keeps the process alive. */
export const realEvery: Every = (ms, fn) => {
  const t = setInterval(fn, ms);
  // Deno returns a number (Deno.unrefTimer), Node and Bun a Timeout with unref(); an
  // edge runtime may have neither (nothing to unref there)
  if (typeof t !== "number") (t as { unref?: () => void }).unref?.();
  else (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(t);
  return () => clearInterval(t);
};

/** Opens the connection pool of one backend (the socket transport's `UpstreamPool`). */
export type PoolFactory = (options: PoolOptions) => UpstreamPool;

/**
 * Loads a config's upstream `tls` settings (reads the CA file): the socket
 * runtime's is lib/tls/upstream_tls_load.ts over `fs.readFileSync`.
 */
export type UpstreamTlsLoader = (group: string, config: GroupConfig["tls"]) => UpstreamTlsLoad;

/** Options of a {@link GroupRuntimeCore}. */
export interface GroupRuntimeOptions {
  readonly group: string;
  readonly log: Logger;
  /** Wall-clock ms: ejections, slow start, the retry budget (default `Date.now`). */
  readonly wallNow?: () => number;
  /** Monotonic ms: connection idle stamps, probes (default `performance.now`). */
  readonly now?: () => number;
  readonly random?: () => number;
  /** The timer scheduler (default {@link realEvery}). */
  readonly every?: Every;
  /**
   * The health probe: lib/health/probe.ts over node:net, or the fetch probe
   * (lib/health/fetch_probe.ts) where there are no sockets. Without one,
   * {@link GroupRuntimeCore.setProbing} cannot turn health checks on.
   */
  readonly probe?: HealthCheckerProbe;
  /**
   * Opens a backend's connection pool. Without one (the fetch transport holds
   * no connections of its own) {@link GroupRuntimeCore.pool} throws.
   */
  readonly newPool?: PoolFactory;
  /**
   * Loads upstream TLS settings when a config is applied. Without one (the
   * fetch transport) a config with `tls.enabled` is rejected.
   */
  readonly loadTls?: UpstreamTlsLoader;
  /**
   * The pool factory makes HTTP/2 pools for `protocol: "h2"` (the proxy
   * role's); without it such a config is rejected.
   */
  readonly h2?: boolean;
  /** Called after each snapshot swap, once the runtime has followed it (pools, checker). */
  readonly onSwap?: (next: GroupSnapshot) => void;
}

/** A health probe (what the health checker calls per target). */
export type HealthCheckerProbe = ConstructorParameters<typeof HealthChecker>[0]["probe"];

/**
 * A group's state, pools, retry budget, health checker and timers, with the
 * probe and the pools injected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GroupRuntimeCore } from "./group_runtime_core.ts";
 * import { silentLogger } from "../log.ts";
 *
 * // no sockets: a probe that answers healthy, and no pools
 * const runtime = new GroupRuntimeCore({
 *   group: "api",
 *   log: silentLogger,
 *   probe: () => Promise.resolve({ ok: true, error: null, status: 200 }),
 * });
 * runtime.state.applyConfig("1", { backend_servers: ["127.0.0.1:9001"] });
 * const backend = runtime.state.snapshot!.backends[0]!;
 * assert.throws(() => runtime.pool(backend), /no connection pools/);
 * assert.equal(runtime.setProbing(true), true);
 * assert.equal(runtime.budget().ratio, 0.2);
 * runtime.close();
 * ```
 */
export class GroupRuntimeCore implements OutcomeSink {
  readonly state: GroupState;
  readonly log: Logger;
  /** Monotonic ms. */
  readonly now: () => number;
  /** Wall-clock ms. */
  readonly wallNow: () => number;
  readonly #random: () => number;
  readonly #probe: HealthCheckerProbe | null;
  readonly #newPool: PoolFactory | null;
  readonly #pools = new Map<string, UpstreamPool>();
  readonly #loadTls: UpstreamTlsLoader | null;
  /** Upstream TLS loaded per applied config (a snapshot rebuild keeps its config object). */
  readonly #tlsOf = new WeakMap<GroupConfig, UpstreamTls>();
  /** The upstream TLS the pools were made with (null: plain TCP). */
  #tls: UpstreamTls | null = null;
  #checker: HealthChecker | null = null;
  /** This runtime's pool factory speaks HTTP/2 (`protocol: "h2"` is accepted). */
  readonly #h2: boolean;
  /** The current config says `protocol: "h2"`: pools are h2 pools. */
  #useH2 = false;
  /**
   * Where gRPC statuses of this group's h2 responses are counted (the proxy
   * role's lane sets it to its metrics), null: not counted.
   */
  grpcStatus: ((code: string) => void) | null = null;
  readonly #grpcSink = (code: string): void => this.grpcStatus?.(code);
  #budget = new RetryBudget(0.2, 10);
  #budgetFor: unknown = null;
  #budgetKey = "0.2/10";
  #stops: (() => void)[];
  #closed = false;

  constructor(options: GroupRuntimeOptions) {
    this.log = options.log;
    this.now = options.now ?? (() => performance.now());
    this.wallNow = options.wallNow ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#probe = options.probe ?? null;
    this.#newPool = options.newPool ?? null;
    this.#loadTls = options.loadTls ?? null;
    this.#h2 = options.h2 ?? false;
    const onSwap = options.onSwap;
    this.state = new GroupState(options.group, {
      now: this.wallNow,
      random: this.#random,
      prepare: (config) => this.#prepare(config),
      onSwap: (next) => {
        this.#follow(next);
        onSwap?.(next);
      },
    });
    const every = options.every ?? realEvery;
    this.#stops = [
      every(TICK_INTERVAL_MS, () => this.state.tick()),
      every(REAP_INTERVAL_MS, () => this.reap()),
    ];
  }

  /** Loads a config's upstream TLS before it is applied (an unreadable CA file rejects it). */
  #prepare(config: GroupConfig): readonly ConfigIssue[] {
    const group = this.state.group;
    if (config.protocol === "h2" && !this.#h2) {
      return [{
        group,
        field: "protocol",
        reason:
          "upstream HTTP/2 is not available here (the proxy role has it; the embedded load balancer does not)",
      }];
    }
    if (config.tls?.enabled !== true) return [];
    if (this.#loadTls === null) {
      return [{
        group,
        field: "tls.enabled",
        reason:
          "upstream TLS is not available here (the proxy role has it; the embedded load balancer does not)",
      }];
    }
    const r = this.#loadTls(group, config.tls);
    if (!r.ok) return r.issues;
    if (r.tls !== null) this.#tlsOf.set(config, r.tls);
    return [];
  }

  /**
   * Pools follow a new snapshot: settings updated, removed backends' pools
   * retired, and every pool retired when the upstream TLS settings or the
   * protocol changed (connections made with the old ones are not reused).
   */
  #follow(next: GroupSnapshot): void {
    const tls = this.#tlsOf.get(next.config) ?? null;
    const h2 = next.config.protocol === "h2";
    if ((tls?.key ?? null) !== (this.#tls?.key ?? null) || h2 !== this.#useH2) {
      for (const pool of this.#pools.values()) pool.retire();
      this.#pools.clear();
    }
    this.#tls = tls;
    this.#useH2 = h2;
    const keep = new Set<string>();
    const ka = next.config.upstream_keepalive;
    for (const b of next.backends) {
      keep.add(b.address);
      const pool = this.#pools.get(b.address);
      if (pool) {
        pool.options.maxIdle = ka.max_idle;
        pool.options.idleTimeoutMs = ka.idle_timeout_seconds * 1000;
      }
    }
    for (const [address, pool] of this.#pools) {
      if (!keep.has(address)) {
        pool.retire();
        this.#pools.delete(address);
      }
    }
    this.#checker?.sync(healthTargets(next, tls));
  }

  /** The pool for a backend (created on first use). */
  pool(backend: BackendView): UpstreamPool {
    let pool = this.#pools.get(backend.address);
    if (!pool) {
      if (this.#newPool === null) {
        throw new Error(`group ${this.state.group}: this runtime has no connection pools`);
      }
      const ka = this.state.snapshot?.config.upstream_keepalive;
      pool = this.#newPool({
        host: backend.host,
        port: backend.port,
        maxIdle: ka?.max_idle ?? 64,
        idleTimeoutMs: (ka?.idle_timeout_seconds ?? 4) * 1000,
        tls: this.#tls === null ? null : tlsConnectOptions(this.#tls, backend.host),
        ...(this.#useH2 ? { h2: true, onGrpcStatus: this.#grpcSink } : {}),
      });
      // a pool created after close() (a request racing shutdown) holds nothing idle
      if (this.#closed) pool.retire();
      else this.#pools.set(backend.address, pool);
    }
    return pool;
  }

  /** Pools currently held, by backend address (for status and tests). */
  get pools(): ReadonlyMap<string, UpstreamPool> {
    return this.#pools;
  }

  /**
   * The current retry budget: rebuilt (its window restarted) only when the
   * group's retry ratio or floor change, not on every snapshot swap.
   */
  budget(): RetryBudget {
    const retry = this.state.snapshot?.config.retry;
    if (retry && retry !== this.#budgetFor) {
      this.#budgetFor = retry;
      const key = `${retry.budget_ratio}/${retry.min_retries_per_second}`;
      if (key !== this.#budgetKey) {
        this.#budgetKey = key;
        this.#budget = new RetryBudget(retry.budget_ratio, retry.min_retries_per_second);
      }
    }
    return this.#budget;
  }

  /** One attempt's outcome, for outlier detection (see {@link OutcomeSink}). */
  recordOutcome(address: string, failure: boolean): boolean {
    return this.state.recordOutcome(address, failure);
  }

  /** Closes idle upstream connections past their idle timeout (the reap timer calls it). */
  reap(): void {
    const now = this.now();
    for (const p of this.#pools.values()) p.reap(now);
  }

  /** Whether active health checks run here. */
  get probing(): boolean {
    return this.#checker !== null;
  }

  /**
   * Turns active health checks on (this process probes the backends) or off
   * (health comes from elsewhere, e.g. the orchestrator). Returns whether it changed.
   */
  setProbing(on: boolean): boolean {
    if (on === this.probing || (on && this.#closed)) return false;
    if (on) {
      if (this.#probe === null) {
        throw new Error(`group ${this.state.group}: this runtime has no health probe`);
      }
      this.#checker = new HealthChecker({
        sink: this.state,
        probe: this.#probe,
        log: this.log,
        random: this.#random,
        now: this.now,
      });
      const snap = this.state.snapshot;
      if (snap) this.#checker.sync(healthTargets(snap, this.#tls));
    } else {
      this.#checker!.stop();
      this.#checker = null;
    }
    return true;
  }

  /** Stops the timers and health checks and closes idle connections. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const stop of this.#stops) stop();
    this.#stops = [];
    this.setProbing(false);
    for (const p of this.#pools.values()) p.closeIdle();
  }
}
