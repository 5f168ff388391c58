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

Deno.test("GroupState.observeProbe() rebuilds the snapshot and calls onSwap only on a flip", () => {
  const { state, swaps, tick, clock } = harness();
  state.applyConfig("v1", V1);
  const initial = state.snapshot!;
  tick();
  assert.equal(state.observeProbe("10.0.0.2:80", false, "refused"), false);
  tick();
  assert.equal(state.observeProbe("10.0.0.2:80", false, "refused"), false);
  assert.equal(state.snapshot, initial, "no rebuild without a flip");
  assert.equal(swaps.length, 1);
  tick();
  assert.equal(state.observeProbe("10.0.0.2:80", false, "timeout"), true);
  const after = state.snapshot!;
  assert.notEqual(after, initial);
  assert.equal(swaps.length, 2);
  assert.equal(swaps[1]!.prev, initial);
  assert.equal(swaps[1]!.next, after);
  assert.equal(after.version, "v1", "a health flip keeps the config version");
  assert.equal(after.config, initial.config);
  assert.equal(after.usableCount, 2);
  assert.deepEqual(after.backends.map((b) => b.usable), [true, false, true]);
  assert.deepEqual(after.backends[1]!.health, {
    status: "unhealthy",
    successes: 0,
    failures: 3,
    since: clock.t,
    lastError: "timeout",
  });
  assert.equal(initial.backends[1]!.usable, true, "the old snapshot is not modified");
  for (let i = 0; i < 100; i++) assert.notEqual(after.selector.pick(), 1);
});

Deno.test("GroupState.observeProbe() brings a backend back after healthy_threshold successes", () => {
  const { state, swaps } = harness();
  state.applyConfig("v1", { ...V1, healthy_threshold: 3, unhealthy_threshold: 1 });
  assert.equal(state.observeProbe("10.0.0.1:80", false), true);
  assert.equal(state.snapshot!.usableCount, 2);
  assert.equal(state.observeProbe("10.0.0.1:80", true), false);
  assert.equal(state.observeProbe("10.0.0.1:80", true), false);
  assert.equal(swaps.length, 2);
  assert.equal(state.observeProbe("10.0.0.1:80", true), true);
  assert.equal(state.snapshot!.usableCount, 3);
  assert.equal(swaps.length, 3);
});

Deno.test("GroupState.observeProbe() updates health without a rebuild on a non-flip", () => {
  const { state } = harness();
  state.applyConfig("v1", V1);
  state.observeProbe("10.0.0.1:80", false, "refused");
  assert.equal(state.healthOf("10.0.0.1:80")!.failures, 1);
  assert.equal(state.healthOf("10.0.0.1:80")!.lastError, "refused");
  // the snapshot keeps the health it was built with until the next rebuild
  assert.equal(state.snapshot!.backends[0]!.health.failures, 0);
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

Deno.test("GroupState.setHealth() rebuilds when a status changes and returns true", () => {
  const { state, swaps, clock } = harness();
  state.applyConfig("v1", V1);
  const before = state.snapshot;
  const down = { ...initialHealth(clock.t, "unhealthy"), failures: 3, lastError: "orchestrator" };
  assert.equal(state.setHealth(new Map([["10.0.0.1:80", down]])), true);
  assert.notEqual(state.snapshot, before);
  assert.equal(swaps.length, 2);
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
