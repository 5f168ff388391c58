import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { MemoryServer } from "../store/mod.ts";
import type { CoordinationStore, MemoryStore, NodeData, WatchOptions } from "../store/mod.ts";
import { proxiesGroupPath, proxyInstancePath } from "../store/layout.ts";
import { DnsController } from "./controller.ts";
import type { DnsControllerOptions, PassResult } from "./controller.ts";
import { MemoryRecordKv } from "./record_kv.ts";
import { encodeRecord } from "./skydns.ts";

const ZONE = "api.example.com";
const ELECTION = "/switchyard/dns/election/api.example.com";

async function until(predicate: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/**
 * How many leader passes a "nothing written" check waits for, and its positive control too
 * (about five sync intervals of 50 ms, as the fixed waits these replace).
 */
const QUIET_PASSES = 5;

/** A proxy's registration, held by its own session (closing it deregisters). */
async function proxy(
  server: MemoryServer,
  group: string,
  id: string,
  data: Record<string, unknown>,
): Promise<MemoryStore> {
  const s = await server.connect();
  await s.ensurePath(proxiesGroupPath(group));
  await s.create(proxyInstancePath(group, id), enc({ id, group, ...data }), { mode: "ephemeral" });
  return s;
}

interface Harness {
  server: MemoryServer;
  kv: MemoryRecordKv;
  controllers: DnsController[];
  passes: PassResult[];
  start(id: string, store?: CoordinationStore, extra?: Partial<DnsControllerOptions>): Promise<
    DnsController
  >;
  close(): Promise<void>;
}

/** A controller harness on `server` (a new one by default) with a record store of its own. */
function harness(server = new MemoryServer()): Harness {
  const kv = new MemoryRecordKv();
  const controllers: DnsController[] = [];
  const stores: MemoryStore[] = [];
  const passes: PassResult[] = [];
  return {
    server,
    kv,
    controllers,
    passes,
    async start(id, store, extra = {}) {
      let s = store;
      if (s === undefined) {
        const m = await server.connect();
        stores.push(m);
        s = m;
      }
      const c = new DnsController({
        store: s,
        kv,
        fleet: { zone: ZONE, ttl: 5, priority: 10, weight: 100 },
        groups: null,
        id,
        log: silentLogger,
        electionPath: ELECTION,
        syncMs: 50,
        debounceMs: 5,
        settleMs: 20,
        hooks: { pass: (r) => passes.push(r) },
        ...extra,
      });
      c.start();
      controllers.push(c);
      return c;
    },
    async close() {
      for (const c of controllers) await c.stop();
      for (const s of stores) await s.close();
    },
  };
}

const hosts = (kv: MemoryRecordKv) =>
  [...kv.data.entries()].map(([k, v]) => `${k} ${JSON.parse(v).host}`).sort();

/**
 * Waits until `n` more successful leader passes have completed (a pass reads etcd and writes the
 * difference): the wait of a "nothing written" check, measured in the passes that would write.
 */
async function morePasses(h: Harness, n: number, what: string): Promise<void> {
  const from = h.passes.length;
  await until(() => h.passes.length >= from + n, `${what}: ${n} passes`, 10_000);
}

/**
 * Positive control of a "nothing written" check: the leader's passes do write when etcd differs
 * from the fleet. A record deleted by hand behind its back is written back, in one write, within
 * the same number of passes the check waited.
 */
async function handDeletedIsRestored(h: Harness, key: string): Promise<void> {
  const value = h.kv.data.get(key);
  assert.ok(value !== undefined, `control: ${key} is there to delete`);
  const revision = h.kv.revision;
  h.kv.data.delete(key);
  await morePasses(h, QUIET_PASSES, `control: passes after deleting ${key} by hand`);
  assert.equal(h.kv.data.get(key), value, `control: ${key} written back by the leader's passes`);
  assert.equal(h.kv.revision, revision + 1, "control: in one write");
}

/**
 * `store` with every data-watch delivery handed to `deliver`, which calls `cb` now, later, or
 * after noting what was delivered: to slow one registration down, or to know what the controller
 * was told and when.
 */
function interceptDataWatches(
  store: CoordinationStore,
  deliver: (path: string, node: NodeData | null, cb: (n: NodeData | null) => void) => void,
): CoordinationStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "watchData") {
        return (path: string, cb: (n: NodeData | null) => void, opts?: WatchOptions) =>
          target.watchData(path, (n) => deliver(path, n, cb), opts);
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as CoordinationStore;
}

