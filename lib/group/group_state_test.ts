import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { initialHealth } from "../health/state_machine.ts";
import { GroupState } from "./group_state.ts";
import type { GroupSnapshot } from "./snapshot.ts";

/** A test harness: a GroupState over a manual clock, a seeded random, and a swap log. */
function harness(group = "api") {
  const clock = { t: 1000 };
  const swaps: { next: GroupSnapshot; prev: GroupSnapshot | null }[] = [];
  const state = new GroupState(group, {
    now: () => clock.t,
    random: mulberry32(42),
    onSwap: (next, prev) => swaps.push({ next, prev }),
  });
  return {
    state,
    swaps,
    clock,
    tick(ms = 1000) {
      clock.t += ms;
    },
  };
}

const V1 = {
  backend_servers: ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"],
  algorithm: "ROUND_ROBIN",
};

function addresses(s: GroupSnapshot | null): string[] {
  return s?.backends.map((b) => b.address) ?? [];
}

Deno.test("GroupState has no snapshot before the first valid config", () => {
  const { state } = harness();
  assert.equal(state.snapshot, null);
  assert.equal(state.appliedTotal, 0);
  assert.equal(state.rejectedTotal, 0);
  assert.equal(state.lastAppliedAt, 0);
  assert.equal(state.rejected, null);
  assert.equal(state.group, "api");
});

Deno.test("GroupState.applyConfig() applies a valid config and publishes one snapshot", () => {
  const { state, swaps, clock } = harness();
  const r = state.applyConfig("v1", V1);
  assert.deepEqual(r, { ok: true, changed: true });
  const s = state.snapshot!;
  assert.equal(s.group, "api");
  assert.equal(s.version, "v1");
  assert.equal(s.builtAt, clock.t);
  assert.deepEqual(addresses(s), V1.backend_servers);
  assert.equal(s.usableCount, 3);
  assert.equal(state.appliedTotal, 1);
  assert.equal(state.lastAppliedAt, clock.t);
  assert.equal(swaps.length, 1);
  assert.equal(swaps[0]!.next, s);
  assert.equal(swaps[0]!.prev, null);
});

Deno.test("GroupState.applyConfig() swaps the whole snapshot on a new version", () => {
  const { state, swaps, tick } = harness();
  state.applyConfig("v1", V1);
  const first = state.snapshot!;
  tick();
  const r = state.applyConfig("v2", { ...V1, algorithm: "LEAST_CONNECTIONS" });
  assert.deepEqual(r, { ok: true, changed: true });
  const second = state.snapshot!;
  assert.notEqual(second, first);
  assert.equal(second.version, "v2");
  assert.equal(second.config.algorithm, "LEAST_CONNECTIONS");
  assert.equal(second.selector.algorithm, "LEAST_CONNECTIONS");
  // the old snapshot is untouched: a reader holding it sees a consistent old view
  assert.equal(first.version, "v1");
  assert.equal(first.config.algorithm, "ROUND_ROBIN");
  assert.equal(first.selector.algorithm, "ROUND_ROBIN");
  assert.equal(swaps.length, 2);
  assert.equal(swaps[1]!.prev, first);
  assert.equal(swaps[1]!.next, second);
  assert.equal(state.appliedTotal, 2);
  assert.equal(state.lastAppliedAt, 2000);
});

Deno.test("GroupState.applyConfig() updates its counters before onSwap runs", () => {
  const seen: [number, number][] = [];
  const state = new GroupState("api", {
    now: () => 5000,
    random: mulberry32(1),
    onSwap: () => seen.push([state.appliedTotal, state.lastAppliedAt]),
  });
  state.applyConfig("v1", V1);
  assert.deepEqual(seen, [[1, 5000]]);
});

Deno.test("GroupState.applyConfig() with the same version and config is a no-op", () => {
  const { state, swaps, tick } = harness();
  state.applyConfig("v1", V1);
  const s = state.snapshot;
  tick();
  assert.deepEqual(state.applyConfig("v1", structuredClone(V1)), { ok: true, changed: false });
  // the same config written differently normalizes to the same value
  assert.deepEqual(
    state.applyConfig("v1", {
      ...V1,
      backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80" }, "10.0.0.3:80"],
    }),
    { ok: true, changed: false },
  );
  assert.equal(state.snapshot, s);
  assert.equal(swaps.length, 1);
  assert.equal(state.appliedTotal, 1);
  assert.equal(state.lastAppliedAt, 1000);
});

Deno.test("GroupState.applyConfig() applies the same config under a new version", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", V1);
  assert.deepEqual(state.applyConfig("v2", V1), { ok: true, changed: true });
  assert.equal(state.snapshot!.version, "v2");
  assert.equal(swaps.length, 2);
});

Deno.test("GroupState.applyConfig() applies a changed config under the same version", () => {
  const { state } = harness();
  state.applyConfig("v1", V1);
  assert.deepEqual(state.applyConfig("v1", { ...V1, algorithm: "RANDOM" }), {
    ok: true,
    changed: true,
  });
  assert.equal(state.snapshot!.config.algorithm, "RANDOM");
});

