/**
 * One request forwarded to a backend and its response relayed back.
 *
 * Streams both ways with backpressure (a full socket pauses the other side),
 * re-frames bodies it relays (Content-Length, chunked re-encoded after strict
 * decoding, or close-delimited), retries failed attempts on another backend
 * when that is safe (or, when a pooled connection died under the request, on
 * a new connection to the same backend), and turns every upstream fault into
 * the right status: 502 for refused/reset/garbled, 504 for no response head
 * in time, 503 when no backend is usable. An upstream connection goes back to
 * the pool only after a cleanly framed exchange.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CHUNK_END, ChunkedDecoder, chunkHeader, LAST_CHUNK_BYTES } from "../http1/chunked.ts";
import {
  type BodyFraming,
  clientResponseHead,
  type ForwardContext,
  informationalHead,
  NO_BODY,
  simpleResponse,
  upstreamRequestHead,
} from "../http1/forward.ts";
import { findHeadEnd, latin1With } from "../http1/bytes.ts";
import { parseResponseHead, type RequestHead, type ResponseHead } from "../http1/head.ts";
import type { PickContext } from "../balancer/types.ts";
import type { BackendView, GroupSnapshot } from "../group/snapshot.ts";
import { COARSE_SLACK_MS, type ProxyContext } from "./context.ts";
import { requestHashKey, usesKey } from "./hash_key.ts";
import type { BackendMetrics, ProxyErrorCause } from "./metrics.ts";
import { retryDecision } from "./retry_policy.ts";
import type { UpstreamConnection, UpstreamOwner } from "./upstream_pool.ts";

/** The client side as an exchange sees it. */
export interface ClientSide {
  readonly clientIp: string;
  /** Closing after this response (shutdown, or the client asked). */
  readonly closing: boolean;
  /** Writes to the client; false means wait for {@link Exchange.onClientDrain}. */
  write(data: Uint8Array | string): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** The exchange is over; keep the connection for the next request or close it. */
  exchangeFinished(keepAlive: boolean): void;
  /** Switch to raw tunnelling (after a 101). */
  startTunnel(): void;
  /** Ends the client connection after flushing. */
  end(): void;
  /** Drops the client connection at once (a response already started cannot be completed). */
  destroy(): void;
}

const enum Body {
  None,
  Length,
  Chunked,
}

const enum Res {
  Waiting,
  Head,
  None,
  Length,
  Chunked,
  Close,
  Tunnel,
  Done,
}

const EMPTY = Buffer.alloc(0);
const MAX_PENDING_BODY = 256 * 1024;
const SMALL_WRITE = 16 * 1024;
const NO_CONTEXT: PickContext = {};

/** Forwards one request. Created by the client connection once the head is parsed. */
export class Exchange implements UpstreamOwner {
  readonly #ctx: ProxyContext;
  readonly #client: ClientSide;
  readonly #req: RequestHead;
  readonly #snap: GroupSnapshot;
  readonly #start: number;
  readonly #upgrade: boolean;

  #backend: BackendView | null = null;
  #bm: BackendMetrics | null = null;
  #up: UpstreamConnection | null = null;
  #tried: number[] = [];
  #attempts = 0;
  #headWritten = false;
  /** This attempt's connection came from the pool (it served an earlier exchange). */
  #reused = false;
  /** Bytes of a response arrived on this attempt's connection. */
  #responseStarted = false;

  // request body
  #body: Body;
  #bodyRemaining: number;
  #decoder: ChunkedDecoder | null = null;
  /** Every byte of the client's request body has been read. */
  bodyDone: boolean;
  #bodySent = false;
  /** Body bytes read before the upstream connection is ready (allocated only then). */
  #pending: (Uint8Array | string)[] | null = null;
  #pendingBytes = 0;
  #waitUpDrain = false;

  // response
  #res = Res.Waiting;
  #resBuf: Buffer | null = null;
  #head: ResponseHead | null = null;
  #resRemaining = 0;
  #resDecoder: ChunkedDecoder | null = null;
  #clientChunked = false;
  #clientKeepAlive = false;
  #headSent = false;
  #continueSent = false;
  #reusable = true;
  #waitClientDrain = false;
  #status = 0;
  #finished = false;
  /** Monotonic deadline for the response head (0 = none). */
  responseDeadline = 0;

