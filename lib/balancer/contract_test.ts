/**
 * The contract every algorithm honours, run against all seven: only usable,
 * accepted candidates, -1 exactly when none qualifies, indices in range, bounded
 * `accept` calls, determinism under a seeded `random`; and availability read at
 * pick time, so one selector follows health flips, ejections and panic mode
 * without being rebuilt.
 */
import assert from "node:assert/strict";
import { type Algorithm, ALGORITHMS } from "../config/schema.ts";
import { Availability, NEVER, STANDBY, UP } from "./availability.ts";
import { mulberry32 } from "./hash.ts";
import { createSelector } from "./mod.ts";
import { makeCandidates, maxShareError, measureShares } from "./testing.ts";
import type { Candidate, PickContext, Selector } from "./types.ts";

/** Per pick, `accept` is called at most this many times beyond the candidate count. */
const ACCEPT_CALLS_SLACK = 16;

const HASHED: ReadonlySet<Algorithm> = new Set(["CONSISTENT_HASH", "IP_HASH"]);

function build(algorithm: Algorithm, candidates: readonly Candidate[], seed = 1) {
  return createSelector(algorithm, candidates, { random: mulberry32(seed) });
}

/** A context for pick `i`: a key for the hash algorithms (an IP for IP_HASH). */
function keyed(algorithm: Algorithm, i: number, accept?: (index: number) => boolean): PickContext {
  const key = algorithm === "IP_HASH" ? `192.168.${(i >> 8) & 255}.${i & 255}` : `key-${i}`;
  return accept === undefined ? { key } : { key, accept };
}

/** Whether candidate `i` may be returned: eligible and accepted. */
function qualifies(c: Candidate, i: number, accept?: (index: number) => boolean): boolean {
  return c.usable && c.weight > 0 && Number.isFinite(c.weight) && (accept?.(i) ?? true);
}