Deno.test("GroupState.applyConfig() rejects an invalid config with version, reason and issues", () => {
  const { state, swaps, tick, clock } = harness();
  state.applyConfig("v1", V1);
  const before = state.snapshot;
  tick(500);
  const r = state.applyConfig("v2", {
    backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", weight: 0 }],
    algorithm: "NOPE",
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.rejected.version, "v2");
  assert.equal(r.rejected.at, clock.t);
  assert.deepEqual(r.rejected.issues.map((i) => [i.group, i.field]), [
    ["api", "backend_servers[1].weight"],
    ["api", "algorithm"],
  ]);
  assert.equal(
    r.rejected.reason,
    'group "api": backend_servers[1].weight: must be an integer from 1 to 10000 (got 0)\n' +
      `group "api": algorithm: must be one of ROUND_ROBIN, WEIGHTED_ROUND_ROBIN, ` +
      "LEAST_CONNECTIONS, POWER_OF_TWO_CHOICES, CONSISTENT_HASH, IP_HASH, RANDOM",
  );
  assert.equal(state.rejected, r.rejected);
  assert.equal(state.rejectedTotal, 1);
  // the previous snapshot keeps serving, unchanged
  assert.equal(state.snapshot, before);
  assert.equal(state.snapshot!.version, "v1");
  assert.equal(swaps.length, 1);
  assert.equal(state.appliedTotal, 1);
  assert.equal(state.lastAppliedAt, 1000);
});

Deno.test("GroupState.applyConfig() keeps health and counters when a config is rejected", () => {
  const { state } = harness();
  state.applyConfig("v1", V1);
  for (let i = 0; i < 3; i++) state.observeProbe("10.0.0.1:80", false, "refused");
  state.snapshot!.backends[1]!.counters.inflight = 4;
  state.applyConfig("v2", { backend_servers: ["10.0.0.9:80"], nope: 1 });
  assert.equal(state.healthOf("10.0.0.1:80")!.status, "unhealthy");
  assert.equal(state.snapshot!.backends[1]!.counters.inflight, 4);
  assert.equal(state.snapshot!.usableCount, 2);
});

Deno.test("GroupState.applyConfig() rejects before any config was applied, leaving no snapshot", () => {
  const { state, swaps } = harness();
  const r = state.applyConfig("v1", "not an object");
  assert.equal(r.ok, false);
  assert.equal(state.snapshot, null);
  assert.equal(state.rejectedTotal, 1);
  assert.equal(swaps.length, 0);
  assert.equal(state.rejected!.reason, 'group "api": config must be a JSON object');
});

Deno.test("GroupState counts every rejection and remembers the last one after a later success", () => {
  const { state } = harness();
  state.applyConfig("v1", { backend_servers: "x" });
  state.applyConfig("v2", {});
  assert.equal(state.rejectedTotal, 2);
  assert.equal(state.rejected!.version, "v2");
  state.applyConfig("v3", V1);
  assert.equal(state.rejectedTotal, 2);
  assert.equal(state.appliedTotal, 1);
  assert.equal(state.rejected!.version, "v2", "the last rejection stays visible for operators");
});

Deno.test("GroupState.reject() records a config that could not be read", () => {
  const { state } = harness();
  state.applyConfig("v1", V1);
  const before = state.snapshot;
  const issues = [{ group: "api", field: "", reason: "invalid JSON: Unexpected end" }];
  const r = state.reject("v2", issues);
  assert.ok(!r.ok);
  assert.equal(r.rejected.reason, 'group "api": invalid JSON: Unexpected end');
  assert.equal(r.rejected.issues, issues);
  assert.equal(state.rejectedTotal, 1);
  assert.equal(state.snapshot, before);
});

Deno.test("GroupState.applyConfig() drops health and counters of removed backends", () => {
  const { state } = harness();
  state.applyConfig("v1", V1);
  for (let i = 0; i < 3; i++) state.observeProbe("10.0.0.3:80", false);
  const removedCounters = state.snapshot!.backends[2]!.counters;
  removedCounters.inflight = 2;
  assert.equal(state.healthOf("10.0.0.3:80")!.status, "unhealthy");
  state.applyConfig("v2", { ...V1, backend_servers: ["10.0.0.1:80", "10.0.0.2:80"] });
  assert.equal(state.healthOf("10.0.0.3:80"), undefined);
  // added back later, it starts fresh: healthy, with a new counter
  state.applyConfig("v3", V1);
  const back = state.snapshot!.backends[2]!;
  assert.equal(back.address, "10.0.0.3:80");
  assert.equal(back.health.status, "healthy");
  assert.equal(back.usable, true);
  assert.notEqual(back.counters, removedCounters);
  assert.equal(back.counters.inflight, 0);
});

Deno.test("GroupState.applyConfig() keeps health and in-flight counters of retained backends", () => {
  const { state, tick } = harness();
  state.applyConfig("v1", V1);
  tick();
  for (let i = 0; i < 3; i++) state.observeProbe("10.0.0.2:80", false, "refused");
  const downSince = state.healthOf("10.0.0.2:80")!.since;
  const counters = state.snapshot!.backends[0]!.counters;
  counters.inflight = 5;
  tick();
  state.applyConfig("v2", {
    backend_servers: [{ address: "10.0.0.2:80", weight: 2 }, "10.0.0.1:80", "10.0.0.4:80"],
    algorithm: "LEAST_CONNECTIONS",
  });
  const s = state.snapshot!;
  assert.deepEqual(addresses(s), ["10.0.0.2:80", "10.0.0.1:80", "10.0.0.4:80"]);
  assert.equal(s.backends[0]!.health.status, "unhealthy");
  assert.equal(s.backends[0]!.health.since, downSince);
  assert.equal(s.backends[0]!.usable, false);
  assert.equal(s.backends[0]!.weight, 2);
  assert.equal(s.backends[1]!.counters, counters, "the very same counter object is kept");
  assert.equal(s.backends[1]!.counters.inflight, 5);
  assert.equal(s.backends[2]!.health.status, "healthy");
  assert.equal(s.usableCount, 2);
  // least connections sees the retained in-flight count: the idle new backend wins
  assert.equal(s.selector.pick(), 2);
});

Deno.test("GroupState.applyConfig() records health for every backend it publishes", () => {
  const { state, clock } = harness();
  state.applyConfig("v1", V1);
  for (const a of V1.backend_servers) assert.deepEqual(state.healthOf(a), initialHealth(clock.t));
  assert.equal(state.healthOf("10.0.0.9:80"), undefined);
});

Deno.test("GroupState.observeProbe() before any config does nothing", () => {
  const { state, swaps } = harness();
  assert.equal(state.observeProbe("10.0.0.1:80", false), false);
  assert.equal(state.healthOf("10.0.0.1:80"), undefined);
  assert.equal(swaps.length, 0);
});

Deno.test("GroupState.observeProbe() flips availability in place on a flip: no rebuild, no swap", () => {
  const { state, swaps, tick, clock } = harness();
  state.applyConfig("v1", V1);
  const initial = state.snapshot!;
  const selector = initial.selector;
  const builds = state.buildsTotal;
  tick();
  assert.equal(state.observeProbe("10.0.0.2:80", false, "refused"), false);
  tick();
  assert.equal(state.observeProbe("10.0.0.2:80", false, "refused"), false);
  assert.equal(initial.usableCount, 3, "positive control: still usable before the flip");
  tick();
  assert.equal(state.observeProbe("10.0.0.2:80", false, "timeout"), true);
  const after = state.snapshot!;
  assert.equal(after, initial, "the snapshot is not swapped");
  assert.equal(after.selector, selector, "the selector is not rebuilt");
  assert.equal(state.buildsTotal, builds);
  assert.equal(swaps.length, 1);
  assert.equal(after.version, "v1");
  assert.equal(after.usableCount, 2);
  assert.deepEqual(after.backends.map((b) => b.usable), [true, false, true]);
  assert.deepEqual(after.backends[1]!.health, {
    status: "unhealthy",
    successes: 0,
    failures: 3,
    since: clock.t,
    lastError: "timeout",
  });
  for (let i = 0; i < 100; i++) assert.notEqual(after.selector.pick(), 1);
});

Deno.test("GroupState writes live status only into the current snapshot, never a replaced one", () => {
  const { state } = harness();
  state.applyConfig("v1", { ...V1, unhealthy_threshold: 1 });
  const old = state.snapshot!;
  state.applyConfig("v2", { ...V1, unhealthy_threshold: 1, algorithm: "RANDOM" });
  assert.equal(state.observeProbe("10.0.0.2:80", false), true);
  assert.equal(state.snapshot!.backends[1]!.usable, false);
  assert.equal(old.backends[1]!.usable, true, "the old snapshot is not modified");
  assert.equal(old.usableCount, 3);
});

Deno.test("GroupState.observeProbe() brings a backend back after healthy_threshold successes", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", { ...V1, healthy_threshold: 3, unhealthy_threshold: 1 });
  assert.equal(state.observeProbe("10.0.0.1:80", false), true);
  assert.equal(state.snapshot!.usableCount, 2);
  assert.equal(state.observeProbe("10.0.0.1:80", true), false);
  assert.equal(state.observeProbe("10.0.0.1:80", true), false);
  assert.equal(state.snapshot!.usableCount, 2);
  assert.equal(state.observeProbe("10.0.0.1:80", true), true);
  assert.equal(state.snapshot!.usableCount, 3);
  assert.equal(state.snapshot!.backends[0]!.usable, true);
  assert.equal(swaps.length, 1, "no slow start: recovery flips in place");
});

