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
import { Buffer } from "node:buffer";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { findHeadEnd } from "../http1/bytes.ts";
import { ChunkedDecoder } from "../http1/chunked.ts";
import { REASONS } from "../http1/syntax.ts";
import { type ClientSessionSink, H2ClientSession } from "../http2/client_session.ts";
import { tlsFailure } from "../tls/upstream_tls.ts";
import {
  ConnectError,
  type PoolOptions,
  UpstreamConnection,
  UpstreamPool,
} from "./upstream_pool.ts";

/** ALPN offered to an h2 backend over TLS. */
const ALPN_H2: string[] = ["h2"];

/** Request fields HTTP/2 forbids (connection-specific), and Host (it becomes `:authority`). */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** Response fields not rendered into the HTTP/1.1 head (the framing is declared afresh). */
const NOT_RENDERED: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
]);

/** Called with each gRPC response's `grpc-status` (see {@link grpcStatusOf}). */
export type GrpcStatusSink = (code: string) => void;

/** Settings of an h2 pool: a pool's, plus where gRPC statuses are counted. */
export interface H2PoolOptions extends PoolOptions {
  readonly onGrpcStatus?: GrpcStatusSink | null;
}

/**
 * The `grpc-status` of a gRPC response, or null when it is not one:
 * `content-type` must be `application/grpc` or `application/grpc+...`
 * (`;...` parameters allowed); the status comes from the trailers, or for a
 * trailers-only response from its head (pass the head as `trailers`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grpcStatusOf } from "./h2_upstream.ts";
 * assert.equal(grpcStatusOf("application/grpc", ["grpc-status", "grpc-message"], ["5", "no"]), "5");
 * assert.equal(grpcStatusOf("application/grpc+proto", ["grpc-status"], ["0"]), "0");
 * assert.equal(grpcStatusOf("application/json", ["grpc-status"], ["0"]), null);
 * assert.equal(grpcStatusOf("application/grpc", [], []), null);
 * ```
 */
export function grpcStatusOf(
  contentType: string | null,
  names: readonly string[],
  values: readonly string[],
): string | null {
  if (contentType === null || !isGrpcType(contentType)) return null;
  const i = names.indexOf("grpc-status");
  return i < 0 ? null : values[i]!;
}

function isGrpcType(contentType: string): boolean {
  const t = contentType.toLowerCase();
  if (!t.startsWith("application/grpc")) return false;
  const c = t.charCodeAt(16);
  return Number.isNaN(c) || c === 0x2b /* + */ || c === 0x3b /* ; */;
}

/** One socket to a backend and its HTTP/2 session. */
class H2Link implements ClientSessionSink {
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

/** Parse state of the request the exchange writes. */
enum Req {
  Head,
  Length,
  Chunked,
  Done,
}

/**
 * One HTTP/2 stream seen as an HTTP/1.1 connection's socket: the exchange
 * writes an HTTP/1.1 request into it and reads an HTTP/1.1 response from it.
 */
export class H2StreamSocket extends Duplex {
  #link: H2Link;
  #id = 0;
  #req = Req.Head;
  #head: Uint8Array | null = null;
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #headRequest = false;
  /** A write waiting for window (its callback runs on writable). */
  #pendingCb: ((e?: Error | null) => void) | null = null;
  /** Response bytes pushed while the reader was full: credited to the window on read. */
  #debt = 0;
  /** How the response body is rendered: chunked (trailers possible) or as is. */
  #chunkedOut = false;
  #grpc: string | null = null;
  #ended = false;
  #closeEmitted = false;
  /** The request head as sent, and its body so far, kept until the response head for a replay. */
  #names: string[] | null = null;
  #values: string[] | null = null;
  #replay: Uint8Array[] | null = [];
  #replayBytes = 0;
  #retries = 0;

  constructor(link: H2Link) {
    super({ emitClose: false, decodeStrings: false });
    this.#link = link;
  }

  /** The connection the stream runs on (the last one, after a replay). */
  get link(): H2Link {
    return this.#link;
  }

  // --- the exchange's side (HTTP/1.1 in) ---

  override _write(chunk: Uint8Array | string, _enc: string, cb: (e?: Error | null) => void): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk;
    try {
      this.#take(bytes, cb);
    } catch (e) {
      cb(e as Error);
    }
  }

