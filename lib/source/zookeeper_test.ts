import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ConfigIssue } from "../config/schema.ts";
import { createLogger } from "../log.ts";
import { digestId, OPEN_ACL, writerOnlyAcl } from "../store/acl.ts";
import { eventually } from "../store/contract.ts";
import {
  configPath,
  healthBackendPath,
  proxyInstancePath,
  workerPath,
  WORKERS_PATH,
} from "../store/layout.ts";
import { MemoryServer, type MemoryStore } from "../store/memory.ts";
import { type CoordinationStore, NoAuthError, type WatchHandle } from "../store/types.ts";
import { readSnapshot } from "./snapshot_file.ts";
import { type ConfigSink, deliverTo } from "./config_source.ts";
import { ZkProxySource, type ZkProxySourceOptions } from "./zookeeper.ts";

const enc = (t: string) => new TextEncoder().encode(t);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const WAIT = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Call =
  | { kind: "apply"; version: string; blob: unknown }
  | { kind: "reject"; version: string; issues: readonly ConfigIssue[] }
  | { kind: "health"; unhealthy: string[] };

/** A sink that records every call; `accept` decides what applyBlob answers. */
class FakeSink implements ConfigSink {
  calls: Call[] = [];
  applied: string | null = null;
  accept: (blob: unknown) => boolean = () => true;
  applyBlob(version: string, blob: unknown): boolean {
    this.calls.push({ kind: "apply", version, blob });
    const ok = this.accept(blob);
    if (ok) this.applied = version;
    return ok;
  }
  reject(version: string, issues: readonly ConfigIssue[]): void {
    this.calls.push({ kind: "reject", version, issues });
  }
  setExternalHealth(unhealthy: ReadonlySet<string>): void {
    this.calls.push({ kind: "health", unhealthy: [...unhealthy].sort() });
  }
  of<K extends Call["kind"]>(kind: K): Extract<Call, { kind: K }>[] {
    return this.calls.filter((c): c is Extract<Call, { kind: K }> => c.kind === kind);
  }
  applies(): string[] {
    return this.of("apply").map((c) => c.version);
  }
  rejects(): string[] {
    return this.of("reject").map((c) => c.version);
  }
  lastHealth(): string[] | undefined {
    return this.of("health").at(-1)?.unhealthy;
  }
}

interface Fixture {
  server: MemoryServer;
  /** The proxy's session. */
  store: MemoryStore;
  /** Another session writing configs, health and workers. */
  admin: MemoryStore;
  sink: FakeSink;
  orchestrator: boolean[];
  lines: Record<string, unknown>[];
  snapshotFile: string;
  source: ZkProxySource;
  /** Writes the group's config (creating it if absent). */
  write(config: unknown): Promise<void>;
}

const group = "g";
const regPath = proxyInstancePath(group, "p1");