for (const algorithm of ALGORITHMS) {
  Deno.test(`${algorithm}: builds a selector that reports its algorithm`, () => {
    assert.equal(build(algorithm, makeCandidates([1, 2])).algorithm, algorithm);
  });

  Deno.test(`${algorithm}: returns -1 for an empty candidate list`, () => {
    const selector = build(algorithm, []);
    assert.equal(selector.pick(), -1);
    assert.equal(selector.pick(keyed(algorithm, 1)), -1);
    assert.equal(selector.pick({ accept: () => true }), -1);
  });

  Deno.test(`${algorithm}: returns the single candidate, or -1 when it does not qualify`, () => {
    const one = build(algorithm, makeCandidates([3]));
    for (let i = 0; i < 20; i++) {
      assert.equal(one.pick(), 0);
      assert.equal(one.pick(keyed(algorithm, i)), 0);
      assert.equal(one.pick(keyed(algorithm, i, () => false)), -1);
      assert.equal(one.pick({ accept: () => false }), -1);
    }
    const down = build(algorithm, makeCandidates([{ usable: false }]));
    assert.equal(down.pick(), -1);
    assert.equal(down.pick(keyed(algorithm, 1)), -1);
  });

  Deno.test(`${algorithm}: returns -1 when every candidate is unusable`, () => {
    const selector = build(algorithm, makeCandidates([1, 2, 3].map(() => ({ usable: false }))));
    for (let i = 0; i < 50; i++) {
      assert.equal(selector.pick(), -1);
      assert.equal(selector.pick(keyed(algorithm, i)), -1);
    }
  });

  Deno.test(`${algorithm}: skips unusable candidates and never asks accept about them`, () => {
    const candidates = makeCandidates([
      { weight: 5, usable: false },
      { weight: 1 },
      { weight: 3, usable: false },
      { weight: 2 },
      { weight: 4, usable: false },
    ]);
    const selector = build(algorithm, candidates);
    const seen = new Set<number>();
    const accept = (index: number) => {
      assert.ok(candidates[index]!.usable, `accept() was asked about unusable ${index}`);
      return true;
    };
    for (let i = 0; i < 2000; i++) {
      for (
        const context of [undefined, { accept }, keyed(algorithm, i), keyed(algorithm, i, accept)]
      ) {
        const index = selector.pick(context);
        assert.ok(index === 1 || index === 3, `picked ${index}`);
        seen.add(index);
      }
    }
    assert.deepEqual([...seen].sort(), [1, 3]);
  });

  Deno.test(`${algorithm}: respects accept and only asks about indices in range`, () => {
    const candidates = makeCandidates([1, 2, 3, 4, 5, 6]);
    const selector = build(algorithm, candidates);
    const accept = (index: number) => {
      assert.ok(Number.isInteger(index) && index >= 0 && index < candidates.length);
      return index % 2 === 1;
    };
    for (let i = 0; i < 3000; i++) {
      const plain = selector.pick({ accept });
      assert.ok(plain === 1 || plain === 3 || plain === 5, `picked ${plain}`);
      const hashed = selector.pick(keyed(algorithm, i, accept));
      assert.ok(hashed === 1 || hashed === 3 || hashed === 5, `picked ${hashed}`);
    }
  });

  Deno.test(`${algorithm}: picks a qualifying index, or -1 exactly when none qualifies`, () => {
    const random = mulberry32(2024);
    const weights = [0.25, 0.5, 1, 1, 2, 3, 7, 100, 0, -1, NaN, Infinity];
    for (let trial = 0; trial < 300; trial++) {
      const n = Math.floor(random() * 13);
      const candidates = makeCandidates(
        Array.from({ length: n }, () => ({
          weight: weights[Math.floor(random() * weights.length)]!,
          usable: random() < 0.7,
          inflight: Math.floor(random() * 4),
        })),
      );
      const selector = build(algorithm, candidates, trial);
      for (let i = 0; i < 40; i++) {
        const allowed = Array.from({ length: n }, () => random() < 0.6);
        const accept = random() < 0.5 ? undefined : (index: number) => allowed[index]!;
        const context = random() < 0.5
          ? (accept ? { accept } : undefined)
          : keyed(algorithm, i, accept);
        const index = selector.pick(context);
        const any = candidates.some((c, j) => qualifies(c, j, accept));
        if (index === -1) {
          assert.ok(!any, `trial ${trial}: -1 although a candidate qualifies`);
        } else {
          assert.ok(Number.isInteger(index) && index >= 0 && index < n, `index ${index} of ${n}`);
          assert.ok(qualifies(candidates[index]!, index, accept), `picked non-qualifying ${index}`);
        }
      }
    }
  });

  Deno.test(`${algorithm}: calls accept at most candidates + ${ACCEPT_CALLS_SLACK} times per pick`, () => {
    const random = mulberry32(99);
    const sizes = [1, 2, 3, 10, 64, 200];
    const badRandoms: (() => number)[] = [
      () => 0,
      () => 0.9999999999999999,
      () => 1,
      () => NaN,
      () => -0.5,
      mulberry32(5),
    ];
    for (const n of sizes) {
      const candidates = makeCandidates(
        Array.from({ length: n }, (_, i) => ({ weight: (i % 5) + 0.25, usable: i % 3 !== 1 })),
      );
      for (const source of badRandoms) {
        const selector = createSelector(algorithm, candidates, { random: source });
        const policies: ((index: number) => boolean)[] = [
          () => false,
          (index) => index === n - 1,
          (index) => index === 0,
          () => random() < 0.1,
          () => true,
        ];
        for (const policy of policies) {
          for (let i = 0; i < 30; i++) {
            let calls = 0;
            const accept = (index: number) => {
              calls++;
              return policy(index);
            };
            const index = selector.pick(i % 2 === 0 ? { accept } : keyed(algorithm, i, accept));
            assert.ok(index >= -1 && index < n);
            assert.ok(
              calls <= n + ACCEPT_CALLS_SLACK,
              `${calls} accept() calls for ${n} candidates`,
            );
          }
        }
      }
    }
  });

  Deno.test(`${algorithm}: is deterministic given the same seeded random`, () => {
    const run = () => {
      const candidates = makeCandidates([3, 1, { weight: 2, usable: false }, 0.25, 4, 1]);
      const selector = build(algorithm, candidates, 77);
      const picks: number[] = [];
      for (let i = 0; i < 500; i++) {
        const context = i % 3 === 0 ? keyed(algorithm, i % 50) : i % 3 === 1 ? undefined : {
          accept: (index: number) => index !== i % 6,
        };
        const index = selector.pick(context);
        picks.push(index);
        if (index >= 0) candidates[index]!.counters.inflight++;
        if (i % 4 === 0) candidates[i % 6]!.counters.inflight = 0;
      }
      return picks;
    };
    assert.deepEqual(run(), run());
  });

  Deno.test(`${algorithm}: never picks zero, negative, NaN or infinite weights`, () => {
    const candidates = makeCandidates([0, -2, NaN, Infinity, 1, 0.25]);
    const selector = build(algorithm, candidates);
    for (let i = 0; i < 2000; i++) {
      const a = selector.pick();
      const b = selector.pick(keyed(algorithm, i));
      assert.ok(a === 4 || a === 5, `picked ${a}`);
      assert.ok(b === 4 || b === 5, `picked ${b}`);
    }
  });

  Deno.test(`${algorithm}: reaches every candidate when weights are fractional`, () => {
    const candidates = makeCandidates([0.25, 0.5, 1.75, 0.125]);
    const selector = build(algorithm, candidates);
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      seen.add(selector.pick(HASHED.has(algorithm) ? keyed(algorithm, i) : undefined));
    }
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
  });
}

