/**
 * The load balancer as a library: mount it inside your own Hono app.
 *
 * The same cores as the proxy role (config schema, balancers, health state
 * machine, snapshots, upstream pools) behind a Hono handler. Requests arrive
 * as web-standard `Request`s, are balanced per the group's algorithm, and are
 * forwarded with our HTTP/1.1 client; failed attempts are retried on another
 * backend when safe. Active health checks run unless turned off.
 *
 * @module
 */
import type { Context } from "hono";
import type { GetConnInfo } from "hono/conninfo";
import type { BackendView } from "./group/snapshot.ts";
import { GroupState } from "./group/group_state.ts";
import { HealthChecker } from "./health/checker.ts";
import { healthTargets } from "./health/targets.ts";
import { probe } from "./health/probe.ts";
import { type Logger, silentLogger } from "./log.ts";
import { clientAddress, loadConnInfo, UNKNOWN_CLIENT } from "./runtime/hono_conn_info.ts";
import { requestHashKey, usesKey } from "./proxy/hash_key.ts";
import { forwardWebRequest, UpstreamError } from "./proxy/http_client.ts";
import { ProxyMetrics } from "./proxy/metrics.ts";
import { RetryBudget } from "./proxy/retry_budget.ts";
import { UpstreamPool } from "./proxy/upstream_pool.ts";

/** Options of {@link createLoadBalancer}. */
export interface LoadBalancerOptions {
  /** Group name (used in metrics and errors). Default `default`. */
  readonly group?: string;
  /** The group's config blob, as in a config file or ZooKeeper. */
  readonly config: unknown;
  /** Run active health checks (default true). */
  readonly healthChecks?: boolean;
  /** Remove this prefix from the path before forwarding (e.g. `/api`). */
  readonly stripPrefix?: string;
  readonly log?: Logger;
}