async function withSource(
  fn: (f: Fixture) => Promise<void>,
  options: {
    resyncMs?: number;
    snapshotFile?: string | null;
    registration?: ZkProxySourceOptions["registration"] | "default";
    wrap?: (store: MemoryStore) => CoordinationStore;
    before?: (admin: MemoryStore, server: MemoryServer) => Promise<void>;
    start?: boolean;
    acl?: ZkProxySourceOptions["acl"];
    /** Digest credentials of the proxy's session. */
    digest?: string;
  } = {},
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-zksource-"));
  const server = new MemoryServer();
  const store = await server.connect({
    reconnectWaitMs: 50,
    ...(options.digest === undefined ? {} : { digest: options.digest }),
  });
  const admin = await server.connect();
  const sink = new FakeSink();
  const orchestrator: boolean[] = [];
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "debug",
    write: (l) => lines.push(JSON.parse(l)),
    now: Date.now,
  });
  const snapshotFile = path.join(dir, "snapshots", `${group}.json`);
  await options.before?.(admin, server);
  const source = new ZkProxySource({
    store: options.wrap ? options.wrap(store) : store,
    group,
    onUnhealthy: (unhealthy) => sink.setExternalHealth(unhealthy),
    log,
    resyncMs: options.resyncMs ?? 60_000,
    snapshotFile: options.snapshotFile === undefined ? snapshotFile : options.snapshotFile,
    onOrchestrator: (present) => orchestrator.push(present),
    registration: options.registration === undefined || options.registration === "default"
      ? { id: "p1", data: () => ({ id: "p1", address: "10.9.9.9:80", config: sink.applied }) }
      : options.registration,
    ...(options.acl === undefined ? {} : { acl: options.acl }),
  });
  const write = async (config: unknown) => {
    const data = enc(typeof config === "string" ? config : JSON.stringify(config));
    if (await admin.exists(configPath(group))) await admin.set(configPath(group), data);
    else await admin.create(configPath(group), data, { parents: true });
  };
  try {
    if (options.start !== false) source.start(deliverTo(sink));
    await fn({ server, store, admin, sink, orchestrator, lines, snapshotFile, source, write });
  } finally {
    await source.stop();
    await store.close();
    await admin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const cfg = (n: number) => ({ backend_servers: [`10.0.0.${n}:80`] });

/** The store, with the config watch closed right after its first delivery (a lost watch). */
function lostConfigWatch(store: MemoryStore): CoordinationStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "watchData") {
        return (p: string, cb: Parameters<MemoryStore["watchData"]>[1]): WatchHandle => {
          const handle = target.watchData(p, cb);
          void handle.ready.then(() => handle.close());
          return handle;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as CoordinationStore;
}

/**
 * The store, counting the config-node reads that have completed (each resync is one): lets a
 * test that checks that a resync changed nothing wait until resyncs did run, instead of
 * sleeping and hoping they did.
 */
function countConfigReads(store: MemoryStore, counter: { reads: number }): CoordinationStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "get") {
        return (p: string) =>
          target.get(p).then((node) => {
            if (p === configPath(group)) counter.reads++;
            return node;
          });
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as CoordinationStore;
}

/** The store, recording each set of orchestrator workers its watches deliver. */
function recordWorkers(store: MemoryStore, seen: string[][]): CoordinationStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "watchChildren") {
        return (
          p: string,
          cb: Parameters<MemoryStore["watchChildren"]>[1],
          options?: Parameters<MemoryStore["watchChildren"]>[2],
        ): WatchHandle =>
          target.watchChildren(p, (snap) => {
            cb(snap);
            if (p === WORKERS_PATH) seen.push([...(snap?.children ?? [])]);
          }, options);
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as CoordinationStore;
}

/** A second source, with its own sink, that a test runs beside the one under test. */
interface ControlSource {
  readonly source: ZkProxySource;
  readonly sink: FakeSink;
  readonly orchestrator: boolean[];
  readonly lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * Starts a control source: the positive control of a test that checks that the source under
 * test did NOT see something. It watches the same nodes (on `store`, or on a session of its
 * own), so what it sees in a window, the source under test would have seen too.
 */
async function startControl(
  server: MemoryServer,
  options: { id?: string; resyncMs?: number; store?: MemoryStore } = {},
): Promise<ControlSource> {
  const own = options.store ? null : await server.connect({ reconnectWaitMs: 50 });
  const sink = new FakeSink();
  const orchestrator: boolean[] = [];
  const lines: Record<string, unknown>[] = [];
  const source = new ZkProxySource({
    store: options.store ?? own!,
    group,
    onUnhealthy: (unhealthy) => sink.setExternalHealth(unhealthy),
    log: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)), now: Date.now }),
    resyncMs: options.resyncMs ?? 60_000,
    snapshotFile: null,
    onOrchestrator: (present) => orchestrator.push(present),
    registration: options.id === undefined ? null : { id: options.id, data: () => ({}) },
  });
  source.start(deliverTo(sink));
  return {
    source,
    sink,
    orchestrator,
    lines,
    async stop() {
      await source.stop();
      await own?.close();
    },
  };
}

// --- config -------------------------------------------------------------------------------------

Deno.test("ZkProxySource applies the config it finds at start", async () => {
  await withSource(async ({ sink, source }) => {
    await eventually(() => sink.applies().length === 1, WAIT, "first apply");
    assert.deepEqual(sink.of("apply"), [{ kind: "apply", version: "0", blob: cfg(1) }]);
    assert.equal(source.deliveries, 1);
    assert.equal(source.resyncFixes, 0);
  }, {
    before: (admin) =>
      admin.create(configPath(group), enc(JSON.stringify(cfg(1))), { parents: true }).then(
        () => {},
      ),
  });
});

