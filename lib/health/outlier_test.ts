import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import {
  ejectionCapacity,
  FRESH_OUTLIER,
  isEjected,
  isFailureStatus,
  mayEject,
  minAvailable,
  type OutlierSettings,
  type OutlierState,
  recordOutcome,
} from "./outlier.ts";

const S: OutlierSettings = {
  enabled: true,
  consecutiveFailures: 3,
  count5xx: true,
  baseEjectionMs: 1000,
  maxEjectionMs: 5000,
  maxEjectionPercent: 50,
};

/** Folds outcomes (true = failure) at `now`, always allowed to eject; returns the last result. */
function fold(state: OutlierState, outcomes: readonly boolean[], now: number, s = S) {
  let r = { state, ejected: false };
  for (const f of outcomes) r = recordOutcome(r.state, f, now, s, true);
  return r;
}

// ------------------------------------------------------------ isEjected

Deno.test("isEjected() is true strictly before ejectedUntil", () => {
  const st = { ...FRESH_OUTLIER, ejectedUntil: 2000 };
  assert.equal(isEjected(st, 1999), true);
  assert.equal(isEjected(st, 2000), false);
  assert.equal(isEjected(st, 2001), false);
  assert.equal(isEjected(FRESH_OUTLIER, 0), false);
});

// ------------------------------------------------------------ the floor

Deno.test("ejectionCapacity() follows the percentage, keeps one backend, and 100% lifts the floor", () => {
  const table: [number, number, number][] = [
    // total, percent, capacity
    [0, 50, 0],
    [1, 50, 0],
    [2, 50, 1],
    [3, 50, 1],
    [4, 50, 2],
    [10, 10, 1],
    [10, 0, 0],
    [10, 99, 9],
    [2, 99, 1],
    [1, 99, 0],
    [3, 100, 3],
    [1, 100, 1],
    [0, 100, 0],
  ];
  for (const [total, pct, cap] of table) {
    assert.equal(ejectionCapacity(total, pct), cap, `${total} backends at ${pct}%`);
    assert.equal(minAvailable(total, pct), total - cap, `${total} backends at ${pct}%`);
  }
});

Deno.test("minAvailable() is at least one unless the percentage is 100", () => {
  for (let total = 1; total <= 50; total++) {
    for (let pct = 0; pct < 100; pct++) assert.ok(minAvailable(total, pct) >= 1);
    assert.equal(minAvailable(total, 100), 0);
  }
});

Deno.test("mayEject() keeps the group at or above its floor", () => {
  // 3 backends at 50%: two must stay available
  assert.equal(mayEject(3, 3, true, 50), true);
  assert.equal(mayEject(3, 2, true, 50), false);
  // a backend already out of rotation (unhealthy) costs nothing to eject
  assert.equal(mayEject(3, 2, false, 50), true);
  assert.equal(mayEject(3, 1, false, 50), false);
  // a single backend is never ejected below 100%
  assert.equal(mayEject(1, 1, true, 50), false);
  assert.equal(mayEject(1, 1, true, 99), false);
  assert.equal(mayEject(1, 1, true, 100), true);
  // 0% never ejects an available backend
  assert.equal(mayEject(10, 10, true, 0), false);
  // 10 backends at 30%: up to three may go
  assert.equal(mayEject(10, 8, true, 30), true);
  assert.equal(mayEject(10, 7, true, 30), false);
});

Deno.test("mayEject() never lets the available count fall below minAvailable (exhaustive small groups)", () => {
  for (let total = 0; total <= 12; total++) {
    for (let pct = 0; pct <= 100; pct += 5) {
      for (let available = 0; available <= total; available++) {
        for (const candidate of [true, false]) {
          if (candidate && available === 0) continue;
          const after = candidate ? available - 1 : available;
          assert.equal(
            mayEject(total, available, candidate, pct),
            after >= minAvailable(total, pct),
            `${total}/${pct}%/${available}/${candidate}`,
          );
        }
      }
    }
  }
});

// ------------------------------------------------------------ recordOutcome

Deno.test("recordOutcome() does nothing when outlier detection is disabled", () => {
  const off = { ...S, enabled: false };
  let st: OutlierState = FRESH_OUTLIER;
  for (let i = 0; i < 10; i++) {
    const r = recordOutcome(st, true, i, off, true);
    assert.equal(r.ejected, false);
    assert.equal(r.state, st);
    st = r.state;
  }
  assert.equal(st, FRESH_OUTLIER);
});

