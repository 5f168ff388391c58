/**
 * The response's way from the backend to the client: reads the head (1xx
 * included), rewrites it, relays the body in the framing
 * `responseFraming()` chose (Content-Length passed through, chunked decoded
 * strictly and re-encoded, close-delimited turned into chunks for HTTP/1.1
 * clients), relays trailers to clients that asked for them, and pauses the
 * backend while the client's socket is full.
 *
 * Why apart: every decision about what the client is told about a
 * response's framing, and whether the upstream connection may be pooled
 * afterwards, lives here and in the pure functions it calls; the exchange
 * only hears the outcome.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CHUNK_END, ChunkedDecoder, chunkHeader, LAST_CHUNK_BYTES } from "../http1/chunked.ts";
import { clientResponseHead, informationalHead } from "../http1/forward.ts";
import { findHeadEnd, latin1With } from "../http1/bytes.ts";
import { parseResponseHead, type RequestHead, type ResponseHead } from "../http1/head.ts";
import {
  BodyRelay,
  declaredFraming,
  type ResponseFraming,
  responseFraming,
} from "../http1/response_framing.ts";
import type { ProxyContext } from "./context.ts";
import type { ClientSide } from "./client_side.ts";
import { clientKeepAlive, upstreamReusable } from "./keep_alive.ts";
import type { UpstreamConnection } from "./upstream_pool.ts";

const EMPTY = Buffer.alloc(0);
/** Up to this much body, a Content-Length response's head and body go out in one write. */
const SMALL_WRITE = 16 * 1024;

/** What the relay reports to its exchange. */
export interface RelayOwner {
  /** The request body was read completely (decides keep-alive at the head). */
  readonly requestBodyRead: boolean;
  /** The current attempt's backend (for logs). */
  readonly backendAddress: string | undefined;
  /** The request's id, echoed to the client as `x-request-id` (null: relay the backend's). */
  readonly requestId: string | null;
  /** The head the client gets for the backend's `head` (a route's response policy applied). */
  clientHead(head: ResponseHead): ResponseHead;
  /**
   * A final head with a 5xx status arrived: true when the owner discards the
   * answer and sends the request elsewhere (`retry.on_status`); the relay then
   * forgets it (`received` body bytes came with the head).
   */
  answerDiscarded(head: ResponseHead, framing: ResponseFraming, received: number): boolean;
  /** A final head arrived and is about to be relayed: the attempt has its verdict. */
  responseHead(status: number): void;
  /** The answer is unusable and nothing reached the client yet: answer 502. */
  badResponse(reason: string): void;
  /** The backend closed before a complete response head: retry or answer. */
  connectionLost(reason: string): void;
  /** A 101 answered an upgrade request: switch to a tunnel. */
  upgraded(head: ResponseHead, rest: Buffer): void;
  /** The response was relayed completely. */
  responseDone(keepClient: boolean, reuseUpstream: boolean): void;
  /** The response cannot be completed: the client gets a truncated reply. */
  responseBroken(): void;
}

const enum State {
  Head,
  None,
  Length,
  Chunked,
  Close,
  Done,
}

/** One exchange's response, attempt after attempt (see {@link attach}). */
export class ResponseRelay {
  /** Bytes of a response arrived on the current attempt's connection. */
  started = false;
  /** The final response head went to the client: no other answer is possible now. */
  headSent = false;
  /** The final status relayed (0 before). */
  status = 0;

  readonly #owner: RelayOwner;
  /** Bytes written to the client (head and body), for the access log. */
  bytesOut = 0;
  readonly #ctx: ProxyContext;
  readonly #client: ClientSide;
  readonly #req: RequestHead;
  #up: UpstreamConnection | null = null;
  #state = State.Head;
  #buf: Buffer | null = null;
  #remaining = 0;
  #decoder: ChunkedDecoder | null = null;
  #chunkFn: ((data: Uint8Array) => void) | null = null;
  #chunkToClient = false;
  #keepClient = false;
  /** The framing allows pooling the upstream connection afterwards. */
  #framingReusable = true;
  /** The backend did not say `Connection: close`. */
  #backendKeepAlive = true;
  /** Bytes arrived where none belong (after the declared end, after a bodiless answer). */
  #stray = false;
  #continueSent = false;
  #waitClientDrain = false;

  constructor(owner: RelayOwner, ctx: ProxyContext, client: ClientSide, req: RequestHead) {
    this.#owner = owner;
    this.#ctx = ctx;
    this.#client = client;
    this.#req = req;
  }