Deno.test("ZkProxySource pushes each change of the config node to the sink", async () => {
  await withSource(async ({ sink, write, source }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "create applied");
    await write(cfg(2));
    await eventually(() => sink.applies().length === 2, WAIT, "change applied");
    assert.deepEqual(sink.of("apply").map((c) => [c.version, c.blob]), [
      ["0", cfg(1)],
      ["1", cfg(2)],
    ]);
    assert.equal(source.deliveries, 2);
  });
});

Deno.test("ZkProxySource rejects a config that is not JSON with its version", async () => {
  await withSource(async ({ sink, write, source }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await write("{not json");
    await eventually(() => sink.rejects().includes("1"), WAIT, "reject");
    const r = sink.of("reject").find((c) => c.version === "1");
    assert.equal(r?.version, "1");
    assert.equal(r?.issues.length, 1);
    assert.equal(r?.issues[0]?.group, "g");
    assert.equal(r?.issues[0]?.field, "");
    assert.match(String(r?.issues[0]?.reason), /^invalid JSON: /);
    assert.deepEqual(sink.applies(), ["0"]);
    assert.equal(source.deliveries, 2);
  });
});

Deno.test("ZkProxySource rejects once with 'does not exist' when the config node is deleted", async () => {
  const counter = { reads: 0 };
  await withSource(async ({ sink, write, admin }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    const before = sink.rejects().length; // the node was absent at start too
    await admin.delete(configPath(group));
    await eventually(() => sink.rejects().length === before + 1, WAIT, "reject");
    // positive control: several resyncs did read the node (absent) after the reject
    const reads = counter.reads;
    await eventually(() => counter.reads >= reads + 3, WAIT, "three resyncs after the reject");
    const rejects = sink.of("reject").slice(before);
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0]?.version, "absent");
    assert.deepEqual(rejects[0]?.issues, [
      { group: "g", field: "", reason: "/lb-configs/g does not exist" },
    ]);
    // re-created: applied again, even at the same version number
    await write(cfg(3));
    await eventually(() => sink.applies().length === 2, WAIT, "re-created applied");
    assert.deepEqual(sink.of("apply")[1], { kind: "apply", version: "0", blob: cfg(3) });
  }, { resyncMs: 15, wrap: (store) => countConfigReads(store, counter) });
});

Deno.test("ZkProxySource rejects once when the config node is absent at start, then applies it when created", async () => {
  await withSource(async ({ sink, write }) => {
    await eventually(() => sink.of("reject").length === 1, WAIT, "reject");
    assert.equal(sink.of("reject")[0]?.version, "absent");
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    assert.equal(sink.of("reject").length, 1);
  });
});

Deno.test("ZkProxySource does not apply the same version twice", async () => {
  const counter = { reads: 0 };
  await withSource(async ({ sink, write, source }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    // positive control: resyncs did read version 0 again after it was applied
    const reads = counter.reads;
    await eventually(() => counter.reads >= reads + 3, WAIT, "three resyncs after the apply");
    assert.deepEqual(sink.applies(), ["0"]);
    assert.equal(source.deliveries, 1);
    assert.equal(source.resyncFixes, 0);
    // and a new version is applied (once)
    await write(cfg(2));
    await eventually(() => sink.applies().length === 2, WAIT, "version 1 applied");
    const after = counter.reads;
    await eventually(() => counter.reads >= after + 3, WAIT, "three resyncs after version 1");
    assert.deepEqual(sink.applies(), ["0", "1"]);
  }, { resyncMs: 10, wrap: (store) => countConfigReads(store, counter) });
});

// --- health and orchestrator -------------------------------------------------------------------------