Deno.test("recordOutcome() returns the same state for a success on a clean backend (no allocation)", () => {
  const r = recordOutcome(FRESH_OUTLIER, false, 100, S, true);
  assert.equal(r.state, FRESH_OUTLIER);
  assert.equal(r.ejected, false);
});

Deno.test("recordOutcome() counts failures below the threshold without ejecting", () => {
  let r = recordOutcome(FRESH_OUTLIER, true, 10, S, true);
  assert.deepEqual(r, { state: { ...FRESH_OUTLIER, consecutiveFailures: 1 }, ejected: false });
  r = recordOutcome(r.state, true, 20, S, true);
  assert.equal(r.state.consecutiveFailures, 2);
  assert.equal(r.ejected, false);
  assert.equal(r.state.ejectedUntil, 0);
});

Deno.test("recordOutcome() ejects on the threshold-th failure in a row for the base time", () => {
  const r = fold(FRESH_OUTLIER, [true, true, true], 500);
  assert.equal(r.ejected, true);
  assert.deepEqual(r.state, {
    consecutiveFailures: 0,
    ejectedUntil: 1500,
    ejections: 1,
    lastEjectionEnd: 1500,
  });
  assert.equal(isEjected(r.state, 1499), true);
  assert.equal(isEjected(r.state, 1500), false);
});

Deno.test("recordOutcome() with a threshold of one ejects on the first failure", () => {
  const r = recordOutcome(FRESH_OUTLIER, true, 0, { ...S, consecutiveFailures: 1 }, true);
  assert.equal(r.ejected, true);
  assert.equal(r.state.ejectedUntil, 1000);
});

Deno.test("recordOutcome() resets the run on a success", () => {
  let r = fold(FRESH_OUTLIER, [true, true], 0);
  r = recordOutcome(r.state, false, 1, S, true);
  assert.equal(r.state.consecutiveFailures, 0);
  r = fold(r.state, [true, true], 2);
  assert.equal(r.ejected, false);
  assert.equal(r.state.consecutiveFailures, 2);
});

Deno.test("recordOutcome() does not eject past the floor, and ejects at the next failure once allowed", () => {
  let r = fold(FRESH_OUTLIER, [true, true], 0);
  r = recordOutcome(r.state, true, 1, S, false);
  assert.equal(r.ejected, false);
  assert.equal(r.state.consecutiveFailures, 3);
  r = recordOutcome(r.state, true, 2, S, false);
  assert.equal(r.ejected, false);
  assert.equal(r.state.consecutiveFailures, 4);
  // room again (another backend came back): the next failure ejects
  r = recordOutcome(r.state, true, 3, S, true);
  assert.equal(r.ejected, true);
  assert.equal(r.state.ejectedUntil, 1003);
  assert.equal(r.state.consecutiveFailures, 0);
});

Deno.test("recordOutcome() never re-ejects (or extends) a backend that is already ejected", () => {
  const first = fold(FRESH_OUTLIER, [true, true, true], 0).state; // until 1000
  // in panic mode an ejected backend may still get traffic and fail
  const r = fold(first, [true, true, true, true, true], 500);
  assert.equal(r.ejected, false);
  assert.equal(r.state.ejectedUntil, 1000);
  assert.equal(r.state.ejections, 1);
  assert.equal(r.state.consecutiveFailures, 5);
});

Deno.test("recordOutcome() grows the ejection time on repeat: base, 2x, 3x... capped at the max", () => {
  let st: OutlierState = FRESH_OUTLIER;
  let now = 0;
  const lengths: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = fold(st, [true, true, true], now);
    assert.equal(r.ejected, true);
    lengths.push(r.state.ejectedUntil - now);
    assert.equal(r.state.ejections, i + 1);
    st = r.state;
    now = st.ejectedUntil + 10; // fails again soon after coming back
  }
  assert.deepEqual(lengths, [1000, 2000, 3000, 4000, 5000, 5000, 5000, 5000]);
});

