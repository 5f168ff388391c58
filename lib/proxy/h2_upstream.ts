/**
 * HTTP/2 towards a group's backends (`protocol: "h2"`, for gRPC): a pool
 * whose "connections" are HTTP/2 streams multiplexed over a few sockets.
 *
 * Design: the exchange, its request body pump and its response relay stay
 * exactly as they are for HTTP/1.1 (so an http/1.1 group pays nothing). Each
 * attempt gets an {@link UpstreamConnection} whose socket is an
 * {@link H2StreamSocket}: the HTTP/1.1 request the exchange writes (with the
 * proxy's usual header handling already applied) becomes one stream's HEADERS
 * and DATA, and the stream's response comes back rendered as HTTP/1.1, its
 * body chunked and its trailers as chunked trailers. The relay then passes
 * trailers on as it does for any backend: as chunked trailers to HTTP/1.1
 * clients that sent `TE: trailers`, as a trailing HEADERS frame to HTTP/2
 * clients (lib/http2/response_translator.ts). The protocol itself is the
 * pure state machine lib/http2/client_session.ts.
 *
 * Connections: as many streams per socket as the backend's
 * SETTINGS_MAX_CONCURRENT_STREAMS allows, then another socket; a socket that
 * goes away (GOAWAY, close) takes no new streams and is replaced by the next
 * connect. Over TLS the backend must select `h2` by ALPN, else the connect
 * fails with that reason (never a fallback to HTTP/1.1).
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { type ClientSessionSink, H2ClientSession } from "../http2/client_session.ts";
import { tlsFailure } from "../tls/upstream_tls.ts";
import {
  ConnectError,
  type PoolOptions,
  UpstreamConnection,
  UpstreamPool,
} from "./upstream_pool.ts";
import type { GrpcStatusSink } from "./grpc_status.ts";
import { H2StreamSocket } from "./h2_stream_socket.ts";

/** ALPN offered to an h2 backend over TLS. */
const ALPN_H2: string[] = ["h2"];

/** Settings of an h2 pool: a pool's, plus where gRPC statuses are counted. */
export interface H2PoolOptions extends PoolOptions {
  readonly onGrpcStatus?: GrpcStatusSink | null;
}

/** One socket to a backend and its HTTP/2 session. */
export class H2Link implements ClientSessionSink {
  readonly session: H2ClientSession;
  readonly #streams = new Map<number, H2StreamSocket>();
  /** Stream connections handed out whose request head has not gone yet. */
  reserved = 0;
  /** Streams ever opened (a link that served one counts as reused). */
  opened = 0;
  /** When its last stream was released (monotonic ms; 0: busy or not seen idle yet), for reap. */
  idleSince = 0;

  constructor(readonly socket: net.Socket, readonly pool: H2UpstreamPool) {
    this.session = new H2ClientSession(this);
    socket.on("data", (chunk: Uint8Array) => this.session.receive(chunk));
    socket.on("error", () => {}); // "close" follows
    socket.on("close", () => {
      this.session.lost("socket closed");
      pool.dropLink(this);
    });
    this.session.start();
  }

  /** Another stream fits (streams handed out but not yet opened count). */
  get hasRoom(): boolean {
    return this.session.room > this.reserved;
  }

  /** Opens the stream of `s` (its request head has arrived). */
  open(s: H2StreamSocket, names: string[], values: string[], endStream: boolean): number | null {
    this.reserved--;
    if (!this.session.canOpen) return null;
    const id = this.session.open(names, values, endStream);
    this.opened++;
    this.#streams.set(id, s);
    return id;
  }

  /** A reservation given up before its stream opened. */
  unreserve(): void {
    this.reserved--;
    this.#idleCheck();
  }

  forget(id: number): void {
    this.#streams.delete(id);
    this.#idleCheck();
  }

  #idleCheck(): void {
    if (this.session.closed && !this.socket.destroyed) this.socket.end();
  }

  // ClientSessionSink
  send(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }
  response(id: number, status: number, names: string[], values: string[], end: boolean): void {
    this.#streams.get(id)?.onResponse(status, names, values, end);
    if (end) this.#streams.delete(id);
  }
  data(id: number, chunk: Uint8Array, end: boolean): void {
    this.#streams.get(id)?.onData(chunk, end);
    if (end) this.#streams.delete(id);
  }
  trailers(id: number, names: string[], values: string[]): void {
    this.#streams.get(id)?.onTrailers(names, values);
    this.#streams.delete(id);
  }
  reset(id: number, _code: number, reason: string, retrySafe: boolean): void {
    const s = this.#streams.get(id);
    this.#streams.delete(id);
    s?.onReset(reason, retrySafe);
  }
  writable(id: number): void {
    this.#streams.get(id)?.onWritable();
  }
  closed(_error: { readonly code: number; readonly reason: string } | null): void {
    this.pool.dropLink(this);
    this.socket.end(); // after the GOAWAY already written
  }
}

/**
 * The pool of one h2 backend: its links (sockets with an HTTP/2 session) and
 * the stream connections handed out over them.
 */
