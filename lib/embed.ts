/**
 * The load balancer as a library: mount it inside your own Hono app.
 *
 * The same cores as the proxy role (config schema, balancers, health state
 * machine, snapshots, upstream pools) behind a Hono handler. Requests arrive
 * as web-standard `Request`s, are balanced per the group's algorithm, and are
 * forwarded by a transport (lib/proxy/transport.ts): our HTTP/1.1 client on
 * node:net pools (the default), or the global `fetch` on runtimes without raw
 * TCP sockets (`transport: "fetch"`); failed attempts are retried on another
 * backend when safe. Active health checks run unless turned off.
 *
 * The socket transport is loaded with a dynamic `import()` only when it is
 * used, so with `transport: "fetch"` nothing here loads node:net.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { GetConnInfo } from "hono/conninfo";
import { BackendLease } from "./group/backend_lease.ts";
import type { GroupState } from "./group/group_state.ts";
import type { GroupSnapshot } from "./group/snapshot.ts";
import { type Logger, silentLogger } from "./log.ts";
import { clientAddress, loadConnInfo, UNKNOWN_CLIENT } from "./runtime/hono_conn_info.ts";
import { fetchProbe } from "./health/fetch_probe.ts";
import type { ProbeResult, ProbeTarget } from "./health/probe.ts";
import { FetchTransport } from "./proxy/fetch_transport.ts";
import { GroupRuntimeCore } from "./proxy/group_runtime_core.ts";
import { requestHashKey, usesKey } from "./proxy/hash_key.ts";
import { ProxyMetrics } from "./proxy/metrics.ts";
import { retryDecision, statusRetryDecision } from "./proxy/retry_policy.ts";
import { type Transport, UpstreamError } from "./proxy/transport.ts";

/** The socket transport's module, loaded on demand (it imports node:net). */
type SocketModule = typeof import("./proxy/socket_transport.ts");

/**
 * Options of {@link createLoadBalancer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLoadBalancer, type LoadBalancerOptions } from "./embed.ts";
 *
 * const options: LoadBalancerOptions = {
 *   group: "api",
 *   config: { backend_servers: ["127.0.0.1:9001"], algorithm: "LEAST_CONNECTIONS" },
 *   stripPrefix: "/api",
 *   healthChecks: false,
 * };
 * const lb = createLoadBalancer(options);
 * assert.equal(lb.state.snapshot?.config.algorithm, "LEAST_CONNECTIONS");
 * lb.close();
 * // an invalid config is refused at once
 * assert.throws(() => createLoadBalancer({ config: { backend_servers: ["nope"] } }), /invalid load balancer config/);
 * ```
 */
export interface LoadBalancerOptions {
  /** Group name (used in metrics and errors). Default `default`. */
  readonly group?: string;
  /** The group's config blob, as in a config file or ZooKeeper. */
  readonly config: unknown;
  /** Run active health checks (default true). */
  readonly healthChecks?: boolean;
  /** Remove this prefix from the path before forwarding (e.g. `/api`). */
  readonly stripPrefix?: string;
  /**
   * How attempts reach the backends. `socket` (default): our HTTP/1.1 client
   * on node:net connection pools, health probes over TCP (Deno, Bun, Node).
   * `fetch`: the global `fetch` and fetch health probes, for runtimes without
   * raw TCP sockets (Deno Deploy, Cloudflare Workers); same balancing,
   * health, outlier detection, retry budget and metrics, with the limits
   * fetch sets (README, "Edge runtimes": only idempotent requests without a
   * body are retried, no Upgrade, no trailers, fetch's own Host and framing).
   */
  readonly transport?: "socket" | "fetch";
  readonly log?: Logger;
}

