import assert from "node:assert/strict";
import {
  countByRegion,
  decodeActual,
  GLOBAL_TREE,
  isEmptyPlan,
  isOwnedKey,
  ownedActual,
  ownedPrefixes,
  planReconcile,
} from "./reconcile.ts";
import type { ReconcilePlan } from "./reconcile.ts";
import { encodeRecord } from "./skydns.ts";
import type { SkyDnsRecord } from "./skydns.ts";

const ZONE = "api.example.com";

function applyPlan(actual: Map<string, string>, plan: ReconcilePlan): Map<string, string> {
  const out = new Map(actual);
  for (const [k, v] of plan.puts) out.set(k, v);
  for (const k of plan.deletes) out.delete(k);
  return out;
}

Deno.test("isOwnedKey() owns the zone's instance keys, global and regional, and nothing else", () => {
  const owned = [
    "/skydns/com/example/api/lb1",
    "/skydns-region-r1/com/example/api/lb1",
    "/skydns-region-us-east/com/example/api/x-1",
    // the regional layout before issue 12: owned, so its leftovers get deleted
    "/skydns/_region/r1/com/example/api/lb1",
  ];
  const foreign = [
    "/skydns/com/example/api", // the zone node itself
    "/skydns/com/example/api/canary/lb9", // deeper: an operator's
    "/skydns/com/example/web/lb1", // another zone
    "/skydns/com/example/lb1", // the parent zone's
    "/skydns-region-r1/com/example/web/lb1",
    "/skydns-region-r1/com/example/api/canary/lb9",
    "/skydns-region-R1/com/example/api/lb1", // not a region label
    "/skydns/_region/r1/com/example/web/lb1",
    "/skydns/_region/R1/com/example/api/lb1",
    "/skydns/com/example/api/LB1", // not written by us (not LDH lowercase)
    "/other/com/example/api/lb1",
    "/skydnsx/com/example/api/lb1",
  ];
  for (const key of owned) assert.ok(isOwnedKey(key, ZONE), key);
  for (const key of foreign) assert.ok(!isOwnedKey(key, ZONE), key);
  assert.ok(isOwnedKey("/t/com/example/api/lb1", ZONE, "/t"));
  assert.ok(isOwnedKey("/t-region-eu/com/example/api/lb1", ZONE, "/t"));
  assert.ok(!isOwnedKey("/skydns/com/example/api/lb1", ZONE, "/t"));
  assert.ok(!isOwnedKey("/skydns-region-eu/com/example/api/lb1", ZONE, "/t"));
  assert.deepEqual(ownedPrefixes(ZONE), [
    "/skydns/com/example/api/",
    "/skydns-region-",
    "/skydns/_region/",
  ]);
  // every owned key is under one of the prefixes the role lists
  for (const key of owned) assert.ok(ownedPrefixes(ZONE).some((p) => key.startsWith(p)), key);
});

Deno.test("planReconcile() puts what differs, deletes what is gone, leaves the rest alone", () => {
  const desired = new Map<string, SkyDnsRecord>([
    ["/skydns/com/example/api/a", { host: "198.18.0.1", port: 80 }],
    ["/skydns/com/example/api/b", { host: "198.18.0.2", port: 80 }],
    ["/skydns-region-r1/com/example/api/b", { host: "198.18.0.2", port: 80 }],
  ]);
  const actual = new Map<string, string>([
    ["/skydns/com/example/api/a", encodeRecord({ host: "198.18.0.1", port: 80 })], // same
    ["/skydns/com/example/api/b", encodeRecord({ host: "198.18.0.2", port: 81 })], // changed
    ["/skydns/com/example/api/dead", encodeRecord({ host: "198.18.0.9" })], // gone
    ["/skydns-region-r2/com/example/api/dead", encodeRecord({ host: "198.18.0.9" })],
    // the same record where regions were before issue 12: deleted (CoreDNS no longer reads it)
    ["/skydns/_region/r1/com/example/api/b", encodeRecord({ host: "198.18.0.2", port: 80 })],
    ["/skydns/com/example/web/w1", encodeRecord({ host: "198.18.1.1" })], // foreign
    ["/skydns/com/example/api/x/y", "not even json"], // foreign (deeper)
  ]);
  const plan = planReconcile(desired, actual, ZONE);
  assert.deepEqual(plan, {
    puts: [
      ["/skydns-region-r1/com/example/api/b", '{"host":"198.18.0.2","port":80}'],
      ["/skydns/com/example/api/b", '{"host":"198.18.0.2","port":80}'],
    ],
    deletes: [
      "/skydns-region-r2/com/example/api/dead",
      "/skydns/_region/r1/com/example/api/b",
      "/skydns/com/example/api/dead",
    ],
  });
  const after = applyPlan(actual, plan);
  assert.ok(isEmptyPlan(planReconcile(desired, after, ZONE)), "idempotent");
  assert.equal(after.get("/skydns/com/example/web/w1"), actual.get("/skydns/com/example/web/w1"));
  assert.equal(after.get("/skydns/com/example/api/x/y"), "not even json");
});

