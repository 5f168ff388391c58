/**
 * Hashing and seeded randomness for the balancers.
 *
 * Hash-based algorithms must agree across processes and runtimes (two proxies,
 * or a Deno proxy and a Bun proxy, must send a key to the same backend), so the
 * hash is MurmurHash3 x86_32 over the key's UTF-8 bytes, computed with 32-bit
 * integer arithmetic only (`Math.imul`, shifts): no engine-specific string
 * hashing, no floating point. The UTF-8 bytes are produced on the fly from the
 * UTF-16 code units, so hashing a key allocates nothing.
 *
 * @module
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Seed of {@linkcode hashKey}: lookup keys and Maglev offsets. */
export const PRIMARY_SEED = 0;
/** Seed of {@linkcode hashKeyAlt}: an independent second hash (Maglev skips). */
export const SECONDARY_SEED = 0x9747b28c;

/**
 * The MurmurHash3 finalizer ("fmix32"): a bijection on 32-bit integers with full
 * avalanche. Used to derive a fresh, well-mixed hash from a previous one (rehash
 * on an unusable backend) without rehashing the key.
 */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * MurmurHash3 x86_32 of the UTF-8 encoding of `key.slice(from)`, as an unsigned
 * 32-bit integer. Matches the reference implementation (and e.g. Python's
 * `mmh3.hash(key.encode(), seed, signed=False)`); lone surrogates hash as U+FFFD,
 * like `TextEncoder`. `from` lets a caller skip a prefix without slicing.
 *
 * @example
 * ```ts
 * import { murmur3 } from "./hash.ts";
 * murmur3("hello"); // 0x248bfa47
 * ```
 */
export function murmur3(key: string, seed = 0, from = 0): number {
  let h = seed | 0;
  let block = 0;
  let filled = 0;
  let length = 0;
  const end = key.length;
  for (let i = from; i < end; i++) {
    let code = key.charCodeAt(i);
    let bytes: number;
    let count: number;
    if (code < 0x80) {
      bytes = code;
      count = 1;
    } else if (code < 0x800) {
      bytes = (0xc0 | (code >>> 6)) | ((0x80 | (code & 0x3f)) << 8);
      count = 2;
    } else {
      const low = code <= 0xdbff && i + 1 < end ? key.charCodeAt(i + 1) : 0;
      if (code >= 0xd800 && low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
        bytes = (0xf0 | (code >>> 18)) | ((0x80 | ((code >>> 12) & 0x3f)) << 8) |
          ((0x80 | ((code >>> 6) & 0x3f)) << 16) | ((0x80 | (code & 0x3f)) << 24);
        count = 4;
      } else {
        if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
        bytes = (0xe0 | (code >>> 12)) | ((0x80 | ((code >>> 6) & 0x3f)) << 8) |
          ((0x80 | (code & 0x3f)) << 16);
        count = 3;
      }
    }
    length += count;
    for (let j = 0; j < count; j++) {
      block |= ((bytes >>> (j << 3)) & 0xff) << (filled << 3);
      if (++filled === 4) {
        h = mixBlock(h, block);
        block = 0;
        filled = 0;
      }
    }
  }
  if (filled > 0) {
    let k = Math.imul(block, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return mix32(h ^ length);
}

/**
 * The primary 32-bit hash of a key (murmur3, seed {@linkcode PRIMARY_SEED}):
 * what CONSISTENT_HASH and IP_HASH look keys up with.
 */
export function hashKey(key: string): number {
  return murmur3(key, PRIMARY_SEED);
}

/**
 * A second hash, independent of {@linkcode hashKey} (different seed): Maglev
 * needs two per backend, one for the permutation's offset and one for its skip.
 */
export function hashKeyAlt(key: string): number {
  return murmur3(key, SECONDARY_SEED);
}

/**
 * A small seeded PRNG (mulberry32) returning uniform numbers in [0, 1).
 *
 * Not cryptographic: it exists so tests, simulations and callers that want
 * reproducible picks can pass `random: mulberry32(seed)` to a selector. Same seed,
 * same sequence, in every runtime.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./hash.ts";
 * const random = mulberry32(42);
 * const x = random(); // the same number on every run, in [0, 1)
 * ```
 */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
