import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import {
  assignmentPath,
  ASSIGNMENTS_PATH,
  configPath,
  ELECTION_PATH,
  HEALTH_ROOT,
  healthGroupPath,
  MASTER_PATH,
  ORCHESTRATOR_ROOT,
  SWITCHYARD_ROOT,
  workerPath,
  WORKERS_PATH,
} from "../store/layout.ts";
import { digestAcl, MemoryServer, worldAcl } from "../store/mod.ts";
import { OrchestratorNode } from "./node.ts";
import { orchestratorAcls } from "./paths.ts";

const CREDS = "orchestrator:s3cret";
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function run(bootstrap: boolean) {
  const server = new MemoryServer();
  const admin = await server.connect({ digest: "admin:pw" });
  const anon = await server.connect();
  const adminAcl = [digestAcl("admin:pw"), worldAcl(["read"])];
  if (bootstrap) {
    // The tree as a bootstrap would make it: admin-owned, the orchestrator may create/delete.
    const orchestratorMay = [
      digestAcl("admin:pw"),
      digestAcl(CREDS, ["read", "create", "delete"]),
      worldAcl(["read"]),
    ];
    await admin.create(SWITCHYARD_ROOT, undefined, { acl: adminAcl });
    for (
      const p of [ORCHESTRATOR_ROOT, ELECTION_PATH, WORKERS_PATH, ASSIGNMENTS_PATH, HEALTH_ROOT]
    ) {
      await admin.create(p, undefined, { acl: orchestratorMay });
    }
    await admin.create(healthGroupPath("web"), undefined, { acl: orchestratorMay });
  }
  await admin.create("/lb-configs", undefined, { acl: adminAcl });
  await admin.create(
    configPath("web"),
    enc({
      backend_servers: ["127.0.0.1:9001"],
      health_check_frequency_seconds: 0.05,
    }),
    { acl: adminAcl },
  );
  const store = await server.connect({ digest: CREDS });
  const node = new OrchestratorNode({
    store,
    id: "o1",
    acls: orchestratorAcls(CREDS),
    log: silentLogger,
    probe: () => Promise.resolve({ ok: false, error: "ECONNREFUSED", status: null }),
    now: () => performance.now(),
    wallClock: Date.now,
    random: Math.random,
    debounceMs: 10,
  });
  await node.start();
  try {
    const marked = `${healthGroupPath("web")}/127.0.0.1:9001`;
    await until(async () => await anon.exists(marked) !== null, "health written");
    const owned = [digestAcl(CREDS), worldAcl(["read"])];
    for (const p of [marked, workerPath("o1"), assignmentPath("o1"), MASTER_PATH]) {
      assert.deepEqual((await store.getAcl(p)).acl, owned, p);
      assert.ok(await anon.get(p) !== null, `world can read ${p}`);
    }
    const own = node.election.ownPath()!;
    assert.deepEqual((await store.getAcl(own)).acl, owned);
    await assert.rejects(anon.delete(marked), { name: "NoAuthError" });
    await assert.rejects(anon.set(assignmentPath("o1"), enc({})), { name: "NoAuthError" });
    const root = (await (bootstrap ? admin : store).getAcl(SWITCHYARD_ROOT)).acl;
    if (bootstrap) assert.deepEqual(root, adminAcl, "an existing tree is left as it is");
    else {
      assert.deepEqual(root, [digestAcl(CREDS), worldAcl(["read", "create"])]);
      assert.deepEqual((await store.getAcl(ORCHESTRATOR_ROOT)).acl, owned);
    }
  } finally {
    await node.stop();
    await store.close();
    await anon.close();
    await admin.close();
  }
}

Deno.test("with --zk-auth, owned nodes get digest-all + world-read (no tree yet)", () =>
  run(false));

Deno.test("with --zk-auth, an existing tree with per-role ACLs is used as it is", () => run(true));