Deno.test("ZkProxySource passes the orchestrator's unhealthy backends to the sink as a set", async () => {
  await withSource(async ({ sink, admin, source }) => {
    await eventually(() => sink.lastHealth() !== undefined, WAIT, "initial health");
    assert.deepEqual(sink.lastHealth(), []);
    await admin.create(healthBackendPath(group, "10.0.0.1:80"), enc("{}"), { parents: true });
    await eventually(() => sink.lastHealth()?.length === 1, WAIT, "one unhealthy");
    await admin.create(healthBackendPath(group, "10.0.0.2:80"), enc("{}"));
    await eventually(() => sink.lastHealth()?.length === 2, WAIT, "two unhealthy");
    assert.deepEqual(sink.lastHealth(), ["10.0.0.1:80", "10.0.0.2:80"]);
    assert.deepEqual([...source.unhealthy].sort(), ["10.0.0.1:80", "10.0.0.2:80"]);
    await admin.delete(healthBackendPath(group, "10.0.0.1:80"));
    await eventually(() => sink.lastHealth()?.length === 1, WAIT, "one healthy again");
    assert.deepEqual(sink.lastHealth(), ["10.0.0.2:80"]);
    await admin.deleteTree("/switchyard/health/g");
    await eventually(() => sink.lastHealth()?.length === 0, WAIT, "group health gone");
  });
});

Deno.test("ZkProxySource re-applies the unhealthy set right after each config apply", async () => {
  await withSource(async ({ sink, admin, write }) => {
    await admin.create(healthBackendPath(group, "10.0.0.1:80"), enc("{}"), { parents: true });
    await eventually(() => sink.lastHealth()?.length === 1, WAIT, "health");
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply 1");
    await write(cfg(2));
    await eventually(() => sink.applies().length === 2, WAIT, "apply 2");
    const kinds = sink.calls.map((c) => c.kind);
    for (const [i, kind] of kinds.entries()) {
      if (kind === "apply") {
        assert.deepEqual(sink.calls[i + 1], { kind: "health", unhealthy: ["10.0.0.1:80"] });
      }
    }
  });
});

Deno.test("ZkProxySource does not re-apply health after a config the sink refused", async () => {
  await withSource(async ({ sink, write }) => {
    await eventually(() => sink.lastHealth() !== undefined, WAIT, "initial health");
    const start = sink.calls.length;
    sink.accept = () => false;
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply attempt");
    // positive control: the next config is accepted, and its health re-apply is seen
    sink.accept = () => true;
    await write(cfg(2));
    await eventually(() => sink.calls.at(-1)?.kind === "health", WAIT, "health after apply 1");
    assert.deepEqual(sink.calls.slice(start).map((c) => c.kind), ["apply", "apply", "health"]);
    assert.deepEqual(sink.applies(), ["0", "1"]);
  });
});

Deno.test("ZkProxySource reports whether orchestrator workers are present, on changes only", async () => {
  const seen: string[][] = [];
  await withSource(async ({ admin, orchestrator }) => {
    await eventually(() => orchestrator.length === 1, WAIT, "first reading");
    assert.deepEqual(orchestrator, [false]);
    await admin.create(workerPath("w1"), enc(""), { parents: true });
    await eventually(() => orchestrator.length === 2, WAIT, "worker appears");
    assert.deepEqual(orchestrator, [false, true]);
    await admin.create(workerPath("w2"), enc(""));
    await admin.delete(workerPath("w1"));
    // positive control: the source's workers watch did deliver the new set (w2 only)
    await eventually(() => seen.at(-1)?.join() === "w2", WAIT, "the watch delivers [w2]");
    assert.deepEqual(orchestrator, [false, true]);
    await admin.delete(workerPath("w2"));
    await eventually(() => orchestrator.length === 3, WAIT, "all workers gone");
    assert.deepEqual(orchestrator, [false, true, false]);
  }, { wrap: (store) => recordWorkers(store, seen) });
});

// --- snapshot file ------------------------------------------------------------------------------

Deno.test("ZkProxySource writes the snapshot file after an apply", async () => {
  await withSource(async ({ sink, write, snapshotFile }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    const { snapshot } = readSnapshot(snapshotFile, group);
    assert.equal(snapshot?.version, "0");
    assert.deepEqual(snapshot?.blob, cfg(1));
    assert.deepEqual(snapshot?.unhealthy, []);
    await write(cfg(2));
    await eventually(() => readSnapshot(snapshotFile, group).snapshot?.version === "1", WAIT, "v1");
    assert.deepEqual(readSnapshot(snapshotFile, group).snapshot?.blob, cfg(2));
  });
});