  /** Decoder callbacks, created only for chunked bodies (most requests allocate neither). */
  #resChunkFn: ((data: Uint8Array) => void) | null = null;
  #reqChunkFn: ((data: Uint8Array) => void) | null = null;

  #onResChunk(data: Uint8Array): void {
    if (data.length === 0) return; // a zero-size chunk would end the body early
    if (this.#clientChunked) {
      this.#writeClient(chunkHeader(data.length));
      this.#writeClient(data);
      this.#writeClient(CHUNK_END);
    } else this.#writeClient(data);
  }

  #onReqChunk(data: Uint8Array): void {
    if (data.length === 0) return;
    this.#sendBody(chunkHeader(data.length));
    this.#sendBody(data);
    this.#sendBody(CHUNK_END);
  }

  constructor(ctx: ProxyContext, client: ClientSide, req: RequestHead, snap: GroupSnapshot) {
    this.#ctx = ctx;
    this.#client = client;
    this.#req = req;
    this.#snap = snap;
    this.#start = ctx.now();
    this.#upgrade = req.upgrade !== null;
    if (req.chunked) {
      this.#body = Body.Chunked;
      this.#decoder = new ChunkedDecoder();
      this.#bodyRemaining = 0;
      this.bodyDone = false;
    } else if (req.contentLength > 0) {
      this.#body = Body.Length;
      this.#bodyRemaining = req.contentLength;
      this.bodyDone = false;
    } else {
      this.#body = Body.None;
      this.#bodyRemaining = 0;
      this.bodyDone = true;
    }
  }

  /** Starts the first attempt. */
  begin(): void {
    const max = this.#ctx.limits.maxBodyBytes;
    if (max > 0 && this.#req.contentLength > max) {
      // refuse before connecting anywhere; the body is not read, so the connection closes
      this.#fail(413, "limit", "request body too large\n");
      return;
    }
    this.#ctx.budget().recordRequest(this.#ctx.coarseWall);
    this.#attempt();
  }

  // ---------------------------------------------------------------- attempts

  #attempt(): void {
    const snap = this.#snap;
    const tried = this.#tried;
    const index = tried.length === 0
      ? snap.selector.pick(this.#pickContext(null))
      : snap.selector.pick(this.#pickContext((i) => !tried.includes(i)));
    if (index < 0) {
      if (tried.length === 0) {
        this.#fail(503, "no_backend", "no healthy backend\n", { "retry-after": "1" });
      } else this.#fail(502, "connect_failed", "all backends failed\n");
      return;
    }
    tried.push(index);
    this.#attempts++;
    const backend = snap.backends[index]!;
    this.#backend = backend;
    this.#bm = this.#ctx.metrics.forBackend(backend.address);
    backend.counters.inflight++;
    this.#connect(backend, true);
  }

  /** Gets a connection to `backend`: an idle pooled one when `mayReuse`, else a new one. */
  #connect(backend: BackendView, mayReuse: boolean): void {
    const pool = this.#ctx.pool(backend);
    const up = mayReuse ? pool.acquire() : null;
    if (up) {
      this.#attach(up);
      return;
    }
    pool.connect(this.#snap.config.connect_timeout_seconds * 1000).then(
      (conn) => {
        if (this.#finished || this.#backend !== backend) {
          conn.pool.release(conn, this.#ctx.coarseNow);
          return;
        }
        this.#attach(conn);
      },
      (err: Error) => {
        if (this.#finished || this.#backend !== backend) return;
        this.#attemptFailed("connect_failed", err.message);
      },
    );
  }

  #pickContext(accept: ((i: number) => boolean) | null): PickContext {
    const cfg = this.#snap.config;
    if (!usesKey(cfg.algorithm)) return accept ? { accept } : NO_CONTEXT;
    const req = this.#req;
    const key = requestHashKey(cfg.algorithm, cfg.hash_key, this.#client.clientIp, (name) => {
      let value: string | null = null;
      for (let i = 0; i < req.lower.length; i++) {
        if (req.lower[i] === name) {
          value = value === null ? req.values[i]! : `${value}; ${req.values[i]}`;
        }
      }
      return value;
    }, req.target);
    return accept ? { key, accept } : { key };
  }

  #attach(up: UpstreamConnection): void {
    this.#up = up;
    up.owner = this;
    this.#reused = up.uses > 0;
    this.#responseStarted = false;
    const req = this.#req;
    const backend = this.#backend!;
    const framing: BodyFraming = this.#body === Body.Length
      ? { contentLength: req.contentLength, chunked: false }
      : this.#body === Body.Chunked
      ? { contentLength: -1, chunked: true }
      : req.contentLength === 0
      ? { contentLength: 0, chunked: false }
      : NO_BODY;
    const fctx: ForwardContext = {
      clientIp: this.#client.clientIp,
      proto: "http",
      hostRewrite: this.#snap.config.host_rewrite,
      backendAddress: backend.address,
    };
    const head = upstreamRequestHead(req, fctx, framing, this.#upgrade, req.expectContinue);
    this.#headWritten = true;
    this.#res = Res.Head;
    if (this.bodyDone) this.#armResponseTimer();
    const pending = this.#pending;
    if (pending === null || pending.length === 0) {
      up.write(latin1With(head, null, 0));
    } else {
      this.#bodySent = true;
      if (this.#pendingBytes <= SMALL_WRITE) {
        const parts: Uint8Array[] = [Buffer.from(head, "latin1")];
        for (const p of pending) parts.push(typeof p === "string" ? Buffer.from(p, "latin1") : p);
        this.#waitUpDrain = !up.write(Buffer.concat(parts));
      } else {
        up.socket.cork();
        up.write(head);
        for (const p of pending) up.write(p);
        up.socket.uncork();
        this.#waitUpDrain = up.socket.writableNeedDrain;
      }
      this.#pending = null;
      this.#pendingBytes = 0;
      if (!this.#waitUpDrain) this.#client.resumeReading();
    }
  }

  /** Starts the response-head timeout once the whole request has been handed to the backend. */
  #armResponseTimer(): void {
    this.responseDeadline = this.#ctx.coarseNow + COARSE_SLACK_MS +
      this.#snap.config.response_timeout_seconds * 1000;
  }

  /**
   * An attempt failed before any response byte was relayed: retry when safe
   * (see {@link retryDecision}), else answer.
   */
  #attemptFailed(cause: ProxyErrorCause, reason: string): void {
    const backend = this.#backend;
    const up = this.#up;
    this.#up = null;
    if (up) up.destroy();
    const decision = retryDecision({
      method: this.#req.method,
      upgrade: this.#upgrade,
      bodySent: this.#bodySent,
      headSent: this.#headWritten && cause !== "connect_failed",
      reusedConnection: this.#reused,
      responseStarted: this.#responseStarted,
      connectionLost: cause === "upstream_reset",
      attempts: this.#attempts,
      maxRetries: this.#snap.config.retry.max_retries,
      backends: this.#snap.backends.length,
    });
    if (decision === "fresh_connection" && backend) {
      // A pooled connection died under the request: the backend is not at fault (no
      // outlier failure, no retry budget); it keeps the request (and its in-flight count).
      this.#resetForRetry();
      this.#ctx.log.debug("reused connection was closed; retrying on a new one", {
        backend: backend.address,
        reason,
      });
      this.#connect(backend, false);
      return;
    }
    if (backend) {
      backend.counters.inflight--;
      this.#ctx.state.recordOutcome(backend.address, true);
    }
    this.#backend = null;
    if (decision === "next_backend" && this.#ctx.budget().tryRetry(this.#ctx.wallNow())) {
      this.#ctx.metrics.retries.inc();
      this.#resetForRetry();
      this.#ctx.log.debug("retrying on another backend", {
        backend: backend?.address,
        cause,
        reason,
      });
      this.#attempt();
      return;
    }
    this.#ctx.log.warn("upstream attempt failed", { backend: backend?.address, cause, reason });
    this.#fail(502, cause, "bad gateway\n");
  }

  /** Forgets the failed attempt's response state (a partial head must not prefix the next). */
  #resetForRetry(): void {
    this.#headWritten = false;
    this.#res = Res.Waiting;
    this.#resBuf = null;
    this.#reused = false;
    this.#responseStarted = false;
    this.responseDeadline = 0;
  }

  // ---------------------------------------------------------------- request body

  /**
   * Consumes request-body bytes from `chunk[offset..]`. Returns how many were
   * body (the rest belongs to the next request) or -1 after a framing error
   * (already answered).
   */
  feedBody(chunk: Uint8Array, offset: number): number {
    if (this.bodyDone) return 0;
    const available = chunk.length - offset;
    if (this.#body === Body.Length) {
      const take = available < this.#bodyRemaining ? available : this.#bodyRemaining;
      if (take > 0) {
        this.#bodyRemaining -= take;
        this.#sendBody(
          offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take),
        );
        if (this.#bodyRemaining === 0) this.#bodyComplete();
      }
      return take;
    }
    const decoder = this.#decoder!;
    const used = decoder.push(
      chunk,
      offset,
      this.#reqChunkFn ??= (d: Uint8Array) => this.#onReqChunk(d),
    );
    if (used < 0) {
      this.#requestBodyError(`bad chunked request body: ${decoder.error}`);
      return -1;
    }
    const max = this.#ctx.limits.maxBodyBytes;
    if (max > 0 && decoder.bodyBytes > max) {
      this.#bodyTooLarge();
      return -1;
    }
    if (decoder.done) {
      this.#sendBody(LAST_CHUNK_BYTES);
      this.#bodyComplete();
    }
    return used;
  }

  #bodyComplete(): void {
    this.bodyDone = true;
    if (this.#headWritten && this.#res === Res.Head) this.#armResponseTimer();
  }

  #sendBody(data: Uint8Array | string): void {
    if (this.#res === Res.Done || this.#finished) return; // backend already answered: discard
    const up = this.#up;
    if (up && this.#headWritten) {
      this.#bodySent = true;
      if (!up.write(data) && !this.#waitUpDrain) {
        this.#waitUpDrain = true;
        this.#client.pauseReading();
      }
      return;
    }
    (this.#pending ??= []).push(data);
    this.#pendingBytes += data.length;
    if (this.#pendingBytes > MAX_PENDING_BODY) this.#client.pauseReading();
  }

  /** A chunked body grew past the limit mid-stream: 413 (or a cut if the response started). */
  #bodyTooLarge(): void {
    if (this.#headSent) {
      this.#abort();
      return;
    }
    this.#dropUpstream();
    this.#fail(413, "limit", "request body too large\n");
  }

  #requestBodyError(reason: string): void {
    this.#ctx.log.info("rejected request body", { reason, client: this.#client.clientIp });
    if (this.#headSent) {
      this.#abort();
      return;
    }
    this.#dropUpstream();
    this.#fail(400, "bad_request", "bad request body\n");
  }

  /** The upstream socket drained: read more from the client. */
  onUpstreamDrain(): void {
    if (this.#waitUpDrain) {
      this.#waitUpDrain = false;
      this.#client.resumeReading();
    }
  }

  // ---------------------------------------------------------------- response

  onUpstreamData(chunk: Uint8Array): void {
    switch (this.#res) {
      case Res.Head:
        this.#readHead(chunk as Buffer);
        return;
      case Res.Length:
        this.#forwardLength(chunk, 0);
        return;
      case Res.Chunked:
        this.#forwardChunked(chunk, 0);
        return;
      case Res.Close:
        this.#onResChunk(chunk);
        return;
      case Res.Tunnel:
        this.#writeClient(chunk);
        return;
      default:
        // bytes where none belong (body after HEAD/204/304, or data before any request)
        this.#reusable = false;
        return;
    }
  }

  #readHead(chunk: Buffer): void {
    this.#responseStarted = true;
    let buf = chunk;
    if (this.#resBuf !== null) buf = Buffer.concat([this.#resBuf, chunk]);
    const idx = findHeadEnd(buf);
    if (idx < 0) {
      if (buf.length > this.#ctx.limits.maxResponseHeaderBytes) {
        this.#badResponse("response head too large");
      } else this.#resBuf = buf;
      return;
    }
    this.#resBuf = null;
    const head = parseResponseHead(
      buf.toString("latin1", 0, idx),
      this.#ctx.limits.maxHeaderCount * 2,
    );
    if ("error" in head) {
      this.#badResponse(head.reason);
      return;
    }
    const rest = idx + 4 === buf.length ? EMPTY : buf.subarray(idx + 4);
    if (head.status < 200) {
      this.#informational(head, rest);
      return;
    }
    this.#startResponse(head, rest);
  }

  #informational(head: ResponseHead, rest: Buffer): void {
    if (head.status === 101) {
      if (!this.#upgrade) {
        this.#badResponse("101 without an upgrade request");
        return;
      }
      this.#startTunnel(head, rest);
      return;
    }
    if (head.status === 100) {
      if (this.#req.expectContinue && !this.#continueSent) {
        this.#continueSent = true;
        this.#client.write("HTTP/1.1 100 Continue\r\n\r\n");
      }
    } else if (this.#req.minor === 1) {
      this.#client.write(informationalHead(head.status, head.reason, head));
    }
    if (rest.length > 0) this.#readHead(rest);
  }

  #startResponse(head: ResponseHead, rest: Buffer): void {
    const req = this.#req;
    const noBody = req.method === "HEAD" || head.status === 204 || head.status === 304;
    // The body's start came with the head: decode it before committing to the response, so
    // that a garbled chunked body still gets a clean 502. The decoded bytes (views of `rest`)
    // and the decoder's state carry on below, so nothing is decoded twice.
    let early: ChunkedDecoder | null = null;
    let earlyData: Uint8Array[] | null = null;
    let earlyUsed = 0;
    if (head.chunked && !noBody && rest.length > 0) {
      early = new ChunkedDecoder();
      const data: Uint8Array[] = earlyData = [];
      earlyUsed = early.push(rest, 0, (d) => data.push(d));
      if (earlyUsed < 0) {
        this.#badResponse(`bad chunked body: ${early.error}`);
        return;
      }
    }
    this.#head = head;
    this.#status = head.status;
    this.responseDeadline = 0;
    const backend = this.#backend;
    if (backend) {
      this.#ctx.state.recordOutcome(
        backend.address,
        head.status >= 500 && this.#snap.outlierSettings.count5xx,
      );
    }
    let framing: BodyFraming;
    let knownEnd = true;
    if (noBody) {
      this.#res = Res.None;
      // A 204 that announces a body, or a 304 "chunked", is a backend about to send
      // bytes where none belong, maybe later: never reuse that connection.
      if (
        (head.status === 204 && (head.contentLength > 0 || head.chunked)) ||
        (head.status === 304 && head.chunked && req.method !== "HEAD")
      ) this.#reusable = false;
      framing = head.status === 204
        ? NO_BODY
        : head.contentLength >= 0
        ? { contentLength: head.contentLength, chunked: false }
        : head.chunked && req.minor === 1
        ? { contentLength: -1, chunked: true }
        : NO_BODY;
    } else if (head.chunked) {
      this.#res = Res.Chunked;
      this.#resDecoder = early ?? new ChunkedDecoder();
      this.#clientChunked = req.minor === 1;
      knownEnd = this.#clientChunked;
      framing = this.#clientChunked ? { contentLength: -1, chunked: true } : NO_BODY;
    } else if (head.contentLength >= 0) {
      this.#res = Res.Length;
      this.#resRemaining = head.contentLength;
      framing = { contentLength: head.contentLength, chunked: false };
    } else {
      this.#res = Res.Close;
      this.#reusable = false;
      this.#clientChunked = req.minor === 1;
      knownEnd = this.#clientChunked;
      framing = this.#clientChunked ? { contentLength: -1, chunked: true } : NO_BODY;
    }
    if (!head.keepAlive) this.#reusable = false;
    this.#clientKeepAlive = req.keepAlive && knownEnd && !this.#client.closing &&
      !this.#ctx.draining && this.bodyDone;
    const text = clientResponseHead(head, framing, this.#clientKeepAlive, req.minor);
    this.#headSent = true;
    if (this.#res === Res.Length && rest.length > 0 && rest.length <= SMALL_WRITE) {
      // the common case: head and (all or part of) the body in one write
      const take = rest.length < this.#resRemaining ? rest.length : this.#resRemaining;
      this.#writeClient(latin1With(text, rest, take));
      this.#resRemaining -= take;
      if (take < rest.length) this.#reusable = false;
      if (this.#resRemaining === 0) this.#responseDone();
      return;
    }
    this.#writeClient(text);
    switch (this.#res) {
      case Res.None:
        if (rest.length > 0) this.#reusable = false;
        this.#responseDone();
        return;
      case Res.Length:
        if (this.#resRemaining === 0) {
          if (rest.length > 0) this.#reusable = false;
          this.#responseDone();
        } else if (rest.length > 0) this.#forwardLength(rest, 0);
        return;
      case Res.Chunked:
        if (earlyData !== null) {
          for (const d of earlyData) this.#onResChunk(d);
          this.#chunkedProgress(rest, 0, earlyUsed);
        }
        return;
      case Res.Close:
        if (rest.length > 0) this.#onResChunk(rest);
        return;
    }
  }

  #forwardLength(chunk: Uint8Array, offset: number): void {
    const available = chunk.length - offset;
    const take = available < this.#resRemaining ? available : this.#resRemaining;
    if (take > 0) {
      this.#writeClient(
        offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take),
      );
    }
    this.#resRemaining -= take;
    if (take < available) this.#reusable = false;
    if (this.#resRemaining === 0) this.#responseDone();
  }

  #forwardChunked(chunk: Uint8Array, offset: number): void {
    const decoder = this.#resDecoder!;
    const used = decoder.push(
      chunk,
      offset,
      this.#resChunkFn ??= (d: Uint8Array) => this.#onResChunk(d),
    );
    this.#chunkedProgress(chunk, offset, used);
  }

  /** After the response decoder consumed `used` bytes of `chunk[offset..]` (-1: an error). */
  #chunkedProgress(chunk: Uint8Array, offset: number, used: number): void {
    const decoder = this.#resDecoder!;
    if (used < 0) {
      this.#ctx.log.warn("bad chunked response from backend", {
        backend: this.#backend?.address,
        reason: decoder.error,
      });
      this.#abort();
      return;
    }
    if (decoder.done) {
      if (this.#clientChunked) {
        this.#writeClient(
          decoder.trailers && this.#req.teTrailers
            ? `0\r\n${decoder.trailers}\r\n`
            : LAST_CHUNK_BYTES,
        );
      }
      if (offset + used < chunk.length) this.#reusable = false;
      this.#responseDone();
    }
  }

  #writeClient(data: Uint8Array | string): void {
    if (!this.#client.write(data) && !this.#waitClientDrain) {
      this.#waitClientDrain = true;
      this.#up?.socket.pause();
    }
  }

  /** True while the response waits for the client to read (its socket buffer is full). */
  get waitingForClient(): boolean {
    return this.#waitClientDrain;
  }

  /** The client stopped reading the response for too long: give up on it. */
  clientStalled(): void {
    if (this.#finished) return;
    this.#ctx.log.info("client stopped reading", { client: this.#client.clientIp });
    if (this.#res === Res.Tunnel) {
      this.clientGone();
      this.#client.destroy();
      return;
    }
    this.#abort();
  }

  /** The client socket drained: read more from the backend. */
  onClientDrain(): void {
    if (this.#waitClientDrain) {
      this.#waitClientDrain = false;
      this.#up?.socket.resume();
    }
  }

  #responseDone(): void {
    this.#res = Res.Done;
    if (!this.bodyDone) {
      // The backend answered before reading the whole request body: the
      // backend connection is in an unknown state and so is the client's.
      this.#reusable = false;
      this.#clientKeepAlive = false;
    }
    this.#finish(this.#clientKeepAlive);
  }

  #startTunnel(head: ResponseHead, rest: Buffer): void {
    this.#head = head;
    this.#status = 101;
    this.responseDeadline = 0;
    this.#res = Res.Tunnel;
    this.#reusable = false;
    this.#headSent = true;
    this.#client.write(clientResponseHead(head, NO_BODY, true, this.#req.minor, true));
    this.#client.startTunnel();
    this.#countResponse();
    if (rest.length > 0) this.#writeClient(rest);
  }

  /** Tunnel: bytes from the client go straight to the backend. */
  tunnelToUpstream(chunk: Uint8Array): void {
    const up = this.#up;
    if (!up) return;
    if (!up.write(chunk) && !this.#waitUpDrain) {
      this.#waitUpDrain = true;
      this.#client.pauseReading();
    }
  }

  /** Tunnel: the client half-closed. */
  tunnelClientEnded(): void {
    this.#up?.socket.end();
  }

  onUpstreamEnd(): void {
    switch (this.#res) {
      case Res.Close:
        if (this.#clientChunked) this.#writeClient(LAST_CHUNK_BYTES);
        this.#responseDone();
        return;
      case Res.Tunnel:
        this.#client.end();
        return;
      case Res.Head:
      case Res.Waiting:
        this.#attemptFailed("upstream_reset", "backend closed the connection before responding");
        return;
      case Res.Length:
      case Res.Chunked:
        this.#ctx.log.warn("backend closed mid-response", { backend: this.#backend?.address });
        this.#abort();
        return;
      default:
        return;
    }
  }

  onUpstreamClose(error: Error | null): void {
    this.#up = null;
    switch (this.#res) {
      case Res.Head:
      case Res.Waiting:
        if (this.#headWritten) {
          this.#attemptFailed("upstream_reset", error?.message ?? "connection closed");
        }
        return;
      case Res.Close:
        this.onUpstreamEnd();
        return;
      case Res.Tunnel:
        this.#finishTunnel();
        return;
      case Res.Length:
      case Res.Chunked:
        this.#abort();
        return;
      default:
        return;
    }
  }

  #finishTunnel(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#backend) this.#backend.counters.inflight--;
    this.#client.end();
  }

  // ---------------------------------------------------------------- endings

  #badResponse(reason: string): void {
    const backend = this.#backend;
    this.#ctx.log.warn("invalid response from backend", { backend: backend?.address, reason });
    if (backend) this.#ctx.state.recordOutcome(backend.address, true);
    this.#dropUpstream();
    this.#fail(502, "bad_response", "bad gateway\n");
  }

  /** The response deadline passed: 504 and the upstream request cancelled. */
  timeout(): void {
    if (this.#finished || this.#headSent) return;
    const backend = this.#backend;
    this.#ctx.log.warn("backend response timeout", { backend: backend?.address });
    if (backend) this.#ctx.state.recordOutcome(backend.address, true);
    this.#dropUpstream();
    this.#fail(504, "timeout", "gateway timeout\n");
  }

  /** The client stopped sending its request body: 408 (or a cut once the response started). */
  bodyTimeout(): void {
    if (this.#finished) return;
    this.#ctx.log.info("request body timeout", { client: this.#client.clientIp });
    if (this.#headSent) {
      this.#abort();
      return;
    }
    this.#dropUpstream();
    this.#fail(408, "timeout", "request body timeout\n");
  }

  #dropUpstream(): void {
    const up = this.#up;
    this.#up = null;
    if (up) up.destroy();
    if (this.#backend) {
      this.#backend.counters.inflight--;
      this.#backend = null;
    }
  }

  /** Answers with a proxy-generated response and ends the exchange. */
  #fail(
    status: number,
    cause: ProxyErrorCause,
    body: string,
    extra?: Record<string, string>,
  ): void {
    if (this.#finished) return;
    if (this.#headSent) {
      this.#abort();
      return;
    }
    this.#dropUpstream();
    this.#status = status;
    this.#headSent = true;
    this.#ctx.metrics.countError(cause, status, this.#req.method);
    const keepAlive = this.bodyDone && this.#req.keepAlive && !this.#client.closing &&
      !this.#ctx.draining;
    this.#client.write(simpleResponse(status, body, keepAlive, extra));
    this.#finished = true;
    this.#res = Res.Done;
    this.#client.exchangeFinished(keepAlive);
  }

  /** Ends a response that cannot be completed: the client sees a truncated reply. */
  #abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#headSent && this.#status > 0) this.#countResponse();
    this.#dropUpstream();
    this.#client.destroy();
  }

  /** The client went away mid-exchange. */
  clientGone(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#res === Res.Tunnel) {
      if (this.#backend) this.#backend.counters.inflight--;
      const up = this.#up;
      this.#up = null;
      up?.destroy();
      return;
    }
    if (this.#bm && this.#backend) {
      this.#ctx.metrics.countResponse(
        this.#bm,
        this.#backend.address,
        this.#req.method,
        499,
        this.#elapsed(),
      );
    }
    this.#dropUpstream();
  }

  #finish(keepAlive: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#countResponse();
    const backend = this.#backend;
    if (backend) backend.counters.inflight--;
    this.#backend = null;
    const up = this.#up;
    this.#up = null;
    if (up) {
      if (this.#waitClientDrain) up.socket.resume();
      if (this.#reusable && this.bodyDone) up.pool.release(up, this.#ctx.coarseNow);
      else up.destroy();
    }
    this.#client.exchangeFinished(keepAlive);
  }

  #countResponse(): void {
    const bm = this.#bm;
    if (bm && this.#backend) {
      this.#ctx.metrics.countResponse(
        bm,
        this.#backend.address,
        this.#req.method,
        this.#status,
        this.#elapsed(),
      );
    }
  }

  #elapsed(): number {
    return (this.#ctx.now() - this.#start) / 1000;
  }

  /** True once the exchange has ended. */
  get finished(): boolean {
    return this.#finished;
  }
}
