/**
 * The proxy's listener: accepts client connections, runs the client-side
 * timeout sweeper, and shuts down gracefully (stop accepting, let in-flight
 * responses finish with `Connection: close`, then exit by a deadline). The
 * group's state, upstream pools, retry budget and the group's own clock
 * (slow-start steps, ejection ends, idle upstream reaping) live in its
 * {@link GroupRuntime}, which outlives no listener and needs none.
 *
 * Cleartext sockets are Bun's native ones under Bun (`Bun.listen`, see
 * lib/runtime/bun_sockets.ts) and `node:net`'s elsewhere, TLS ones
 * `node:tls`'s; the connections see one {@link ProxySocket} either way, so
 * one engine serves both runtimes.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import type { GroupSnapshot } from "../group/snapshot.ts";
import type { RequestHead } from "../http1/head.ts";
import type { GroupRuntime } from "./group_runtime.ts";
import type { Logger } from "../log.ts";
import { ClientConnection } from "./client_connection.ts";
import { simpleResponse } from "../http1/forward.ts";
import { normalizeIp } from "./client_connection.ts";
import {
  DEFAULT_LIMITS,
  type Dispatch,
  type ListenerContext,
  type ListenerFacts,
  type ProxyLimits,
  textAnswer,
} from "./context.ts";
import { GroupLane } from "./group_lane.ts";
import { clientRequestId, RequestIdGenerator } from "../routing/request_id.ts";
import type { AccessLog } from "./access_log.ts";
import { ProxyMetrics } from "./metrics.ts";
import { inWorkerProcess } from "./workers.ts";
import { GcNudge } from "./gc_nudge.ts";
import { listenNet } from "../runtime/listen.ts";
import { bunListen, socketsInUse } from "../runtime/bun_sockets.ts";
import type { ProxySocket } from "./proxy_socket.ts";
import type { TlsTermination } from "./tls_termination.ts";
import type { ClientTls } from "./client_side.ts";

/**
 * On shutdown, an idle keep-alive connection stays open this long (capped by
 * the drain time) so that a request already sent on it is answered, with
 * `Connection: close`, instead of meeting a closed connection.
 */
export const DRAIN_IDLE_GRACE_MS = 1_000;

/** The answer while no config has been loaded yet. */
const NO_CONFIG: Dispatch = textAnswer(
  503,
  "no config loaded\n",
  { "retry-after": "1" },
  "no_backend",
  null,
  true,
);

/** How often off-heap memory is checked (a few microseconds each time). */
const GC_CHECK_INTERVAL_MS = 25;

/**
 * Where a listener's requests go when it serves routes (`--listener`): the
 * compiled route table over its groups (see listener_runtime.ts).
 */
export interface RequestRouter {
  /** Called once by the server, before any request: the facts every group shares. */
  bind(listener: ListenerFacts): void;
  /** Where `head` goes; `secure`: it came over TLS (a route may match on the scheme). */
  dispatch(head: RequestHead, clientIp: string, secure: boolean): Dispatch;
}

/** Options of a {@link ProxyServer}: either one group (`runtime`) or a `router`. */
export interface ProxyServerOptions {
  /** The one group served (`--group`): its state, pools and retry budget. */
  readonly runtime?: GroupRuntime;
  /** The routes served (`--listener`). */
  readonly router?: RequestRouter;
  readonly log: Logger;
  /** Overrides of the config's limits (tests). */
  readonly limits?: Partial<ProxyLimits>;
  /**
   * Metrics to update; one is created when omitted. With a `router`, the
   * listener's own series (connections, refusals before routing).
   */
  readonly metrics?: ProxyMetrics;
  /** Monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number;
  /** Wall clock in ms (default `Date.now`). */
  readonly wallNow?: () => number;
  /** How often timeouts are checked (ms). */
  readonly sweepIntervalMs?: number;
  /**
   * Listen with `SO_REUSEPORT` so several processes share the port (default:
   * true in a `--workers` worker process, see `workers.ts`).
   */
  readonly reusePort?: boolean;
  /** Off-heap memory guard checked by the sweeper (default: the runtime's, see `gc_nudge.ts`). */
  readonly gcNudge?: GcNudge | null;
  /** Where sampled requests are logged (`--access-log`); none by default. */
  readonly accessLog?: AccessLog | null;
  /** Certificates and TLS settings for {@link ProxyServer.listenTls} (`--tls-listen`). */
  readonly tls?: TlsTermination | null;
}