Deno.test("ZkProxySource rewrites the snapshot file after a health change", async () => {
  await withSource(async ({ sink, write, admin, snapshotFile }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await admin.create(healthBackendPath(group, "10.0.0.1:80"), enc("{}"), { parents: true });
    await eventually(
      () => readSnapshot(snapshotFile, group).snapshot?.unhealthy.length === 1,
      WAIT,
      "unhealthy in the snapshot",
    );
    const { snapshot } = readSnapshot(snapshotFile, group);
    assert.deepEqual(snapshot?.unhealthy, ["10.0.0.1:80"]);
    assert.equal(snapshot?.version, "0");
  });
});

Deno.test("ZkProxySource writes no snapshot before it has applied a config", async () => {
  await withSource(async ({ sink, admin, snapshotFile }) => {
    await admin.create(healthBackendPath(group, "10.0.0.1:80"), enc("{}"), { parents: true });
    await eventually(() => sink.lastHealth()?.length === 1, WAIT, "health");
    assert.equal(fs.existsSync(snapshotFile), false);
  });
});

Deno.test("ZkProxySource keeps the snapshot's version that of the applied blob after a rejected version", async () => {
  await withSource(async ({ sink, write, admin, snapshotFile }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await write("{broken");
    await eventually(() => sink.rejects().includes("1"), WAIT, "reject");
    sink.accept = () => false;
    await write(cfg(99));
    await eventually(() => sink.applies().length === 2, WAIT, "refused apply");
    await admin.delete(configPath(group));
    await eventually(() => sink.rejects().at(-1) === "absent", WAIT, "absent");
    // the health change rewrites the snapshot: still version 0 with version 0's blob
    await admin.create(healthBackendPath(group, "10.0.0.1:80"), enc("{}"), { parents: true });
    await eventually(
      () => readSnapshot(snapshotFile, group).snapshot?.unhealthy.length === 1,
      WAIT,
      "health in the snapshot",
    );
    const { snapshot } = readSnapshot(snapshotFile, group);
    assert.equal(snapshot?.version, "0");
    assert.deepEqual(snapshot?.blob, cfg(1));
  });
});

Deno.test("ZkProxySource without a snapshot file writes none", async () => {
  await withSource(async ({ sink, write, snapshotFile }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    assert.equal(fs.existsSync(path.dirname(snapshotFile)), false);
  }, { snapshotFile: null });
});

Deno.test("ZkProxySource still applies when the snapshot file cannot be written, and logs it", async () => {
  const blocker = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-blocker-"));
  const file = path.join(blocker, "plain", "g.json");
  fs.writeFileSync(path.join(blocker, "plain"), "not a directory");
  try {
    await withSource(async ({ sink, write, lines }) => {
      await write(cfg(1));
      await eventually(() => sink.applies().length === 1, WAIT, "apply");
      const line = lines.find((l) => l.msg === "cannot write the local snapshot");
      assert.equal(line?.level, "warn");
      assert.equal(line?.file, file);
    }, { snapshotFile: file });
  } finally {
    fs.rmSync(blocker, { recursive: true, force: true });
  }
});

// --- registration --------------------------------------------------------------------------------

Deno.test("ZkProxySource registers an ephemeral node with its data", async () => {
  await withSource(async ({ admin, store, source }) => {
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    const node = await admin.get(regPath);
    assert.deepEqual(JSON.parse(dec(node!.data)), {
      id: "p1",
      address: "10.9.9.9:80",
      config: null,
    });
    assert.equal(node?.stat.ephemeralOwner, store.session()?.id);
    await eventually(
      () => (source.status().zookeeper as { registered: unknown }).registered === regPath,
      WAIT,
      "status shows the registration",
    );
  });
});

Deno.test("ZkProxySource rewrites its registration after an apply", async () => {
  await withSource(async ({ admin, sink, write }) => {
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await eventually(
      async () => JSON.parse(dec((await admin.get(regPath))!.data)).config === "0",
      WAIT,
      "config version in the registration",
    );
  });
});

Deno.test("ZkProxySource rewrites its registration on request", async () => {
  let load = 1;
  await withSource(async ({ admin, source }) => {
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    load = 7;
    source.refreshRegistration();
    await eventually(
      async () => JSON.parse(dec((await admin.get(regPath))!.data)).load === 7,
      WAIT,
      "new load",
    );
  }, { registration: { id: "p1", data: () => ({ load }) } });
});

Deno.test("ZkProxySource does not register without a registration", async () => {
  await withSource(async ({ admin, sink, write }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    assert.equal(await admin.exists("/switchyard/proxies"), null);
  }, { registration: null });
});