export class H2UpstreamPool extends UpstreamPool {
  readonly #links: H2Link[] = [];
  /** The connection being made, if any (see {@link connect}). */
  #connecting: Promise<H2Link> | null = null;
  #retiredH2 = false;
  /** `:scheme` of the requests: https over TLS. */
  readonly scheme: string;
  /** `:authority` of a request that came without Host: the backend's address. */
  readonly authority: string;
  readonly onGrpcStatus: GrpcStatusSink | null;

  constructor(options: H2PoolOptions) {
    super(options);
    this.scheme = options.tls ? "https" : "http";
    this.authority = `${
      options.host.includes(":") ? `[${options.host}]` : options.host
    }:${options.port}`;
    this.onGrpcStatus = options.onGrpcStatus ?? null;
  }

  /** A stream on a connection with room, or null (then {@link connect}). */
  override acquire(): UpstreamConnection | null {
    const link = this.linkWithRoom();
    return link === null ? null : this.#stream(link);
  }

  /** A connection that takes another stream, or null. */
  linkWithRoom(): H2Link | null {
    if (this.#retiredH2) return null;
    for (const link of this.#links) {
      if (link.hasRoom) return link;
    }
    return null;
  }

  /**
   * A stream on a new connection (a TLS backend must select `h2` by ALPN).
   * Rejects with {@link ConnectError} as the HTTP/1.1 pool does.
   */
  override connect(timeoutMs: number): Promise<UpstreamConnection> {
    // requests arriving while a connection is being made wait for it rather than each
    // opening their own (a cold pool under 50 concurrent calls makes one connection)
    const pending = this.#connecting;
    if (pending !== null) {
      return pending.then((link) =>
        link.hasRoom ? this.#stream(link) : this.newLink(timeoutMs).then((l) => this.#stream(l))
      );
    }
    const made = this.newLink(timeoutMs);
    this.#connecting = made;
    const done = () => {
      if (this.#connecting === made) this.#connecting = null;
    };
    made.then(done, done);
    return made.then((link) => this.#stream(link));
  }

  /** Opens a new connection (socket, TLS with ALPN h2, HTTP/2 preface). */
  newLink(timeoutMs: number): Promise<H2Link> {
    return new Promise((resolve, reject) => {
      const { host, port } = this.options;
      const secure = this.options.tls ?? null;
      const socket = secure === null
        ? net.connect({ host, port })
        : tls.connect({ host, port, ...secure, ALPNProtocols: ALPN_H2 });
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new ConnectError("ETIMEDOUT", `connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once(secure === null ? "connect" : "secureConnect", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (secure !== null) {
          const alpn = (socket as tls.TLSSocket).alpnProtocol;
          if (alpn !== "h2") {
            socket.destroy();
            reject(
              new ConnectError(
                "EPROTO",
                `connect to ${host}:${port}: the backend did not select h2 by ALPN (got ${
                  alpn || "none"
                })`,
              ),
            );
            return;
          }
        }
        socket.setNoDelay(true);
        const link = new H2Link(socket, this);
        this.#links.push(link);
        resolve(link);
      });
      socket.once("error", (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        const why = secure === null ? e.message : tlsFailure(e);
        reject(new ConnectError(e.code ?? "ECONNREFUSED", `connect to ${host}:${port}: ${why}`));
      });
    });
  }

  #stream(link: H2Link): UpstreamConnection {
    link.reserved++;
    this.open++;
    const conn = new UpstreamConnection(new H2StreamSocket(link) as unknown as net.Socket, this);
    conn.uses = link.opened > 0 ? 1 : 0;
    return conn;
  }

  /** A stream's exchange is over: the stream is done (its socket stays for others). */
  override release(conn: UpstreamConnection, now: number): void {
    conn.owner = null;
    conn.uses++;
    (conn.socket as unknown as H2StreamSocket).link.idleSince = now;
    conn.destroy();
    if (this.#retiredH2) this.closeIdle();
  }

  /** A link that went away takes no new streams. */
  dropLink(link: H2Link): void {
    const i = this.#links.indexOf(link);
    if (i >= 0) this.#links.splice(i, 1);
  }

  /** Closes (GOAWAY) the connections without a stream open or handed out. */
  override closeIdle(): void {
    for (const link of [...this.#links]) {
      if (link.session.active === 0 && link.reserved === 0) {
        this.dropLink(link);
        link.session.shutdown();
      }
    }
  }

  /**
   * Closes (GOAWAY) connections without streams for longer than the
   * keep-alive idle timeout; `now` is the runtime's monotonic clock.
   */
  override reap(now: number): void {
    const cutoff = now - this.options.idleTimeoutMs;
    for (const link of [...this.#links]) {
      if (link.session.active > 0 || link.reserved > 0) link.idleSince = 0;
      else if (link.idleSince === 0) link.idleSince = now;
      else if (link.idleSince < cutoff) {
        this.dropLink(link);
        link.session.shutdown();
      }
    }
  }

  /**
   * Stops new streams: idle connections close now (GOAWAY), busy ones once
   * their last stream is released.
   */
  override retire(): void {
    this.#retiredH2 = true;
    this.closeIdle();
  }

  override get idleCount(): number {
    return 0;
  }
}