/** A mounted load balancer. */
export interface LoadBalancer {
  /** The group's live state (snapshot, health, rejected configs). */
  readonly state: GroupState;
  /** Metrics; render with `lb.metrics.registry.render()`. */
  readonly metrics: ProxyMetrics;
  /**
   * A Hono handler: `app.all("/api/*", lb.handler)`, served by
   * `Deno.serve(app.fetch)` or `Bun.serve({ fetch: app.fetch })`. The client's
   * address (for `X-Forwarded-For`, `Forwarded` and the hash key) comes from
   * Hono's `getConnInfo` for the runtime; `unknown` when it has none
   * (`app.request()`).
   */
  readonly handler: (c: Context) => Promise<Response>;
  /** Forwards a web Request directly (for non-Hono servers). */
  fetch(request: Request, clientIp?: string): Promise<Response>;
  /** Applies a new config blob; an invalid one is rejected and the current one kept. */
  update(config: unknown): { ok: true } | { ok: false; reason: string };
  /** Stops health checks and closes idle connections. */
  close(): void;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

function plain(status: number, body: string, extra?: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/**
 * Creates a load balancer to mount in a Hono app.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createLoadBalancer } from "./mod.ts";
 *
 * const lb = createLoadBalancer({
 *   group: "api",
 *   config: { backend_servers: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 3 }],
 *     algorithm: "WEIGHTED_ROUND_ROBIN" },
 *   stripPrefix: "/api",
 * });
 * const app = new Hono();
 * app.all("/api/*", lb.handler);
 * Deno.serve(app.fetch);
 * ```
 */
export function createLoadBalancer(options: LoadBalancerOptions): LoadBalancer {
  const log = options.log ?? silentLogger;
  const pools = new Map<string, UpstreamPool>();
  let checker: HealthChecker | null = null;
  let budget = new RetryBudget(0.2, 10);
  const state = new GroupState(options.group ?? "default", {
    now: Date.now,
    random: Math.random,
    onSwap: (next) => {
      const live = new Set(next.backends.map((b) => b.address));
      for (const [a, p] of pools) {
        if (!live.has(a)) {
          p.retire();
          pools.delete(a);
        }
      }
      const r = next.config.retry;
      budget = new RetryBudget(r.budget_ratio, r.min_retries_per_second);
      checker?.sync(healthTargets(next));
    },
  });
  const metrics = new ProxyMetrics(state);
  const first = state.applyConfig("1", options.config);
  if (!first.ok) throw new Error(`invalid load balancer config\n${first.rejected.reason}`);
  if (options.healthChecks !== false) {
    checker = new HealthChecker({
      sink: state,
      probe,
      log,
      random: Math.random,
      now: () => performance.now(),
    });
    checker.sync(healthTargets(state.snapshot!));
  }
  // Hono's getConnInfo for this runtime, loaded once (undefined until then)
  let getConnInfo: GetConnInfo | null | undefined;
  const connInfoLoaded = loadConnInfo().then(
    (f) => {
      getConnInfo = f;
    },
    (e) => {
      log.warn("cannot load Hono's conninfo adapter: clients are forwarded as unknown", {
        error: String(e),
      });
      getConnInfo = null;
    },
  );
  let version = 1;
  const poolFor = (b: BackendView) => {
    let p = pools.get(b.address);
    if (!p) {
      const ka = state.snapshot!.config.upstream_keepalive;
      p = new UpstreamPool({
        host: b.host,
        port: b.port,
        maxIdle: ka.max_idle,
        idleTimeoutMs: ka.idle_timeout_seconds * 1000,
      });
      pools.set(b.address, p);
    }
    return p;
  };

  const forward = async (request: Request, clientIp: string): Promise<Response> => {
    const snap = state.snapshot!;
    const cfg = snap.config;
    const url = new URL(request.url);
    let path = url.pathname;
    const prefix = options.stripPrefix;
    if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length) || "/";
    if (!path.startsWith("/")) path = `/${path}`;
    const target = path + url.search;
    budget.recordRequest(Date.now());
    const tried: number[] = [];
    const started = performance.now();
    for (let attempt = 0;; attempt++) {
      const key = usesKey(cfg.algorithm)
        ? requestHashKey(
          cfg.algorithm,
          cfg.hash_key,
          clientIp,
          (n) => request.headers.get(n),
          target,
        )
        : undefined;
      const accept = (i: number) => !tried.includes(i);
      const index = snap.selector.pick(key === undefined ? { accept } : { key, accept });
      if (index < 0) {
        metrics.countError(
          tried.length === 0 ? "no_backend" : "connect_failed",
          tried.length === 0 ? 503 : 502,
          request.method,
        );
        return tried.length === 0
          ? plain(503, "no healthy backend\n", { "retry-after": "1" })
          : plain(502, "bad gateway\n");
      }
      tried.push(index);
      const backend = snap.backends[index]!;
      backend.counters.inflight++;
      const bm = metrics.forBackend(backend.address);
      try {
        const res = await forwardWebRequest(request, {
          pool: poolFor(backend),
          connectTimeoutMs: cfg.connect_timeout_seconds * 1000,
          responseTimeoutMs: cfg.response_timeout_seconds * 1000,
          clientIp,
          target,
          maxResponseHeaderBytes: 64 * 1024,
          now: () => performance.now(),
        });
        metrics.countResponse(
          bm,
          backend.address,
          request.method,
          res.status,
          (performance.now() - started) / 1000,
        );
        return res;
      } catch (e) {
        if (!(e instanceof UpstreamError)) throw e;
        const retryable =
          (e.notSent || (IDEMPOTENT.has(request.method) && request.body === null)) &&
          e.cause502 !== "timeout" && e.cause502 !== "bad_response";
        if (
          retryable && attempt < cfg.retry.max_retries && tried.length < snap.backends.length &&
          budget.tryRetry(Date.now())
        ) {
          metrics.retries.inc();
          continue;
        }
        log.warn("upstream attempt failed", { backend: backend.address, error: e.message });
        const status = e.cause502 === "timeout" ? 504 : 502;
        metrics.countError(e.cause502, status, request.method);
        return plain(status, status === 504 ? "gateway timeout\n" : "bad gateway\n");
      } finally {
        backend.counters.inflight--;
      }
    }
  };

  return {
    state,
    metrics,
    handler: (c) =>
      getConnInfo !== undefined
        ? forward(c.req.raw, clientAddress(getConnInfo, c))
        : connInfoLoaded.then(() => forward(c.req.raw, clientAddress(getConnInfo ?? null, c))),
    fetch: (request, clientIp = UNKNOWN_CLIENT) => forward(request, clientIp),
    update(config) {
      const r = state.applyConfig(String(++version), config);
      return r.ok ? { ok: true } : { ok: false, reason: r.rejected.reason };
    },
    close() {
      checker?.stop();
      for (const p of pools.values()) p.closeIdle();
    },
  };
}
