/**
 * One HTTP/2 stream as the data plane sees a client: a {@link ClientSide}.
 *
 * The stream's request becomes the same {@link RequestHead} an HTTP/1.1
 * client's would (method, path, authority as host, the fields), goes through
 * the same dispatch (routes, policies, limits) and the same {@link Exchange}
 * (balancer, lease, retries, relay, metrics). What the exchange writes for
 * the client, in HTTP/1.1 framing, is re-framed for HTTP/2 by a
 * {@link ResponseTranslator}; the request body goes to the exchange's pump
 * in the framing its head declares (chunked when the client gave no
 * content-length), and its consumption returns flow-control window.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CHUNK_END, chunkHeader, LAST_CHUNK_BYTES } from "../http1/chunked.ts";
import type { RequestHead } from "../http1/head.ts";
import { ErrorCode } from "../http2/frames.ts";
import type { H2Request } from "../http2/request_fields.ts";
import { ResponseTranslator, type TranslatedResponse } from "../http2/response_translator.ts";
import type { H2ServerSession } from "../http2/session.ts";
import type { ClientSide, ClientTls } from "./client_side.ts";
import type { Exchange } from "./exchange.ts";

const EMPTY = new Uint8Array(0);
const NO_TOKENS: readonly string[] = Object.freeze([]);

/**
 * The request head an HTTP/2 request stands for: HTTP/1.1 keep-alive, the
 * authority as host, chunked when a body of unknown length follows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { h2RequestHead } from "./h2_stream.ts";
 * const head = h2RequestHead({
 *   method: "POST", scheme: "https", authority: "api.example.com", path: "/v1",
 *   names: ["content-type"], values: ["text/plain"], contentLength: -1, teTrailers: false,
 * }, false);
 * assert.deepEqual([head.method, head.target, head.host, head.chunked, head.contentLength], ["POST", "/v1", "api.example.com", true, -1]);
 * ```
 */
export function h2RequestHead(r: H2Request, endStream: boolean): RequestHead {
  const bodyOfUnknownLength = !endStream && r.contentLength < 0;
  return {
    method: r.method,
    target: r.path,
    host: r.authority,
    names: r.names,
    lower: r.names,
    values: r.values,
    minor: 1,
    contentLength: endStream && r.contentLength < 0 ? -1 : r.contentLength,
    chunked: bodyOfUnknownLength,
    connectionTokens: NO_TOKENS,
    keepAlive: true,
    upgrade: null,
    expectContinue: false,
    teTrailers: r.teTrailers,
  };
}

/** What a stream needs of its connection. */
export interface H2StreamOwner {
  readonly session: H2ServerSession;
  /** The socket's buffer is full: writers should wait for {@link H2Stream.onDrain}. */
  readonly socketFull: boolean;
  readonly draining: boolean;
  /** The stream is over (answered, reset or given up). */
  streamDone(stream: H2Stream): void;
}

/** One request/response on an HTTP/2 connection. */
export class H2Stream implements ClientSide, TranslatedResponse {
  readonly id: number;
  readonly clientIp: string;
  readonly request: RequestHead;
  exchange: Exchange | null = null;
  readonly #owner: H2StreamOwner;
  readonly #translator: ResponseTranslator;
  /** The client's body arrives chunk-encoded for the pump (no content-length was given). */
  readonly #encodeChunked: boolean;
  /** Body bytes the exchange could not take yet, and whether the body ended. */
  #held: Uint8Array[] = [];
  #heldEnd = false;
  #endFed = false;
  #paused = false;
  /** sendData or the socket said "wait": the response waits for the client. */
  #blocked = false;
  /** When the response started waiting for the client (for the stall timeout), 0 = not. */
  blockedSince = 0;
  #over = false;

  constructor(
    owner: H2StreamOwner,
    id: number,
    clientIp: string,
    head: RequestHead,
    /** The connection's TLS facts (X-Forwarded-Proto, client subject, HSTS), null in cleartext. */
    readonly tls: ClientTls | null = null,
  ) {
    this.#owner = owner;
    this.id = id;
    this.clientIp = clientIp;
    this.request = head;
    this.#encodeChunked = head.chunked;
    this.#translator = new ResponseTranslator(head.method === "HEAD", this);
  }