  /** A new attempt's connection: wait for its head (a failed attempt's partial head is forgotten). */
  attach(up: UpstreamConnection): void {
    this.#up = up;
    this.#state = State.Head;
    this.#buf = null;
    this.started = false;
  }

  /** The attempt failed: forget its connection and any partial head. */
  detach(): void {
    this.#up = null;
    this.#state = State.Head;
    this.#buf = null;
    this.started = false;
  }

  /** Still waiting for the final response head (a partial one included). */
  get awaitingHead(): boolean {
    return this.#state === State.Head;
  }

  /** True while the response waits for the client to read (its socket buffer is full). */
  get waitingForClient(): boolean {
    return this.#waitClientDrain;
  }

  /** The client socket drained: read more from the backend. */
  onClientDrain(): void {
    if (this.#waitClientDrain) {
      this.#waitClientDrain = false;
      this.#up?.socket.resume();
    }
  }

  /** Before the connection goes back to the pool or away: undo a pause. */
  unpause(): void {
    if (this.#waitClientDrain) this.#up?.socket.resume();
  }

  // ------------------------------------------------------------ upstream events

  data(chunk: Uint8Array): void {
    switch (this.#state) {
      case State.Head:
        this.#readHead(chunk as Buffer);
        return;
      case State.Length:
        this.#forwardLength(chunk, 0);
        return;
      case State.Chunked:
        this.#forwardChunked(chunk, 0);
        return;
      case State.Close:
        this.#onChunk(chunk);
        return;
      default:
        // bytes where none belong (a body after HEAD/204/304)
        this.#stray = true;
        return;
    }
  }

  /** The backend half-closed. */
  ended(): void {
    switch (this.#state) {
      case State.Close:
        if (this.#chunkToClient) this.#write(LAST_CHUNK_BYTES);
        this.#done();
        return;
      case State.Head:
        this.#owner.connectionLost("backend closed the connection before responding");
        return;
      case State.Length:
      case State.Chunked:
        this.#ctx.log.warn("backend closed mid-response", { backend: this.#owner.backendAddress });
        this.#owner.responseBroken();
        return;
      default:
        return;
    }
  }

  /** The connection closed (`error` when it was reset). */
  closed(error: Error | null): void {
    switch (this.#state) {
      case State.Head:
        this.#up = null;
        this.#owner.connectionLost(error?.message ?? "connection closed");
        return;
      case State.Close:
        this.ended();
        this.#up = null;
        return;
      case State.Length:
      case State.Chunked:
        this.#up = null;
        this.#owner.responseBroken();
        return;
      default:
        this.#up = null;
        return;
    }
  }

  // ------------------------------------------------------------ head

  #readHead(chunk: Buffer): void {
    this.started = true;
    let buf = chunk;
    if (this.#buf !== null) buf = Buffer.concat([this.#buf, chunk]);
    const idx = findHeadEnd(buf);
    const limits = this.#ctx.limits;
    if (idx < 0) {
      if (buf.length > limits.maxResponseHeaderBytes) {
        this.#owner.badResponse("response head too large");
      } else this.#buf = buf;
      return;
    }
    this.#buf = null;
    const head = parseResponseHead(buf.toString("latin1", 0, idx), limits.maxHeaderCount * 2);
    if ("error" in head) {
      this.#owner.badResponse(head.reason);
      return;
    }
    const rest = idx + 4 === buf.length ? EMPTY : buf.subarray(idx + 4);
    if (head.status < 200) this.#informational(head, rest);
    else this.#start(head, rest);
  }

  #informational(head: ResponseHead, rest: Buffer): void {
    if (head.status === 101) {
      if (this.#req.upgrade === null) {
        this.#owner.badResponse("101 without an upgrade request");
        return;
      }
      this.#state = State.Done;
      this.headSent = true;
      this.status = 101;
      this.#owner.upgraded(head, rest);
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

  #start(head: ResponseHead, rest: Buffer): void {
    const req = this.#req;
    const framing = responseFraming(req.method, head, req.minor);
    if (head.status >= 500 && this.#owner.answerDiscarded(head, framing, rest.length)) return;
    // The body's start came with the head: decode it before committing to the response, so
    // that a garbled chunked body still gets a clean 502. The decoded bytes (views of `rest`)
    // and the decoder's state carry on below, so nothing is decoded twice.
    let earlyData: Uint8Array[] | null = null;
    let earlyUsed = 0;
    if (framing.relay === BodyRelay.Chunked) {
      const decoder = this.#decoder = new ChunkedDecoder();
      if (rest.length > 0) {
        const data: Uint8Array[] = earlyData = [];
        earlyUsed = decoder.push(rest, 0, (d) => data.push(d));
        if (earlyUsed < 0) {
          this.#owner.badResponse(`bad chunked body: ${decoder.error}`);
          return;
        }
      }
    }
    this.status = head.status;
    this.#owner.responseHead(head.status);
    this.#framingReusable = framing.upstreamReusable;
    this.#backendKeepAlive = head.keepAlive;
    this.#chunkToClient = framing.chunkToClient;
    const keep = this.#keepClient = clientKeepAlive(
      req.keepAlive,
      framing.endKnown,
      this.#client.closing || this.#ctx.draining,
      this.#owner.requestBodyRead,
    );
    const text = clientResponseHead(
      this.#owner.clientHead(head),
      declaredFraming(framing, head.contentLength),
      keep,
      req.minor,
      false,
      this.#owner.requestId,
      this.#client.tls?.responseFields,
    );
    this.headSent = true;
    switch (framing.relay) {
      case BodyRelay.None:
        this.#state = State.None;
        this.#write(text);
        if (rest.length > 0) this.#stray = true;
        this.#done();
        return;
      case BodyRelay.Length: {
        this.#state = State.Length;
        this.#remaining = head.contentLength;
        if (rest.length > 0 && rest.length <= SMALL_WRITE) {
          // the common case: head and (all or part of) the body in one write
          const take = rest.length < this.#remaining ? rest.length : this.#remaining;
          this.#write(latin1With(text, rest, take));
          this.#remaining -= take;
          if (take < rest.length) this.#stray = true;
          if (this.#remaining === 0) this.#done();
          return;
        }
        this.#write(text);
        if (this.#remaining === 0) {
          if (rest.length > 0) this.#stray = true;
          this.#done();
        } else if (rest.length > 0) this.#forwardLength(rest, 0);
        return;
      }
      case BodyRelay.Chunked:
        this.#state = State.Chunked;
        this.#write(text);
        if (earlyData !== null) {
          for (const d of earlyData) this.#onChunk(d);
          this.#chunkedProgress(rest, 0, earlyUsed);
        }
        return;
      case BodyRelay.Close:
        this.#state = State.Close;
        this.#write(text);
        if (rest.length > 0) this.#onChunk(rest);
        return;
    }
  }

  // ------------------------------------------------------------ body

  #forwardLength(chunk: Uint8Array, offset: number): void {
    const available = chunk.length - offset;
    const take = available < this.#remaining ? available : this.#remaining;
    if (take > 0) {
      this.#write(
        offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take),
      );
    }
    this.#remaining -= take;
    if (take < available) this.#stray = true;
    if (this.#remaining === 0) this.#done();
  }

  #forwardChunked(chunk: Uint8Array, offset: number): void {
    const used = this.#decoder!.push(chunk, offset, this.#chunkFn ??= (d) => this.#onChunk(d));
    this.#chunkedProgress(chunk, offset, used);
  }

