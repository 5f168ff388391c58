/**
 * Leader election and ACLs of the orchestrator against the real ZooKeeper dev node (a private
 * chroot): the recipe's predecessor chain, expiry of the leader's session (the ZooKeeper way),
 * the fence refusing a deposed leader's transaction, and nodes created with digest credentials.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { LeaderElection } from "../../lib/orchestrator/election.ts";
import { OrchestratorNode } from "../../lib/orchestrator/node.ts";
import { orchestratorAcls } from "../../lib/orchestrator/paths.ts";
import {
  assignmentPath,
  ELECTION_PATH,
  healthGroupPath,
  MASTER_PATH,
  workerPath,
} from "../../lib/store/layout.ts";
import { connectStore, digestAcl, worldAcl } from "../../lib/store/mod.ts";
import type { CoordinationStore } from "../../lib/store/types.ts";
import { expireAndWait } from "../support/zk_harness.ts";
import { SINGLE, waitUntil } from "../support/zk_server.ts";
import { sandbox } from "./_support.ts";

Deno.test({
  name: "election on real ZooKeeper: chain, leader expiry, fence, rejoin at the back",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const sb = await sandbox();
    const stores: CoordinationStore[] = [];
    const elections: LeaderElection[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const store = await connectStore({ connectionString: sb.connect, sessionTimeoutMs: 4000 });
        stores.push(store);
        const e = new LeaderElection({
          store,
          path: ELECTION_PATH,
          id: `o${i + 1}`,
          log: silentLogger,
        });
        e.start();
        await waitUntil(() => e.status().own !== null, 5000, `o${i + 1} joined`);
        elections.push(e);
      }
      await waitUntil(() => elections[0]!.status().acting, 5000, "o1 leads");
      const own = elections.map((e) => e.status().own!);
      assert.equal(elections[1]!.status().watching, own[0]);
      assert.equal(elections[2]!.status().watching, own[1], "no herd: o3 watches o2, not o1");
      await waitUntil(() => elections[2]!.status().leaderId === "o1", 5000, "leader id read");

      const fence = elections[0]!.fence();
      await stores[0]!.transaction([fence, { op: "create", path: "/fenced-ok" }]);
      const started = Date.now();
      await expireAndWait(stores[0]!, SINGLE);
      await waitUntil(() => elections[1]!.status().acting, 10_000, "o2 takes over");
      console.log(`  leader's session expired: successor acting ${Date.now() - started} ms later`);
      await assert.rejects(
        stores[0]!.transaction([fence, { op: "create", path: "/fenced-stale" }]),
        (e: Error & { failedOpIndex?: number }) =>
          e.name === "NoNodeError" && e.failedOpIndex === 0,
      );
      assert.equal(await sb.store.exists("/fenced-stale"), null);
      await waitUntil(() => elections[0]!.status().own !== null, 10_000, "o1 rejoins");
      assert.equal(elections[0]!.status().acting, false);
      // its own node comes first, then the read of the line and the watch on its predecessor
      await waitUntil(
        () => elections[0]!.status().watching === own[2],
        10_000,
        "o1 is now last in line, watching o3",
      );
      assert.equal(elections[0]!.status().acting, false);
      assert.equal((await sb.store.children(ELECTION_PATH)).length, 3);
    } finally {
      for (const e of elections) await e.resign();
      for (const s of stores) await s.close();
      await sb.close();
    }
  },
});

Deno.test({
  name: "orchestrator on real ZooKeeper with --zk-auth: owned nodes get digest-all + world-read",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const sb = await sandbox();
    const creds = "orchestrator:s3cret";
    const store = await connectStore({
      connectionString: sb.connect,
      sessionTimeoutMs: 4000,
      digest: creds,
    });
    const node = new OrchestratorNode({
      store,
      id: "o1",
      acls: orchestratorAcls(creds),
      log: silentLogger,
      probe: () => Promise.resolve({ ok: false, error: "ECONNREFUSED", status: null }),
      now: () => performance.now(),
      wallClock: Date.now,
      random: Math.random,
    });
    try {
      await sb.setConfig("web", {
        backend_servers: ["127.0.0.1:9"],
        health_check_frequency_seconds: 0.1,
      });
      await node.start();
      const marked = `${healthGroupPath("web")}/127.0.0.1:9`;
      await waitUntil(async () => await sb.store.exists(marked) !== null, 10_000, "marked");
      const owned = [digestAcl(creds), worldAcl(["read"])];
      for (const p of [marked, workerPath("o1"), assignmentPath("o1"), MASTER_PATH]) {
        assert.deepEqual((await store.getAcl(p)).acl, owned, p);
        assert.ok(await sb.store.get(p) !== null, `anyone reads ${p}`);
      }
      await assert.rejects(sb.store.delete(marked), { name: "NoAuthError" });
    } finally {
      await node.stop();
      await store.close();
      await sb.close();
    }
  },
});