Deno.test("ZkProxySource creates its registration with the ACL it is given", async () => {
  const acl = writerOnlyAcl("proxy:pw");
  await withSource(async ({ admin, store, source }) => {
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    assert.deepEqual((await store.getAcl(regPath)).acl, acl);
    assert.deepEqual((await store.getAcl("/switchyard/proxies/g")).acl, acl);
    await assert.rejects(admin.delete(regPath), NoAuthError);
    // stop() removes it with the proxy's identity (and before the session closes: the memory
    // store removes a closing session's ephemerals subject to ACLs, ZooKeeper does not)
    await source.stop();
    assert.equal(await admin.exists(regPath), null);
  }, { acl, digest: "proxy:pw" });
});

Deno.test("ZkProxySource re-creates its registration after a session expiry", async () => {
  await withSource(async ({ admin, store }) => {
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    const first = store.session()?.id;
    store.simulateExpiry();
    assert.notEqual(store.session()?.id, first);
    await eventually(
      async () => (await admin.exists(regPath))?.ephemeralOwner === store.session()?.id,
      WAIT,
      "registration in the new session",
    );
  });
});

Deno.test("ZkProxySource replaces a stale registration left by a dead session", async () => {
  await withSource(async ({ admin, store }) => {
    await eventually(
      async () => (await admin.exists(regPath))?.ephemeralOwner === store.session()?.id,
      WAIT,
      "own registration",
    );
  }, {
    before: async (admin) => {
      await admin.create(regPath, enc("{}"), { parents: true, mode: "ephemeral" });
    },
  });
});

Deno.test("ZkProxySource.stop removes the registration and stops all deliveries", async () => {
  await withSource(async ({ admin, sink, write, source, orchestrator, server }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    await source.stop();
    assert.equal(await admin.exists(regPath), null);
    const calls = sink.calls.length;
    const seen = orchestrator.length;
    // positive control: a source still running sees every one of the changes below
    const control = await startControl(server, { resyncMs: 10 });
    try {
      await eventually(() => control.sink.applies().length === 1, WAIT, "control: apply 0");
      await eventually(() => control.orchestrator.length === 1, WAIT, "control: no workers");
      await write(cfg(2));
      await admin.create(healthBackendPath(group, "10.0.0.1:80"), enc(""), { parents: true });
      await admin.create(workerPath("w1"), enc(""), { parents: true });
      await eventually(() => control.sink.applies().at(-1) === "1", WAIT, "control: apply 1");
      await eventually(() => control.sink.lastHealth()?.length === 1, WAIT, "control: health");
      await eventually(() => control.orchestrator.at(-1) === true, WAIT, "control: a worker");
    } finally {
      await control.stop();
    }
    assert.equal(sink.calls.length, calls);
    assert.equal(orchestrator.length, seen);
    await source.stop(); // idempotent
  }, { resyncMs: 10 });
});

Deno.test("ZkProxySource.stop right after start leaves no registration behind", async () => {
  await withSource(async ({ admin, source, server, sink }) => {
    source.start(deliverTo(sink));
    // positive control: a source started at the same moment, and not stopped, registers
    const control = await startControl(server, { id: "p2" });
    await source.stop();
    try {
      await eventually(
        async () => (await admin.exists(proxyInstancePath(group, "p2"))) !== null,
        WAIT,
        "control: registered",
      );
    } finally {
      await control.stop();
    }
    assert.equal(await admin.exists(regPath), null);
  }, { start: false });
});

Deno.test("ZkProxySource.stop cancels a pending registration retry", async () => {
  await withSource(async ({ lines, source, server }) => {
    await eventually(
      () => lines.some((l) => l.msg === "registration failed; retrying"),
      WAIT,
      "failed registration",
    );
    await source.stop();
    // positive control: a source whose registration failed after this one's, and that is not
    // stopped, registers by its retry (due after this one's) once the way is open
    const control = await startControl(server, { id: "p2" });
    const owner = await server.connect({ digest: "owner:pw" });
    try {
      await eventually(
        () => control.lines.some((l) => l.msg === "registration failed; retrying"),
        WAIT,
        "control: failed registration",
      );
      // open the way: a retry left running after stop() would now register
      await owner.setAcl("/switchyard/proxies", OPEN_ACL);
      await eventually(
        async () => (await owner.exists(proxyInstancePath(group, "p2"))) !== null,
        10_000,
        "control: registered by its retry",
      );
      assert.equal(await owner.exists(regPath), null);
      assert.equal(lines.filter((l) => l.msg === "registration failed; retrying").length, 1);
    } finally {
      await control.stop();
      await owner.close();
    }
  }, {
    before: async (_admin, server) => {
      const owner = await server.connect({ digest: "owner:pw" });
      await owner.create("/switchyard/proxies", enc(""), {
        parents: true,
        acl: writerOnlyAcl("owner:pw"),
      });
      await owner.close();
    },
  });
});