  /** After the decoder consumed `used` bytes of `chunk[offset..]` (-1: an error). */
  #chunkedProgress(chunk: Uint8Array, offset: number, used: number): void {
    const decoder = this.#decoder!;
    if (used < 0) {
      this.#ctx.log.warn("bad chunked response from backend", {
        backend: this.#owner.backendAddress,
        reason: decoder.error,
      });
      this.#owner.responseBroken();
      return;
    }
    if (decoder.done) {
      if (this.#chunkToClient) {
        this.#write(
          decoder.trailers && this.#req.teTrailers
            ? `0\r\n${decoder.trailers}\r\n`
            : LAST_CHUNK_BYTES,
        );
      }
      if (offset + used < chunk.length) this.#stray = true;
      this.#done();
    }
  }

  /** Decoded (or close-delimited) body bytes: re-chunked for an HTTP/1.1 client. */
  #onChunk(data: Uint8Array): void {
    if (data.length === 0) return; // a zero-size chunk would end the body early
    if (this.#chunkToClient) {
      this.#write(chunkHeader(data.length));
      this.#write(data);
      this.#write(CHUNK_END);
    } else this.#write(data);
  }

  #write(data: Uint8Array | string): void {
    this.bytesOut += data.length;
    if (!this.#client.write(data) && !this.#waitClientDrain) {
      this.#waitClientDrain = true;
      this.#up?.socket.pause();
    }
  }

  #done(): void {
    this.#state = State.Done;
    const bodyRead = this.#owner.requestBodyRead;
    // A backend that answered before reading the whole request body leaves both
    // connections in an unknown state.
    this.#owner.responseDone(
      this.#keepClient && bodyRead,
      upstreamReusable(this.#framingReusable, this.#backendKeepAlive, this.#stray, bodyRead),
    );
  }
}