// ------------------------------------------------ live availability (no rebuilds)

/** A selector over `candidates` reading a live availability, every candidate up. */
function buildLive(algorithm: Algorithm, candidates: readonly Candidate[], seed = 1) {
  const availability = Availability.of(candidates);
  const selector = createSelector(algorithm, candidates, {
    random: mulberry32(seed),
    availability,
  });
  return { selector, availability };
}

/** Picks `n` times (keyed for the hash algorithms) and returns the set of indices picked. */
function pickedSet(algorithm: Algorithm, selector: Selector, n: number, accept?: Accept) {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    seen.add(selector.pick(HASHED.has(algorithm) ? keyed(algorithm, i, accept) : { accept }));
    seen.add(selector.pick(accept === undefined ? undefined : { accept }));
  }
  return [...seen].sort((a, b) => a - b);
}

type Accept = ((index: number) => boolean) | undefined;

for (const algorithm of ALGORITHMS) {
  Deno.test(`${algorithm}: follows availability flips at pick time, with the same selector`, () => {
    const candidates = makeCandidates([5, 1, 3, 2, 4]);
    const { selector, availability } = buildLive(algorithm, candidates);
    assert.deepEqual(pickedSet(algorithm, selector, 3000), [0, 1, 2, 3, 4], "positive control");
    availability.set(0, STANDBY);
    availability.set(2, STANDBY);
    const accept = (index: number) => {
      assert.ok(availability.isAvailable(index), `accept() was asked about unavailable ${index}`);
      return true;
    };
    assert.deepEqual(pickedSet(algorithm, selector, 3000, accept), [1, 3, 4]);
    assert.deepEqual(pickedSet(algorithm, selector, 3000), [1, 3, 4]);
    availability.set(2, UP); // back: reached again without a rebuild
    assert.deepEqual(pickedSet(algorithm, selector, 3000), [1, 2, 3, 4]);
    for (let i = 0; i < 5; i++) availability.set(i, STANDBY);
    assert.deepEqual(pickedSet(algorithm, selector, 200), [-1], "nothing available");
    availability.floor = STANDBY; // panic mode: standby backends serve
    availability.set(4, NEVER); // draining: not even in panic mode
    assert.deepEqual(pickedSet(algorithm, selector, 3000), [0, 1, 2, 3]);
    availability.floor = UP;
    availability.set(3, UP);
    assert.deepEqual(pickedSet(algorithm, selector, 500), [3]);
  });

  Deno.test(`${algorithm}: picks a qualifying index, or -1 exactly when none qualifies, as availability changes`, () => {
    const random = mulberry32(4242);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(random() * 12);
      const candidates = makeCandidates(
        Array.from({ length: n }, () => ({
          weight: [0.5, 1, 2, 5][Math.floor(random() * 4)]!,
          inflight: Math.floor(random() * 4),
        })),
      );
      const { selector, availability } = buildLive(algorithm, candidates, trial);
      for (let i = 0; i < 60; i++) {
        if (random() < 0.3) {
          availability.set(
            Math.floor(random() * n),
            [NEVER, STANDBY, UP][Math.floor(random() * 3)] as 0 | 1 | 2,
          );
        }
        if (random() < 0.1) availability.floor = availability.floor === UP ? STANDBY : UP;
        const allowed = Array.from({ length: n }, () => random() < 0.6);
        const accept = random() < 0.5 ? undefined : (index: number) => allowed[index]!;
        const context = random() < 0.5
          ? (accept ? { accept } : undefined)
          : keyed(algorithm, i, accept);
        const index = selector.pick(context);
        const ok = (j: number) => availability.isAvailable(j) && (accept?.(j) ?? true);
        const any = candidates.some((_, j) => ok(j));
        if (index === -1) assert.ok(!any, `trial ${trial}: -1 although a candidate qualifies`);
        else assert.ok(index < n && ok(index), `trial ${trial}: picked non-qualifying ${index}`);
      }
    }
  });

  Deno.test(`${algorithm}: rejects an availability that does not cover the candidates`, () => {
    assert.throws(
      () =>
        createSelector(algorithm, makeCandidates([1, 1]), {
          random: mulberry32(1),
          availability: new Availability(3),
        }),
      RangeError,
    );
  });
}

