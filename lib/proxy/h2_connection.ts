/**
 * An HTTP/2 client connection: the socket, its {@link H2ServerSession}, and
 * one {@link H2Stream} per request in flight, each running the same
 * dispatch and {@link Exchange} as an HTTP/1.1 request.
 *
 * A {@link ClientConnection} becomes one when the client speaks HTTP/2: by
 * ALPN `h2` on a TLS listener, or by the connection preface in cleartext
 * (h2c with prior knowledge). The client connection stays the server's
 * handle on the socket (counts, caps, the sweeper, the drain) and forwards
 * those to this.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ProxySocket } from "./proxy_socket.ts";
import type { RequestHead } from "../http1/head.ts";
import { dropUnderscoreFields } from "../http1/underscore_fields.ts";
import { errorCodeName } from "../http2/frames.ts";
import type { H2Request } from "../http2/request_fields.ts";
import { H2ServerSession, type SessionSink } from "../http2/session.ts";
import { type Answer, isForward, type ListenerContext, textAnswer } from "./context.ts";
import type { ClientTls } from "./client_side.ts";
import { writeAnswer } from "./answer.ts";
import { Exchange } from "./exchange.ts";
import { h2RequestHead, H2Stream, type H2StreamOwner } from "./h2_stream.ts";

const TOO_MANY_FIELDS = textAnswer(431, "too many header fields\n", null, "limit", null);
const URI_TOO_LONG = textAnswer(414, "request-target too long\n", null, "limit", null);

/** Serves HTTP/2 on one socket. */
export class H2Connection implements SessionSink, H2StreamOwner {
  readonly session: H2ServerSession;
  readonly #socket: ProxySocket;
  readonly #ctx: ListenerContext;
  readonly #clientIp: string;
  readonly #streams = new Map<number, H2Stream>();
  socketFull = false;
  /** Frames queued for the socket (see {@link send}). */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushQueued = false;
  #ended = false;
  #goingAway = false;
  /** Monotonic time the connection became idle (no stream), for the idle timeout. */
  #idleSince: number;