  get closing(): boolean {
    return this.#owner.draining;
  }

  /** The response waits for the client's window or socket. */
  get waiting(): boolean {
    return this.#blocked;
  }

  // ------------------------------------------------------------ request body

  /** Body bytes from the client (DATA frames), `end` on the last. */
  body(chunk: Uint8Array, end: boolean): void {
    if (this.#over) return;
    if (chunk.length > 0) this.#held.push(chunk);
    this.#heldEnd ||= end;
    this.#pumpHeld();
  }

  /** Hands held body bytes to the exchange until it pauses reading. */
  #pumpHeld(): void {
    while (!this.#paused && this.#held.length > 0) {
      const chunk = this.#held.shift()!;
      const last = this.#heldEnd && this.#held.length === 0;
      this.#feed(chunk, last);
      if (last) this.#endFed = true;
    }
    if (!this.#paused && this.#heldEnd && !this.#endFed) {
      this.#endFed = true;
      this.#feed(EMPTY, true);
    }
  }

  #feed(chunk: Uint8Array, end: boolean): void {
    const ex = this.exchange;
    if (ex !== null) {
      let bytes: Uint8Array = chunk;
      if (this.#encodeChunked) {
        const parts: Uint8Array[] = [];
        if (chunk.length > 0) {
          parts.push(Buffer.from(chunkHeader(chunk.length), "latin1"), chunk, CHUNK_END);
        }
        if (end) parts.push(LAST_CHUNK_BYTES);
        bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      }
      if (bytes.length > 0) ex.feedBody(bytes, 0);
    }
    // taken (or buffered within the pump's own bound): the client may send that much more
    if (chunk.length > 0) this.#owner.session.consumed(this.id, chunk.length);
  }

  pauseReading(): void {
    this.#paused = true;
  }

  resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#pumpHeld();
  }

  // ------------------------------------------------------------ response (ClientSide)

  write(data: Uint8Array | string): boolean {
    if (this.#over) return true;
    const flowing = this.#translator.write(data);
    const ok = flowing && !this.#owner.socketFull;
    if (!ok) this.#blocked = true;
    return ok;
  }

  head(status: number, names: string[], values: string[], endStream: boolean): void {
    this.#owner.session.respond(this.id, status, names, values, endStream);
  }

  data(bytes: Uint8Array, endStream: boolean): boolean {
    return this.#owner.session.sendData(this.id, bytes, endStream);
  }

  trailers(names: string[], values: string[]): void {
    this.#owner.session.sendTrailers(this.id, names, values);
  }

  /** The client's window opened or the socket drained: the exchange may write again. */
  onDrain(): void {
    if (!this.#blocked || this.#owner.socketFull) return;
    this.#blocked = false;
    this.blockedSince = 0;
    this.exchange?.onClientDrain();
  }

  exchangeFinished(_keepAlive: boolean): void {
    this.exchange = null;
    if (!this.#translator.done) {
      // the exchange ended without a complete response: nothing better to tell the client
      this.#owner.session.resetStream(this.id, ErrorCode.INTERNAL_ERROR);
    }
    this.#finish();
  }

  startTunnel(): void {
    // HTTP/2 requests never ask for an upgrade (the field is refused): a bug if reached
    this.destroy();
  }

  end(): void {
    this.exchangeFinished(false);
  }

  destroy(): void {
    if (this.#over) return;
    this.#owner.session.resetStream(this.id, ErrorCode.INTERNAL_ERROR);
    const ex = this.exchange;
    this.exchange = null;
    ex?.clientGone();
    this.#finish();
  }

  /** The client reset the stream (or the connection ended): stop the exchange. */
  gone(): void {
    if (this.#over) return;
    const ex = this.exchange;
    this.exchange = null;
    ex?.clientGone();
    this.#finish();
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    this.#held = [];
    this.#owner.streamDone(this);
  }
}
