/**
 * The request body's way from the client to the backend: length-framed
 * bodies pass through, chunked ones are decoded strictly and re-encoded
 * chunk by chunk, bytes that arrive before the upstream connection is ready
 * wait (bounded: reading pauses), a full upstream socket pauses the client,
 * and `limits.max_body_bytes` is enforced mid-stream for chunked bodies
 * (Content-Length is checked by the exchange before connecting).
 *
 * Why apart: it is the one piece that knows where a request ends, which is
 * what request smuggling attacks; and it is created only for requests that
 * have a body, so a plain GET allocates none of it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CHUNK_END, ChunkedDecoder, chunkHeader, LAST_CHUNK_BYTES } from "../http1/chunked.ts";
import { latin1With } from "../http1/bytes.ts";
import type { RequestHead } from "../http1/head.ts";
import { Fault } from "./upstream_fault.ts";
import type { ClientSide } from "./client_side.ts";
import type { UpstreamConnection } from "./upstream_pool.ts";

/** Body bytes buffered before the upstream connection is ready; reading pauses beyond. */
const MAX_PENDING_BODY = 256 * 1024;
/** Up to this much, the head and the buffered body go out in one write. */
const SMALL_WRITE = 16 * 1024;

/** What the pump reports to its exchange. */
export interface PumpOwner {
  /** The last body byte was read from the client. */
  requestBodyComplete(): void;
  /** The body is malformed or over the limit: the owner answers (or cuts). */
  requestBodyFault(fault: Fault.BadRequestBody | Fault.BodyTooLarge, reason: string): void;
}

/**
 * One request body on its way upstream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Buffer } from "node:buffer";
 * import { RequestBodyPump } from "./request_body_pump.ts";
 * import type { RequestHead } from "../http1/head.ts";
 * let complete = false;
 * const owner = { requestBodyComplete: () => complete = true, requestBodyFault: () => {} };
 * const client = { pauseReading() {}, resumeReading() {} };
 * const req = { chunked: false, contentLength: 5 } as RequestHead;
 * const pump = new RequestBodyPump(owner, client as never, req, 0);
 * assert.equal(pump.feed(Buffer.from("helloGET / HTTP/1.1"), 0), 5); // the rest is the next request
 * assert.ok(pump.done && complete);
 * ```
 */
export class RequestBodyPump {
  /** Every byte of the body was read from the client. */
  done = false;
  /** Body bytes went to a backend: the request can no longer be sent elsewhere. */
  sent = false;

  readonly #owner: PumpOwner;
  readonly #client: Pick<ClientSide, "pauseReading" | "resumeReading">;
  readonly #maxBodyBytes: number;
  #remaining: number;
  readonly #decoder: ChunkedDecoder | null;
  #chunkFn: ((data: Uint8Array) => void) | null = null;
  #up: UpstreamConnection | null = null;
  /** Bytes read while no upstream connection takes them (allocated only then). */
  #pending: (Uint8Array | string)[] | null = null;
  #pendingBytes = 0;
  #waitUpDrain = false;
  #stopped = false;

  constructor(
    owner: PumpOwner,
    client: Pick<ClientSide, "pauseReading" | "resumeReading">,
    req: RequestHead,
    maxBodyBytes: number,
  ) {
    this.#owner = owner;
    this.#client = client;
    this.#maxBodyBytes = maxBodyBytes;
    this.#decoder = req.chunked ? new ChunkedDecoder() : null;
    this.#remaining = req.chunked ? 0 : req.contentLength;
  }

  /**
   * Consumes body bytes from `chunk[offset..]`. Returns how many were body
   * (the rest belongs to the next request) or -1 after a framing error
   * (reported to the owner).
   */
  feed(chunk: Uint8Array, offset: number): number {
    if (this.done) return 0;
    const decoder = this.#decoder;
    if (decoder === null) {
      const available = chunk.length - offset;
      const take = available < this.#remaining ? available : this.#remaining;
      if (take > 0) {
        this.#remaining -= take;
        this.#send(
          offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take),
        );
        if (this.#remaining === 0) this.#complete();
      }
      return take;
    }
    const used = decoder.push(chunk, offset, this.#chunkFn ??= (d) => this.#onChunk(d));
    if (used < 0) {
      this.#owner.requestBodyFault(
        Fault.BadRequestBody,
        `bad chunked request body: ${decoder.error}`,
      );
      return -1;
    }
    if (this.#maxBodyBytes > 0 && decoder.bodyBytes > this.#maxBodyBytes) {
      this.#owner.requestBodyFault(Fault.BodyTooLarge, "request body too large");
      return -1;
    }
    if (decoder.done) {
      this.#send(LAST_CHUNK_BYTES);
      this.#complete();
    }
    return used;
  }

  #onChunk(data: Uint8Array): void {
    if (data.length === 0) return; // a zero-size chunk would end the body early
    this.#send(chunkHeader(data.length));
    this.#send(data);
    this.#send(CHUNK_END);
  }

  #complete(): void {
    this.done = true;
    this.#owner.requestBodyComplete();
  }

  /**
   * Writes the request `head` to `up`, then whatever body is buffered; later
   * body bytes go straight to `up`.
   */
  attach(up: UpstreamConnection, head: string): void {
    this.#up = up;
    const pending = this.#pending;
    if (pending === null || pending.length === 0) {
      up.write(latin1With(head, null, 0));
      return;
    }
    this.sent = true;
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

  /** The attempt's connection is gone: later bytes wait for the next one. */
  detach(): void {
    this.#up = null;
  }

  /** The exchange is over: later bytes are read (to find the request's end) and dropped. */
  stop(): void {
    this.#stopped = true;
    this.#up = null;
    this.#pending = null;
  }

  #send(data: Uint8Array | string): void {
    if (this.#stopped) return;
    const up = this.#up;
    if (up !== null) {
      this.sent = true;
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

  /** The upstream socket drained: read more from the client. */
  onUpstreamDrain(): void {
    if (this.#waitUpDrain) {
      this.#waitUpDrain = false;
      this.#client.resumeReading();
    }
  }
}