Deno.test("ZkProxySource.deregister removes the registration but keeps applying configs", async () => {
  await withSource(async ({ admin, store, sink, write, source, server }) => {
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    // positive control: a source on the same session, not deregistered, registers again after
    // the expiry below
    const control = await startControl(server, { id: "p2", store });
    const controlPath = proxyInstancePath(group, "p2");
    try {
      await eventually(async () => (await admin.exists(controlPath)) !== null, WAIT, "control");
      await source.deregister();
      assert.equal(await admin.exists(regPath), null);
      await write(cfg(1));
      await eventually(() => sink.applies().length === 1, WAIT, "apply");
      store.simulateExpiry();
      await write(cfg(2));
      await eventually(() => sink.applies().length === 2, WAIT, "apply after expiry");
      await eventually(
        async () => (await admin.exists(controlPath))?.ephemeralOwner === store.session()?.id,
        WAIT,
        "control: registered in the new session",
      );
    } finally {
      await control.stop();
    }
    assert.equal(await admin.exists(regPath), null);
  });
});

Deno.test("ZkProxySource.deregister right after start leaves no registration behind", async () => {
  await withSource(async ({ admin, source, server, sink }) => {
    source.start(deliverTo(sink));
    // positive control: a source started at the same moment, not deregistered, registers
    const control = await startControl(server, { id: "p2" });
    await source.deregister();
    try {
      await eventually(
        async () => (await admin.exists(proxyInstancePath(group, "p2"))) !== null,
        WAIT,
        "control: registered",
      );
    } finally {
      await control.stop();
    }
    assert.equal(await admin.exists(regPath), null);
  }, { start: false });
});

Deno.test("ZkProxySource adopts a registration its own session already holds", async () => {
  await withSource(async ({ store, admin, source, sink }) => {
    await store.create(regPath, enc('{"mine":true}'), { parents: true, mode: "ephemeral" });
    source.start(deliverTo(sink));
    await eventually(
      () => (source.status().zookeeper as { registered: unknown }).registered === regPath,
      WAIT,
      "adopted",
    );
    assert.equal((await admin.exists(regPath))?.ephemeralOwner, store.session()?.id);
  }, { start: false });
});

Deno.test("ZkProxySource logs a registration whose data cannot be serialized instead of throwing", async () => {
  let fail = false;
  await withSource(async ({ admin, source, lines }) => {
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    fail = true;
    source.refreshRegistration();
    const line = lines.find((l) => l.msg === "cannot update the registration");
    assert.equal(line?.level, "warn");
    assert.match(String(line?.error), /BigInt/);
  }, { registration: { id: "p1", data: () => (fail ? { n: 1n } : { n: 1 }) } });
});

Deno.test("ZkProxySource logs a config node it may not read and keeps serving", async () => {
  await withSource(async ({ sink, lines }) => {
    await eventually(
      () => lines.some((l) => l.msg === "zookeeper watch error" && /NoAuth/.test(String(l.error))),
      WAIT,
      "the watch error",
    );
    assert.equal(lines.find((l) => l.msg === "zookeeper watch error")?.level, "debug");
    assert.deepEqual(sink.applies(), []);
  }, {
    before: async (_admin, server) => {
      const owner = await server.connect({ digest: "owner:pw" });
      await owner.ensurePath("/lb-configs");
      await owner.create(configPath(group), enc("{}"), {
        acl: [{ scheme: "digest", id: digestId("owner", "pw"), perms: ["read", "write"] }],
      });
      await owner.close();
    },
  });
});

// --- connection loss, expiry, resync ---------------------------------------------------------------

