import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import type { BackendCounters } from "../balancer/types.ts";
import { type GroupConfig, validateGroupConfig } from "../config/schema.ts";
import { type HealthState, initialHealth } from "../health/state_machine.ts";
import { buildSnapshot, type SnapshotInput } from "./snapshot.ts";

function config(blob: Record<string, unknown>): GroupConfig {
  const r = validateGroupConfig("g", blob);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const THREE = config({
  backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", weight: 3 }, "10.0.0.3:80"],
  algorithm: "WEIGHTED_ROUND_ROBIN",
});

function input(overrides: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    group: "g",
    version: "v1",
    config: THREE,
    health: new Map(),
    counters: new Map(),
    random: mulberry32(1),
    now: 1000,
    ...overrides,
  };
}

function down(since: number): HealthState {
  return { ...initialHealth(since, "unhealthy"), failures: 3, lastError: "refused" };
}

Deno.test("buildSnapshot() carries group, version, config and build time", () => {
  const s = buildSnapshot(input({ version: "zk-17", now: 1234 }));
  assert.equal(s.group, "g");
  assert.equal(s.version, "zk-17");
  assert.equal(s.config, THREE);
  assert.equal(s.builtAt, 1234);
  assert.equal(s.selector.algorithm, "WEIGHTED_ROUND_ROBIN");
});

Deno.test("buildSnapshot() lists backends in config order with their address parts and weight", () => {
  const s = buildSnapshot(input());
  assert.deepEqual(
    s.backends.map((b) => [b.address, b.host, b.port, b.weight, b.configuredWeight]),
    [
      ["10.0.0.1:80", "10.0.0.1", 80, 1, 1],
      ["10.0.0.2:80", "10.0.0.2", 80, 3, 3],
      ["10.0.0.3:80", "10.0.0.3", 80, 1, 1],
    ],
  );
});

Deno.test("buildSnapshot() starts backends without known health healthy, since now", () => {
  const s = buildSnapshot(input({ now: 555 }));
  for (const b of s.backends) {
    assert.deepEqual(b.health, initialHealth(555));
    assert.equal(b.usable, true);
  }
  assert.equal(s.usableCount, 3);
});

Deno.test("buildSnapshot() marks unhealthy backends unusable and counts the usable ones", () => {
  const unhealthy = down(10);
  const health = new Map([["10.0.0.2:80", unhealthy], ["10.0.0.3:80", initialHealth(5)]]);
  const s = buildSnapshot(input({ health }));
  assert.deepEqual(s.backends.map((b) => b.usable), [true, false, true]);
  assert.equal(s.usableCount, 2);
  assert.equal(s.backends[1]!.health, unhealthy, "the known state object is used as is");
  assert.equal(s.backends[2]!.health.since, 5);
});

Deno.test("buildSnapshot() never picks an unusable backend", () => {
  const health = new Map([["10.0.0.2:80", down(0)]]);
  const s = buildSnapshot(input({ health }));
  for (let i = 0; i < 100; i++) assert.notEqual(s.selector.pick(), 1);
});

Deno.test("buildSnapshot() with every backend unhealthy has nothing to pick", () => {
  const health = new Map(THREE.backend_servers.map((b) => [b.address, down(0)]));
  const s = buildSnapshot(input({ health }));
  assert.equal(s.usableCount, 0);
  assert.equal(s.selector.pick(), -1);
});

Deno.test("buildSnapshot() of an empty backend list has nothing to pick", () => {
  const s = buildSnapshot(input({ config: config({ backend_servers: [] }) }));
  assert.deepEqual(s.backends, []);
  assert.equal(s.usableCount, 0);
  assert.equal(s.selector.pick(), -1);
});

Deno.test("buildSnapshot() creates missing counters in the shared map", () => {
  const counters = new Map<string, BackendCounters>();
  const s = buildSnapshot(input({ counters }));
  assert.deepEqual([...counters.keys()], ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
  for (const b of s.backends) {
    assert.equal(b.counters, counters.get(b.address));
    assert.equal(b.counters.inflight, 0);
  }
});

Deno.test("buildSnapshot() reuses existing counters by address across builds", () => {
  const existing = { inflight: 7 };
  const counters = new Map<string, BackendCounters>([["10.0.0.2:80", existing]]);
  const a = buildSnapshot(input({ counters }));
  assert.equal(a.backends[1]!.counters, existing);
  assert.equal(a.backends[1]!.counters.inflight, 7);
  const b = buildSnapshot(input({ counters, version: "v2" }));
  for (let i = 0; i < 3; i++) assert.equal(a.backends[i]!.counters, b.backends[i]!.counters);
  a.backends[0]!.counters.inflight++;
  assert.equal(b.backends[0]!.counters.inflight, 1, "an in-flight count is seen by both");
});

Deno.test("buildSnapshot() leaves counters of unconfigured addresses alone", () => {
  const stray = { inflight: 2 };
  const counters = new Map<string, BackendCounters>([["10.9.9.9:80", stray]]);
  buildSnapshot(input({ counters }));
  assert.equal(counters.get("10.9.9.9:80"), stray);
  assert.equal(counters.size, 4);
});

Deno.test("buildSnapshot() ignores health of addresses not in the config", () => {
  const health = new Map([["10.9.9.9:80", down(0)]]);
  const s = buildSnapshot(input({ health }));
  assert.equal(s.usableCount, 3);
  assert.ok(!s.backends.some((b) => b.address === "10.9.9.9:80"));
});

Deno.test("buildSnapshot() builds the config's algorithm over the backends", () => {
  const s = buildSnapshot(input({ random: mulberry32(7) }));
  const counts = [0, 0, 0];
  for (let i = 0; i < 500; i++) counts[s.selector.pick()]!++;
  assert.deepEqual(counts, [100, 300, 100], "weighted round robin follows the weights 1:3:1");
  for (
    const algorithm of [
      "ROUND_ROBIN",
      "LEAST_CONNECTIONS",
      "POWER_OF_TWO_CHOICES",
      "CONSISTENT_HASH",
      "IP_HASH",
      "RANDOM",
    ]
  ) {
    const cfg = config({ backend_servers: ["a:1", "b:1"], algorithm });
    const snap = buildSnapshot(input({ config: cfg }));
    assert.equal(snap.selector.algorithm, algorithm);
    const pick = snap.selector.pick({ key: "client-1" });
    assert.ok(pick === 0 || pick === 1);
  }
});

Deno.test("buildSnapshot() is deterministic for a seeded random", () => {
  const cfg = config({ backend_servers: ["a:1", "b:1", "c:1", "d:1"], algorithm: "RANDOM" });
  const picks = (seed: number) => {
    const s = buildSnapshot(input({ config: cfg, random: mulberry32(seed) }));
    return Array.from({ length: 20 }, () => s.selector.pick());
  };
  assert.deepEqual(picks(3), picks(3));
  assert.notDeepEqual(picks(3), picks(4));
});

Deno.test("buildSnapshot() does not modify the health map", () => {
  const health = new Map<string, HealthState>();
  buildSnapshot(input({ health }));
  assert.equal(health.size, 0);
});