Deno.test("GroupState.observeProbe() updates live health without a rebuild on a non-flip", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", V1);
  assert.equal(state.snapshot!.backends[0]!.health.failures, 0);
  state.observeProbe("10.0.0.1:80", false, "refused");
  assert.equal(state.healthOf("10.0.0.1:80")!.failures, 1);
  assert.equal(state.healthOf("10.0.0.1:80")!.lastError, "refused");
  // /status reads the snapshot: it shows the streak at once
  assert.equal(state.snapshot!.backends[0]!.health.failures, 1);
  assert.equal(state.snapshot!.backends[0]!.usable, true);
  assert.equal(swaps.length, 1);
});

Deno.test("GroupState.observeProbe() ignores addresses that are not configured", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", { ...V1, unhealthy_threshold: 1 });
  assert.equal(state.observeProbe("10.0.0.9:80", false), false);
  assert.equal(state.healthOf("10.0.0.9:80"), undefined);
  assert.equal(swaps.length, 1);
});

Deno.test("GroupState.observeProbe() ignores a late result for a backend just removed", () => {
  const { state } = harness();
  state.applyConfig("v1", { ...V1, unhealthy_threshold: 1 });
  state.applyConfig("v2", { ...V1, unhealthy_threshold: 1, backend_servers: ["10.0.0.1:80"] });
  assert.equal(state.observeProbe("10.0.0.2:80", false, "late"), false);
  state.applyConfig("v3", { ...V1, unhealthy_threshold: 1 });
  assert.equal(state.healthOf("10.0.0.2:80")!.status, "healthy");
  assert.equal(state.snapshot!.usableCount, 3);
});