Deno.test("ZkProxySource applies a change made while disconnected once reconnected", async () => {
  await withSource(async ({ admin, store, sink, write, server }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    const owner = (await admin.exists(regPath))?.ephemeralOwner;
    // positive control: a connected source sees the change made during the disconnection
    const control = await startControl(server);
    try {
      await eventually(() => control.sink.applies().length === 1, WAIT, "control: apply 0");
      store.simulateDisconnect();
      await write(cfg(2));
      await eventually(() => control.sink.applies().at(-1) === "1", WAIT, "control: apply 1");
    } finally {
      await control.stop();
    }
    assert.deepEqual(sink.applies(), ["0"]);
    store.simulateReconnect();
    await eventually(() => sink.applies().length === 2, WAIT, "apply after reconnect");
    assert.deepEqual(sink.of("apply")[1], { kind: "apply", version: "1", blob: cfg(2) });
    // the session survived: same registration
    assert.equal((await admin.exists(regPath))?.ephemeralOwner, owner);
  });
});

Deno.test("ZkProxySource applies a change made while its session expired, and registers again", async () => {
  await withSource(async ({ admin, store, server, sink, write }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await eventually(async () => (await admin.exists(regPath)) !== null, WAIT, "registration");
    store.simulateDisconnect();
    server.expireSession(store.session()!.id);
    assert.equal(await admin.exists(regPath), null);
    await write(cfg(2));
    store.simulateReconnect();
    await eventually(() => sink.applies().length === 2, WAIT, "apply after expiry");
    await eventually(
      async () => (await admin.exists(regPath))?.ephemeralOwner === store.session()?.id,
      WAIT,
      "registered again",
    );
  });
});

Deno.test("ZkProxySource's periodic resync applies a change the watch missed and counts it", async () => {
  await withSource(async ({ sink, write, source }) => {
    await eventually(() => sink.applies().length === 1, WAIT, "first apply");
    assert.equal(source.resyncFixes, 0);
    await sleep(10); // the config watch is closed after its first delivery
    await write(cfg(2));
    await eventually(() => sink.applies().length === 2, WAIT, "resync apply");
    assert.deepEqual(sink.of("apply")[1], { kind: "apply", version: "1", blob: cfg(2) });
    assert.ok(source.resyncFixes >= 1);
    assert.equal(
      (source.status().zookeeper as { resync_fixes: number }).resync_fixes,
      source.resyncFixes,
    );
  }, {
    resyncMs: 20,
    wrap: lostConfigWatch,
    before: (admin) =>
      admin.create(configPath(group), enc(JSON.stringify(cfg(1))), { parents: true }).then(
        () => {},
      ),
  });
});

Deno.test("ZkProxySource's resync survives a sink that throws", async () => {
  await withSource(async ({ sink, write, lines }) => {
    sink.accept = () => {
      throw new Error("sink exploded");
    };
    await write(cfg(2));
    await eventually(
      () => lines.some((l) => l.msg === "applying the re-read config failed"),
      WAIT,
      "the failure logged",
    );
    assert.match(
      String(lines.find((l) => l.msg === "applying the re-read config failed")?.error),
      /sink exploded/,
    );
  }, {
    resyncMs: 20,
    wrap: lostConfigWatch,
    before: (admin) => admin.create(configPath(group), enc("{}"), { parents: true }).then(() => {}),
  });
});

Deno.test("ZkProxySource reports its state for /status", async () => {
  await withSource(async ({ sink, write, store, source, snapshotFile, admin }) => {
    await write(cfg(1));
    await eventually(() => sink.applies().length === 1, WAIT, "apply");
    await admin.create(healthBackendPath(group, "10.0.0.1:80"), enc(""), { parents: true });
    await eventually(() => source.unhealthy.size === 1, WAIT, "health");
    await eventually(
      () => (source.status().zookeeper as { registered: unknown }).registered !== null,
      WAIT,
      "registered",
    );
    assert.deepEqual(source.status(), {
      zookeeper: {
        state: "connected",
        session: store.session()?.id,
        config_node: "/lb-configs/g",
        last_seen_version: "0",
        registered: regPath,
        deliveries: 1,
        resync_fixes: 0,
      },
      orchestrator_unhealthy: ["10.0.0.1:80"],
      snapshot_file: snapshotFile,
    });
  });
});
