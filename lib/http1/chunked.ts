/**
 * Incremental, strict decoder and encoder for `Transfer-Encoding: chunked`.
 *
 * The decoder validates every chunk-size line (hex digits, optional
 * extensions, CRLF), the CRLF after each chunk and the trailer section, and
 * hands out body bytes as views into the input (no copies). Bad framing is an
 * error, never a guess: 400 on a request, 502 on a response.
 *
 * Chunk extensions follow RFC 9112 §7.1.1 exactly and are then discarded:
 *
 * ```
 * chunk-ext     = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * chunk-ext-val = token / quoted-string
 * ```
 *
 * so whitespace is accepted only around `;` and `=`, never right before the
 * CRLF ("5 \r\n" and "5;a \r\n" are refused), and a quoted string may not
 * contain CR, LF or other controls.
 *
 * @module
 */
import { BAD_VALUE_CHAR, TOKEN } from "./syntax.ts";

const enum State {
  Size,
  /** BWS after the size: more BWS or ";". */
  ExtBws,
  /** After ";": BWS or the first tchar of a name. */
  ExtNameStart,
  /** In a name: tchar, ";", "=", BWS or CR. */
  ExtName,
  /** BWS after a name: more BWS, "=" or ";". */
  ExtNameBws,
  /** After "=": BWS, a tchar or DQUOTE. */
  ExtValStart,
  /** In a token value: tchar, ";", BWS or CR. */
  ExtValToken,
  /** Inside a quoted-string. */
  ExtQuoted,
  /** After a backslash inside a quoted-string. */
  ExtQuotedPair,
  /** Right after a closing DQUOTE: ";", BWS or CR. */
  ExtValEnd,
  /** BWS after a value: more BWS or ";". */
  ExtValBws,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  Done,
}

const MAX_SIZE_DIGITS = 13; // 2^52 bytes is plenty and stays an exact double
/** Bytes between the chunk size and the CR ending its line (";", names, values, BWS). */
const MAX_EXT_BYTES = 4096;
const MAX_TRAILER_BYTES = 16384;

/** 1 for the bytes of `tchar` (RFC 9110 §5.6.2). */
const TCHAR = new Uint8Array(256);
for (let c = 0; c < 128; c++) if (TOKEN.test(String.fromCharCode(c))) TCHAR[c] = 1;

const SP = 32;
const HTAB = 9;
const CR = 13;
const SEMI = 59;
const EQUALS = 61;
const DQUOTE = 34;
const BACKSLASH = 92;

/** `qdtext` (RFC 9110 §5.6.4): HTAB, SP, VCHAR except DQUOTE and backslash, obs-text. */
function isQdtext(c: number): boolean {
  return c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) ||
    (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/** What may follow a complete extension value: ";", BWS or the CR ending the line. */
function afterValue(c: number, ws: boolean): State | -1 {
  if (c === SEMI) return State.ExtNameStart;
  if (c === CR) return State.SizeLf;
  return ws ? State.ExtValBws : -1;
}

/** The state after byte `c` in one of the chunk-extension states, or -1 when `c` is invalid there. */
function extStep(state: State, c: number): State | -1 {
  const ws = c === SP || c === HTAB;
  switch (state) {
    case State.ExtBws:
      return ws ? State.ExtBws : c === SEMI ? State.ExtNameStart : -1;
    case State.ExtNameStart:
      return ws ? State.ExtNameStart : TCHAR[c] ? State.ExtName : -1;
    case State.ExtName:
      if (TCHAR[c]) return State.ExtName;
      if (c === SEMI) return State.ExtNameStart;
      if (c === EQUALS) return State.ExtValStart;
      if (c === CR) return State.SizeLf;
      return ws ? State.ExtNameBws : -1;
    case State.ExtNameBws:
      if (ws) return State.ExtNameBws;
      if (c === SEMI) return State.ExtNameStart;
      return c === EQUALS ? State.ExtValStart : -1;
    case State.ExtValStart:
      if (ws) return State.ExtValStart;
      if (c === DQUOTE) return State.ExtQuoted;
      return TCHAR[c] ? State.ExtValToken : -1;
    case State.ExtValToken:
      return TCHAR[c] ? State.ExtValToken : afterValue(c, ws);
    case State.ExtValEnd:
      return afterValue(c, ws);
    case State.ExtValBws:
      return ws ? State.ExtValBws : c === SEMI ? State.ExtNameStart : -1;
    case State.ExtQuoted:
      if (c === DQUOTE) return State.ExtValEnd;
      if (c === BACKSLASH) return State.ExtQuotedPair;
      return isQdtext(c) ? State.ExtQuoted : -1;
    case State.ExtQuotedPair:
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      return c === HTAB || (c >= 0x20 && c <= 0x7e) || c >= 0x80 ? State.ExtQuoted : -1;
    default:
      return -1;
  }
}

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
  /** Set when the framing is invalid; every later {@link push} then returns -1 at once. */
  error: string | null = null;
  /** Trailer fields as raw `name: value\r\n` lines (validated), empty when none. */
  trailers = "";
  /** Total body bytes decoded so far. */
  bodyBytes = 0;

  /**
   * Consumes bytes from `buf[start..]`, calling `onData` for body bytes.
   * Returns how many bytes were consumed (input after the end of the body is
   * left for the caller) or -1 on a framing error (see {@link error}). Once
   * {@link done}, it consumes nothing (returns 0); once failed, it returns -1.
   * Body bytes handed to `onData` before an error in the same call have been
   * delivered and stay delivered.
   */
  push(buf: Uint8Array, start: number, onData: (bytes: Uint8Array) => void): number {
    if (this.error !== null) return -1;
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
          } else if (c === CR) {
            this.#state = State.SizeLf;
            i++;
          } else if (c === SEMI || c === SP || c === HTAB) {
            this.#state = c === SEMI ? State.ExtNameStart : State.ExtBws;
            this.#extBytes = 1;
            i++;
          } else {
            return this.#fail("invalid chunk size");
          }
          break;
        }
        case State.ExtBws:
        case State.ExtNameStart:
        case State.ExtName:
        case State.ExtNameBws:
        case State.ExtValStart:
        case State.ExtValToken:
        case State.ExtQuoted:
        case State.ExtQuotedPair:
        case State.ExtValEnd:
        case State.ExtValBws: {
          const next = extStep(this.#state, buf[i]!);
          if (next === -1) return this.#fail("invalid chunk extension");
          if (next !== State.SizeLf && ++this.#extBytes > MAX_EXT_BYTES) {
            return this.#fail("chunk extension too long");
          }
          this.#state = next;
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
    this.#state = State.Done;
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
