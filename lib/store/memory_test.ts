import assert from "node:assert/strict";
import { eventually, recordSessions, storeContract } from "./contract.ts";
import { ConnectionLossError, StoreClosedError } from "./errors.ts";
import { createMemoryStore, MemoryServer, type MemoryStore } from "./memory.ts";
import { writerOnlyAcl } from "./acl.ts";
import type { ContractHarness } from "./contract.ts";
import type { CoordinationStore } from "./types.ts";

function memoryHarness(): ContractHarness {
  const server = new MemoryServer();
  return {
    name: "memory",
    eventuallyMs: 2000,
    connect: (options = {}) =>
      server.connect({
        connectionString: `memory${options.chroot ?? ""}`,
        ...(options.digest === undefined ? {} : { digest: options.digest }),
        ...(options.sessionTimeoutMs === undefined
          ? {}
          : { sessionTimeoutMs: options.sessionTimeoutMs }),
      }),
    expire: (store: CoordinationStore) => {
      (store as MemoryStore).simulateExpiry();
      return Promise.resolve();
    },
  };
}

for (const c of storeContract) {
  Deno.test(`memory store contract: ${c.name}`, () => c.fn(memoryHarness()));
}

const enc = (t: string) => new TextEncoder().encode(t);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("MemoryStore: operations during a simulated disconnect wait, then fail with connection loss", async () => {
  const store = await createMemoryStore({ reconnectWaitMs: 30 });
  const events = recordSessions(store);
  store.simulateDisconnect();
  assert.equal(store.state(), "disconnected");
  await assert.rejects(store.get("/"), ConnectionLossError);
  const pending = store.create("/late", enc("x"));
  store.simulateReconnect();
  assert.equal(await pending, "/late");
  assert.deepEqual(events.map((e) => e.type), ["disconnected", "connected"]);
  assert.equal(events[1]?.type === "connected" && events[1].newSession, false);
  await store.close();
});

Deno.test("MemoryStore: watchData delivers a change missed while disconnected after reconnect", async () => {
  const server = new MemoryServer();
  const a = await server.connect();
  const b = await server.connect();
  await b.create("/cfg", enc("v0"));
  const seen: string[] = [];
  const w = a.watchData("/cfg", (n) => seen.push(n === null ? "null" : dec(n.data)));
  await w.ready;
  // positive control: a connected session's watch on the same node sees the changes
  const c = await server.connect();
  const control: string[] = [];
  const cw = c.watchData("/cfg", (n) => control.push(n === null ? "null" : dec(n.data)));
  await cw.ready;
  a.simulateDisconnect();
  await b.set("/cfg", enc("v1"));
  await b.set("/cfg", enc("v2"));
  await eventually(() => control.at(-1) === "v2", 1000, "the control watch sees v2");
  cw.close();
  await c.close();
  assert.deepEqual([...seen], ["v0"], "nothing is delivered while disconnected");
  a.simulateReconnect();
  await eventually(() => seen.at(-1) === "v2", 1000, "v2 after reconnect");
  assert.deepEqual([...seen], ["v0", "v2"]);
  w.close();
  await a.close();
  await b.close();
});

Deno.test("MemoryStore: a session that expires while disconnected is reported on reconnect", async () => {
  const server = new MemoryServer();
  const a = await server.connect();
  const b = await server.connect();
  await a.create("/eph", undefined, { mode: "ephemeral" });
  const events = recordSessions(a);
  const oldId = a.session()!.id;
  a.simulateDisconnect();
  server.expireSession(oldId);
  assert.equal(await b.exists("/eph"), null, "the server dropped the ephemeral already");
  assert.deepEqual(events.map((e) => e.type), ["disconnected"]);
  a.simulateReconnect();
  assert.deepEqual(events.map((e) => e.type), ["disconnected", "expired", "connected"]);
  assert.notEqual(a.session()!.id, oldId);
  assert.deepEqual(server.sessionIds().sort(), [a.session()!.id, b.session()!.id].sort());
  await a.close();
  await b.close();
  assert.deepEqual(server.sessionIds(), []);
});

Deno.test("MemoryStore: close() while disconnected rejects waiting operations", async () => {
  const store = await createMemoryStore({ reconnectWaitMs: 10_000 });
  store.simulateDisconnect();
  const pending = store.get("/");
  await store.close();
  await assert.rejects(pending, StoreClosedError);
});

Deno.test("MemoryStore: watchData reports errors that are not transient and retries", async () => {
  const server = new MemoryServer();
  const writer = await server.connect({ digest: "w:pw" });
  const reader = await server.connect();
  const { digestAcl } = await import("./acl.ts");
  await writer.create("/secret", enc("s"), { acl: [digestAcl("w:pw")] });
  const errors: unknown[] = [];
  const w = reader.watchData("/secret", () => {}, { onError: (e) => errors.push(e) });
  await eventually(() => errors.length > 0, 1000, "NoAuth reported");
  assert.equal((errors[0] as Error).name, "NoAuthError");
  w.close();
  await reader.close();
  await writer.close();
});

Deno.test("an expiring session's ephemerals vanish even where world may not delete", async () => {
  const server = new MemoryServer();
  const owner = await server.connect({ connectionString: "memory", digest: "proxy:pw" });
  const reader = await server.connect({ connectionString: "memory" });
  await owner.create("/locked", new Uint8Array(), { acl: writerOnlyAcl("proxy:pw") });
  await owner.create("/locked/me", new Uint8Array(), { mode: "ephemeral" });
  server.expireSession(owner.session()!.id);
  assert.equal(await reader.exists("/locked/me"), null);
  await owner.close();
  await reader.close();
});