Deno.test("GroupState.observeProbe() uses the thresholds of the current config", () => {
  const { state } = harness();
  state.applyConfig("v1", { ...V1, unhealthy_threshold: 5 });
  for (let i = 0; i < 4; i++) assert.equal(state.observeProbe("10.0.0.1:80", false), false);
  state.applyConfig("v2", { ...V1, unhealthy_threshold: 2 });
  assert.equal(state.healthOf("10.0.0.1:80")!.failures, 4, "streaks survive the config change");
  assert.equal(state.observeProbe("10.0.0.1:80", false), true);
});

Deno.test("GroupState.setHealth() flips availability in place when a status changes and returns true", () => {
  const { state, swaps, clock } = harness();
  state.applyConfig("v1", V1);
  const before = state.snapshot;
  const selector = before!.selector;
  const down = { ...initialHealth(clock.t, "unhealthy"), failures: 3, lastError: "orchestrator" };
  assert.equal(state.setHealth(new Map([["10.0.0.1:80", down]])), true);
  assert.equal(state.snapshot, before);
  assert.equal(state.snapshot!.selector, selector);
  assert.equal(swaps.length, 1);
  assert.equal(state.snapshot!.backends[0]!.usable, false);
  assert.equal(state.snapshot!.backends[0]!.health, down);
  assert.equal(state.snapshot!.usableCount, 2);
  assert.equal(state.healthOf("10.0.0.1:80"), down);
});

Deno.test("GroupState.setHealth() stores same-status states without a rebuild", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", V1);
  const before = state.snapshot;
  const same = { ...initialHealth(0), successes: 9 };
  assert.equal(state.setHealth(new Map([["10.0.0.1:80", same]])), false);
  assert.equal(state.snapshot, before);
  assert.equal(swaps.length, 1);
  assert.equal(state.healthOf("10.0.0.1:80"), same);
});

Deno.test("GroupState.setHealth() leaves backends it is not given alone", () => {
  const { state } = harness();
  state.applyConfig("v1", { ...V1, unhealthy_threshold: 1 });
  state.observeProbe("10.0.0.3:80", false);
  state.setHealth(new Map([["10.0.0.1:80", initialHealth(0, "unhealthy")]]));
  assert.deepEqual(state.snapshot!.backends.map((b) => b.usable), [false, true, false]);
});

Deno.test("GroupState.setHealth() before a config keeps the states for the first snapshot", () => {
  const { state, swaps } = harness();
  const down = initialHealth(0, "unhealthy");
  assert.equal(state.setHealth(new Map([["10.0.0.2:80", down]])), true);
  assert.equal(state.snapshot, null);
  assert.equal(swaps.length, 0);
  state.applyConfig("v1", V1);
  assert.equal(state.snapshot!.backends[1]!.health, down);
  assert.equal(state.snapshot!.usableCount, 2);
});

Deno.test("GroupState picks deterministically with a seeded random", () => {
  const picks = () => {
    const { state } = harness();
    state.applyConfig("v1", { ...V1, algorithm: "RANDOM" });
    return Array.from({ length: 20 }, () => state.snapshot!.selector.pick());
  };
  assert.deepEqual(picks(), picks());
});

// ------------------------------------------------------------ outlier detection

/** V1 with outlier detection tuned for tests: 3 failures eject for 1 s (max 5 s). */
const OD = {
  ...V1,
  outlier_detection: {
    consecutive_failures: 3,
    base_ejection_seconds: 1,
    max_ejection_seconds: 5,
    max_ejection_percent: 50,
  },
};

function fail(state: GroupState, address: string, n: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push(state.recordOutcome(address, true));
  return out;
}

Deno.test("GroupState.recordOutcome() ejects after consecutive failures without rebuilding", () => {
  const { state, swaps, clock } = harness();
  state.applyConfig("v1", OD);
  const before = state.snapshot!;
  const builds = state.buildsTotal;
  assert.deepEqual(fail(state, "10.0.0.2:80", 3), [false, false, true]);
  const s = state.snapshot!;
  assert.equal(s, before, "the snapshot is not swapped");
  assert.equal(s.selector, before.selector, "the selector is not rebuilt");
  assert.equal(state.buildsTotal, builds);
  assert.equal(swaps.length, 1);
  assert.deepEqual(s.backends.map((b) => b.ejected), [false, true, false]);
  assert.deepEqual(s.backends.map((b) => b.usable), [true, false, true]);
  assert.equal(s.usableCount, 2);
  assert.equal(s.backends[1]!.outlier.ejectedUntil, clock.t + 1000);
  assert.equal(s.nextChangeAt, clock.t + 1000);
  assert.equal(state.ejectionsTotal, 1);
  assert.equal(state.ejectionsOf("10.0.0.2:80"), 1);
  assert.equal(state.ejectionsOf("10.0.0.1:80"), 0);
  for (let i = 0; i < 100; i++) assert.notEqual(s.selector.pick(), 1);
  // health checks have nothing to do with it
  assert.equal(s.backends[1]!.health.status, "healthy");
});

