import assert from "node:assert/strict";
import {
  buildMaglevTable,
  DEFAULT_MAGLEV_TABLE_SIZE,
  isPrime,
  type MaglevMember,
  maglevTableSize,
  nextPrime,
} from "./maglev.ts";

function members(weights: readonly number[]): MaglevMember[] {
  return weights.map((weight, i) => ({ name: `10.0.0.${i + 1}:8080`, weight, value: i }));
}

function slotCounts(table: ArrayLike<number>, count: number): number[] {
  const counts = new Array<number>(count).fill(0);
  for (let i = 0; i < table.length; i++) counts[table[i]!]!++;
  return counts;
}

Deno.test("isPrime() and nextPrime() find the primes table sizes need", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9, 97, 65_537].map(isPrime), [
    false,
    false,
    true,
    true,
    false,
    false,
    true,
    true,
  ]);
  assert.equal(isPrime(2.5), false);
  assert.equal(nextPrime(65_537), 65_537);
  assert.equal(nextPrime(65_538), 65_539);
  assert.equal(nextPrime(100_000), 100_003);
  assert.equal(nextPrime(0), 2);
});

Deno.test("maglevTableSize() is prime, 65537 by default and at least 100 slots per member", () => {
  assert.equal(DEFAULT_MAGLEV_TABLE_SIZE, 65_537);
  assert.equal(maglevTableSize(3), 65_537);
  assert.equal(maglevTableSize(1000), 100_003);
  assert.equal(maglevTableSize(3, 1000), 1009);
  assert.equal(maglevTableSize(3, 1), 307);
  assert.equal(maglevTableSize(0, 1), 2);
  for (const bad of [0, -5, 1.5, NaN, 1e9]) {
    assert.throws(() => maglevTableSize(3, bad), RangeError);
  }
});

Deno.test("buildMaglevTable() fills every slot with a member", () => {
  for (const weights of [[1], [1, 1, 1], [5, 1, 1], [0.25, 0.5, 10_000]]) {
    const table = buildMaglevTable(members(weights), 1009);
    assert.equal(table.length, 1009);
    for (const value of table) assert.ok(value < weights.length, `slot holds ${value}`);
  }
  assert.ok(buildMaglevTable([], 7).every((v) => v === 0xffff));
});

Deno.test("buildMaglevTable() gives members slots in proportion to their weights", () => {
  for (const weights of [[1, 1, 1, 1, 1], [5, 1, 1], [1, 2, 3, 4], [0.25, 1, 0.5]]) {
    const size = 65_537;
    const counts = slotCounts(buildMaglevTable(members(weights), size), weights.length);
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => {
      const expected = (w / total) * size;
      assert.ok(Math.abs(counts[i]! - expected) <= 2, `member ${i}: ${counts[i]} vs ${expected}`);
    });
  }
});

Deno.test("buildMaglevTable() gives the same table for the same members", () => {
  const a = buildMaglevTable(members([1, 2, 3]), 10_007);
  const b = buildMaglevTable(members([1, 2, 3]), 10_007);
  assert.deepEqual(a, b);
});

Deno.test("buildMaglevTable() keeps the other members' slots when one leaves", () => {
  const all = members([1, 1, 1, 1, 1, 1, 1, 1]);
  const before = buildMaglevTable(all, 65_537);
  const after = buildMaglevTable(all.filter((m) => m.value !== 3), 65_537);
  let kept = 0;
  let others = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i] === 3) continue;
    others++;
    if (after[i] === before[i]) kept++;
  }
  assert.ok(kept / others > 0.99, `kept ${kept} of ${others}`);
});

Deno.test("buildMaglevTable() uses 32-bit slots when values do not fit in 16 bits", () => {
  const table = buildMaglevTable([{ name: "a", weight: 1, value: 70_000 }], 11);
  assert.ok(table instanceof Uint32Array);
  assert.ok(table.every((v) => v === 70_000));
});
