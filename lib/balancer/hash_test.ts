import assert from "node:assert/strict";
import {
  hashKey,
  hashKeyAlt,
  mix32,
  mulberry32,
  murmur3,
  PRIMARY_SEED,
  SECONDARY_SEED,
} from "./hash.ts";
import { randomKeys } from "./testing.ts";

/** Straightforward murmur3 x86_32 over bytes, to check the streaming UTF-8 version. */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  let h = seed | 0;
  const blocks = bytes.length >> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const round = (k: number) => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, 0x1b873593);
  };
  for (let i = 0; i < blocks; i++) {
    h ^= round(view.getUint32(i * 4, true));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let i = bytes.length - 1; i >= blocks * 4; i--) tail = (tail << 8) | bytes[i]!;
  if (bytes.length & 3) h ^= round(tail);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

Deno.test("murmur3() matches the published MurmurHash3 x86_32 test vectors", () => {
  const vectors: [string, number, number][] = [
    ["", 0, 0],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    ["\0\0\0\0", 0, 0x2362f9de],
    ["aaaa", 0x9747b28c, 0x5a97808a],
    ["abc", 0, 0xb3dd93fa],
    ["hello", 0, 0x248bfa47],
    ["Hello, world!", 0x9747b28c, 0x24884cba],
    ["The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd],
  ];
  for (const [key, seed, expected] of vectors) {
    assert.equal(murmur3(key, seed), expected, `murmur3(${JSON.stringify(key)}, ${seed})`);
  }
});

Deno.test("murmur3() hashes the UTF-8 bytes of any string, lone surrogates as U+FFFD", () => {
  const encoder = new TextEncoder();
  const samples = [
    "é",
    "naïve café",
    "日本語のキー",
    "emoji 😀 and 🧪",
    "\ud800",
    "x\udc00y",
    "\ud83d",
    "😀\ud800",
    "\u007f\u0080\u07ff\u0800\uffff",
  ];
  const random = mulberry32(3);
  for (let i = 0; i < 500; i++) {
    const length = Math.floor(random() * 12);
    samples.push(
      String.fromCharCode(...Array.from({ length }, () => Math.floor(random() * 0x10000))),
    );
  }
  for (const key of samples) {
    for (const seed of [0, SECONDARY_SEED]) {
      assert.equal(murmur3(key, seed), referenceMurmur3(encoder.encode(key), seed));
    }
  }
});

Deno.test("murmur3() with a start offset hashes the rest of the string", () => {
  for (const key of ["::ffff:192.0.2.1", "prefix-key", "😀tail", "abc"]) {
    for (let from = 0; from <= key.length; from++) {
      assert.equal(murmur3(key, 7, from), murmur3(key.slice(from), 7));
    }
  }
});

Deno.test("murmur3() keeps giving the same values (stable across runtimes and releases)", () => {
  // Golden values: changing them remaps every CONSISTENT_HASH and IP_HASH key.
  assert.equal(hashKey("10.0.0.1:8080"), murmur3("10.0.0.1:8080", 0));
  assert.deepEqual(
    ["10.0.0.1:8080", "192.0.2.7", "user-42"].map((k) => [hashKey(k), hashKeyAlt(k)]),
    GOLDEN_HASHES,
  );
});

Deno.test("hashKey() and hashKeyAlt() use different seeds and look independent", () => {
  assert.notEqual(PRIMARY_SEED, SECONDARY_SEED);
  const keys = randomKeys(20_000, 11);
  for (let bit = 0; bit < 32; bit++) {
    let agree = 0;
    for (const key of keys) {
      agree += ((hashKey(key) ^ hashKeyAlt(key)) >>> bit) & 1 ? 0 : 1;
    }
    const rate = agree / keys.length;
    assert.ok(Math.abs(rate - 0.5) < 0.02, `bit ${bit} agrees ${rate}`);
  }
});

Deno.test("hashKey() spreads random and sequential keys evenly over buckets", () => {
  const buckets = 97;
  for (const keys of [randomKeys(100_000, 5), Array.from({ length: 100_000 }, (_, i) => `${i}`)]) {
    const counts = new Array<number>(buckets).fill(0);
    for (const key of keys) counts[hashKey(key) % buckets]!++;
    const expected = keys.length / buckets;
    const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 96 degrees of freedom: mean 96, standard deviation about 13.9.
    assert.ok(chiSquare < 96 + 6 * 13.9, `chi-square ${chiSquare}`);
  }
});

Deno.test("hashKey() avalanches: one flipped input bit flips about half the output bits", () => {
  const random = mulberry32(8);
  let flipped = 0;
  let trials = 0;
  for (let i = 0; i < 2000; i++) {
    const chars = Array.from({ length: 8 }, () => 32 + Math.floor(random() * 64));
    const position = Math.floor(random() * chars.length);
    const bit = Math.floor(random() * 5);
    const other = chars.slice();
    other[position] = chars[position]! ^ (1 << bit);
    const a = hashKey(String.fromCharCode(...chars));
    const b = hashKey(String.fromCharCode(...other));
    let diff = a ^ b;
    while (diff !== 0) {
      flipped += diff & 1;
      diff >>>= 1;
    }
    trials++;
  }
  const average = flipped / trials;
  assert.ok(Math.abs(average - 16) < 0.5, `average ${average} bits flipped`);
});

Deno.test("mix32() is a bijection on the inputs it sees and returns unsigned integers", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const h = mix32(i * 0x9e3779b9);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
    seen.add(h);
  }
  assert.equal(seen.size, 100_000);
  assert.equal(mix32(0), 0);
});

Deno.test("mulberry32() replays the same sequence for a seed and another for another seed", () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(Array.from({ length: 100 }, () => b()), xs);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c()), xs);
  assert.deepEqual(xs.slice(0, 3), GOLDEN_MULBERRY32_42);
});

Deno.test("mulberry32() returns uniform numbers in [0, 1)", () => {
  const random = mulberry32(2);
  const buckets = new Array<number>(10).fill(0);
  let sum = 0;
  for (let i = 0; i < 100_000; i++) {
    const x = random();
    assert.ok(x >= 0 && x < 1);
    sum += x;
    buckets[Math.floor(x * 10)]!++;
  }
  assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.005);
  const chiSquare = buckets.reduce((s, c) => s + (c - 10_000) ** 2 / 10_000, 0);
  assert.ok(chiSquare < 9 + 6 * 4.3, `chi-square ${chiSquare}`);
});

/** Computed once, identical under Deno 2.9 and Bun 1.4. */
const GOLDEN_HASHES = [
  [2741077564, 26990888],
  [588781858, 4263694014],
  [3111312080, 3325879883],
];
const GOLDEN_MULBERRY32_42 = [0.6011037519201636, 0.44829055899754167, 0.8524657934904099];