/**
 * Serves one group, or a router's routes, on one listening socket.
 *
 * @example
 * ```ts ignore
 * const runtime = new GroupRuntime({ group: "g", log });
 * const server = new ProxyServer({ runtime, log });
 * const { port } = await server.listen("127.0.0.1", 8080);
 * // ...
 * await server.shutdown(10_000);
 * ```
 */
export class ProxyServer implements ListenerContext {
  readonly log: Logger;
  limits: ProxyLimits;
  readonly #limitOverrides: Partial<ProxyLimits>;
  readonly metrics: ProxyMetrics;
  readonly now: () => number;
  readonly wallNow: () => number;
  draining = false;
  readonly accessLog: AccessLog | null;
  readonly #connections = new Set<ClientConnection>();
  readonly #perIp = new Map<string, number>();
  /** now() / wallNow() as of the last sweep (deadlines need no more precision). */
  coarseNow: number = performance.now();
  coarseWall: number = Date.now();
  /** Stop the listening sockets (`--listen`, and `--tls-listen` when given); each resolves once closed. */
  readonly #servers: (() => Promise<void>)[] = [];
  readonly #tls: TlsTermination | null;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  #gcTimer: ReturnType<typeof setInterval> | null = null;
  readonly #sweepIntervalMs: number;
  readonly #reusePort: boolean;
  readonly #gcNudge: GcNudge | null;

  /** The one group's lane (`--group`), else null. */
  readonly #lane: GroupLane | null;
  readonly #router: RequestRouter | null;
  /** Request ids of a `--group` proxy (a router has its own). */
  readonly #ids = new RequestIdGenerator(Math.random);

  constructor(options: ProxyServerOptions) {
    this.log = options.log;
    this.#limitOverrides = options.limits ?? {};
    const runtime = options.runtime;
    if (runtime) {
      this.metrics = options.metrics ?? new ProxyMetrics(runtime.state);
      this.#lane = new GroupLane(runtime, this, this.metrics, this.#limitOverrides);
      this.limits = this.#lane.limits;
      this.#router = null;
    } else if (options.router) {
      this.metrics = options.metrics ?? new ProxyMetrics(null);
      this.#lane = null;
      this.limits = { ...DEFAULT_LIMITS, ...this.#limitOverrides };
      this.#router = options.router;
    } else throw new Error("ProxyServer needs a runtime or a router");
    this.now = options.now ?? (() => performance.now());
    this.wallNow = options.wallNow ?? Date.now;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 100;
    this.#reusePort = options.reusePort ?? inWorkerProcess();
    this.#gcNudge = options.gcNudge === undefined ? GcNudge.forRuntime() : options.gcNudge;
    this.accessLog = options.accessLog ?? null;
    this.#tls = options.tls ?? null;
    this.#router?.bind(this);
  }

  /**
   * With one group: call after every snapshot swap (the runtime has already
   * updated its pools): follows the config's limits and forgets removed
   * backends' metrics.
   */
  onSnapshot(next: GroupSnapshot): void {
    const lane = this.#lane;
    if (lane === null) return;
    lane.onSnapshot(next);
    this.limits = lane.limits;
  }

  dispatch(head: RequestHead, clientIp: string, secure: boolean): Dispatch {
    const lane = this.#lane;
    if (lane === null) return this.#router!.dispatch(head, clientIp, secure);
    const snap = lane.state.snapshot;
    if (snap === null) return NO_CONFIG;
    return {
      ctx: lane,
      snap,
      head,
      route: null,
      requestId: clientRequestId(head) ?? this.#ids.next(),
    };
  }

  /**
   * Starts listening; resolves with the bound port (useful with port 0).
   * Rejects with a `ListenError` (`listen 127.0.0.1:8080: address already in
   * use`) when the port cannot be opened; the sweeper and the memory check
   * start only once listening, so a failed listen leaves nothing running.
   */
  async listen(host: string, port: number): Promise<{ port: number }> {
    if (socketsInUse === "bun") {
      const listener = bunListen(host, port, this.#reusePort, (s) => this.#accept(s, null));
      this.#servers.push(() => Promise.resolve(listener.close()));
      this.#started();
      return { port: listener.port };
    }
    const server = net.createServer(
      // allowHalfOpen: a client may send its request and shut down its sending side
      { noDelay: true, allowHalfOpen: true },
      (socket) => this.#accept(socket, null),
    );
    return await this.#listenOn(server, host, port);
  }

  /**
   * Starts listening for TLS connections (`--tls-listen`), with the
   * certificates and settings of the `tls` option: the same dispatch, limits
   * and metrics as {@link listen}; each connection carries its
   * {@link ClientTls}. Resolves with the bound port.
   */
  async listenTls(host: string, port: number): Promise<{ port: number }> {
    const termination = this.#tls;
    if (termination === null) throw new Error("listenTls needs the tls option");
    const server = tls.createServer(
      { ...termination.serverOptions(), allowHalfOpen: true },
      (socket) => {
        const clientTls = termination.connectionTls(socket);
        if (clientTls !== null) this.#accept(socket, clientTls);
      },
    );
    termination.attach(server);
    return await this.#listenOn(server, host, port);
  }

  async #listenOn(server: net.Server, host: string, port: number): Promise<{ port: number }> {
    // reusePort is in node:net (Node 22.12+, Deno, Bun) but not in these type definitions
    const options = {
      host,
      port,
      backlog: 1024,
      reusePort: this.#reusePort,
    } as net.ListenOptions & { host: string; port: number };
    const bound = await listenNet(server, options);
    this.#servers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on("error", (e) => this.log.error("listener error", { error: String(e) }));
    this.#started();
    return { port: bound };
  }

  /** Once listening: the sweeper and the memory check (a failed listen starts neither). */
  #started(): void {
    if (this.#sweeper === null) {
      this.#sweeper = setInterval(() => this.#sweep(), this.#sweepIntervalMs);
      const nudge = this.#gcNudge;
      if (nudge) this.#gcTimer = setInterval(() => nudge.check(), GC_CHECK_INTERVAL_MS);
    }
  }

