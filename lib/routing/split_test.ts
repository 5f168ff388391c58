import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { compileSplit, type Split } from "./split.ts";

/** [what, split, r, expected group]. */
const PICKS: [string, Split, number, string][] = [
  ["one group always", [{ group: "a", weight: 1 }], 0.999, "a"],
  [
    "the first interval starts at 0",
    [{ group: "a", weight: 1 }, { group: "b", weight: 1 }],
    0,
    "a",
  ],
  ["just below a boundary", [{ group: "a", weight: 1 }, { group: "b", weight: 1 }], 0.4999, "a"],
  [
    "at a boundary: the next group",
    [{ group: "a", weight: 1 }, { group: "b", weight: 1 }],
    0.5,
    "b",
  ],
  [
    "the last interval ends below 1",
    [{ group: "a", weight: 1 }, { group: "b", weight: 3 }],
    0.9999,
    "b",
  ],
  [
    "a leading zero weight is skipped",
    [{ group: "z", weight: 0 }, { group: "a", weight: 1 }],
    0,
    "a",
  ],
  [
    "a middle zero weight is skipped at its boundary",
    [{ group: "a", weight: 1 }, { group: "z", weight: 0 }, { group: "b", weight: 1 }],
    0.5,
    "b",
  ],
  [
    "a trailing zero weight is never the fallback",
    [{ group: "a", weight: 1 }, { group: "z", weight: 0 }],
    0.99999,
    "a",
  ],
  [
    "r >= 1 gives the last live group",
    [{ group: "a", weight: 1 }, { group: "z", weight: 0 }],
    1,
    "a",
  ],
];

for (const [what, split, r, expected] of PICKS) {
  Deno.test(`compileSplit().pick(): ${what}`, () => {
    assert.equal(compileSplit(split).pick(r), expected);
  });
}

/** [split, expected share per group]. */
const PROPORTIONS: [Split, Record<string, number>][] = [
  [[{ group: "v1", weight: 95 }, { group: "v2", weight: 5 }], { v1: 0.95, v2: 0.05 }],
  [[{ group: "a", weight: 1 }, { group: "b", weight: 1 }, { group: "c", weight: 2 }], {
    a: 0.25,
    b: 0.25,
    c: 0.5,
  }],
  [[{ group: "on", weight: 10 }, { group: "off", weight: 0 }], { on: 1, off: 0 }],
  [[{ group: "a", weight: 9_999 }, { group: "b", weight: 1 }], { a: 0.9999, b: 0.0001 }],
];

for (const [split, shares] of PROPORTIONS) {
  Deno.test(`compileSplit() splits ${JSON.stringify(shares)} over an even sequence and a seeded one`, () => {
    const s = compileSplit(split);
    const n = 100_000;
    // an evenly spaced sequence hits each interval exactly in proportion
    const even: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const g = s.pick(i / n);
      even[g] = (even[g] ?? 0) + 1;
    }
    const random = mulberry32(7);
    const seeded: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const g = s.pick(random());
      seeded[g] = (seeded[g] ?? 0) + 1;
    }
    for (const [group, share] of Object.entries(shares)) {
      assert.equal(even[group] ?? 0, Math.round(share * n), `${group} (even)`);
      assert.ok(Math.abs((seeded[group] ?? 0) / n - share) < 0.01, `${group} (seeded)`);
    }
  });
}

Deno.test("compileSplit() lists the live groups and refuses a split of only zero weights", () => {
  const s = compileSplit([{ group: "a", weight: 0 }, { group: "b", weight: 2 }]);
  assert.deepEqual(s.groups, ["b"]);
  assert.throws(() => compileSplit([{ group: "a", weight: 0 }]), /more than 0/);
});
