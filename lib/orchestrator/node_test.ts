/**
 * The orchestrator's coordination on the memory store: election + master + workers together,
 * with a scripted probe (no sockets) and short intervals.
 */
import assert from "node:assert/strict";
import type { ProbeTarget } from "../health/probe.ts";
import { silentLogger } from "../log.ts";
import {
  assignmentPath,
  configPath,
  healthGroupPath,
  MASTER_PATH,
  WORKERS_PATH,
} from "../store/layout.ts";
import { MemoryServer, type MemoryStore } from "../store/mod.ts";
import { decodeAssignment } from "./assignment.ts";
import { OrchestratorNode } from "./node.ts";
import { orchestratorAcls } from "./paths.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Waits until every backend that is being probed has been probed `rounds` more times: the
 * positive control of a check that no health changed in that time.
 */
async function probeRounds(h: Harness, rounds: number): Promise<void> {
  const total = () => [...h.probes.values()].reduce((n, l) => n + l.length, 0);
  const addresses = h.probes.size;
  assert.ok(addresses > 0, "backends are being probed");
  h.probes.clear();
  await until(
    () => h.probes.size >= addresses && [...h.probes.values()].every((l) => l.length >= rounds),
    `${rounds} more probe rounds (${total()} probes so far)`,
  );
}

