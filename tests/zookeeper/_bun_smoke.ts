/**
 * Bun smoke script for the ZooKeeper store, run by `bun_smoke_test.ts` as
 * `bun tests/zookeeper/_bun_smoke.ts <connection-string>`. Uses only the store API and node:
 * modules; prints one JSON object with what it observed.
 */

import process from "node:process";
import { VersionConflictError } from "../../lib/store/errors.ts";
import type { SessionEvent } from "../../lib/store/types.ts";
import { connectZooKeeper, killSession } from "../../lib/store/zookeeper.ts";

const servers = process.argv[2] ?? "127.0.0.1:2181";
const enc = (t: string) => new TextEncoder().encode(t);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

const out: Record<string, unknown> = {
  runtime: typeof (globalThis as { Bun?: unknown }).Bun === "undefined" ? "other" : "bun",
  version: process.versions.bun ?? null,
};
const base = `/bun-smoke-${Math.random().toString(36).slice(2, 10)}`;
const store = await connectZooKeeper({ connectionString: servers, sessionTimeoutMs: 3000 });
const events: string[] = [];
store.onSession((e: SessionEvent) =>
  events.push(e.type === "connected" ? `connected:${e.newSession}` : e.type)
);
try {
  out.created = await store.create(`${base}/cfg`, enc("v0"), { parents: true });
  const got = await store.get(`${base}/cfg`);
  out.get = { data: got && dec(got.data), version: got?.version };
  out.setVersion = (await store.set(`${base}/cfg`, enc("v1"), 0)).version;
  out.conflict = await store.set(`${base}/cfg`, enc("stale"), 0).then(
    () => "no error",
    (e) =>
      e instanceof VersionConflictError ? `VersionConflict current=${e.currentVersion}` : `${e}`,
  );
  const seen: Array<string | null> = [];
  const w = store.watchData(`${base}/cfg`, (n) => seen.push(n && dec(n.data)));
  await w.ready;
  await store.set(`${base}/cfg`, enc("v2"));
  out.watchSawV2 = await until(() => seen.at(-1) === "v2", 5000);
  out.tx = (await store.transaction([
    { op: "check", path: `${base}/cfg`, version: 2 },
    { op: "create", path: `${base}/eph`, mode: "ephemeral" },
  ])).map((r) => r.op);
  const idBefore = store.session()!.id;
  await sleep(5000); // > session timeout: only pings keep the session alive
  out.idleSurvived = store.session()!.id === idBefore && events.length === 0;
  await killSession(servers, store.session()!);
  await store.set(`${base}/cfg`, enc("v3-during-expiry")).catch(() => {});
  out.renewed = await until(() => events.includes("connected:true"), 10_000);
  out.newSessionId = store.session()!.id !== idBefore;
  await store.set(`${base}/cfg`, enc("v4-after-expiry"));
  out.watchAfterExpiry = await until(() => seen.at(-1) === "v4-after-expiry", 5000);
  out.ephemeralGone = (await store.exists(`${base}/eph`)) === null;
  out.events = [...events];
  out.seen = [...seen];
  w.close();
} catch (error) {
  out.error = String(error);
} finally {
  await store.deleteTree(base).catch(() => {});
  await store.close();
}
console.log(JSON.stringify(out));
