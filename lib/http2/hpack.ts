/**
 * HPACK (RFC 7541): the header compression of HTTP/2, both directions.
 *
 * The decoder reads the header blocks clients send. It is the part an
 * attacker talks to, so every size is bounded: integers (at most 2^31 - 1,
 * in at most 5 continuation octets), the dynamic table (the size this side
 * advertised in SETTINGS_HEADER_TABLE_SIZE; a larger size update is a
 * COMPRESSION_ERROR), and the decoded header list (`maxHeaderListSize`,
 * counted as RFC 9113 §6.5.2 does: name + value + 32 per field). An "HPACK
 * bomb", a small block that references one large table entry many times,
 * therefore stops at the list limit: the rest of the block is still decoded
 * (the table must stay in step with the peer's), but no more fields are kept
 * and the caller answers 431.
 *
 * The encoder writes response header blocks. It never inserts into its
 * dynamic table, so it is correct under any table size the peer chooses and
 * never needs a size update: fields go out as static-table references or as
 * literals without indexing, each string Huffman-coded when that is shorter.
 *
 * Strings are octets; they become JavaScript strings one char per octet
 * (latin1), as the HTTP/1.1 side reads them, so a value is relayed upstream
 * byte for byte.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { huffmanDecode, huffmanEncode, huffmanLength } from "./huffman.ts";
import { STATIC_FIELD_INDEX, STATIC_NAME_INDEX, STATIC_TABLE } from "./hpack_static.ts";

/** RFC 7541 §4.1: each entry counts its name and value octets plus 32. */
export const ENTRY_OVERHEAD = 32;

/** Largest integer accepted in a header block (a length or an index). */
const MAX_INT = 2 ** 31 - 1;

/** A decoded header block. */
export interface HeaderBlock {
  /** Field names as sent (HTTP/2 requires lowercase; the caller checks). */
  readonly names: string[];
  readonly values: string[];
  /** Whether the decoded list passed `maxHeaderListSize` (fields past it were dropped). */
  readonly tooLarge: boolean;
}

/** A block that breaks HPACK: a connection error of type COMPRESSION_ERROR. */
export interface HpackError {
  readonly error: string;
}

/** A decoded entry of the dynamic table. */
interface Entry {
  readonly name: string;
  readonly value: string;
  readonly size: number;
}

/** Limits of a {@link HpackDecoder}. */
export interface HpackDecoderOptions {
  /** The SETTINGS_HEADER_TABLE_SIZE this side advertised (default 4096). */
  readonly maxTableSize?: number;
  /** Largest decoded header list kept, in RFC 9113 §6.5.2 octets (default 65536). */
  readonly maxHeaderListSize?: number;
}

/**
 * Decodes one connection's header blocks, in order (the dynamic table spans
 * blocks). One per connection and direction.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HpackDecoder } from "./hpack.ts";
 * // RFC 7541 C.3.1: GET http://www.example.com/ without Huffman
 * const block = Buffer.from("828684410f7777772e6578616d706c652e636f6d", "hex");
 * const d = new HpackDecoder();
 * const out = d.decode(block);
 * assert.ok(!("error" in out));
 * assert.deepEqual(out.names, [":method", ":scheme", ":path", ":authority"]);
 * assert.deepEqual(out.values, ["GET", "http", "/", "www.example.com"]);
 * assert.equal(d.tableSize, 57);
 * ```
 */
export class HpackDecoder {
  readonly #settingsMax: number;
  readonly #maxList: number;
  /** The table's current maximum (a size update may lower it below the settings'). */
  #max: number;
  /** Newest last; dynamic index 1 is the last element. */
  #entries: Entry[] = [];
  #size = 0;
  #scratch = new Uint8Array(256);

  constructor(options: HpackDecoderOptions = {}) {
    this.#settingsMax = options.maxTableSize ?? 4096;
    this.#max = this.#settingsMax;
    this.#maxList = options.maxHeaderListSize ?? 65_536;
  }

  /** The dynamic table's size in RFC octets (tests, metrics). */
  get tableSize(): number {
    return this.#size;
  }