/**
 * A mounted load balancer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLoadBalancer } from "./embed.ts";
 *
 * const lb = createLoadBalancer({
 *   config: { backend_servers: ["127.0.0.1:9001"] },
 *   healthChecks: false,
 * });
 * // a bad config is rejected, and the current one kept
 * assert.equal(lb.update({ backend_servers: ["nope"] }).ok, false);
 * assert.equal(lb.state.snapshot?.backends[0]?.address, "127.0.0.1:9001");
 * assert.deepEqual(lb.update({ backend_servers: ["127.0.0.1:9002"] }), { ok: true });
 * assert.equal(lb.state.snapshot?.backends[0]?.address, "127.0.0.1:9002");
 * assert.match(lb.metrics.registry.render(), /switchyard_/);
 * lb.close();
 * ```
 */
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
  /**
   * A Hono middleware: `app.use(lb.middleware())` forwards the requests whose
   * path is under `stripPrefix` (all of them without one) and passes the
   * others on with `next()`, to the app's own routes.
   */
  middleware(): MiddlewareHandler;
  /** Forwards a web Request directly (for non-Hono servers). */
  fetch(request: Request, clientIp?: string): Promise<Response>;
  /** Applies a new config blob; an invalid one is rejected and the current one kept. */
  update(config: unknown): { ok: true } | { ok: false; reason: string };
  /** Stops health checks and the group's timers and closes idle connections. */
  close(): void;
}

