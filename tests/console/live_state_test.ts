/**
 * The console's aggregator over the memory store: what it shows follows the
 * store (configs, health, proxy registrations, orchestrator nodes) through
 * its watches, and watches are closed as things go away.
 */
import assert from "node:assert/strict";
import { skyDnsProvider } from "../../lib/admin/console/dns_skydns.ts";
import { ConsoleHub } from "../../lib/admin/console/hub.ts";
import { assignmentSize, LiveState, type Topology } from "../../lib/admin/console/live_state.ts";
import type { ConsoleEvent } from "../../lib/admin/console/model.ts";
import { MemoryRecordKv } from "../../lib/dns/record_kv.ts";
import { silentLogger } from "../../lib/log.ts";
import {
  assignmentPath,
  configPath,
  healthBackendPath,
  MASTER_PATH,
  proxyInstancePath,
  workerPath,
} from "../../lib/store/layout.ts";
import { createMemoryStore } from "../../lib/store/mod.ts";

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

async function until<T>(what: string, get: () => T | undefined | null | false, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const group = (t: Topology, name: string) => t.groups.find((g) => g.name === name);

Deno.test("LiveState follows configs, health, registrations and the orchestrator", async () => {
  const store = await createMemoryStore();
  await store.create(configPath("api"), enc({ backend_servers: ["10.0.0.1:80"] }), {
    parents: true,
  });
  const live = new LiveState({ store, log: silentLogger, coalesceMs: 5 });
  let told = 0;
  live.subscribe(() => told++);
  await live.start();
  // start() waits for the nested watches: the first picture is complete
  let t = live.topology();
  assert.equal(t.coordination.state, "connected");
  assert.equal(t.coordination.kind, "memory");
  assert.deepEqual(group(t, "api")?.backends, [{
    address: "10.0.0.1:80",
    weight: 1,
    drain: false,
  }]);
  assert.equal(group(t, "api")?.algorithm, "ROUND_ROBIN");
  assert.equal(group(t, "api")?.version, 0);

  // a config change, re-weighting with canonical addresses
  await store.set(
    configPath("api"),
    enc({
      backend_servers: ["10.0.0.1:80", { address: "EXAMPLE.com:81", weight: 3 }],
      algorithm: "WEIGHTED_ROUND_ROBIN",
    }),
  );
  t = await until("the new config", () => {
    const x = live.topology();
    return group(x, "api")?.version === 1 ? x : null;
  });
  assert.deepEqual(group(t, "api")?.backends.map((b) => [b.address, b.weight]), [
    ["10.0.0.1:80", 1],
    ["example.com:81", 3],
  ]);
  assert.equal(group(t, "api")?.algorithm, "WEIGHTED_ROUND_ROBIN");

  // the orchestrator holds one backend unhealthy, with a reason
  await store.create(
    healthBackendPath("api", "10.0.0.1:80"),
    enc({ status: "unhealthy", since: "2025-01-01T00:00:00.000Z", reason: "HTTP 500" }),
    { parents: true },
  );
  t = await until("the health verdict with its reason", () => {
    const x = live.topology();
    return group(x, "api")?.unhealthy.get("10.0.0.1:80")?.reason === "HTTP 500" ? x : null;
  });

  // a proxy registers, then applies a new version
  const reg = {
    id: "p1",
    group: "api",
    address: "127.0.0.1:8080",
    admin: "127.0.0.1:9090",
    region: "eu",
    runtime: "deno 2.9.6",
    config_version: "0",
    started_at: "2025-01-01T00:00:00.000Z",
  };
  await store.create(proxyInstancePath("api", "p1"), enc(reg), {
    parents: true,
    mode: "ephemeral",
  });
  await until("the registration", () => group(live.topology(), "api")?.proxies[0]?.region === "eu");
  await store.set(proxyInstancePath("api", "p1"), enc({ ...reg, config_version: "1" }));
  await until(
    "the registration's new version",
    () => group(live.topology(), "api")?.proxies[0]?.configVersion === "1",
  );

  // orchestrator: master, workers, assignments
  await store.create(workerPath("w1"), enc({}), { parents: true, mode: "ephemeral" });
  await store.create(workerPath("w2"), enc({}), { mode: "ephemeral" });
  await store.create(MASTER_PATH, enc("w1"), { mode: "ephemeral" });
  await store.create(
    assignmentPath("w1"),
    enc({ v: 1, worker: "w1", groups: { api: { backends: ["10.0.0.1:80", "example.com:81"] } } }),
    { parents: true },
  );
  t = await until("the orchestrator", () => {
    const x = live.topology();
    return x.orchestrator.workers.length === 2 && x.orchestrator.workers[0]?.backends === 2
      ? x
      : null;
  });
  assert.equal(t.orchestrator.master, "w1");
  assert.deepEqual(t.orchestrator.workers, [
    { id: "w1", backends: 2, groups: 1 },
    { id: "w2", backends: null, groups: null },
  ]);

  // a group only proxies name (its config was deleted) still shows, without config
  await store.create(proxyInstancePath("orphan", "p9"), enc({ id: "p9" }), { parents: true });
  t = await until("the orphan group", () => {
    const x = live.topology();
    return group(x, "orphan")?.proxies.length === 1 ? x : null;
  });
  assert.equal(group(t, "orphan")?.version, null);

  // an invalid blob written around the API is shown with its issues
  await store.create(configPath("bad"), enc({ backend_servers: [{ address: "x:1", weight: 0 }] }));
  t = await until("the invalid group", () => {
    const x = live.topology();
    return group(x, "bad")?.issues.length ? x : null;
  });
  assert.equal(group(t, "bad")?.issues[0]?.field, "backend_servers[0].weight");
  assert.deepEqual(group(t, "bad")?.backends, [{ address: "x:1", weight: 0, drain: false }]);
  // a blob that is not JSON: the reason names the position (under Bun too, whose JSON.parse
  // message has none)
  await store.set(configPath("bad"), enc('{"backend_servers": [}'));
  t = await until("the unparsable group", () => {
    const x = live.topology();
    return /JSON/.test(group(x, "bad")?.issues[0]?.reason ?? "") ? x : null;
  });
  assert.match(
    group(t, "bad")!.issues[0]!.reason,
    /^invalid JSON at position 21 \(line 1, column 22\): unexpected character "}"/,
  );

  // things going away close their watches
  const before = live.watchCount();
  await store.delete(proxyInstancePath("api", "p1"));
  await store.deleteTree(configPath("bad"));
  await until("the removals", () => {
    const x = live.topology();
    return !group(x, "bad") && group(x, "api")?.proxies.length === 0;
  });
  assert.equal(live.watchCount(), before - 3); // bad: config + health; api/p1: registration
  assert.ok(told > 0);
  live.stop();
  await store.close();
});

Deno.test("LiveState reports the connection state as it changes", async () => {
  const store = await createMemoryStore({ reconnectWaitMs: 20 });
  const live = new LiveState({ store, log: silentLogger, coalesceMs: 5 });
  await live.start();
  store.simulateDisconnect();
  await until("disconnected", () => live.topology().coordination.state === "disconnected");
  store.simulateReconnect();
  await until("connected", () => live.topology().coordination.state === "connected");
  live.stop();
  await store.close();
});

Deno.test("ConsoleHub publishes a state after each store change, and reads DNS when configured", async () => {
  const store = await createMemoryStore();
  let reads = 0;
  const hub = new ConsoleHub({
    store,
    log: silentLogger,
    coalesceMs: 5,
    scraper: { intervalMs: 60_000 },
    dns: {
      kind: "etcd",
      connection: () => ({ kind: "etcd", state: "connected", session: null, since: 0 }),
      read: () => {
        reads++;
        return Promise.resolve({ records: [{ name: "api.example.com", host: "10.0.0.50" }] });
      },
    },
  });
  const events: ConsoleEvent[] = [];
  hub.subscribe((e) => events.push(e));
  await hub.start();
  assert.equal(hub.state().dns?.records[0]?.host, "10.0.0.50");
  assert.ok(reads >= 1);
  const seq = hub.state().seq;
  await store.create(configPath("g"), enc({ backend_servers: ["10.0.0.9:80"] }), { parents: true });
  await until(
    "the published group",
    () => events.some((e) => e.type === "state" && e.state.groups.some((g) => g.name === "g")),
  );
  assert.ok(hub.state().seq > seq);
  const g = hub.state().groups.find((x) => x.name === "g")!;
  assert.equal(g.backends[0]?.rps, null); // no proxy scraped yet: unknown, not zero
  hub.stop();
  await store.close();
});

Deno.test("ConsoleHub without a DNS provider shows none", async () => {
  const store = await createMemoryStore();
  const hub = new ConsoleHub({ store, log: silentLogger, scraper: { intervalMs: 60_000 } });
  await hub.start();
  assert.equal(hub.state().dns, null);
  hub.stop();
  await store.close();
});

Deno.test("assignmentSize() counts the backends and groups of an assignment", () => {
  assert.deepEqual(
    assignmentSize(enc({ groups: { a: { backends: ["x", "y"] }, b: { backends: ["z"] } } })),
    { backends: 3, groups: 2 },
  );
  assert.equal(assignmentSize(enc("not json")), null);
});

Deno.test("skyDnsProvider() lists SkyDNS records with their names and regions", async () => {
  const kv = new MemoryRecordKv();
  await kv.apply({
    puts: [
      ["/skydns/com/example/api/lb1", JSON.stringify({ host: "10.0.0.10", port: 80, ttl: 30 })],
      ["/skydns/_region/eu/com/example/api/lb1", JSON.stringify({ host: "10.0.0.10" })],
      ["/skydns-region-us/com/example/api/lb2", JSON.stringify({ host: "10.0.0.11" })],
      ["/skydns/com/example/api/broken", "{not json"],
      ["/other/key", JSON.stringify({ host: "10.9.9.9" })],
    ],
    deletes: [],
  });
  const dns = skyDnsProvider({ kv, endpoints: ["127.0.0.1:2379"] });
  assert.equal(dns.connection().state, "connecting");
  const { records } = await dns.read();
  assert.deepEqual(records, [
    {
      name: "lb1.api.example.com",
      key: "/skydns/com/example/api/lb1",
      host: "10.0.0.10",
      port: 80,
      ttl: 30,
    },
    {
      name: "lb1.api.example.com",
      region: "eu",
      key: "/skydns/_region/eu/com/example/api/lb1",
      host: "10.0.0.10",
    },
    {
      name: "lb2.api.example.com",
      region: "us",
      key: "/skydns-region-us/com/example/api/lb2",
      host: "10.0.0.11",
    },
  ]);
  assert.equal(dns.connection().state, "connected");
  kv.failWith = new Error("etcd down");
  await assert.rejects(dns.read(), /etcd down/);
  assert.equal(dns.connection().state, "unreachable");
  assert.deepEqual(dns.connection().endpoints, ["127.0.0.1:2379"]);
});
