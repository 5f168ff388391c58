/**
 * An HTTP/1.1 response, as the proxy writes it to an HTTP/1.1 client, turned
 * into HTTP/2 frames' worth of events: a head (status and fields), body
 * chunks and the end, with trailers when there are any.
 *
 * Why a translation: every response a client gets (relayed from a backend,
 * or made by the proxy: errors, redirects, direct responses, 429s) is written
 * by one data plane in HTTP/1.1 framing, with all its rules in one place
 * (lib/http1, the response relay). An HTTP/2 stream takes that same output
 * and re-frames it, so HTTP/2 clients get exactly what HTTP/1.1 clients get.
 * The bytes it reads were written by this proxy, so they are well formed; a
 * fault here is a bug, reported as one.
 *
 * Connection-specific fields (RFC 9113 §8.2.2) are dropped and names are
 * lowercased; a body's framing becomes DATA frames (Content-Length or
 * chunked, decoded); a `HEAD` response, 204 and 304 end with the head.
 *
 * @module
 */
import { ChunkedDecoder } from "../http1/chunked.ts";
import { findHeadEnd } from "../http1/bytes.ts";
import { parseResponseHead } from "../http1/head.ts";

/** Where the translated response goes. */
export interface TranslatedResponse {
  /** A head: interim (1xx, `final` false) or final; `endStream` when no body follows. */
  head(status: number, names: string[], values: string[], endStream: boolean): void;
  /** Body bytes; `endStream` on the last (may be empty). Returns false to ask for a pause. */
  data(bytes: Uint8Array, endStream: boolean): boolean;
  /** Trailer fields ending the response. */
  trailers(names: string[], values: string[]): void;
}

/** Fields HTTP/2 forbids in a response (plus the proxy-internal framing ones). */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

const enum State {
  Head,
  Length,
  Chunked,
  Done,
}

const EMPTY = new Uint8Array(0);

/**
 * Reads one response's HTTP/1.1 bytes, in any pieces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ResponseTranslator } from "./response_translator.ts";
 * const events: string[] = [];
 * const t = new ResponseTranslator(false, {
 *   head: (s, n, v, end) => events.push(`head ${s} ${n.join(",")} end=${end}`),
 *   data: (b, end) => (events.push(`data ${b.length} end=${end}`), true),
 *   trailers: () => {},
 * });
 * t.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\ncontent-length: 5\r\n\r\nhel");
 * t.write(new TextEncoder().encode("lo"));
 * assert.deepEqual(events, ["head 200 content-type,content-length end=false", "data 3 end=false", "data 2 end=true"]);
 * assert.ok(t.done);
 * ```
 */
export class ResponseTranslator {
  readonly #headRequest: boolean;
  readonly #out: TranslatedResponse;
  #state = State.Head;
  /** A head's first part, when it came in pieces. */
  #head: Uint8Array | null = null;
  #remaining = 0;
  #decoder: ChunkedDecoder | null = null;
  #paused = false;

  /** @param headRequest the request was HEAD: no response carries a body. */
  constructor(headRequest: boolean, out: TranslatedResponse) {
    this.#headRequest = headRequest;
    this.#out = out;
  }

  /** The final response ended (END_STREAM was emitted). */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Bytes the proxy wrote for the client. Returns false when the body's
   * receiver asked for a pause (the writer should wait, as for a full socket).
   */
  write(data: Uint8Array | string): boolean {
    this.#paused = false;
    const bytes = typeof data === "string" ? latin1Bytes(data) : data;
    let at = 0;
    while (at < bytes.length && this.#state !== State.Done) {
      switch (this.#state) {
        case State.Head:
          at = this.#readHead(bytes, at);
          break;
        case State.Length: {
          const n = Math.min(this.#remaining, bytes.length - at);
          this.#remaining -= n;
          this.#emit(bytes.subarray(at, at + n), this.#remaining === 0);
          at += n;
          break;
        }
        case State.Chunked: {
          const d = this.#decoder!;
          const used = d.push(bytes, at, (chunk) => this.#emit(chunk, false));
          if (used < 0) throw new Error(`response translation: bad chunked body: ${d.error}`);
          at += used;
          if (d.done) this.#finishChunked(d);
          else if (used === 0) at = bytes.length;
          break;
        }
      }
    }
    return !this.#paused;
  }

  #readHead(bytes: Uint8Array, at: number): number {
    // the head usually comes in one write; a split one is joined first
    const prior = this.#head;
    const buf = prior === null ? bytes.subarray(at) : concat(prior, bytes.subarray(at));
    const end = findHeadEnd(buf);
    if (end < 0) {
      this.#head = buf.slice();
      return bytes.length;
    }
    const text = latin1String(buf.subarray(0, end));
    const consumed = end + 4 - (prior === null ? 0 : prior.length);
    this.#head = null;
    const parsed = parseResponseHead(text, 1000);
    if ("error" in parsed) throw new Error(`response translation: ${parsed.reason}`);
    const names: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < parsed.lower.length; i++) {
      const name = parsed.lower[i]!;
      if (DROPPED.has(name)) continue;
      names.push(name);
      values.push(parsed.values[i]!);
    }
    const status = parsed.status;
    if (status < 200) {
      // interim (100 Continue, 103 Early Hints): a HEADERS without END_STREAM, then the final head
      this.#out.head(status, names, values, false);
      return at + consumed;
    }
    const bodiless = this.#headRequest || status === 204 || status === 304;
    if (bodiless || (!parsed.chunked && parsed.contentLength <= 0)) {
      this.#out.head(status, names, values, true);
      this.#state = State.Done;
      return at + consumed;
    }
    this.#out.head(status, names, values, false);
    if (parsed.chunked) {
      this.#state = State.Chunked;
      this.#decoder = new ChunkedDecoder();
    } else {
      this.#state = State.Length;
      this.#remaining = parsed.contentLength;
    }
    return at + consumed;
  }

  #finishChunked(d: ChunkedDecoder): void {
    this.#state = State.Done;
    if (d.trailers === "") {
      this.#emit(EMPTY, true);
      return;
    }
    const names: string[] = [];
    const values: string[] = [];
    for (const line of d.trailers.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (DROPPED.has(name)) continue;
      names.push(name);
      values.push(line.slice(colon + 1).trim());
    }
    if (names.length === 0) this.#emit(EMPTY, true);
    else this.#out.trailers(names, values);
  }

  #emit(bytes: Uint8Array, end: boolean): void {
    if (end) this.#state = State.Done;
    if (!this.#out.data(bytes, end)) this.#paused = true;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function latin1String(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}
