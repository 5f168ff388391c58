import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { mirrorThis } from "./mirror.ts";

/** [percent, r, expected]. */
const CASES: [number, number, boolean][] = [
  [0, 0, false],
  [0, 0.5, false],
  [100, 0, true],
  [100, 0.999999, true],
  [50, 0.49, true],
  [50, 0.5, false],
  [0.5, 0.004, true],
  [0.5, 0.005, false],
  [10, 0.0999, true],
  [10, 0.1, false],
];

for (const [percent, r, expected] of CASES) {
  Deno.test(`mirrorThis(${percent}, ${r}) is ${expected}`, () => {
    assert.equal(mirrorThis(percent, r), expected);
  });
}

Deno.test("mirrorThis() mirrors about percent% of a seeded sequence", () => {
  for (const percent of [1, 10, 33, 90]) {
    const random = mulberry32(percent);
    let n = 0;
    for (let i = 0; i < 100_000; i++) if (mirrorThis(percent, random())) n++;
    assert.ok(Math.abs(n / 1000 - percent) < 1, `${percent}%: ${n / 1000}%`);
  }
});
