import assert from "node:assert/strict";
import {
  fleetOptionIssues,
  fleetRecords,
  instanceLabels,
  levelWeight,
  loadWeight,
  parseRegistration,
  parseWeights,
  quantizeLevel,
  rawLevel,
  WEIGHT_LEVELS,
  weightLevel,
} from "./fleet.ts";
import type { FleetOptions, ProxyLoad, Registration, WeightByLoad } from "./fleet.ts";
import type { SkyDnsRecord } from "./skydns.ts";

const ZONE = "api.example.com";
const OPTIONS: FleetOptions = { zone: ZONE, ttl: 5, priority: 10, weight: 100 };

function reg(id: string, host: string, extra: Partial<Registration> = {}): Registration {
  return { group: "g", id, host, port: 8080, region: null, load: null, ...extra };
}

/** A small deterministic PRNG (mulberry32) so property tests are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("parseRegistration() reads a proxy's registration: address, region, load", () => {
  const text = JSON.stringify({
    id: "lb1",
    group: "g",
    address: "198.18.0.21:8080",
    admin: "127.0.0.1:9090",
    region: "r1",
    runtime: "deno 2.9.6",
    pid: 1,
    config_version: "3",
    started_at: "2025-01-01T00:00:00.000Z",
    load: { connections: 12, inflight: 3, cpu_percent: 41.5 },
  });
  const parsed = parseRegistration("g", "lb1", text);
  assert.deepEqual(parsed, {
    ok: true,
    value: {
      group: "g",
      id: "lb1",
      host: "198.18.0.21",
      port: 8080,
      region: "r1",
      load: { connections: 12, inflight: 3, cpuPercent: 41.5 },
    },
  });
});

Deno.test("parseRegistration() takes IPv6 in brackets and canonicalizes it", () => {
  const parsed = parseRegistration("g", "a", '{"address":"[2001:DB8:0:0::1]:80"}');
  assert.ok(parsed.ok);
  assert.equal(parsed.value.host, "2001:db8::1");
  assert.equal(parsed.value.region, null);
  assert.equal(parsed.value.load, null);
});

Deno.test("parseRegistration() refuses what cannot be dialled", () => {
  const bad = [
    ["not json", "not JSON"],
    ["[1]", "not a JSON object"],
    ["{}", "no address"],
    ['{"address":"proxy.local:80"}', "not IP:PORT"],
    ['{"address":"0.0.0.0:8080"}', "unspecified"],
    ['{"address":"[::]:8080"}', "unspecified"],
    ['{"address":"198.18.0.1:0"}', "outside 1-65535"],
    ['{"address":"198.18.0.1:70000"}', "outside 1-65535"],
  ] as const;
  for (const [text, reason] of bad) {
    const parsed = parseRegistration("g", "x", text);
    assert.equal(parsed.ok, false, text);
    assert.match((parsed as { reason: string }).reason, new RegExp(reason), text);
  }
});

Deno.test("parseRegistration() keeps a proxy with a bad region, globally, with a warning", () => {
  const parsed = parseRegistration("g", "x", '{"address":"198.18.0.1:80","region":"EU West"}');
  assert.ok(parsed.ok);
  assert.equal(parsed.value.region, null);
  assert.match(parsed.warning ?? "", /served globally only/);
});

Deno.test("fleetRecords() writes a global key per proxy and a regional one for its region", () => {
  const fleet = fleetRecords(
    [reg("lb2", "198.18.0.22", { region: "r1" }), reg("lb1", "198.18.0.21")],
    OPTIONS,
  );
  const record: (host: string, text: string) => SkyDnsRecord = (host, text) => ({
    host,
    port: 8080,
    priority: 10,
    weight: 100,
    ttl: 5,
    text,
  });
  assert.deepEqual(
    [...fleet.records],
    [
      ["/skydns/com/example/api/lb1", record("198.18.0.21", "group=g")],
      ["/skydns/com/example/api/lb2", record("198.18.0.22", "group=g region=r1")],
      ["/skydns-region-r1/com/example/api/lb2", record("198.18.0.22", "group=g region=r1")],
    ],
  );
  assert.deepEqual(fleet.placements.map((p) => [p.id, p.label, p.keys.length]), [
    ["lb1", "lb1", 1],
    ["lb2", "lb2", 2],
  ]);
  assert.deepEqual(fleet.skipped, []);
});

Deno.test("fleetRecords() honours the prefix, TTL, priority and weight options", () => {
  const fleet = fleetRecords([reg("a", "198.18.0.1")], {
    zone: "API.Example.com.",
    prefix: "/t-1",
    ttl: 30,
    priority: 20,
    weight: 7,
  });
  assert.deepEqual([...fleet.records.keys()], ["/t-1/com/example/api/a"]);
  const r = fleet.records.get("/t-1/com/example/api/a")!;
  assert.equal(r.ttl, 30);
  assert.equal(r.priority, 20);
  assert.equal(r.weight, 7);
});

Deno.test("fleetRecords() does not depend on the order registrations come in", () => {
  const rand = prng(7);
  const regs = Array.from({ length: 20 }, (_, i) =>
    reg(`p${i}`, `198.18.0.${i + 1}`, {
      group: `g${i % 3}`,
      region: i % 2 === 0 ? "r1" : null,
    }));
  const reference = JSON.stringify([...fleetRecords(regs, OPTIONS).records]);
  for (let round = 0; round < 20; round++) {
    const shuffled = [...regs].sort(() => rand() - 0.5);
    assert.equal(JSON.stringify([...fleetRecords(shuffled, OPTIONS).records]), reference);
  }
});

Deno.test("instanceLabels() disambiguates the same id in two groups, deterministically", () => {
  const a = reg("lb1", "198.18.0.1", { group: "ga" });
  const b = reg("lb1", "198.18.0.2", { group: "gb" });
  const c = reg("LB_2", "198.18.0.3");
  const labels = instanceLabels([a, b, c]);
  assert.equal(labels.get("g/LB_2"), "lb-2");
  const la = labels.get("ga/lb1")!;
  const lb = labels.get("gb/lb1")!;
  assert.notEqual(la, lb);
  assert.match(la, /^lb1-[0-9a-f]{8}$/);
  assert.deepEqual(instanceLabels([b, c, a]), labels);
  const fleet = fleetRecords([a, b, c], OPTIONS);
  assert.equal(fleet.records.size, 3);
});

Deno.test("fleetOptionIssues() lists every bad option", () => {
  assert.deepEqual(fleetOptionIssues(OPTIONS), []);
  const issues = fleetOptionIssues({
    zone: "bad zone",
    prefix: "nope",
    ttl: 0,
    priority: 0,
    weight: 5,
    weightByLoad: { metric: "connections", capacity: 0 },
  });
  assert.equal(issues.length, 6, issues.join("\n"));
  // The role prints each issue as `--<issue>`: this one names the --prefix flag.
  assert.deepEqual(
    fleetOptionIssues({ ...OPTIONS, prefix: "/switchyard/dns" }).map((i) => i.slice(0, 41)),
    ['prefix "/switchyard/dns" must be one etcd'],
  );
});

const BY_CONN: WeightByLoad = { metric: "connections", capacity: 100 };
const load = (connections: number): ProxyLoad => ({ connections, inflight: 0, cpuPercent: 0 });

Deno.test("weight-by-load: idle proxies get the full weight, loaded ones one level less per tenth", () => {
  assert.equal(rawLevel(null, BY_CONN), WEIGHT_LEVELS);
  assert.equal(rawLevel(load(0), BY_CONN), 10);
  assert.equal(rawLevel(load(60), BY_CONN), 4);
  assert.equal(rawLevel(load(500), BY_CONN), 0);
  assert.equal(loadWeight(load(0), 100, BY_CONN), 100);
  assert.equal(loadWeight(load(60), 100, BY_CONN), 40);
  assert.equal(loadWeight(load(100), 100, BY_CONN), 10, "never below the lowest level");
  assert.equal(loadWeight(load(10_000), 100, BY_CONN), 10);
  const cpu: WeightByLoad = { metric: "cpu", capacity: 100 };
  assert.equal(loadWeight({ connections: 0, inflight: 0, cpuPercent: 75 }, 100, cpu), 30);
  const inflight: WeightByLoad = { metric: "inflight", capacity: 20 };
  assert.equal(loadWeight({ connections: 0, inflight: 10, cpuPercent: 0 }, 200, inflight), 100);
  assert.equal(levelWeight(3, 100), 30);
  assert.equal(weightLevel(30, 100), 3);
  assert.equal(weightLevel(100, 100), 10);
});

Deno.test("quantizeLevel() keeps the current level until the load moved a full level", () => {
  assert.equal(quantizeLevel(9.2, 10), 10);
  assert.equal(quantizeLevel(9.01, 10), 10);
  assert.equal(quantizeLevel(8.99, 10), 9);
  assert.equal(quantizeLevel(4.6, 4), 4);
  assert.equal(quantizeLevel(5.0, 4), 5);
  assert.equal(quantizeLevel(3.4, undefined), 3);
  assert.equal(quantizeLevel(0, undefined), 1);
  assert.equal(quantizeLevel(12, 3), 10);
});

Deno.test("property: load that flaps within half a level changes the weight at most once", () => {
  const rand = prng(42);
  for (let run = 0; run < 2000; run++) {
    const capacity = 10 + Math.floor(rand() * 1000);
    const byLoad: WeightByLoad = { metric: "connections", capacity };
    // A band narrower than half a level: 5 % of capacity.
    const width = rand() * 0.0499 * capacity;
    const base = rand() * 1.2 * capacity;
    const start = rand() < 0.5 ? undefined : levelWeight(1 + Math.floor(rand() * 10), 100);
    let weight = start;
    let changes = 0;
    for (let i = 0; i < 200; i++) {
      const sample = load(base + (i % 2 === 0 ? 0 : width) * rand());
      const next = loadWeight(sample, 100, byLoad, weight);
      if (weight !== undefined && next !== weight) changes++;
      weight = next;
    }
    assert.ok(changes <= 1, `run ${run}: ${changes} changes (base ${base}, width ${width})`);
  }
});

Deno.test("property: a weight change always means the load moved a full level from the current one", () => {
  const rand = prng(4242);
  let changes = 0;
  for (let run = 0; run < 500; run++) {
    let connections = rand() * 100;
    let weight: number | undefined;
    for (let i = 0; i < 100; i++) {
      connections = Math.max(0, connections + (rand() - 0.5) * 8);
      const raw = rawLevel(load(connections), BY_CONN);
      const next = loadWeight(load(connections), 100, BY_CONN, weight);
      if (weight !== undefined && next !== weight) {
        changes++;
        const current = weightLevel(weight, 100);
        assert.ok(
          Math.abs(Math.min(10, Math.max(1, raw)) - current) >= 1,
          `changed ${weight} -> ${next} at raw level ${raw}`,
        );
      }
      weight = next;
    }
  }
  assert.ok(changes > 0, "the random walks moved the weights at least sometimes");
});

Deno.test("fleetRecords() with weight-by-load reads the current level back from etcd", () => {
  const options: FleetOptions = { ...OPTIONS, weightByLoad: BY_CONN };
  const key = "/skydns/com/example/api/lb1";
  const lb1 = (connections: number) => reg("lb1", "198.18.0.21", { load: load(connections) });
  // 15 connections: raw level 8.5 -> 9 (weight 90).
  assert.equal(fleetRecords([lb1(15)], options).records.get(key)!.weight, 90);
  const at100 = new Map([[key, { host: "198.18.0.21", weight: 100 }]]);
  assert.equal(fleetRecords([lb1(15)], options, at100).records.get(key)!.weight, 90);
  // 5 connections: raw 9.5, within one level of 10: the record keeps 100.
  assert.equal(fleetRecords([lb1(5)], options, at100).records.get(key)!.weight, 100);
});

Deno.test("per-proxy weights override the default, by group/id or id", () => {
  assert.deepEqual([...parseWeights("lb1=70, edge/lb2=30")], [["lb1", 70], ["edge/lb2", 30]]);
  assert.throws(() => parseWeights("lb1"), /must be ID=N/);
  assert.throws(() => parseWeights("lb1=0"), /must be ID=N/);
  const weights = new Map([["lb1", 70], ["edge/lb2", 30], ["lb2", 5]]);
  const fleet = fleetRecords(
    [
      reg("lb1", "198.18.0.1"),
      reg("lb2", "198.18.0.2", { group: "edge" }),
      reg("lb2", "198.18.0.3", { group: "core" }),
      reg("lb3", "198.18.0.4"),
    ],
    { ...OPTIONS, weights },
  );
  assert.deepEqual(fleet.placements.map((p) => `${p.group}/${p.id}=${p.weight}`), [
    "core/lb2=5",
    "edge/lb2=30",
    "g/lb1=70",
    "g/lb3=100",
  ]);
  assert.match(
    fleetOptionIssues({ ...OPTIONS, weights, weightByLoad: BY_CONN }).join(),
    /weights >= 10/,
  );
});