  #accept(socket: ProxySocket, clientTls: ClientTls | null): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    const limits = this.limits;
    if (this.#connections.size >= limits.maxConnections) {
      this.#refuse(socket, 503, "too many connections\n");
      return;
    }
    const ip = normalizeIp(socket.remoteAddress);
    const perIp = limits.maxConnectionsPerIp;
    if (perIp > 0) {
      const n = this.#perIp.get(ip) ?? 0;
      if (n >= perIp) {
        this.#refuse(socket, 429, "too many connections from your address\n");
        return;
      }
      this.#perIp.set(ip, n + 1);
    }
    this.metrics.connectionsTotal.inc();
    this.metrics.activeConnections.value++;
    const conn = new ClientConnection(socket, this, (c) => {
      this.#connections.delete(c);
      this.metrics.activeConnections.value--;
      if (perIp > 0) {
        const left = (this.#perIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.#perIp.delete(ip);
        else this.#perIp.set(ip, left);
      }
    }, clientTls);
    this.#connections.add(conn);
  }

  /** Answers a connection over a cap and closes it (the request is not read). */
  #refuse(socket: ProxySocket, status: number, body: string): void {
    this.metrics.countError("limit", status);
    socket.on("error", () => {});
    socket.write(simpleResponse(status, body, false, { "retry-after": "1" }), "latin1");
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref?.();
  }

  /** Client-side timeouts and the coarse clock (the group's own clock is the runtime's). */
  #sweep(): void {
    const now = this.now();
    this.coarseNow = now;
    this.coarseWall = this.wallNow();
    for (const c of this.#connections) c.checkTimeouts(now);
  }

  /** Client connections currently open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Graceful shutdown: stop accepting, end idle connections, let busy ones
   * finish (their responses carry `Connection: close`), and after `drainMs`
   * close whatever is left. Resolves when every connection is gone.
   */
  async shutdown(drainMs: number): Promise<void> {
    this.draining = true;
    const servers = this.#servers.splice(0);
    const closed = Promise.all(servers.map((close) => close()));
    const now = this.now();
    const grace = Math.min(DRAIN_IDLE_GRACE_MS, drainMs);
    for (const c of this.#connections) c.drain(now, grace);
    const deadline = now + drainMs;
    while (this.#connections.size > 0 && this.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const c of this.#connections) c.destroy();
    this.accessLog?.close();
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    if (this.#gcTimer !== null) clearInterval(this.#gcTimer);
    this.#gcTimer = null;
    await closed;
  }
}
