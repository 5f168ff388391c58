/**
 * One HTTP/2 stream to a `protocol: "h2"` backend, seen by the proxy's
 * exchange as the socket of an HTTP/1.1 connection (see h2_upstream.ts for
 * why): the HTTP/1.1 request written into it becomes the stream's HEADERS and
 * DATA (lib/http2/http1_bridge.ts translates), and the stream's response is
 * read from it as HTTP/1.1, its body chunked and its trailers as chunked
 * trailers. Back-pressure both ways: a write waits for the stream's send
 * window, and response bytes the reader has not taken are not credited to
 * the backend's window. A stream the backend never processed is replayed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { findHeadEnd } from "../http1/bytes.ts";
import { ChunkedDecoder } from "../http1/chunked.ts";
import { h2RequestFields, http1LastChunk, http1ResponseHead } from "../http2/http1_bridge.ts";
import { grpcStatusOf } from "./grpc_status.ts";
import type { H2Link } from "./h2_upstream.ts";

const CRLF = new Uint8Array([13, 10]);
/** Request body bytes kept for a replay; a larger body is not replayed (it fails as a reset). */
const MAX_REPLAY_BYTES = 64 * 1024;
/** Replays of one request (each on a connection with room, or a new one). */
const MAX_REPLAYS = 3;
const REPLAY_CONNECT_TIMEOUT_MS = 5_000;
const LAST_CHUNK = new Uint8Array([48, 13, 10, 13, 10]);

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
    const pool = this.#link.pool;
    const r = h2RequestFields(head, pool.scheme, pool.authority);
    const { names, values } = r;
    this.#headRequest = r.headRequest;
    if (r.body === "chunked") {
      this.#req = Req.Chunked;
      this.#chunked = new ChunkedDecoder();
    } else if (r.body === "length") {
      this.#req = Req.Length;
      this.#remaining = r.contentLength;
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
    const head = http1ResponseHead(status, names, values, this.#headRequest, end);
    this.#chunkedOut = head.chunked;
    this.#grpc = head.contentType;
    if (end) {
      this.#ended = true;
      this.#countGrpc(head.contentType, names, values); // trailers-only
    }
    this.#out(Buffer.from(head.text, "latin1"), 0);
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
    this.#out(Buffer.from(http1LastChunk(names, values), "latin1"), 0);
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