  #take(bytes: Uint8Array, cb: (e?: Error | null) => void): void {
    if (this.#req === Req.Head) {
      const buf = this.#head === null ? bytes : Buffer.concat([this.#head, bytes]);
      const end = findHeadEnd(buf);
      if (end < 0) {
        this.#head = buf;
        cb();
        return;
      }
      this.#head = null;
      if (!this.#openStream(Buffer.from(buf.buffer, buf.byteOffset, end).toString("latin1"))) {
        cb();
        return;
      }
      bytes = buf.subarray(end + 4);
      if ((this.#req as Req) === Req.Done || bytes.length === 0) {
        cb();
        return;
      }
    }
    if (this.#req === Req.Length) {
      const n = Math.min(bytes.length, this.#remaining);
      this.#remaining -= n;
      if (this.#remaining === 0) this.#req = Req.Done;
      this.#send(bytes.subarray(0, n), this.#req === Req.Done, cb);
      return;
    }
    if (this.#req === Req.Chunked) {
      const parts: Uint8Array[] = [];
      const d = this.#chunked!;
      if (d.push(bytes, 0, (b) => parts.push(b.slice())) < 0) {
        throw new Error(`bad chunked request body: ${d.error}`);
      }
      if (d.done) this.#req = Req.Done;
      const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.#send(body, this.#req === Req.Done, cb);
      return;
    }
    cb(); // bytes after the request (none are written): ignored
  }

  #send(body: Uint8Array, end: boolean, cb: (e?: Error | null) => void): void {
    if (this.#id === 0 || (body.length === 0 && !end)) {
      cb();
      return;
    }
    const replay = this.#replay;
    if (replay !== null) {
      this.#replayBytes += body.length;
      if (this.#replayBytes > MAX_REPLAY_BYTES) this.#replay = null;
      else replay.push(body);
    }
    if (this.#link.session.sendData(this.#id, body, end)) cb();
    else this.#pendingCb = cb;
  }

  /**
   * The stream was never processed (REFUSED_STREAM, or above a GOAWAY's
   * last-stream-id): send it again on a connection with room (a new one if
   * none), the head and the body so far, at most {@link MAX_REPLAYS} times.
   */
  #retry(): void {
    this.#retries++;
    this.#id = 0;
    const pool = this.#link.pool;
    const link = pool.linkWithRoom();
    if (link !== null) {
      this.#reopen(link);
      return;
    }
    pool.newLink(REPLAY_CONNECT_TIMEOUT_MS).then(
      (l) => this.#reopen(l),
      (e: Error) => this.#fail(e.message),
    );
  }

  #reopen(link: H2Link): void {
    if (this.destroyed) return;
    this.#link = link;
    link.reserved++;
    const body = this.#replay!;
    const done = this.#req === Req.Done;
    const id = link.open(this, this.#names!, this.#values!, done && this.#replayBytes === 0);
    if (id === null) {
      this.#fail("the backend's HTTP/2 connection went away before the stream opened");
      return;
    }
    this.#id = id;
    if (this.#replayBytes === 0 && done) return;
    const all = body.length === 1 ? body[0]! : Buffer.concat(body);
    if (all.length > 0 || done) {
      if (link.session.sendData(id, all, done)) this.onWritable();
    }
  }

  /** The request head: open the stream with its fields. False: it could not open. */
  #openStream(head: string): boolean {
    const lines = head.split("\r\n");
    const [method, target] = lines[0]!.split(" ");
    const names: string[] = [":method", ":scheme", ":path", ":authority"];
    const values: string[] = [method!, this.#link.pool.scheme, target!, ""];
    let contentLength = -1;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === "") continue;
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "host") values[3] = value;
      else if (name === "content-length") contentLength = Number(value);
      else if (name === "transfer-encoding") chunked = true;
      if (NOT_FORWARDED.has(name)) continue;
      if (name === "te" && value.toLowerCase() !== "trailers") continue;
      names.push(name);
      values.push(value);
    }
    if (values[3] === "") values[3] = this.#link.pool.authority; // an HTTP/1.0 request without Host
    this.#headRequest = method === "HEAD";
    if (chunked) {
      this.#req = Req.Chunked;
      this.#chunked = new ChunkedDecoder();
    } else if (contentLength > 0) {
      this.#req = Req.Length;
      this.#remaining = contentLength;
    } else {
      this.#req = Req.Done;
    }
    this.#names = names;
    this.#values = values;
    const id = this.#link.open(this, names, values, this.#req === Req.Done);
    if (id === null) {
      this.#fail("the backend's HTTP/2 connection went away before the stream opened");
      return false;
    }
    this.#id = id;
    return true;
  }

  override _final(cb: (e?: Error | null) => void): void {
    cb();
  }

