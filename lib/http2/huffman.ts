/**
 * The static Huffman code of HPACK string literals (RFC 7541 §5.2,
 * Appendix B).
 *
 * The code is canonical: ordering the 257 symbols (the 256 octets and EOS) by
 * code length, then by symbol, and counting upwards gives every code. So the
 * table below holds only the code lengths, transcribed from Appendix B, and
 * the codes, the encoder's table and the decoder's per-length limits are
 * derived from it once at load. A mis-transcribed length breaks the
 * canonical property (checked at load: the last code must be all ones) or the
 * RFC's Appendix C vectors (checked in the tests).
 *
 * Decoding is the canonical walk: bits accumulate until the value falls below
 * the first code of the next length. It runs on header names and values of
 * requests, so it also enforces the RFC's two rules on the padding (at most
 * 7 bits, all ones) and refuses EOS inside a string.
 *
 * @module
 */

/** Code length in bits of each symbol, 0-255 then EOS (256): RFC 7541 Appendix B. */
const LENGTHS: readonly number[] = [
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28, // 0-15
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28, // 16-31
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6, // ' ' to '/'
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10, // '0' to '?'
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7, // '@' to 'O'
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6, // 'P' to '_'
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5, // '`' to 'o'
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28, // 'p' to 127
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23, // 128-143
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24, // 144-159
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23, // 160-175
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23, // 176-191
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25, // 192-207
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27, // 208-223
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23, // 224-239
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26, // 240-255
  30, // EOS
];

const EOS = 256;
const MAX_BITS = 30;

/** Each symbol's code, right-aligned in `LENGTHS[s]` bits. */
const CODES = new Uint32Array(257);
/** Per length L: the first (smallest) code of that length, and its index in {@link SORTED}. */
const FIRST_CODE = new Uint32Array(MAX_BITS + 2);
const FIRST_INDEX = new Uint16Array(MAX_BITS + 2);
/** How many codes have each length. */
const COUNT = new Uint16Array(MAX_BITS + 2);
/** Symbols ordered by (length, symbol): the canonical order. */
const SORTED = new Uint16Array(257);

{
  const order = Array.from({ length: 257 }, (_, s) => s).sort((a, b) =>
    LENGTHS[a]! - LENGTHS[b]! || a - b
  );
  let code = 0;
  let prev = LENGTHS[order[0]!]!;
  order.forEach((s, k) => {
    const len = LENGTHS[s]!;
    if (k > 0) code = (code + 1) * 2 ** (len - prev);
    prev = len;
    CODES[s] = code;
    SORTED[k] = s;
    if (COUNT[len] === 0) {
      FIRST_CODE[len] = code;
      FIRST_INDEX[len] = k;
    }
    COUNT[len]!++;
  });
  // a complete canonical code ends with the all-ones code of the longest length (EOS)
  if (CODES[EOS] !== 2 ** MAX_BITS - 1 || LENGTHS.length !== 257) {
    throw new Error("HPACK Huffman table: code lengths are not Appendix B's");
  }
}

/**
 * The length in octets of `bytes[start, end)` Huffman-coded (padding
 * included), so an encoder can choose the shorter form before writing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { huffmanLength } from "./huffman.ts";
 * const bytes = new TextEncoder().encode("www.example.com");
 * assert.equal(huffmanLength(bytes, 0, bytes.length), 12); // RFC 7541 C.4.1
 * ```
 */
export function huffmanLength(bytes: Uint8Array, start: number, end: number): number {
  let bits = 0;
  for (let i = start; i < end; i++) bits += LENGTHS[bytes[i]!]!;
  return (bits + 7) >>> 3;
}

/**
 * Writes `bytes[start, end)` Huffman-coded into `out` at `at`, padded with
 * ones to an octet boundary; returns the position after it. `out` must have
 * {@link huffmanLength} octets free.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { huffmanEncode, huffmanLength } from "./huffman.ts";
 * const bytes = new TextEncoder().encode("no-cache");
 * const out = new Uint8Array(huffmanLength(bytes, 0, bytes.length));
 * huffmanEncode(bytes, 0, bytes.length, out, 0);
 * assert.equal(Buffer.from(out).toString("hex"), "a8eb10649cbf"); // RFC 7541 C.4.2
 * ```
 */
export function huffmanEncode(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
): number {
  // up to 30 bits of code plus 7 pending bits: kept in a float-safe integer (< 2^53)
  let acc = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const s = bytes[i]!;
    const len = LENGTHS[s]!;
    acc = acc * 2 ** len + CODES[s]!;
    n += len;
    while (n >= 8) {
      n -= 8;
      const byte = Math.floor(acc / 2 ** n);
      out[at++] = byte;
      acc -= byte * 2 ** n;
    }
  }
  if (n > 0) out[at++] = (acc << (8 - n)) | (0xff >>> n);
  return at;
}

/** Why a Huffman-coded string is refused (a COMPRESSION_ERROR for the connection). */
export type HuffmanError = "eos" | "padding" | "too long";

/**
 * Decodes `bytes[start, end)` into `out` from position 0; returns the decoded
 * length, or the reason the input is invalid: EOS inside the string, padding
 * longer than 7 bits or not all ones (RFC 7541 §5.2), or more than `out`
 * holds (the caller's size limit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { huffmanDecode } from "./huffman.ts";
 * const coded = Uint8Array.from(Buffer.from("f1e3c2e5f23a6ba0ab90f4ff", "hex"));
 * const out = new Uint8Array(64);
 * const n = huffmanDecode(coded, 0, coded.length, out);
 * assert.equal(new TextDecoder().decode(out.subarray(0, n as number)), "www.example.com");
 * assert.equal(huffmanDecode(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4, out), "eos");
 * ```
 */
export function huffmanDecode(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): number | HuffmanError {
  let o = 0;
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >>> bit) & 1);
      len++;
      const count = COUNT[len]!;
      if (count === 0) continue;
      const offset = code - FIRST_CODE[len]!;
      if (offset >= count) continue;
      const s = SORTED[FIRST_INDEX[len]! + offset]!;
      if (s === EOS) return "eos";
      if (o >= out.length) return "too long";
      out[o++] = s;
      code = 0;
      len = 0;
    }
  }
  // what is left must be a prefix of EOS: at most 7 bits, all ones
  if (len > 7 || code !== 2 ** len - 1) return "padding";
  return o;
}