Deno.test("GroupState.recordOutcome() is cheap for successes: no rebuild, no state for clean backends", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", OD);
  for (let i = 0; i < 10; i++) assert.equal(state.recordOutcome("10.0.0.1:80", false), false);
  fail(state, "10.0.0.1:80", 2);
  state.recordOutcome("10.0.0.1:80", false);
  fail(state, "10.0.0.1:80", 2);
  assert.equal(state.snapshot!.backends[0]!.ejected, false, "the run was broken by a success");
  assert.equal(swaps.length, 1);
});

Deno.test("GroupState.recordOutcome() does nothing with outlier detection disabled or before a config", () => {
  const { state, swaps } = harness();
  assert.equal(state.recordOutcome("10.0.0.1:80", true), false);
  state.applyConfig("v1", { ...OD, outlier_detection: { enabled: false } });
  assert.deepEqual(fail(state, "10.0.0.1:80", 20).filter(Boolean), []);
  assert.equal(swaps.length, 1);
  assert.equal(state.ejectionsTotal, 0);
});

Deno.test("GroupState.tick() brings an ejected backend back when its ejection ends", () => {
  const { state, clock, swaps } = harness();
  state.applyConfig("v1", OD);
  fail(state, "10.0.0.3:80", 3);
  const until = state.snapshot!.nextChangeAt;
  const selector = state.snapshot!.selector;
  clock.t = until - 1;
  assert.equal(state.tick(), false);
  assert.equal(state.snapshot!.backends[2]!.usable, false, "positive control: still out");
  clock.t = until;
  assert.equal(state.tick(), true);
  assert.equal(swaps.length, 1, "no slow start: the ejection ends in place");
  const s = state.snapshot!;
  assert.equal(s.selector, selector);
  assert.equal(s.backends[2]!.ejected, false);
  assert.equal(s.backends[2]!.usable, true);
  assert.equal(s.usableCount, 3);
  assert.equal(s.nextChangeAt, Infinity);
  assert.equal(state.tick(), false, "nothing more is due");
});

Deno.test("GroupState ejection never goes below the floor of available backends", () => {
  const { state, clock } = harness();
  state.applyConfig("v1", OD); // 3 backends, 50%: one may be out
  fail(state, "10.0.0.1:80", 3);
  assert.equal(state.snapshot!.usableCount, 2);
  // the second failing backend is kept: ejecting it would leave one of three
  assert.deepEqual(fail(state, "10.0.0.2:80", 10).filter(Boolean), []);
  assert.equal(state.snapshot!.usableCount, 2);
  assert.equal(state.ejectionsTotal, 1);
  // once the first is back, the next failure of the second ejects it at once
  clock.t = state.snapshot!.nextChangeAt;
  state.tick();
  assert.equal(state.recordOutcome("10.0.0.2:80", true), true);
  assert.deepEqual(state.snapshot!.backends.map((b) => b.ejected), [false, true, false]);
});

Deno.test("GroupState ejection floor counts backends taken out by health checks", () => {
  const { state } = harness();
  state.applyConfig("v1", { ...OD, unhealthy_threshold: 1 });
  assert.equal(state.observeProbe("10.0.0.1:80", false), true);
  // two of three left: ejecting another would break the 50% floor
  assert.deepEqual(fail(state, "10.0.0.2:80", 5).filter(Boolean), []);
  // a backend already out by health checks may be ejected (it costs nothing)
  assert.equal(fail(state, "10.0.0.1:80", 3).at(-1), true);
  assert.equal(state.snapshot!.usableCount, 2);
});

Deno.test("GroupState ejection floor: max_ejection_percent 100 may eject everything, 0 nothing", () => {
  const all = harness();
  all.state.applyConfig("v1", {
    ...OD,
    outlier_detection: { ...OD.outlier_detection, max_ejection_percent: 100 },
  });
  for (const b of V1.backend_servers) assert.equal(fail(all.state, b, 3).at(-1), true);
  assert.equal(all.state.snapshot!.usableCount, 0);
  assert.equal(all.state.snapshot!.selector.pick(), -1);
  const none = harness();
  none.state.applyConfig("v1", {
    ...OD,
    outlier_detection: { ...OD.outlier_detection, max_ejection_percent: 0 },
  });
  assert.deepEqual(fail(none.state, "10.0.0.1:80", 30).filter(Boolean), []);
});