  override _read(): void {
    const n = this.#debt;
    if (n > 0 && this.#id !== 0) {
      this.#debt = 0;
      this.#link.session.consumed(this.#id, n);
    }
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.#id === 0) {
      if (this.#req === Req.Head) this.#link.unreserve();
    } else if (!this.#ended) {
      this.#link.forget(this.#id);
      this.#link.session.cancel(this.#id);
    }
    this.#ended = true;
    cb(err);
    this.#emitClose(err !== null);
  }

  #emitClose(hadError: boolean): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    queueMicrotask(() => this.emit("close", hadError));
  }

  /** The stream failed before its end: the connection "resets". */
  #fail(_reason: string): void {
    this.#ended = true;
    this.destroy(new Error("upstream connection reset"));
  }

  // --- the backend's side (HTTP/2 in, HTTP/1.1 out) ---

  onResponse(status: number, names: string[], values: string[], end: boolean): void {
    this.#replay = null;
    let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n`;
    let contentType: string | null = null;
    let hasLength = false;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (NOT_RENDERED.has(name)) continue;
      if (name === "content-type") contentType = values[i]!;
      else if (name === "content-length") hasLength = true;
      head += `${name}: ${values[i]}\r\n`;
    }
    const bodiless = this.#headRequest || status === 204 || status === 304;
    if (end) {
      this.#countGrpc(contentType, names, values);
      if (!bodiless && !hasLength) head += "content-length: 0\r\n";
      this.#ended = true;
    } else if (!bodiless && !hasLength) {
      this.#chunkedOut = true;
      head += "transfer-encoding: chunked\r\n";
    }
    this.#grpc = contentType;
    this.#out(Buffer.from(`${head}\r\n`, "latin1"), 0);
  }

  onData(chunk: Uint8Array, end: boolean): void {
    const n = chunk.length;
    if (this.#chunkedOut) {
      const parts: Uint8Array[] = [];
      if (n > 0) {
        parts.push(Buffer.from(`${n.toString(16)}\r\n`, "latin1"), chunk, CRLF);
      }
      if (end) parts.push(LAST_CHUNK);
      if (parts.length > 0) this.#out(Buffer.concat(parts), n);
    } else if (n > 0) {
      this.#out(chunk, n);
    }
    if (end) this.#ended = true;
  }

  onTrailers(names: string[], values: string[]): void {
    this.#ended = true;
    this.#countGrpc(this.#grpc, names, values);
    if (!this.#chunkedOut) {
      return; // a body framed by content-length cannot carry trailers in HTTP/1.1
    }
    let text = "0\r\n";
    for (let i = 0; i < names.length; i++) text += `${names[i]}: ${values[i]}\r\n`;
    this.#out(Buffer.from(`${text}\r\n`, "latin1"), 0);
  }

  onReset(reason: string, retrySafe: boolean): void {
    if (retrySafe && this.#replay !== null && this.#retries < MAX_REPLAYS && !this.destroyed) {
      this.#retry();
      return;
    }
    this.#fail(reason);
  }

  onWritable(): void {
    const cb = this.#pendingCb;
    this.#pendingCb = null;
    cb?.();
  }

  #countGrpc(contentType: string | null, names: string[], values: string[]): void {
    const sink = this.#link.pool.onGrpcStatus;
    if (sink === null) return;
    const code = grpcStatusOf(contentType, names, values);
    if (code !== null) sink(code);
  }

  /** Hands response bytes to the reader; `window` of them are credited once read. */
  #out(bytes: Uint8Array, window: number): void {
    if (this.push(bytes)) {
      if (window > 0) this.#link.session.consumed(this.#id, window);
    } else {
      this.#debt += window;
    }
  }
}

const CRLF = new Uint8Array([13, 10]);
/** Request body bytes kept for a replay; a larger body is not replayed (it fails as a reset). */
const MAX_REPLAY_BYTES = 64 * 1024;
/** Replays of one request (each on a connection with room, or a new one). */
const MAX_REPLAYS = 3;
const REPLAY_CONNECT_TIMEOUT_MS = 5_000;
const LAST_CHUNK = new Uint8Array([48, 13, 10, 13, 10]);

/**
 * The pool of one h2 backend: its links (sockets with an HTTP/2 session) and
 * the stream connections handed out over them.
 */
export class H2UpstreamPool extends UpstreamPool {
  readonly #links: H2Link[] = [];
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
    return this.newLink(timeoutMs).then((link) => this.#stream(link));
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
