/**
 * Incremental, strict decoder and encoder for `Transfer-Encoding: chunked`.
 *
 * The decoder validates every chunk-size line (hex digits, an optional
 * extension, CRLF), the CRLF after each chunk and the trailer section, and
 * hands out body bytes as views into the input (no copies). Bad framing is an
 * error, never a guess: 400 on a request, 502 on a response.
 *
 * @module
 */
import { BAD_VALUE_CHAR, TOKEN } from "./syntax.ts";

const enum State {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  Done,
}

const MAX_SIZE_DIGITS = 13; // 2^52 bytes is plenty and stays an exact double
const MAX_EXT_BYTES = 4096;
const MAX_TRAILER_BYTES = 16384;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Decodes chunked framing incrementally.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from "./chunked.ts";
 * const d = new ChunkedDecoder();
 * const parts: Uint8Array[] = [];
 * d.push(new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\n"), 0, (b) => parts.push(b));
 * console.log(d.done, parts.length); // true 1
 * ```
 */
export class ChunkedDecoder {
  #state = State.Size;
  #remaining = 0;
  #digits = 0;
  #extBytes = 0;
  #trailer = "";
  /** Set when the terminating chunk and trailer section have been read. */
  done = false;
  /** Set when the framing is invalid; the decoder then consumes nothing more. */
  error: string | null = null;
  /** Trailer fields as raw `name: value\r\n` lines (validated), empty when none. */
  trailers = "";
  /** Total body bytes decoded so far. */
  bodyBytes = 0;

  /**
   * Consumes bytes from `buf[start..]`, calling `onData` for body bytes.
   * Returns how many bytes were consumed (input after the end of the body is
   * left for the caller) or -1 on a framing error (see {@link error}).
   */
  push(buf: Uint8Array, start: number, onData: (bytes: Uint8Array) => void): number {
    let i = start;
    const len = buf.length;
    while (i < len) {
      switch (this.#state) {
        case State.Size: {
          const c = buf[i]!;
          const h = hexValue(c);
          if (h >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return this.#fail("chunk size too large");
            this.#remaining = this.#remaining * 16 + h;
            i++;
          } else if (this.#digits === 0) {
            return this.#fail("invalid chunk size");
          } else if (c === 13) {
            this.#state = State.SizeLf;
            i++;
          } else if (c === 59 /* ; */ || c === 32 || c === 9) {
            this.#state = State.Ext;
            this.#extBytes = 0;
          } else {
            return this.#fail("invalid chunk size");
          }
          break;
        }
        case State.Ext: {
          const c = buf[i]!;
          if (c === 13) {
            this.#state = State.SizeLf;
          } else if ((c < 32 && c !== 9) || c === 127) {
            return this.#fail("invalid chunk extension");
          } else if (++this.#extBytes > MAX_EXT_BYTES) {
            return this.#fail("chunk extension too long");
          }
          i++;
          break;
        }
        case State.SizeLf: {
          if (buf[i] !== 10) return this.#fail("chunk size line not ended by CRLF");
          i++;
          this.#digits = 0;
          if (this.#remaining === 0) {
            this.#state = State.Trailer;
            this.#trailer = "";
          } else {
            this.#state = State.Data;
          }
          break;
        }
        case State.Data: {
          const take = Math.min(this.#remaining, len - i);
          onData(buf.subarray(i, i + take));
          this.bodyBytes += take;
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[i] !== 13) return this.#fail("chunk data not followed by CRLF");
          this.#state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (buf[i] !== 10) return this.#fail("chunk data not followed by CRLF");
          this.#state = State.Size;
          i++;
          break;
        case State.Trailer: {
          const c = buf[i]!;
          i++;
          this.#trailer += String.fromCharCode(c);
          if (this.#trailer.length > MAX_TRAILER_BYTES) {
            return this.#fail("trailer section too large");
          }
          if (c === 10) {
            const t = this.#trailer;
            if (t === "\r\n") {
              this.#state = State.Done;
              this.done = true;
              return i - start;
            }
            if (t.endsWith("\r\n\r\n")) {
              const err = validateTrailers(t.slice(0, -2));
              if (err) return this.#fail(err);
              this.trailers = t.slice(0, -2);
              this.#state = State.Done;
              this.done = true;
              return i - start;
            }
            if (!t.endsWith("\r\n")) return this.#fail("bare LF in trailer section");
          }
          break;
        }
        case State.Done:
          return i - start;
      }
    }
    return i - start;
  }

  #fail(reason: string): number {
    this.error = reason;
    return -1;
  }
}

function validateTrailers(block: string): string | null {
  for (const line of block.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return "invalid trailer field";
    if (BAD_VALUE_CHAR.test(line.slice(colon + 1))) return "invalid trailer value";
  }
  return null;
}

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new Uint8Array([48, 13, 10, 13, 10]);

/** Bytes of a chunk-size line for `n` bytes of data. */
export function chunkHeader(n: number): string {
  return `${n.toString(16)}\r\n`;
}

/** The CRLF that ends a chunk's data. */
export const CHUNK_END: Uint8Array = CRLF;

/** The terminating zero-length chunk with an empty trailer section. */
export const LAST_CHUNK_BYTES: Uint8Array = LAST_CHUNK;

/** The terminating chunk carrying trailer fields (each line ends with CRLF). */
export function lastChunkWithTrailers(trailers: string): string {
  return `0\r\n${trailers}\r\n`;
}