Deno.test("GroupState ejection back-off grows on repeat (1 s, 2 s, 3 s...) up to the max", () => {
  const { state, clock } = harness();
  state.applyConfig("v1", OD);
  const lengths: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = clock.t;
    assert.equal(fail(state, "10.0.0.1:80", 3).at(-1), true);
    lengths.push(state.snapshot!.backends[0]!.outlier.ejectedUntil - t0);
    clock.t = state.snapshot!.nextChangeAt;
    state.tick();
    clock.t += 100;
  }
  assert.deepEqual(lengths, [1000, 2000, 3000, 4000, 5000, 5000, 5000]);
  assert.equal(state.ejectionsOf("10.0.0.1:80"), 7);
});

Deno.test("GroupState ejection back-off decays after a quiet max-ejection period", () => {
  const { state, clock } = harness();
  state.applyConfig("v1", OD);
  fail(state, "10.0.0.1:80", 3);
  clock.t = state.snapshot!.nextChangeAt;
  state.tick();
  fail(state, "10.0.0.1:80", 3); // 2 s
  const end = state.snapshot!.nextChangeAt;
  clock.t = end;
  state.tick();
  // well-behaved for longer than max_ejection_seconds
  clock.t = end + 5001;
  const t0 = clock.t;
  fail(state, "10.0.0.1:80", 3);
  assert.equal(state.snapshot!.backends[0]!.outlier.ejectedUntil - t0, 1000);
});

Deno.test("GroupState forgets outlier state of a backend removed from the config", () => {
  const { state } = harness();
  state.applyConfig("v1", OD);
  fail(state, "10.0.0.1:80", 3);
  state.applyConfig("v2", { ...OD, backend_servers: ["10.0.0.2:80", "10.0.0.3:80"] });
  assert.equal(state.ejectionsOf("10.0.0.1:80"), 0);
  state.applyConfig("v3", OD);
  assert.equal(state.snapshot!.backends[0]!.ejected, false);
});

// ------------------------------------------------------------ slow start

/** The effective weight of `address` in the current snapshot. */
function weightOf(state: GroupState, address: string): number {
  return state.snapshot!.backends.find((b) => b.address === address)!.weight;
}

Deno.test("GroupState slow start: a backend added to the group ramps from 10% to its weight", () => {
  const { state, clock } = harness();
  const cfg = { ...V1, algorithm: "WEIGHTED_ROUND_ROBIN", slow_start_seconds: 10 };
  state.applyConfig("v1", cfg);
  // the first config serves at full weight at once
  assert.deepEqual(state.snapshot!.backends.map((b) => b.weight), [1, 1, 1]);
  const added = { address: "10.0.0.4:80", weight: 10 };
  state.applyConfig("v2", { ...cfg, backend_servers: [...V1.backend_servers, added] });
  const t0 = clock.t;
  assert.equal(weightOf(state, added.address), 1, "10% at first");
  assert.equal(state.snapshot!.backends[3]!.configuredWeight, 10);
  assert.ok(state.snapshot!.nextChangeAt <= t0 + 500, "a step is due within the window");
  const seen: number[] = [];
  for (let ms = 500; ms <= 11_000; ms += 500) {
    clock.t = t0 + ms;
    state.tick();
    seen.push(weightOf(state, added.address));
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `${seen}`);
  assert.equal(seen[9], 5, "half way at 5 s"); // 5000 / 10000 * 10
  assert.equal(seen.at(-1), 10);
  assert.equal(state.snapshot!.nextChangeAt, Infinity);
  // the other backends were never ramped
  assert.equal(weightOf(state, "10.0.0.1:80"), 1);
});

Deno.test("GroupState slow start: a backend back from unhealthy ramps up again", () => {
  const { state, clock } = harness();
  state.applyConfig("v1", {
    ...V1,
    backend_servers: [{ address: "10.0.0.1:80", weight: 4 }, "10.0.0.2:80"],
    slow_start_seconds: 2,
    unhealthy_threshold: 1,
    healthy_threshold: 1,
  });
  state.observeProbe("10.0.0.1:80", false);
  clock.t += 5000;
  assert.equal(state.observeProbe("10.0.0.1:80", true), true);
  const t0 = clock.t;
  assert.ok(Math.abs(weightOf(state, "10.0.0.1:80") - 0.4) < 1e-9);
  clock.t = t0 + 1000;
  state.tick();
  assert.equal(weightOf(state, "10.0.0.1:80"), 2);
  clock.t = t0 + 2000;
  state.tick();
  assert.equal(weightOf(state, "10.0.0.1:80"), 4);
});

Deno.test("GroupState slow start: a backend back from an ejection ramps up from the ejection's end", () => {
  const { state, clock } = harness();
  state.applyConfig("v1", { ...OD, algorithm: "WEIGHTED_ROUND_ROBIN", slow_start_seconds: 4 });
  fail(state, "10.0.0.1:80", 3);
  const until = state.snapshot!.nextChangeAt;
  clock.t = until;
  state.tick();
  assert.equal(state.snapshot!.backends[0]!.usable, true);
  assert.ok(Math.abs(weightOf(state, "10.0.0.1:80") - 0.1) < 1e-9);
  clock.t = until + 2000;
  state.tick();
  assert.equal(weightOf(state, "10.0.0.1:80"), 0.5);
  clock.t = until + 4000;
  state.tick();
  assert.equal(weightOf(state, "10.0.0.1:80"), 1);
});