/** Expected shares of the weighted algorithms among the available candidates. */
const WEIGHTED_SHARES: readonly Algorithm[] = [
  "WEIGHTED_ROUND_ROBIN",
  "LEAST_CONNECTIONS",
  "POWER_OF_TWO_CHOICES",
  "RANDOM",
];

for (const algorithm of [...WEIGHTED_SHARES, "ROUND_ROBIN" as const]) {
  Deno.test(`${algorithm}: after a flip, shares follow the weights of the available backends`, () => {
    const weights = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const candidates = makeCandidates(weights);
    const { selector, availability } = buildLive(algorithm, candidates, 5);
    // most of the weight goes down: rejection sampling alone would skew the rest
    for (let i = 1; i < 9; i++) availability.set(i, STANDBY);
    const shares = measureShares(selector, weights.length, 60_000);
    const expected = algorithm === "ROUND_ROBIN"
      ? weights.map((_, i) => (i === 0 || i === 9 ? 0.5 : 0))
      : weights.map((w, i) => (i === 0 || i === 9 ? w / 11 : 0));
    assert.ok(maxShareError(shares, expected) < 0.01, `shares ${shares}`);
  });
}

for (const algorithm of HASHED) {
  Deno.test(`${algorithm}: a backend going down moves only its own keys, and they come back`, () => {
    const candidates = makeCandidates([1, 2, 1, 3, 1]);
    const { selector, availability } = buildLive(algorithm, candidates, 3);
    const keys = Array.from({ length: 5000 }, (_, i) => keyed(algorithm, i));
    const before = keys.map((k) => selector.pick(k));
    assert.ok(before.filter((b) => b === 3).length > 500, "positive control: 3 owns keys");
    availability.set(3, STANDBY); // unhealthy or ejected
    const during = keys.map((k) => selector.pick(k));
    const movedTo = new Set<number>();
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== 3) {
        assert.equal(during[i], before[i], `key ${i} of a surviving backend moved`);
      } else movedTo.add(during[i]!);
    }
    assert.ok(!movedTo.has(3) && !movedTo.has(-1));
    assert.ok(movedTo.size >= 2, `the down backend's keys spread: ${[...movedTo]}`);
    // the same as a selector built from scratch with the backend unusable
    const fresh = createSelector(
      algorithm,
      candidates.map((c, i) => (i === 3 ? { ...c, usable: false } : c)),
      { random: mulberry32(3) },
    );
    assert.deepEqual(keys.map((k) => fresh.pick(k)), during);
    availability.set(3, UP);
    assert.deepEqual(keys.map((k) => selector.pick(k)), before, "recovery restores every key");
  });
}