Deno.test("planReconcile() rewrites a value stored in another encoding once", () => {
  const key = "/skydns/com/example/api/a";
  const desired = new Map([[key, { host: "198.18.0.1", port: 80 }]]);
  const actual = new Map([[key, '{"port":80,"host":"198.18.0.1"}']]);
  const plan = planReconcile(desired, actual, ZONE);
  assert.equal(plan.puts.length, 1);
  assert.ok(isEmptyPlan(planReconcile(desired, applyPlan(actual, plan), ZONE)));
});

Deno.test("planReconcile() refuses to write a key the zone does not own", () => {
  const desired = new Map([["/skydns/com/example/web/a", { host: "198.18.0.1" }]]);
  assert.throws(() => planReconcile(desired, new Map(), ZONE), /not a key of zone/);
});

Deno.test("property: after the plan, owned keys equal the desired ones and foreign keys are untouched", () => {
  let seed = 99;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const keyPool = [
    ...["a", "b", "c", "d"].map((l) => `/skydns/com/example/api/${l}`),
    ...["a", "b", "c"].map((l) => `/skydns-region-r1/com/example/api/${l}`),
    ...["a", "e"].map((l) => `/skydns-region-r2/com/example/api/${l}`),
  ];
  const foreignPool = [
    "/skydns/com/example/web/a",
    "/skydns-region-r1/com/example/web/a",
    "/skydns/_region/r1/com/example/web/a",
    "/skydns/com/example/api/z/a",
  ];
  for (let run = 0; run < 500; run++) {
    const desired = new Map<string, SkyDnsRecord>();
    for (const k of keyPool) {
      if (rand() < 0.5) desired.set(k, { host: `198.18.0.${1 + Math.floor(rand() * 3)}` });
    }
    const actual = new Map<string, string>();
    for (const k of [...keyPool, ...foreignPool]) {
      if (rand() < 0.5) {
        actual.set(k, encodeRecord({ host: `198.18.0.${1 + Math.floor(rand() * 3)}` }));
      }
    }
    const after = applyPlan(actual, planReconcile(desired, actual, ZONE));
    const owned = ownedActual(after, ZONE);
    assert.deepEqual(
      [...owned].sort(),
      [...desired].map(([k, r]) => [k, encodeRecord(r)]).sort(),
    );
    for (const k of foreignPool) assert.equal(after.get(k), actual.get(k));
    assert.ok(isEmptyPlan(planReconcile(desired, after, ZONE)));
  }
});

Deno.test("decodeActual() skips malformed values; countByRegion() groups keys by tree", () => {
  const actual = new Map([
    ["/skydns/com/example/api/a", '{"host":"198.18.0.1","weight":40}'],
    ["/skydns/com/example/api/b", "garbage"],
  ]);
  assert.deepEqual([...decodeActual(actual)], [[
    "/skydns/com/example/api/a",
    { host: "198.18.0.1", weight: 40 },
  ]]);
  const counts = countByRegion([
    "/skydns/com/example/api/a",
    "/skydns/com/example/api/b",
    "/skydns-region-r1/com/example/api/a",
    "/skydns/_region/r1/com/example/api/b", // legacy layout: not served, not counted
  ]);
  assert.deepEqual([...counts], [[GLOBAL_TREE, 2], ["r1", 1]]);
});
