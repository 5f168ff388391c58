import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { MemoryServer } from "../store/mod.ts";
import {
  instancePath,
  InstanceRegistration,
  INSTANCES_ROOT,
  parseInstance,
} from "./instance_registry.ts";
import { TreeWatcher } from "./tree_watch.ts";

const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("InstanceRegistration creates an ephemeral node with role, id and admin; stop deletes it", async () => {
  const server = new MemoryServer();
  const store = await server.connect();
  let version = "v1";
  const reg = new InstanceRegistration({
    store,
    role: "admin",
    id: "admin-1",
    log: silentLogger,
    data: () => ({ admin: "127.0.0.1:9301", version }),
  });
  reg.start();
  await reg.ready;
  const node = await store.get(instancePath("admin", "admin-1"));
  assert.ok(node);
  assert.equal(node.stat.ephemeralOwner, store.session()!.id);
  assert.deepEqual(dec(node.data), {
    role: "admin",
    id: "admin-1",
    admin: "127.0.0.1:9301",
    version: "v1",
  });
  version = "v2";
  await reg.update();
  assert.equal(dec((await store.get(reg.path))!.data).version, "v2");
  await reg.stop();
  assert.equal(await store.exists(reg.path), null);
  assert.equal(reg.registered, false);
  await store.close();
});

Deno.test("InstanceRegistration re-creates its node after a session expiry", async () => {
  const server = new MemoryServer();
  const store = await server.connect({ sessionTimeoutMs: 2000 });
  const reg = new InstanceRegistration({
    store,
    role: "dns",
    id: "dns-1",
    log: silentLogger,
    data: () => ({ admin: "127.0.0.1:9390" }),
    retryMs: 20,
  });
  reg.start();
  await reg.ready;
  const before = (await store.exists(reg.path))!.ephemeralOwner;
  store.simulateExpiry();
  await until("a new node in the new session", async () => {
    const stat = await store.exists(reg.path).catch(() => null);
    return stat !== null && stat.ephemeralOwner !== before &&
      stat.ephemeralOwner === store.session()?.id;
  });
  assert.ok(reg.registered);
  await reg.stop();
  await store.close();
});

Deno.test("InstanceRegistration replaces a stale node left by another session", async () => {
  const server = new MemoryServer();
  const old = await server.connect();
  await old.create(instancePath("orchestrator", "o1"), new TextEncoder().encode("{}"), {
    mode: "ephemeral",
    parents: true,
  });
  const store = await server.connect();
  const reg = new InstanceRegistration({
    store,
    role: "orchestrator",
    id: "o1",
    log: silentLogger,
    data: () => ({ admin: "127.0.0.1:9190" }),
    retryMs: 10,
  });
  reg.start();
  await reg.ready;
  const stat = await store.exists(reg.path);
  assert.equal(stat?.ephemeralOwner, store.session()!.id);
  await reg.stop();
  await old.close();
  await store.close();
});

Deno.test("TreeWatcher follows nodes appearing, changing and leaving under every parent", async () => {
  const server = new MemoryServer();
  const store = await server.connect();
  let changes = 0;
  const w = new TreeWatcher({
    store,
    root: INSTANCES_ROOT,
    parents: null,
    onChange: () => changes++,
  });
  w.start();
  await until("complete", () => w.complete());
  assert.deepEqual(w.entries(), []);
  const a = new InstanceRegistration({
    store,
    role: "admin",
    id: "a1",
    log: silentLogger,
    data: () => ({ admin: "127.0.0.1:1" }),
  });
  const d = new InstanceRegistration({
    store,
    role: "dns",
    id: "d1",
    log: silentLogger,
    data: () => ({ admin: "127.0.0.1:2" }),
  });
  a.start();
  d.start();
  await until("two entries", () => w.complete() && w.entries().length === 2);
  assert.deepEqual(w.entries().map((e) => `${e.parent}/${e.name}`), ["admin/a1", "dns/d1"]);
  const e = w.entries()[0]!;
  assert.deepEqual(parseInstance(e.parent, e.name, e.node.data), {
    role: "admin",
    id: "a1",
    admin: "127.0.0.1:1",
  });
  await d.stop();
  await until("one entry", () => w.entries().length === 1);
  assert.ok(changes > 0);
  w.stop();
  await a.stop();
  await store.close();
});

Deno.test("TreeWatcher with fixed parents ignores the others", async () => {
  const server = new MemoryServer();
  const store = await server.connect();
  const enc = new TextEncoder();
  await store.create("/t/g1/p1", enc.encode("1"), { parents: true });
  await store.create("/t/g2/p2", enc.encode("2"), { parents: true });
  const w = new TreeWatcher({ store, root: "/t", parents: ["g2", "g3"], onChange: () => {} });
  w.start();
  await until("complete", () => w.complete());
  assert.deepEqual(w.entries().map((e) => `${e.parent}/${e.name}`), ["g2/p2"]);
  await store.create("/t/g3/p3", enc.encode("3"), { parents: true });
  await until("g3 seen", () => w.entries().length === 2);
  await store.set("/t/g3/p3", enc.encode("33"));
  await until(
    "g3 re-read",
    () => new TextDecoder().decode(w.entries().find((e) => e.name === "p3")!.node.data) === "33",
  );
  w.stop();
  await store.close();
});

Deno.test("parseInstance() needs an admin host:port", () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.equal(parseInstance("x", "y", enc({ admin: "nope" })), null);
  assert.equal(parseInstance("x", "y", enc([1])), null);
  assert.equal(parseInstance("x", "y", new TextEncoder().encode("{")), null);
  assert.deepEqual(parseInstance("x", "y", enc({ admin: "[::1]:9", role: "lie" })), {
    role: "x",
    id: "y",
    admin: "[::1]:9",
  });
});