Deno.test("GroupState slow start off (0) never lowers a weight", () => {
  const { state, clock } = harness();
  state.applyConfig("v1", { ...OD, unhealthy_threshold: 1, healthy_threshold: 1 });
  state.applyConfig("v2", { ...OD, backend_servers: [...OD.backend_servers, "10.0.0.9:80"] });
  state.observeProbe("10.0.0.1:80", false);
  clock.t += 100;
  state.observeProbe("10.0.0.1:80", true);
  assert.deepEqual(state.snapshot!.backends.map((b) => b.weight), [1, 1, 1, 1]);
  assert.equal(state.snapshot!.nextChangeAt, Infinity);
});

Deno.test("GroupState slow start shifts traffic gradually in a weighted pick", () => {
  const { state, clock } = harness();
  const cfg = {
    backend_servers: ["10.0.0.1:80"],
    algorithm: "WEIGHTED_ROUND_ROBIN",
    slow_start_seconds: 10,
  };
  state.applyConfig("v1", cfg);
  state.applyConfig("v2", { ...cfg, backend_servers: ["10.0.0.1:80", "10.0.0.2:80"] });
  const share = () => {
    let n = 0;
    for (let i = 0; i < 1000; i++) if (state.snapshot!.selector.pick() === 1) n++;
    return n / 1000;
  };
  const t0 = clock.t;
  const early = share();
  clock.t = t0 + 10_000;
  state.tick();
  const late = share();
  assert.ok(early < 0.15, `new backend got ${early} at first`);
  assert.ok(late > 0.45 && late < 0.55, `new backend got ${late} after the window`);
});

// ------------------------------------------------------------ panic mode

Deno.test("GroupState panic mode: below the threshold, traffic spreads over every backend", () => {
  const { state } = harness();
  state.applyConfig("v1", { ...V1, panic_threshold_percent: 50, unhealthy_threshold: 1 });
  const selector = state.snapshot!.selector;
  state.observeProbe("10.0.0.1:80", false);
  let s = state.snapshot!;
  assert.equal(s.panic, false, "two of three healthy is above 50%");
  assert.equal(s.usableCount, 2);
  state.observeProbe("10.0.0.2:80", false);
  s = state.snapshot!;
  assert.equal(s.panic, true, "one of three is below 50%");
  assert.equal(s.usableCount, 3);
  assert.deepEqual(s.backends.map((b) => b.usable), [true, true, true]);
  const picked = new Set<number>();
  for (let i = 0; i < 30; i++) picked.add(s.selector.pick());
  assert.deepEqual([...picked].sort(), [0, 1, 2]);
  // health is still reported as it is
  assert.deepEqual(s.backends.map((b) => b.health.status), ["unhealthy", "unhealthy", "healthy"]);
  // recovery ends the panic
  state.observeProbe("10.0.0.2:80", true);
  state.observeProbe("10.0.0.2:80", true);
  s = state.snapshot!;
  assert.equal(s.panic, false);
  assert.deepEqual(s.backends.map((b) => b.usable), [false, true, true]);
  for (let i = 0; i < 30; i++) assert.notEqual(s.selector.pick(), 0);
  assert.equal(s.selector, selector, "panic mode on and off without a rebuild");
  assert.equal(state.buildsTotal, 1);
});

Deno.test("GroupState panic mode counts ejected backends as unavailable", () => {
  const { state } = harness();
  state.applyConfig("v1", {
    ...OD,
    panic_threshold_percent: 70,
    outlier_detection: { ...OD.outlier_detection, max_ejection_percent: 100 },
  });
  fail(state, "10.0.0.1:80", 3);
  const s = state.snapshot!;
  assert.equal(s.panic, true, "two of three is below 70%");
  assert.equal(s.backends[0]!.ejected, true);
  assert.equal(s.backends[0]!.usable, true, "in panic even the ejected one serves");
});

Deno.test("GroupState panic mode off (0) never spreads to unhealthy backends", () => {
  const { state } = harness();
  state.applyConfig("v1", { ...V1, unhealthy_threshold: 1 });
  for (const b of V1.backend_servers) state.observeProbe(b, false);
  const s = state.snapshot!;
  assert.equal(s.panic, false);
  assert.equal(s.usableCount, 0);
  assert.equal(s.selector.pick(), -1);
});

Deno.test("an active check that finds an ejected backend healthy again ends its ejection", () => {
  let t = 1_000;
  const g = new GroupState("g", { now: () => t, random: mulberry32(7) });
  g.applyConfig("v1", {
    backend_servers: ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"],
    healthy_threshold: 1,
    unhealthy_threshold: 1,
    outlier_detection: { consecutive_failures: 1, base_ejection_seconds: 60 },
  });
  assert.equal(g.observeProbe("10.0.0.1:80", false, "down"), true);
  assert.equal(g.recordOutcome("10.0.0.1:80", true), true);
  assert.equal(g.snapshot!.backends[0]!.ejected, true);
  t += 1_000;
  assert.equal(g.observeProbe("10.0.0.1:80", true), true);
  const b = g.snapshot!.backends[0]!;
  assert.equal(b.ejected, false);
  assert.equal(b.usable, true);
  assert.equal(g.ejectionsOf("10.0.0.1:80"), 1);
});

