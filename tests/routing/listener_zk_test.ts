/**
 * A `--listener` proxy on the real ZooKeeper, under both runtimes: routes
 * from `/lb-routes/<listener>` over groups from `/lb-configs/<group>`, pushed
 * by watches; a route naming a group that does not exist is rejected (the
 * last good routes keep serving) and applied once the group exists; group
 * edits reach the proxy; and the local snapshots serve the last good routes
 * when ZooKeeper cannot be reached at start.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { startBackends, startRole, tempDir, waitUntil } from "../support/processes.ts";
import { freePort, httpOk } from "../support/processes.ts";
import { zkSandbox } from "../support/control_plane.ts";
import { exchange } from "../support/raw_http.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";

const RUNTIMES: Runtime[] = ["deno", "bun"];
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

async function get(port: number, target: string, host = "x.test") {
  const r = await exchange(
    port,
    `GET ${target} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`,
    { timeoutMs: 10_000 },
  );
  return { status: r.status, body: r.body.toString("latin1") };
}

async function startListenerProxy(runtime: Runtime, connect: string, snapshotDir: string) {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = await startRole(runtime, "proxy", [
    "--zk",
    connect,
    "--listener",
    "public",
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    "--snapshot-file",
    path.join(snapshotDir, "public.json"),
    "--zk-session-timeout",
    "4",
    "--no-health-checks",
  ], { ready: () => httpOk(`http://127.0.0.1:${adminPort}/status`) });
  const status = async () =>
    await (await fetch(`http://127.0.0.1:${adminPort}/status`, {
      signal: AbortSignal.timeout(10_000),
    })).json();
  return { proc, port, adminPort, status };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `--listener with --zk (${runtime}): routes and groups from ZooKeeper, watched`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const zk = await zkSandbox();
      const backends = await startBackends(3);
      const [b1, b2, b3] = backends;
      const snapshotDir = tempDir("listener-snap");
      const routes = (extra: unknown[] = []) => ({
        routes: [
          ...extra,
          { name: "api", match: { path: { prefix: "/api" } }, forward: { group: "api" } },
          { name: "web", forward: { group: "web" } },
        ],
      });
      await zk.store.create("/lb-configs/api", enc({ backend_servers: [b1!.address] }), {
        parents: true,
      });
      await zk.store.create("/lb-configs/web", enc({ backend_servers: [b2!.address] }));
      await zk.store.create("/lb-routes/public", enc(routes()), { parents: true });
      let proxy = await startListenerProxy(runtime, zk.connect, snapshotDir);
      try {
        await waitUntil("the routes to apply", async () => {
          return (await get(proxy.port, "/api/x")).body === "b1\n";
        });
        assert.equal((await get(proxy.port, "/other")).body, "b2\n");

        // a route to a group that does not exist: rejected, the last good routes keep serving
        const withNew = routes([
          { name: "new", match: { path: { prefix: "/new" } }, forward: { group: "web2" } },
        ]);
        await zk.store.set("/lb-routes/public", enc(withNew));
        await waitUntil("the routes naming web2 to be rejected", async () => {
          return (await proxy.status()).rejected_total >= 1;
        });
        const rejected = (await proxy.status()).last_rejected;
        assert.equal(rejected.issues[0].field, "routes[0].forward.group");
        assert.match(rejected.issues[0].reason, /unknown group "web2"/);
        assert.equal((await get(proxy.port, "/new")).body, "b2\n", "still the old routes");

        // once the group exists, the same routes written again apply and reach it
        await zk.store.create("/lb-configs/web2", enc({ backend_servers: [b3!.address] }));
        await zk.store.set("/lb-routes/public", enc(withNew));
        await waitUntil("the new route to reach web2", async () => {
          return (await get(proxy.port, "/new")).body === "b3\n";
        });

        // a group edit is pushed to the listener's group
        await zk.store.set("/lb-configs/api", enc({ backend_servers: [b2!.address] }));
        await waitUntil("the api group edit", async () => {
          return (await get(proxy.port, "/api/x")).body === "b2\n";
        });
        const watched = (await proxy.status()).zookeeper.groups_watched.sort();
        assert.deepEqual(watched, ["api", "web", "web2"]);

        // routes that drop a group: it is no longer watched or served
        await zk.store.set("/lb-routes/public", enc(routes()));
        await waitUntil("web2 to be unwatched", async () => {
          const s = await proxy.status();
          return !s.zookeeper.groups_watched.includes("web2") && !("web2" in s.groups);
        });
        assert.equal((await get(proxy.port, "/new")).body, "b2\n");

        // static stability: restarted with ZooKeeper unreachable, the snapshots serve
        await proxy.proc.stop();
        const dead = await freePort();
        proxy = await startListenerProxy(runtime, `127.0.0.1:${dead}`, snapshotDir);
        assert.equal((await get(proxy.port, "/api/x")).body, "b2\n");
        assert.equal((await get(proxy.port, "/other")).body, "b2\n");
      } finally {
        await proxy.proc.stop();
        for (const b of backends) await b.process.stop();
        await zk.close();
      }
    },
  });
}