interface Harness {
  server: MemoryServer;
  admin: MemoryStore;
  down: Set<string>;
  probes: Map<string, string[]>;
  nodes: OrchestratorNode[];
  stores: MemoryStore[];
  add(id: string): Promise<OrchestratorNode>;
  health(group: string): Promise<string[]>;
  healthLog: string[];
  close(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const server = new MemoryServer();
  const admin = await server.connect();
  const down = new Set<string>();
  const probes = new Map<string, string[]>();
  const nodes: OrchestratorNode[] = [];
  const stores: MemoryStore[] = [];
  const healthLog: string[] = [];
  const watches: Array<{ close(): void }> = [];
  const h: Harness = {
    server,
    admin,
    down,
    probes,
    nodes,
    stores,
    healthLog,
    async add(id) {
      const store = await server.connect({ reconnectWaitMs: 50 });
      const node = new OrchestratorNode({
        store,
        id,
        acls: orchestratorAcls(undefined),
        log: silentLogger,
        probe: async (t: ProbeTarget) => {
          await new Promise((r) => setTimeout(r, 1));
          const a = `${t.host}:${t.port}`;
          const list = probes.get(a) ?? [];
          list.push(id);
          probes.set(a, list);
          return down.has(a)
            ? { ok: false, error: "ECONNREFUSED", status: null }
            : { ok: true, error: null, status: 200 };
        },
        now: () => performance.now(),
        wallClock: Date.now,
        random: Math.random,
        debounceMs: 20,
      });
      await node.start();
      nodes.push(node);
      stores.push(store);
      return node;
    },
    async health(group) {
      try {
        return await admin.children(healthGroupPath(group));
      } catch {
        return [];
      }
    },
    async close() {
      for (const w of watches) w.close();
      for (const n of nodes) await n.stop();
      for (const s of stores) await s.close();
      await admin.close();
    },
  };
  // Record every change of the health children (to catch flaps).
  await admin.ensurePath("/switchyard/health/web");
  watches.push(admin.watchChildren(healthGroupPath("web"), (snap) => {
    healthLog.push((snap?.children ?? []).join(","));
  }));
  return h;
}

const backends = (n: number) => Array.from({ length: n }, (_, i) => `127.0.0.1:${9001 + i}`);
const webConfig = (list: string[], extra: Record<string, unknown> = {}) =>
  enc({ backend_servers: list, health_check_frequency_seconds: 0.05, ...extra });

Deno.test("orchestrator nodes: one master, targets split over all workers, each probed by one", async () => {
  const h = await harness();
  try {
    await h.admin.create(configPath("web"), webConfig(backends(12)), { parents: true });
    for (const id of ["o1", "o2", "o3"]) await h.add(id);
    await until(() => h.nodes.filter((n) => n.isMaster).length === 1, "a master");
    assert.equal(h.nodes[0]!.isMaster, true, "the first to join leads");
    assert.equal(new TextDecoder().decode((await h.admin.get(MASTER_PATH))!.data), "o1");
    await until(
      () => h.nodes.every((n) => n.worker.status().targets > 0),
      "every worker has targets",
    );
    assert.equal(h.nodes.reduce((s, n) => s + n.worker.status().targets, 0), 12);
    await new Promise((r) => setTimeout(r, 60)); // probes started before the last move finish
    h.probes.clear();
    await until(
      () => h.probes.size === 12 && [...h.probes.values()].every((l) => l.length >= 3),
      "probes ran",
    );
    for (const [address, by] of h.probes) {
      assert.equal(new Set(by).size, 1, `${address} probed by ${[...new Set(by)]}`);
    }
    const a = decodeAssignment((await h.admin.get(assignmentPath("o2")))!.data)!;
    assert.equal(a.session, h.stores[1]!.session()!.id);
    assert.equal(a.master, "o1");
    assert.deepEqual(await h.health("web"), [], "steady healthy state writes nothing");
  } finally {
    await h.close();
  }
});

Deno.test("orchestrator nodes: a backend going down is marked after fall probes, cleared after rise", async () => {
  const h = await harness();
  try {
    await h.admin.create(configPath("web"), webConfig(backends(4)), { parents: true });
    for (const id of ["o1", "o2"]) await h.add(id);
    await until(() => h.nodes.reduce((s, n) => s + n.worker.status().targets, 0) === 4, "assigned");
    h.down.add("127.0.0.1:9002");
    await until(async () => (await h.health("web")).includes("127.0.0.1:9002"), "marked");
    const node = (await h.admin.get(`${healthGroupPath("web")}/127.0.0.1:9002`))!;
    const record = JSON.parse(new TextDecoder().decode(node.data));
    assert.equal(record.status, "unhealthy");
    assert.equal(record.reason, "ECONNREFUSED");
    assert.equal(record.failures, 3);
    assert.ok(["o1", "o2"].includes(record.worker));
    h.down.delete("127.0.0.1:9002");
    await until(async () => (await h.health("web")).length === 0, "cleared");
    assert.deepEqual(h.healthLog, ["", "127.0.0.1:9002", ""], "one mark, one clear");
  } finally {
    await h.close();
  }
});

Deno.test("orchestrator nodes: master failover reassigns without flapping health", async () => {
  const h = await harness();
  try {
    await h.admin.create(configPath("web"), webConfig(backends(12)), { parents: true });
    for (const id of ["o1", "o2", "o3"]) await h.add(id);
    h.down.add("127.0.0.1:9005");
    await until(async () => (await h.health("web")).includes("127.0.0.1:9005"), "marked");
    const logBefore = h.healthLog.length;
    // The master's session dies (kill -9 / partition): its election and worker nodes vanish.
    h.stores[0]!.simulateDisconnect();
    h.server.expireSession(h.stores[0]!.session()!.id);
    await until(() => h.nodes[1]!.isMaster, "o2 takes over");
    await until(
      () => h.nodes[1]!.worker.status().targets + h.nodes[2]!.worker.status().targets === 12,
      "o1's targets reassigned",
    );
    // positive control: every backend is probed again, several times, by the new layout
    await probeRounds(h, 3);
    assert.equal(h.healthLog.length, logBefore, `no health change: ${h.healthLog}`);
    assert.deepEqual(await h.health("web"), ["127.0.0.1:9005"]);
    assert.equal(new TextDecoder().decode((await h.admin.get(MASTER_PATH))!.data), "o2");
    // The old master comes back: it rejoins as a worker, not as master.
    h.stores[0]!.simulateReconnect();
    await until(() => h.nodes[0]!.worker.status().targets > 0, "o1 gets a share again");
    assert.equal(h.nodes[0]!.isMaster, false);
    assert.equal(h.nodes[1]!.isMaster, true);
    await probeRounds(h, 3);
    assert.equal(h.healthLog.length, logBefore, `still no flap: ${h.healthLog}`);
  } finally {
    await h.close();
  }
});

Deno.test("orchestrator nodes: config changes reach assignments fast; invalid configs keep the last good", async () => {
  const h = await harness();
  try {
    await h.admin.create(configPath("web"), webConfig(backends(3)), { parents: true });
    await h.add("o1");
    await until(() => h.nodes[0]!.worker.status().targets === 3, "3 targets");
    const t0 = performance.now();
    await h.admin.set(configPath("web"), webConfig(backends(5)));
    await until(() => h.nodes[0]!.worker.status().targets === 5, "5 targets", 1000);
    assert.ok(performance.now() - t0 < 1000);
    await h.admin.set(configPath("web"), enc({ backend_servers: "broken" }));
    // positive control: the master did read the broken config (and rejected it)
    await until(() => h.nodes[0]!.status().master.rejectedGroups.includes("web"), "rejected");
    assert.equal(h.nodes[0]!.worker.status().targets, 5, "last good targets kept");
    assert.deepEqual(h.nodes[0]!.status().master.rejectedGroups, ["web"]);
    // Interval change is reflected in the assignment.
    await h.admin.set(
      configPath("web"),
      webConfig(backends(5), { health_check_frequency_seconds: 0.2 }),
    );
    await until(
      async () => {
        const a = decodeAssignment((await h.admin.get(assignmentPath("o1")))!.data)!;
        return a.groups.get("web")?.settings.intervalMs === 200;
      },
      "interval in assignment",
      1000,
    );
    // A new group, and a removed group whose health is garbage-collected.
    h.down.add("127.0.0.1:9100");
    await h.admin.create(
      configPath("api"),
      enc({
        backend_servers: ["127.0.0.1:9100"],
        health_check_frequency_seconds: 0.05,
      }),
    );
    await until(async () => (await h.health("api")).length === 1, "api backend marked");
    await h.admin.delete(configPath("api"));
    await until(async () => (await h.health("api")).length === 0, "api health removed");
    await until(() => h.nodes[0]!.worker.status().targets === 5, "api target dropped");
  } finally {
    await h.close();
  }
});

Deno.test("orchestrator nodes: stop() resigns at once and deletes the worker node", async () => {
  const h = await harness();
  try {
    await h.admin.create(configPath("web"), webConfig(backends(6)), { parents: true });
    for (const id of ["o1", "o2"]) await h.add(id);
    await until(() => h.nodes[0]!.isMaster, "o1 master");
    await h.nodes[0]!.stop();
    assert.deepEqual(await h.admin.children(WORKERS_PATH), ["o2"]);
    await until(() => h.nodes[1]!.isMaster, "o2 takes over");
    await until(() => h.nodes[1]!.worker.status().targets === 6, "o2 has everything");
    assert.equal(
      await h.admin.exists(assignmentPath("o1")),
      null,
      "departed worker's assignment deleted",
    );
  } finally {
    await h.close();
  }
});

Deno.test("orchestrator nodes: a new master keeps the last good targets of a group whose config is now invalid", async () => {
  const h = await harness();
  try {
    await h.admin.create(configPath("web"), webConfig(backends(6)), { parents: true });
    for (const id of ["o1", "o2"]) await h.add(id);
    await until(
      () => h.nodes[0]!.worker.status().targets + h.nodes[1]!.worker.status().targets === 6,
      "assigned",
    );
    await h.admin.set(configPath("web"), enc({ backend_servers: [1, 2, 3] }));
    await new Promise((r) => setTimeout(r, 100));
    h.stores[0]!.simulateDisconnect();
    h.server.expireSession(h.stores[0]!.session()!.id);
    await until(() => h.nodes[1]!.isMaster, "o2 takes over");
    await until(() => h.nodes[1]!.worker.status().targets === 6, "o2 probes all 6 last good");
    assert.deepEqual(h.nodes[1]!.status().master.rejectedGroups, ["web"]);
    h.stores[0]!.simulateReconnect();
    await until(
      () =>
        h.nodes[0]!.worker.status().targets + h.nodes[1]!.worker.status().targets === 6 &&
        h.nodes[0]!.worker.status().targets > 0,
      "o1 gets its share of the inherited targets",
    );
  } finally {
    await h.close();
  }
});
