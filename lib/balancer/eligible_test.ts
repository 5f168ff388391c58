import assert from "node:assert/strict";
import { Availability, STANDBY, UP } from "./availability.ts";
import {
  canonicalOrder,
  firstUsableFrom,
  hasValidWeight,
  isEligible,
  scaledIndex,
  weightedIndices,
} from "./eligible.ts";
import { makeCandidates } from "./testing.ts";

Deno.test("isEligible() wants a usable candidate with a positive finite weight", () => {
  const [ok, fraction, down, zero, negative, nan, infinite] = makeCandidates([
    1,
    0.25,
    { usable: false },
    0,
    -1,
    NaN,
    Infinity,
  ]);
  assert.equal(isEligible(ok!), true);
  assert.equal(isEligible(fraction!), true);
  assert.equal(isEligible(down!), false);
  assert.equal(hasValidWeight(down!), true);
  for (const c of [zero!, negative!, nan!, infinite!]) {
    assert.equal(isEligible(c), false);
    assert.equal(hasValidWeight(c), false);
  }
});

Deno.test("weightedIndices() and Availability.of() agree on who counts", () => {
  const candidates = makeCandidates([1, { usable: false }, 0, 2, { weight: 3, usable: false }]);
  assert.deepEqual(Array.from(weightedIndices(candidates)), [0, 1, 3, 4]);
  assert.deepEqual(Array.from(Availability.of(candidates).levels), [UP, 0, 0, UP, 0]);
  assert.equal(weightedIndices([]).length, 0);
});

Deno.test("scaledIndex() maps [0, 1) onto [0, n) and clamps anything else", () => {
  assert.equal(scaledIndex(0, 5), 0);
  assert.equal(scaledIndex(0.999, 5), 4);
  assert.equal(scaledIndex(0.5, 5), 2);
  assert.equal(scaledIndex(1, 5), 4);
  assert.equal(scaledIndex(7, 5), 4);
  assert.equal(scaledIndex(-0.1, 5), 0);
  assert.equal(scaledIndex(NaN, 5), 0);
});

Deno.test("canonicalOrder() ranks by address, then by list index", () => {
  const candidates = makeCandidates([
    { address: "b:1" },
    { address: "a:1" },
    { address: "c:1" },
    { address: "a:1" },
  ]);
  assert.deepEqual(Array.from(canonicalOrder(candidates, Int32Array.of(0, 1, 2, 3))), [1, 3, 0, 2]);
  assert.deepEqual(Array.from(canonicalOrder(candidates, Int32Array.of(2, 0))), [0, 2]);
});

/** An availability with the given levels. */
function levels(...values: number[]): Availability {
  const a = new Availability(values.length);
  a.levels.set(values);
  return a;
}

Deno.test("firstUsableFrom() scans every candidate once from the start, wrapping around", () => {
  const flags = levels(UP, 0, UP, UP);
  assert.equal(firstUsableFrom(flags, 1, undefined), 2);
  assert.equal(firstUsableFrom(flags, 3, (i) => i !== 3), 0);
  const asked: number[] = [];
  assert.equal(firstUsableFrom(flags, 2, (i) => (asked.push(i), false)), -1);
  assert.deepEqual(asked, [2, 3, 0]);
  assert.equal(firstUsableFrom(new Availability(0), 0, undefined), -1);
});

Deno.test("firstUsableFrom() takes standby candidates only while the floor is lowered", () => {
  const a = levels(0, STANDBY, UP);
  assert.equal(firstUsableFrom(a, 0, undefined), 2);
  a.floor = STANDBY;
  assert.equal(firstUsableFrom(a, 0, undefined), 1, "panic mode: standby serves");
  a.set(2, STANDBY);
  a.set(1, 0);
  assert.equal(firstUsableFrom(a, 0, undefined), 2, "never-level candidates stay out");
});