Deno.test("DnsController: the leader writes exactly the live proxies, and follows them", async () => {
  const h = harness();
  const p1 = await proxy(h.server, "g1", "lb1", { address: "198.18.0.21:8080", region: "r1" });
  const p2 = await proxy(h.server, "g2", "lb2", { address: "198.18.0.22:8080" });
  try {
    const c = await h.start("dns-1");
    await until(() => h.kv.data.size === 3, "records written");
    assert.deepEqual(hosts(h.kv), [
      "/skydns-region-r1/com/example/api/lb1 198.18.0.21",
      "/skydns/com/example/api/lb1 198.18.0.21",
      "/skydns/com/example/api/lb2 198.18.0.22",
    ]);
    assert.equal(h.kv.revision, 1, "one transaction for the first pass");
    assert.ok(c.status().election.acting);
    assert.deepEqual(c.health(), { ok: true, reason: "ok" });

    // The proxy's session ends (it died or deregistered): its records go, in one revision.
    await p1.close();
    await until(() => h.kv.data.size === 1, "lb1 removed");
    assert.deepEqual(hosts(h.kv), ["/skydns/com/example/api/lb2 198.18.0.22"]);
    assert.equal(h.kv.revision, 2);
    // A new proxy appears.
    const p3 = await proxy(h.server, "g1", "lb3", { address: "198.18.0.23:8080" });
    await until(() => h.kv.data.size === 2, "lb3 added");
    // Quiet: several full passes later, nothing was written again.
    const revision = h.kv.revision;
    await morePasses(h, QUIET_PASSES, "quiet");
    assert.equal(h.kv.revision, revision, "an unchanged fleet writes nothing");
    assert.ok(h.passes.length >= 4, "periodic passes ran");
    assert.ok(h.passes.some((p) => p.lagMs !== null && p.puts + p.deletes > 0));
    // positive control: the same passes do write when etcd differs from the fleet
    await handDeletedIsRestored(h, "/skydns/com/example/api/lb2");
    await p3.close();
  } finally {
    await p2.close();
    await h.close();
  }
});

Deno.test("DnsController: two processes, one writer; the leader leaves -> the other takes over without a write", async () => {
  const h = harness();
  const p1 = await proxy(h.server, "g", "lb1", { address: "198.18.0.21:8080" });
  const p2 = await proxy(h.server, "g", "lb2", { address: "198.18.0.22:8080", region: "r2" });
  try {
    const a = await h.start("dns-a");
    await until(() => a.status().election.acting, "a leads");
    const b = await h.start("dns-b");
    await until(() => h.kv.data.size === 3, "records");
    await until(() => b.status().registrations.complete, "b read the registrations");
    assert.ok(!b.status().election.acting);
    let revision = h.kv.revision;
    await morePasses(h, QUIET_PASSES, "a's passes while quiet");
    assert.equal(h.kv.revision, revision, "no writes while nothing changes");
    // positive control: a's passes do write when etcd differs from the fleet
    await handDeletedIsRestored(h, "/skydns/com/example/api/lb2");
    revision = h.kv.revision;
    // b reads etcd as a follower and would place the same proxies.
    await until(() => b.status().placements.length === 2, "b's view");

    await a.stop();
    await until(() => b.status().election.acting, "b takes over");
    // b's passes as leader, the first one at the takeover (a stopped: every pass now is b's)
    await morePasses(h, QUIET_PASSES, "b's first passes as leader");
    assert.equal(b.status().lastPass?.ok, true, "b passed as leader");
    assert.equal(h.kv.revision, revision, "the new leader wrote nothing: the records were right");
    // positive control: b's passes do write when the records are not right
    await handDeletedIsRestored(h, "/skydns/com/example/api/lb2");
    await p1.close();
    await until(() => h.kv.data.size === 2, "b removes lb1");
    assert.deepEqual(h.kv.writes.filter((w) => w.op === "delete").map((w) => w.key), [
      "/skydns/com/example/api/lb1",
    ]);
  } finally {
    await p2.close();
    await h.close();
  }
});

/** Two live proxies, and what a previous leader left in etcd: both of them, and a dead one. */
async function inheritedFleet(h: Harness): Promise<[MemoryStore, MemoryStore]> {
  const p1 = await proxy(h.server, "g", "lb1", { address: "198.18.0.21:8080" });
  const p2 = await proxy(h.server, "g", "lb2", { address: "198.18.0.22:8080" });
  for (
    const [label, host] of [["lb1", "198.18.0.21"], ["lb2", "198.18.0.22"], ["old", "198.18.0.9"]]
  ) {
    h.kv.data.set(
      `/skydns/com/example/api/${label}`,
      encodeRecord({ host: host!, port: 8080, priority: 10, weight: 100, ttl: 5, text: "group=g" }),
    );
  }
  return [p1, p2];
}