function plain(status: number, body: string, extra?: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/**
 * The path to forward once `prefix` is removed, or null when `path` is not
 * under `prefix` (a whole segment: `/api` covers `/api` and `/api/x`, not
 * `/apiary`). No prefix: every path, unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripPathPrefix } from "./embed.ts";
 * assert.equal(stripPathPrefix("/api/items", "/api"), "/items");
 * assert.equal(stripPathPrefix("/api", "/api"), "/");
 * assert.equal(stripPathPrefix("/apiary", "/api"), null);
 * assert.equal(stripPathPrefix("/x", undefined), "/x");
 * ```
 */
export function stripPathPrefix(path: string, prefix: string | undefined): string | null {
  if (!prefix || prefix === "/") return path;
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (!path.startsWith(p)) return null;
  if (path.length === p.length) return "/";
  return path.charCodeAt(p.length) === 47 /* / */ ? path.slice(p.length) : null;
}

/**
 * Whether `request` came with a body: a body stream, or a head that declares
 * one (a runtime may hand a GET's body to no one: its `body` is null then,
 * while the client did send it). Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaresBody } from "./embed.ts";
 * assert.equal(declaresBody(new Request("http://a/")), false);
 * assert.equal(declaresBody(new Request("http://a/", { headers: { "content-length": "4" } })), true);
 * assert.equal(declaresBody(new Request("http://a/", { method: "PUT", body: "x" })), true);
 * ```
 */
export function declaresBody(request: Request): boolean {
  if (request.body !== null) return true;
  const h = request.headers;
  const length = h.get("content-length");
  return h.has("transfer-encoding") || (length !== null && length !== "0");
}

/**
 * Creates a load balancer to mount in a Hono app. It runs on the same group
 * runtime as the proxy role: slow start and ejections follow the clock
 * without traffic, idle upstream connections are closed after their idle
 * timeout, every attempt's outcome feeds outlier detection, a backend counts
 * a request in flight until its response body has ended, and failed attempts
 * are retried by the proxy's rules (within the retry budget).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { createLoadBalancer } from "./embed.ts";
 *
 * // a local backend that echoes the path it was asked for
 * const backend = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(`hello from ${new URL(req.url).pathname}`),
 * );
 * const lb = createLoadBalancer({
 *   group: "api",
 *   config: { backend_servers: [`127.0.0.1:${backend.addr.port}`], algorithm: "ROUND_ROBIN" },
 *   stripPrefix: "/api",
 *   healthChecks: false,
 * });
 * const app = new Hono();
 * app.all("/api/*", lb.handler);
 * try {
 *   const res = await app.request("/api/hello");
 *   assert.equal(res.status, 200);
 *   assert.equal(await res.text(), "hello from /hello");
 * } finally {
 *   lb.close();
 *   await backend.shutdown();
 * }
 * ```
 *
 * @example Without raw TCP sockets (Deno Deploy, Cloudflare Workers)
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLoadBalancer } from "./embed.ts";
 *
 * const backend = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(req.headers.get("x-forwarded-for")),
 * );
 * const lb = createLoadBalancer({
 *   config: { backend_servers: [`127.0.0.1:${backend.addr.port}`] },
 *   transport: "fetch", // each attempt is a fetch(); health probes too
 *   healthChecks: false,
 * });
 * try {
 *   const res = await lb.fetch(new Request("http://shop.example/x"), "192.0.2.7");
 *   assert.equal(await res.text(), "192.0.2.7");
 * } finally {
 *   lb.close();
 *   await backend.shutdown();
 * }
 * ```
 */
export function createLoadBalancer(options: LoadBalancerOptions): LoadBalancer {
  const log = options.log ?? silentLogger;
  let metrics: ProxyMetrics | null = null;
  const viaFetch = options.transport === "fetch";
  if (!viaFetch && options.transport !== undefined && options.transport !== "socket") {
    throw new Error(`unknown transport ${JSON.stringify(options.transport)}: socket or fetch`);
  }
  // the socket transport's module, once loaded (never with the fetch transport)
  let socket: SocketModule | null = null;
  let transport: Transport | null = viaFetch ? new FetchTransport() : null;
  const runtime = new GroupRuntimeCore({
    group: options.group ?? "default",
    log,
    onSwap: (next) => metrics?.pruneBackends(new Set(next.backends.map((b) => b.address))),
    probe: viaFetch ? fetchProbe : (t) => socketProbe(t),
    newPool: viaFetch ? undefined : (o) => socket!.newUpstreamPool(o),
  });
  const socketLoaded: Promise<void> | null = viaFetch
    ? null
    : import("./proxy/socket_transport.ts").then(
      (m) => {
        socket = m;
        transport = m.socketTransport(runtime);
      },
      (e) => log.error("cannot load the socket transport", { error: String(e) }),
    );
  const socketProbe = async (t: ProbeTarget): Promise<ProbeResult> => {
    await socketLoaded;
    return socket ? socket.probe(t) : { ok: false, error: "no socket transport", status: null };
  };
  const state = runtime.state;
  metrics = new ProxyMetrics(state);
  const first = state.applyConfig("1", options.config);
  if (!first.ok) {
    runtime.close();
    throw new Error(`invalid load balancer config\n${first.rejected.reason}`);
  }
  if (options.healthChecks !== false) runtime.setProbing(true);
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
  const m = metrics;

  /**
   * Whether an answer with `status` (a 5xx, `retry.on_status` not empty) is
   * discarded and `request` sent to another backend: `statusRetryDecision()`,
   * then the retry budget. Both transports drop a GET's or HEAD's body, but
   * a request that came with one is still not retried (as by the proxy role).
   */
  const retriesAnswer = (
    request: Request,
    status: number,
    attempts: number,
    snap: GroupSnapshot,
  ): boolean =>
    statusRetryDecision({
        method: request.method,
        upgrade: false,
        hasBody: declaresBody(request),
        status,
        onStatus: snap.config.retry.on_status,
        attempts,
        maxRetries: snap.config.retry.max_retries,
        backends: snap.backends.length,
      }) === "next_backend" && runtime.budget().tryRetry(runtime.wallNow());

  /** Forwards `request` to `path` (the prefix already stripped) plus the URL's query. */
  const forward = async (
    request: Request,
    clientIp: string,
    url: URL,
    path: string,
  ): Promise<Response> => {
    if (transport === null) {
      await socketLoaded;
      if (transport === null) return plain(502, "bad gateway\n");
    }
    const via: Transport = transport;
    const snap = state.snapshot!;
    const cfg = snap.config;
    if (!path.startsWith("/")) path = `/${path}`;
    const target = path + url.search;
    const method = request.method;
    runtime.budget().recordRequest(runtime.wallNow());
    const tried: number[] = [];
    const accept = (i: number) => !tried.includes(i);
    const started = performance.now();
    let lease: BackendLease | null = null;
    let fresh = false;
    for (;;) {
      if (lease === null) {
        const key = usesKey(cfg.algorithm)
          ? requestHashKey(
            cfg.algorithm,
            cfg.hash_key,
            clientIp,
            (n) => request.headers.get(n),
            target,
          )
          : undefined;
        const index = snap.selector.pick(key === undefined ? { accept } : { key, accept });
        if (index < 0) {
          const none = tried.length === 0;
          m.countError(none ? "no_backend" : "connect_failed", none ? 503 : 502, method);
          return none
            ? plain(503, "no healthy backend\n", { "retry-after": "1" })
            : plain(502, "bad gateway\n");
        }
        tried.push(index);
        lease = new BackendLease(snap.backends[index]!, runtime);
      }
      const held: BackendLease = lease;
      const bm = m.forBackend(held.address);
      // an answer discarded for another attempt (retry.on_status) is not a response to count
      let discarded = false;
      let res: Response;
      try {
        res = await via.forward(request, {
          backend: held.backend,
          fresh,
          connectTimeoutMs: cfg.connect_timeout_seconds * 1000,
          responseTimeoutMs: cfg.response_timeout_seconds * 1000,
          clientIp,
          target,
          observer: {
            head: (status) => {
              held.report(status >= 500 && snap.outlierSettings.count5xx);
              // decided at the head, before a bodiless answer's end is counted
              if (status >= 500 && cfg.retry.on_status.length > 0) {
                discarded = retriesAnswer(request, status, tried.length, snap);
              }
            },
            // the one place a started response leaves the backend's in-flight count
            end: (status) => {
              held.release();
              if (discarded) return;
              m.countResponse(
                bm,
                held.address,
                method,
                status,
                (performance.now() - started) / 1000,
              );
            },
          },
        });
      } catch (e) {
        if (!(e instanceof UpstreamError)) {
          held.release();
          throw e;
        }
        const cause = e.cause502;
        const decision = cause === "timeout" || cause === "bad_response" ? "fail" : retryDecision({
          method,
          upgrade: false,
          ...e.progress,
          connectionLost: cause === "upstream_reset",
          attempts: tried.length,
          maxRetries: cfg.retry.max_retries,
          backends: snap.backends.length,
        });
        if (decision === "fresh_connection") {
          // a pooled connection died under the request: not the backend's fault
          // (no outcome, no budget); same backend and lease, on a new connection
          fresh = true;
          continue;
        }
        if (request.signal.aborted) {
          // the client left mid-attempt: not the backend's fault, and nobody to answer or retry for
          held.release();
          m.countResponse(bm, held.address, method, 499, (performance.now() - started) / 1000);
          return plain(499, "client closed the request\n");
        }
        held.report(true);
        held.release();
        lease = null;
        fresh = false;
        if (decision !== "fail" && runtime.budget().tryRetry(runtime.wallNow())) {
          m.retries.inc();
          continue;
        }
        log.warn("upstream attempt failed", { backend: held.address, error: e.message });
        const status = cause === "timeout" ? 504 : 502;
        m.countError(cause, status, method);
        return plain(status, status === 504 ? "gateway timeout\n" : "bad gateway\n");
      }
      if (discarded) {
        // the answer goes unread: cancelling its body ends the attempt (the lease's release;
        // the transport closes the connection), and the 5xx was reported at its head
        await res.body?.cancel().catch(() => {});
        lease = null;
        fresh = false;
        m.countStatusRetry(res.status);
        continue;
      }
      return res;
    }
  };

  const prefix = options.stripPrefix;
  /** Forwards with the client's address from Hono's conninfo adapter (loaded once). */
  const viaHono = (c: Context, url: URL, path: string): Promise<Response> =>
    getConnInfo !== undefined
      ? forward(c.req.raw, clientAddress(getConnInfo, c), url, path)
      : connInfoLoaded.then(() =>
        forward(c.req.raw, clientAddress(getConnInfo ?? null, c), url, path)
      );
  return {
    state,
    metrics,
    handler: (c) => {
      const url = new URL(c.req.url);
      return viaHono(c, url, stripPathPrefix(url.pathname, prefix) ?? url.pathname);
    },
    middleware: () => async (c, next) => {
      const url = new URL(c.req.url);
      const path = stripPathPrefix(url.pathname, prefix);
      if (path === null) return await next();
      return await viaHono(c, url, path);
    },
    fetch: (request, clientIp = UNKNOWN_CLIENT) => {
      const url = new URL(request.url);
      return forward(request, clientIp, url, stripPathPrefix(url.pathname, prefix) ?? url.pathname);
    },
    update(config) {
      const r = state.applyConfig(String(++version), config);
      return r.ok ? { ok: true } : { ok: false, reason: r.rejected.reason };
    },
    close() {
      runtime.close();
    },
  };
}
