/**
 * Against the real ZooKeeper: config writes (through the admin API and
 * through zkCli.sh) reach five running proxy processes under Deno and Bun;
 * invalid data is rejected by every proxy while the last good config keeps
 * serving; concurrent writers get one winner and one 409.
 */
import assert from "node:assert/strict";
import { configPath, proxiesGroupPath } from "../../lib/store/layout.ts";
import {
  answers,
  startAdmin,
  startZkProxy,
  zkCli,
  type ZkProxy,
  zkSandbox,
} from "../support/control_plane.ts";
import { startBackends, stopAll, waitUntil } from "../support/processes.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

async function allAt(proxies: readonly ZkProxy[], version: string): Promise<void> {
  await waitUntil(`every proxy at config version ${version}`, async () => {
    for (const p of proxies) if ((await p.status()).config?.version !== version) return false;
    return true;
  }, 20_000);
}

Deno.test({
  name: "a config write through the API and through zkCli.sh reaches five proxies (Deno and Bun)",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("single");
    const backends = await startBackends(3);
    const [b1, b2, b3] = backends as [typeof backends[0], typeof backends[0], typeof backends[0]];
    const admin = await startAdmin("deno", zk.connect);
    const proxies: ZkProxy[] = [];
    try {
      const created = await admin.api("POST", "/api/groups", {
        group: "cp",
        config: { backend_servers: [b1.address, b2.address], algorithm: "ROUND_ROBIN" },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      for (const runtime of ["deno", "bun", "deno", "bun", "deno"] as const) {
        proxies.push(await startZkProxy(runtime, zk.connect, "cp", ["--no-health-checks"]));
      }
      await allAt(proxies, "0");
      for (const p of proxies) {
        assert.deepEqual((await answers(p.url, 4)).sort(), ["b1", "b1", "b2", "b2"]);
      }
      assert.equal((await zk.store.children(proxiesGroupPath("cp"))).length, 5);

      // through the API
      const put = await admin.api("PUT", "/api/groups/cp", { backend_servers: [b3.address] }, {
        "if-match": '"0"',
      });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      await allAt(proxies, "1");
      for (const p of proxies) assert.deepEqual(await answers(p.url, 3), ["b3", "b3", "b3"]);

      // through zkCli.sh, as an operator would
      const out = await zkCli(zk.hosts, [
        `set ${zk.chroot}${configPath("cp")} '{"backend_servers":["${b2.address}"]}'`,
      ]);
      assert.doesNotMatch(out, /Exception|Node does not exist/, out);
      await allAt(proxies, "2");
      for (const p of proxies) assert.deepEqual(await answers(p.url, 3), ["b2", "b2", "b2"]);

      // invalid data written around the API: every proxy rejects it and keeps serving
      await zkCli(zk.hosts, [
        `set ${zk.chroot}${
          configPath("cp")
        } '{"backend_servers":[{"address":"${b1.address}","weight":0}]}'`,
      ]);
      await waitUntil("every proxy to reject version 3", async () => {
        for (const p of proxies) {
          const s = await p.status();
          if (s.last_rejected?.version !== "3") return false;
        }
        return true;
      }, 20_000);
      for (const p of proxies) {
        const s = await p.status();
        assert.equal(s.config?.version, "2");
        assert.match(s.last_rejected!.reason, /backend_servers\[0\]\.weight/);
        assert.deepEqual(await answers(p.url, 2), ["b2", "b2"]);
      }
      // the API refuses the same mistake outright, and nothing is written
      const bad = await admin.api("PUT", "/api/groups/cp", {
        backend_servers: [{ address: b1.address, weight: 0 }],
      }, { "if-match": '"3"' });
      assert.equal(bad.status, 422);
      assert.equal((await zk.store.get(configPath("cp")))!.version, 3);
    } finally {
      await stopAll([...proxies.map((p) => p.process), admin.process, ...backends]);
      await zk.close();
    }
  },
});

Deno.test({
  name: "two admins updating the same group: one wins, the other gets 409, nothing is merged",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("single");
    const a = await startAdmin("deno", zk.connect);
    const b = await startAdmin("bun", zk.connect);
    try {
      await a.api("POST", "/api/groups", {
        group: "race",
        config: { backend_servers: ["127.0.0.1:1"] },
      });
      for (let round = 0; round < 5; round++) {
        const current = (await a.api("GET", "/api/groups/race")).json.version as number;
        const [ra, rb] = await Promise.all([
          a.api("PUT", "/api/groups/race", { backend_servers: [`127.0.0.1:${100 + round}`] }, {
            "if-match": `"${current}"`,
          }),
          b.api("PUT", "/api/groups/race", { backend_servers: [`127.0.0.1:${200 + round}`] }, {
            "if-match": `"${current}"`,
          }),
        ]);
        const statuses = [ra.status, rb.status].sort();
        assert.deepEqual(statuses, [200, 409], JSON.stringify([ra.json, rb.json]));
        const winner = ra.status === 200 ? ra : rb;
        const loser = ra.status === 200 ? rb : ra;
        assert.equal(loser.json.current_version, current + 1);
        const now = await a.api("GET", "/api/groups/race");
        assert.deepEqual(now.json.config, (winner.json as { config: unknown }).config);
      }
      const history = await a.api("GET", "/api/groups/race/history");
      const h = history.json.history as { version: number; by: string }[];
      assert.deepEqual(h.map((e) => e.version), [5, 4, 3, 2, 1, 0]);
    } finally {
      await stopAll([a.process, b.process]);
      await zk.close();
    }
  },
});