Deno.test("DnsController: a new leader waits for every registration before its first pass", async () => {
  const h = harness();
  const [p1, p2] = await inheritedFleet(h);
  // positive control, side by side: the same start on a server of its own, where every
  // registration arrives at once
  const control = harness();
  const controlProxies = await inheritedFleet(control);
  // lb2's registration is slow to arrive (a big fleet, a slow ZooKeeper).
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const base = await h.server.connect();
  const gated = interceptDataWatches(base, (path, n, cb) => {
    if (path.endsWith("/lb2")) void gate.then(() => cb(n));
    else cb(n);
  });
  try {
    const c = await h.start("dns-new", gated);
    await control.start("dns-control");
    await until(() => c.status().election.acting, "leads");
    // the wait: as long as before, and until the control has removed the dead record and passed
    // several times more (each a pass the gated leader would have run)
    await Promise.all([
      sleep(200),
      until(() => control.kv.data.size === 2, "control: the dead one removed", 10_000)
        .then(() => morePasses(control, QUIET_PASSES, "control: its passes after the removal")),
    ]);
    assert.deepEqual(control.kv.writes.map((w) => `${w.op} ${w.key}`), [
      "delete /skydns/com/example/api/old",
    ], "control: the full view written");
    assert.equal(c.status().registrations.complete, false);
    assert.equal(h.kv.writes.length, 0, "nothing written from a partial view");
    release();
    await until(() => h.kv.data.size === 2, "the dead one removed");
    assert.deepEqual(h.kv.writes.map((w) => `${w.op} ${w.key}`), [
      "delete /skydns/com/example/api/old",
    ]);
  } finally {
    release();
    await p1.close();
    await p2.close();
    await h.close();
    await base.close();
    for (const s of controlProxies) await s.close();
    await control.close();
  }
});

Deno.test("DnsController: an etcd failure is retried; the change lands once etcd is back", async () => {
  const h = harness();
  const errors: string[] = [];
  try {
    const c = await h.start("dns-1", undefined, {
      hooks: { pass: (r) => h.passes.push(r), error: (s) => errors.push(s) },
      maxBackoffMs: 40,
    });
    await until(() => c.status().election.acting && h.passes.length > 0, "first pass");
    h.kv.failWith = new Error("etcd unavailable");
    const p = await proxy(h.server, "g", "lb1", { address: "198.18.0.21:8080" });
    await until(() => errors.length >= 2, "failures counted");
    assert.equal(c.health().ok, false);
    assert.match(c.status().lastPass?.error ?? "", /etcd unavailable/);
    assert.ok(c.status().pending);
    h.kv.failWith = null;
    await until(() => h.kv.data.size === 1, "written after recovery");
    await until(() => c.health().ok, "healthy again");
    const last = h.passes.find((r) => r.puts === 1);
    assert.ok(last?.lagMs !== null && last!.lagMs >= 0, "lag measured from the change");
    await p.close();
  } finally {
    await h.close();
  }
});

Deno.test("DnsController: with weight-by-load, load noise writes nothing and a real move re-weights", async () => {
  const h = harness();
  const reg = (connections: number) =>
    enc({
      id: "lb1",
      group: "g",
      address: "198.18.0.21:8080",
      load: { connections, inflight: 0, cpu_percent: 0 },
    });
  const p = await proxy(h.server, "g", "lb1", { address: "198.18.0.21:8080" });
  const key = "/skydns/com/example/api/lb1";
  const weight = () => JSON.parse(h.kv.data.get(key) ?? "{}").weight;
  // What the controller was told of lb1's load, and how many passes had completed then.
  const told: { connections: unknown; passes: number }[] = [];
  const base = await h.server.connect();
  const watched = interceptDataWatches(base, (path, n, cb) => {
    cb(n);
    if (path.endsWith("/lb1") && n !== null) {
      const connections = JSON.parse(new TextDecoder().decode(n.data)).load?.connections;
      told.push({ connections, passes: h.passes.length });
    }
  });
  /**
   * The wait of each check below, the same for "nothing written" and for its positive control:
   * 100 ms, and until the controller was told `connections` and two passes completed since (the
   * second started after it, so it planned with that load).
   */
  const settledOn = (connections: number) =>
    Promise.all([
      sleep(100),
      until(
        () => {
          const t = told.findLast((x) => x.connections === connections);
          return t !== undefined && h.passes.length >= t.passes + 2;
        },
        `two passes after the controller was told ${connections} connections`,
        10_000,
      ),
    ]);
  try {
    await h.start("dns-1", watched, {
      fleet: {
        zone: ZONE,
        ttl: 5,
        priority: 10,
        weight: 100,
        weightByLoad: { metric: "connections", capacity: 100 },
      },
    });
    await until(() => weight() === 100, "idle: full weight");
    const path = proxyInstancePath("g", "lb1");
    const revision = h.kv.revision;
    for (const n of [3, 7, 2, 8, 4, 6, 1, 9]) {
      await p.set(path, reg(n));
      await sleep(15);
    }
    await settledOn(9);
    assert.equal(h.kv.revision, revision, "noise within a level: no write");
    // positive control: a real move is written within the same wait
    await p.set(path, reg(62));
    await settledOn(62);
    assert.equal(weight(), 40, "loaded: weight 40");
    for (const n of [60, 64, 58, 63, 61]) {
      await p.set(path, reg(n));
      await sleep(15);
    }
    await settledOn(61);
    assert.equal(weight(), 40);
    assert.equal(h.kv.revision, revision + 1, "one write for one real move");
    // positive control: the move back is written within the same wait
    await p.set(path, reg(0));
    await settledOn(0);
    assert.equal(weight(), 100, "idle again: full weight");
    assert.equal(h.kv.revision, revision + 2);
  } finally {
    await p.close();
    await h.close();
    await base.close();
  }
});