  /** Decodes a complete header block (HEADERS plus its CONTINUATION fragments, joined). */
  decode(block: Uint8Array): HeaderBlock | HpackError {
    const names: string[] = [];
    const values: string[] = [];
    let listSize = 0;
    let tooLarge = false;
    let fieldSeen = false;
    let p = 0;
    const end = block.length;
    while (p < end) {
      const b = block[p]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // indexed field (§6.1)
        const r = readInt(block, p, 7);
        if (r < 0) return fail("bad integer");
        p = intEnd;
        const e = this.#at(r);
        if (e === null) return fail(`index ${r} out of range`);
        name = e[0];
        value = e[1];
      } else if ((b & 0xe0) === 0x20) {
        // dynamic table size update (§6.3): only before the block's first field
        if (fieldSeen) return fail("table size update after a field");
        const r = readInt(block, p, 5);
        if (r < 0) return fail("bad integer");
        p = intEnd;
        if (r > this.#settingsMax) {
          return fail(`table size update to ${r} over the advertised ${this.#settingsMax}`);
        }
        this.#max = r;
        this.#evict(0);
        continue;
      } else {
        // literal (§6.2): with incremental indexing (01), without (0000) or never indexed (0001)
        const indexing = (b & 0xc0) === 0x40;
        const prefix = indexing ? 6 : 4;
        const r = readInt(block, p, prefix);
        if (r < 0) return fail("bad integer");
        p = intEnd;
        if (r === 0) {
          const s = this.#string(block, p, end);
          if (s === null) return fail(stringError);
          name = s;
          p = intEnd;
        } else {
          const e = this.#at(r);
          if (e === null) return fail(`index ${r} out of range`);
          name = e[0];
        }
        const v = this.#string(block, p, end);
        if (v === null) return fail(stringError);
        value = v;
        p = intEnd;
        if (indexing) this.#insert(name, value);
      }
      fieldSeen = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.#maxList) tooLarge = true;
      if (!tooLarge) {
        names.push(name);
        values.push(value);
      }
    }
    return { names, values, tooLarge };
  }

  /** Entry `index` (1-based over static then dynamic), or null. */
  #at(index: number): readonly [string, string] | null {
    if (index === 0) return null;
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const d = index - STATIC_TABLE.length;
    const n = this.#entries.length;
    if (d > n) return null;
    const e = this.#entries[n - d]!;
    return [e.name, e.value];
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#max) {
      // §4.4: an entry larger than the table empties it and is not added
      this.#entries = [];
      this.#size = 0;
      return;
    }
    this.#evict(size);
    this.#entries.push({ name, value, size });
    this.#size += size;
  }

  /** Evicts oldest entries until `room` more octets fit under the maximum. */
  #evict(room: number): void {
    let drop = 0;
    while (this.#size + room > this.#max && drop < this.#entries.length) {
      this.#size -= this.#entries[drop]!.size;
      drop++;
    }
    if (drop > 0) this.#entries.splice(0, drop);
  }

  /** A string literal at `p` (sets `intEnd` past it), or null (sets `stringError`). */
  #string(block: Uint8Array, p: number, end: number): string | null {
    if (p >= end) {
      stringError = "truncated string";
      return null;
    }
    const huffman = (block[p]! & 0x80) !== 0;
    const len = readInt(block, p, 7);
    if (len < 0) {
      stringError = "bad integer";
      return null;
    }
    const start = intEnd;
    const stop = start + len;
    if (stop > end) {
      stringError = "string past the end of the block";
      return null;
    }
    intEnd = stop;
    if (!huffman) return latin1(block, start, stop);
    // the shortest code is 5 bits: at most 8/5 octets out per octet in
    const cap = Math.ceil(len * 8 / 5);
    if (this.#scratch.length < cap) this.#scratch = new Uint8Array(cap);
    const n = huffmanDecode(block, start, stop, this.#scratch.subarray(0, cap));
    if (typeof n === "string") {
      stringError = `Huffman string: ${n}`;
      return null;
    }
    return latin1(this.#scratch, 0, n);
  }
}

/** Where the last {@link readInt} or string read ended (a module scratch: no tuple per field). */
let intEnd = 0;
let stringError = "";

/**
 * Reads an HPACK integer with an `n`-bit prefix at `p` (§5.1); returns it and
 * sets `intEnd`, or -1 when it is truncated or over 2^31 - 1.
 */
function readInt(block: Uint8Array, p: number, n: number): number {
  const mask = (1 << n) - 1;
  let v = block[p]! & mask;
  p++;
  if (v < mask) {
    intEnd = p;
    return v;
  }
  let shift = 0;
  for (let k = 0; k < 5; k++) {
    if (p >= block.length) return -1;
    const b = block[p++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) {
      if (v > MAX_INT) return -1;
      intEnd = p;
      return v;
    }
  }
  return -1;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 16) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
}

function fail(error: string): HpackError {
  return { error };
}

/**
 * Encodes header blocks (responses to clients). Stateless between blocks: it
 * never uses the dynamic table (see the module's note).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HpackDecoder, HpackEncoder } from "./hpack.ts";
 * const block = new HpackEncoder().encode([":status", "content-type", "x-request-id"], ["200", "text/plain", "abc"]);
 * assert.equal(block[0], 0x88); // :status 200 is static entry 8
 * const back = new HpackDecoder().decode(block);
 * assert.ok(!("error" in back));
 * assert.deepEqual(back.values, ["200", "text/plain", "abc"]);
 * ```
 */
export class HpackEncoder {
  #buf = new Uint8Array(1024);
  #p = 0;

  /** One header block for `names` (lowercase) and their `values` (octets as latin1 chars). */
  encode(names: readonly string[], values: readonly string[]): Uint8Array {
    this.#p = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const value = values[i]!;
      const full = STATIC_FIELD_INDEX.get(`${name}\0${value}`);
      if (full !== undefined) {
        this.#int(full, 7, 0x80);
        continue;
      }
      const ref = STATIC_NAME_INDEX.get(name);
      if (ref !== undefined) {
        // literal without indexing, name by reference (0000 + 4-bit index)
        this.#int(ref, 4, 0x00);
      } else {
        this.#reserve(1);
        this.#buf[this.#p++] = 0x00;
        this.#string(name);
      }
      this.#string(value);
    }
    return this.#buf.slice(0, this.#p);
  }

  #reserve(n: number): void {
    if (this.#p + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#p + n));
    next.set(this.#buf.subarray(0, this.#p));
    this.#buf = next;
  }

  #int(v: number, n: number, flags: number): void {
    this.#reserve(6);
    const mask = (1 << n) - 1;
    if (v < mask) {
      this.#buf[this.#p++] = flags | v;
      return;
    }
    this.#buf[this.#p++] = flags | mask;
    v -= mask;
    while (v >= 128) {
      this.#buf[this.#p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#p++] = v;
  }

  #string(s: string): void {
    const bytes = Buffer.from(s, "latin1");
    const h = huffmanLength(bytes, 0, bytes.length);
    if (h < bytes.length) {
      this.#int(h, 7, 0x80);
      this.#reserve(h);
      this.#p = huffmanEncode(bytes, 0, bytes.length, this.#buf, this.#p);
    } else {
      this.#int(bytes.length, 7, 0x00);
      this.#reserve(bytes.length);
      this.#buf.set(bytes, this.#p);
      this.#p += bytes.length;
    }
  }
}