Deno.test("a draining backend is never picked, not even in panic mode", () => {
  const g = new GroupState("g", { now: () => 0, random: mulberry32(3) });
  g.applyConfig("v1", {
    backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", drain: true }],
    panic_threshold_percent: 100,
    algorithm: "ROUND_ROBIN",
  });
  const s = g.snapshot!;
  assert.equal(s.backends[1]!.draining, true);
  assert.equal(s.backends[1]!.usable, false);
  assert.equal(s.usableCount, 1);
  for (let i = 0; i < 10; i++) assert.equal(s.selector.pick(), 0);
  g.observeProbe("10.0.0.1:80", false);
  g.observeProbe("10.0.0.1:80", false);
  g.observeProbe("10.0.0.1:80", false);
  const p = g.snapshot!;
  assert.equal(p.panic, true);
  assert.equal(p.backends[1]!.usable, false);
  assert.equal(p.backends[0]!.usable, true);
  assert.equal(p.selector, s.selector, "no rebuild");
  for (let i = 0; i < 10; i++) assert.equal(p.selector.pick(), 0);
});

Deno.test("GroupState with slow start: an ejection rebuilds nothing; its end ramps in tick()", () => {
  const { state, clock, swaps } = harness();
  state.applyConfig("v1", { ...OD, algorithm: "CONSISTENT_HASH", slow_start_seconds: 2 });
  const selector = state.snapshot!.selector;
  assert.equal(fail(state, "10.0.0.1:80", 3).at(-1), true);
  assert.equal(state.snapshot!.selector, selector, "request path: no rebuild");
  assert.equal(state.buildsTotal, 1);
  assert.equal(weightOf(state, "10.0.0.1:80"), 1, "an ejection changes no weight");
  const until = state.snapshot!.nextChangeAt;
  clock.t = until - 1;
  assert.equal(state.tick(), false);
  clock.t = until;
  assert.equal(state.tick(), true);
  assert.equal(swaps.length, 2, "the ramp's first step is a weight change: one rebuild, in tick()");
  assert.notEqual(state.snapshot!.selector, selector);
  assert.ok(Math.abs(weightOf(state, "10.0.0.1:80") - 0.1) < 1e-9);
  assert.equal(state.snapshot!.backends[0]!.usable, true);
});

Deno.test("GroupState: a recovery into a slow start rebuilds (its weight changes), off the request path", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", {
    ...V1,
    slow_start_seconds: 2,
    unhealthy_threshold: 1,
    healthy_threshold: 1,
  });
  state.observeProbe("10.0.0.1:80", false);
  assert.equal(swaps.length, 1, "going down flips in place");
  state.observeProbe("10.0.0.1:80", true);
  assert.equal(swaps.length, 2);
  assert.ok(Math.abs(weightOf(state, "10.0.0.1:80") - 0.1) < 1e-9);
});

Deno.test("GroupState.recordOutcome() ignores a late outcome for a backend just removed", () => {
  const { state } = harness();
  state.applyConfig("v1", OD);
  state.applyConfig("v2", { ...OD, backend_servers: ["10.0.0.1:80", "10.0.0.2:80"] });
  assert.deepEqual(fail(state, "10.0.0.3:80", 5).filter(Boolean), []);
  assert.equal(state.ejectionsTotal, 0);
  assert.equal(state.snapshot!.usableCount, 2);
});

Deno.test("GroupState keeps usableCount, panic and the ejection floor right through many flips", () => {
  const { state, clock } = harness();
  const cfg = {
    backend_servers: Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}:80`),
    algorithm: "CONSISTENT_HASH",
    unhealthy_threshold: 1,
    healthy_threshold: 1,
    panic_threshold_percent: 40,
    outlier_detection: {
      consecutive_failures: 1,
      base_ejection_seconds: 1,
      max_ejection_percent: 60,
    },
  };
  state.applyConfig("v1", cfg);
  const random = mulberry32(9);
  for (let step = 0; step < 400; step++) {
    const a = cfg.backend_servers[Math.floor(random() * 8)]!;
    const r = random();
    if (r < 0.4) state.observeProbe(a, random() < 0.5);
    else if (r < 0.8) state.recordOutcome(a, random() < 0.7);
    else {
      clock.t += 300;
      state.tick();
    }
    // the live values equal what a fresh build from the same state computes
    const s = state.snapshot!;
    const up = s.backends.filter((b) => b.health.status === "healthy" && !b.ejected).length;
    const panic = up * 100 < 40 * 8;
    assert.equal(s.panic, panic, `step ${step}`);
    assert.equal(s.usableCount, panic ? 8 : up, `step ${step}`);
    for (const b of s.backends) {
      assert.equal(b.usable, panic || (b.health.status === "healthy" && !b.ejected));
      assert.equal(
        b.ejected,
        b.outlier.ejectedUntil > clock.t,
        `step ${step}: ${b.address}`,
      );
    }
    assert.ok(s.backends.filter((b) => b.ejected).length <= 4, "max_ejection_percent holds");
  }
  assert.equal(state.buildsTotal, 1, "400 flips, ejections and ticks: one build");
});