Deno.test("DnsController: --group publishes only the groups asked for", async () => {
  const h = harness();
  const a = await proxy(h.server, "edge", "lb1", { address: "198.18.0.21:8080" });
  const b = await proxy(h.server, "internal", "lb2", { address: "198.18.0.22:8080" });
  try {
    const c = await h.start("dns-1", undefined, { groups: ["edge", "absent"] });
    await until(() => h.kv.data.size === 1, "edge only");
    assert.deepEqual(hosts(h.kv), ["/skydns/com/example/api/lb1 198.18.0.21"]);
    assert.deepEqual(c.status().followedGroups, ["absent", "edge"]);
    // A proxy joining a group that did not exist yet is picked up.
    const d = await proxy(h.server, "absent", "lb3", { address: "198.18.0.23:8080" });
    await until(() => h.kv.data.size === 2, "the new group's proxy");
    await d.close();
  } finally {
    await a.close();
    await b.close();
    await h.close();
  }
});

Deno.test("DnsController: no writes while ZooKeeper is away; after reconnecting it settles first", async () => {
  const h = harness();
  // positive control, side by side: a controller that stays connected to the same ZooKeeper,
  // with an etcd of its own (and its own election)
  const control = harness(h.server);
  const a = await proxy(h.server, "g", "lb1", { address: "198.18.0.21:8080" });
  // a record of the zone that no proxy backs (left by hand): any acting leader's next pass
  // deletes it, even one whose view of the proxies is stale
  const stray = "/skydns/com/example/api/stray";
  const strayRecord = encodeRecord({
    host: "198.18.0.9",
    port: 8080,
    priority: 10,
    weight: 100,
    ttl: 5,
    text: "group=g",
  });
  try {
    const store = await h.server.connect({ reconnectWaitMs: 50 });
    const c = await h.start("dns-1", store, { settleMs: 150 });
    await control.start("dns-control", undefined, { electionPath: `${ELECTION}-control` });
    await until(() => h.kv.data.size === 1, "written");
    await until(() => control.kv.data.size === 1, "control: written");
    store.simulateDisconnect();
    await until(() => !c.status().election.acting, "stops acting");
    assert.equal(c.health().ok, false);
    const revision = h.kv.revision;
    h.kv.data.set(stray, strayRecord);
    control.kv.data.set(stray, strayRecord);
    await a.close(); // lb1 goes while we are away
    // the wait: as long as before, and until the connected control has deleted both records and
    // passed several times more (each a pass an acting leader would have run)
    await Promise.all([
      sleep(120),
      until(() => control.kv.data.size === 0, "control: lb1 and the stray deleted", 10_000)
        .then(() => morePasses(control, QUIET_PASSES, "control: its passes after the deletes")),
    ]);
    assert.equal(h.kv.revision, revision, "nothing written while disconnected");
    assert.ok(h.kv.data.has(stray), "the stray record deleted while disconnected");
    const back = Date.now();
    store.simulateReconnect();
    await until(() => h.kv.data.size === 0, "lb1 (and the stray) removed after the reconnect");
    assert.ok(Date.now() - back >= 140, "waited for the watches to re-read first");
    await store.close();
  } finally {
    await h.close();
    await control.close();
  }
});