  constructor(
    socket: ProxySocket,
    ctx: ListenerContext,
    clientIp: string,
    initial: Uint8Array | null,
    /** The TLS connection's facts, or null in cleartext (h2c). */
    private readonly clientTls: ClientTls | null = null,
  ) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#clientIp = clientIp;
    this.#idleSince = ctx.coarseNow;
    const l = ctx.limits;
    this.session = new H2ServerSession(this, {
      // a request's head and field count limits apply as for HTTP/1.1
      maxHeaderListSize: Math.max(l.maxHeaderBytes, 4096),
    }, () => ctx.now());
    socket.on("data", (chunk: Uint8Array) => this.session.receive(chunk));
    socket.on("end", () => this.#clientEnded());
    socket.on("drain", () => {
      this.socketFull = false;
      for (const s of this.#streams.values()) s.onDrain();
    });
    socket.on("close", () => this.#closed());
    const m = ctx.metrics;
    m.families.h2Connections.labels(m.group).inc();
    this.session.start();
    if (initial !== null && initial.length > 0) this.session.receive(initial);
  }

  get draining(): boolean {
    return this.#ctx.draining;
  }

  /** True when no stream is open. */
  get idle(): boolean {
    return this.#streams.size === 0;
  }

  // ------------------------------------------------------------ SessionSink

  /**
   * Queues frames; they go out in one socket write at the end of the current
   * task (a response's HEADERS and DATA, and every stream answered meanwhile,
   * cost one syscall instead of one each).
   */
  send(bytes: Uint8Array): void {
    if (this.#ended) return;
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const out = this.#out;
    if (out.length === 0 || this.#socket.destroyed) return;
    const bytes = out.length === 1 ? out[0]! : Buffer.concat(out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    if (!this.#socket.write(bytes)) this.socketFull = true;
  };

  request(id: number, request: H2Request, endStream: boolean): void {
    const m = this.#ctx.metrics;
    m.families.h2Streams.labels(m.group).inc();
    const parsed = h2RequestHead(request, endStream);
    const stream = new H2Stream(this, id, this.#clientIp, parsed, this.clientTls);
    this.#streams.set(id, stream);
    // the head limits an HTTP/1.1 request meets (its size is SETTINGS_MAX_HEADER_LIST_SIZE's)
    const l = this.#ctx.limits;
    if (request.names.length > l.maxHeaderCount) {
      this.#answer(stream, parsed, TOO_MANY_FIELDS);
      return;
    }
    if (request.path.length > l.maxUriLength) {
      this.#answer(stream, parsed, URI_TOO_LONG);
      return;
    }
    const d = this.#ctx.dispatch(parsed, this.#clientIp, this.clientTls !== null);
    if (!isForward(d)) {
      this.#answer(stream, parsed, d);
      return;
    }
    let head: RequestHead = d.head;
    if (!d.snap.config.allow_underscores_in_headers) {
      const r = dropUnderscoreFields(head);
      if (r.dropped.length > 0) {
        head = r.head;
        d.ctx.metrics.droppedUnderscoreHeaders.inc(r.dropped.length);
      }
    }
    const ex = new Exchange(d.ctx, stream, head, d.snap, d.route, d.requestId ?? null);
    stream.exchange = ex;
    ex.begin();
  }

  /** A response the proxy makes itself, as for HTTP/1.1 (counted, logged, re-framed). */
  #answer(stream: H2Stream, req: RequestHead, a: Answer): void {
    writeAnswer(this.#ctx, stream, req, a, true);
    stream.exchangeFinished(true);
  }

  data(id: number, chunk: Uint8Array, endStream: boolean): void {
    const stream = this.#streams.get(id);
    if (stream !== undefined) stream.body(chunk, endStream);
    // answered before its body ended (a 404, a 413...): the rest is dropped, its window returned
    else this.session.consumed(id, chunk.length);
  }

  reset(id: number): void {
    this.#streams.get(id)?.gone();
  }

  writable(id: number): void {
    this.#streams.get(id)?.onDrain();
  }

  closed(error: { readonly code: number; readonly reason: string } | null): void {
    if (error !== null) {
      const m = this.#ctx.metrics;
      m.families.h2Goaway.labels(m.group, errorCodeName(error.code)).inc();
      this.#ctx.log.info("HTTP/2 connection error", {
        client: this.#clientIp,
        code: errorCodeName(error.code),
        reason: error.reason,
      });
    }
    for (const s of [...this.#streams.values()]) s.gone();
    this.end();
  }

  /** GOAWAY NO_ERROR (drain, idle, the client's end of input), counted once. */
  #goAway(): void {
    if (this.#goingAway) return;
    this.#goingAway = true;
    const m = this.#ctx.metrics;
    m.families.h2Goaway.labels(m.group, "NO_ERROR").inc();
    this.session.goAway();
  }

  // ------------------------------------------------------------ H2StreamOwner

  streamDone(stream: H2Stream): void {
    this.#streams.delete(stream.id);
    if (this.#streams.size === 0) this.#idleSince = this.#ctx.coarseNow;
  }

  // ------------------------------------------------------------ the connection

  #clientEnded(): void {
    // the client sends no more frames: finish what is open, then close
    this.#goAway();
    if (this.#streams.size === 0) this.end();
  }

  #closed(): void {
    this.#ended = true;
    for (const s of [...this.#streams.values()]) s.gone();
  }

  /** Ends the socket after what was written is flushed. */
  end(): void {
    if (this.#ended) return;
    this.#flush();
    this.#ended = true;
    this.#socket.end();
  }

  destroy(): void {
    this.#ended = true;
    this.#socket.destroy();
  }

  /**
   * The sweeper's call: each exchange's response deadline, a client that
   * stopped reading (its window or socket stays shut), the idle timeout.
   */
  checkTimeouts(now: number): void {
    if (this.#ended) return;
    const limits = this.#ctx.limits;
    for (const s of [...this.#streams.values()]) {
      const ex = s.exchange;
      if (ex === null) continue;
      if (ex.responseDeadline !== 0 && now > ex.responseDeadline) {
        ex.timeout();
        continue;
      }
      if (s.waiting) {
        if (s.blockedSince === 0) s.blockedSince = now;
        else if (now - s.blockedSince > limits.bodyTimeoutMs) ex.clientStalled();
      }
    }
    if (this.#streams.size === 0 && now - this.#idleSince > limits.idleTimeoutMs) {
      this.#goAway();
      this.end();
    }
  }

  /** Graceful close: GOAWAY, the open streams finish, then the connection ends. */
  drain(): void {
    this.#goAway();
    if (this.#streams.size === 0) this.end();
  }
}