Deno.test("recordOutcome() keeps the multiplier across successes between ejections", () => {
  let r = fold(FRESH_OUTLIER, [true, true, true], 0); // until 1000, ejections 1
  r = fold(r.state, [false, false, false], 1100);
  assert.equal(r.state.ejections, 1);
  r = fold(r.state, [true, true, true], 1200);
  assert.equal(r.state.ejectedUntil - 1200, 2000);
});

Deno.test("recordOutcome() forgets past ejections after a quiet max-ejection period (decay)", () => {
  let r = fold(FRESH_OUTLIER, [true, true, true], 0); // ends at 1000
  r = fold(r.state, [true, true, true], 1500); // second: 2000 ms, ends at 3500
  assert.equal(r.state.ejections, 2);
  // quiet until more than maxEjectionMs (5000) after the last ejection ended
  const quietUntil = 3500 + 5000;
  let late = fold(r.state, [true, true, true], quietUntil); // exactly the period: not yet
  assert.equal(late.state.ejectedUntil - quietUntil, 3000);
  late = fold(r.state, [true, true, true], quietUntil + 1);
  assert.equal(late.state.ejections, 1);
  assert.equal(late.state.ejectedUntil - (quietUntil + 1), 1000);
});

Deno.test("recordOutcome() applies the decay on a success too", () => {
  const r = fold(FRESH_OUTLIER, [true, true, true], 0); // ends at 1000
  const s1 = recordOutcome(r.state, false, 1000 + 5001, S, true);
  assert.equal(s1.state.ejections, 0);
  assert.equal(s1.ejected, false);
  // ...but not while still ejected or within the period
  const s2 = recordOutcome(r.state, false, 1000 + 4000, S, true);
  assert.equal(s2.state, r.state);
});

Deno.test("recordOutcome() never mutates the state it is given", () => {
  const st = Object.freeze({ ...FRESH_OUTLIER, consecutiveFailures: 2 });
  const r = recordOutcome(st, true, 0, S, true);
  assert.equal(r.ejected, true);
  assert.equal(st.consecutiveFailures, 2);
});

Deno.test("recordOutcome() invariants hold over random outcome sequences", () => {
  const rnd = mulberry32(7);
  for (let run = 0; run < 200; run++) {
    const s: OutlierSettings = {
      ...S,
      consecutiveFailures: 1 + Math.floor(rnd() * 5),
      baseEjectionMs: 100 + Math.floor(rnd() * 1000),
      maxEjectionMs: 1000 + Math.floor(rnd() * 10_000),
    };
    let st: OutlierState = FRESH_OUTLIER;
    let now = 0;
    let run5 = 0;
    for (let i = 0; i < 300; i++) {
      now += Math.floor(rnd() * 400);
      const failure = rnd() < 0.6;
      const allowed = rnd() < 0.8;
      const wasEjected = isEjected(st, now);
      const r = recordOutcome(st, failure, now, s, allowed);
      if (r.ejected) {
        assert.ok(failure && allowed && !wasEjected);
        const length = r.state.ejectedUntil - now;
        assert.ok(length >= s.baseEjectionMs && length <= s.maxEjectionMs, `length ${length}`);
        assert.ok(r.state.ejections >= 1);
        assert.equal(r.state.consecutiveFailures, 0);
        assert.equal(r.state.lastEjectionEnd, r.state.ejectedUntil);
        run5 = 0;
      } else {
        assert.ok(r.state.ejectedUntil === st.ejectedUntil, "only an ejection moves ejectedUntil");
        run5 = failure ? run5 + 1 : 0;
        assert.equal(r.state.consecutiveFailures, failure ? st.consecutiveFailures + 1 : 0);
        if (failure && allowed && !wasEjected) {
          assert.ok(r.state.consecutiveFailures < s.consecutiveFailures);
        }
      }
      st = r.state;
    }
  }
});

// ------------------------------------------------------------ isFailureStatus

Deno.test("isFailureStatus() counts 5xx only when count5xx is on", () => {
  for (const code of [500, 502, 503, 504, 599]) assert.equal(isFailureStatus(code, S), true);
  for (const code of [200, 204, 301, 404, 429, 499, 600]) {
    assert.equal(isFailureStatus(code, S), false);
  }
  assert.equal(isFailureStatus(503, { ...S, count5xx: false }), false);
});
