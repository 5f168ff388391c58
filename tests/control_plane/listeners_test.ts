/**
 * Listeners' route configs through the control plane, against the real ZooKeeper and the admin
 * role and `ctl` under Deno and Bun (issue 14): `ctl zk-init` puts `/lb-routes` under the admin's
 * write ACL (a proxy identity cannot write it); `ctl listeners` / `ctl listener get|put|history|
 * diff|rollback|delete` mirror the group commands; a listener naming an unknown group is refused
 * naming the route; a group a route still uses cannot be deleted; `ctl route-test` says which
 * route, group and backends a request would get, with the orchestrator's health verdicts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NoAuthError } from "../../lib/store/errors.ts";
import {
  HEALTH_ROOT,
  healthBackendPath,
  routeHistoryPath,
  routesPath,
} from "../../lib/store/layout.ts";
import { ctl } from "../support/ctl.ts";
import { startAdmin, zkSandbox } from "../support/control_plane.ts";
import { RUNTIMES, stopAll, tempDir } from "../support/processes.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const enc = new TextEncoder();
const OPS = "ops:ops-secret";
const ADMIN = "admin:admin-secret";
const ORCH = "orchestrator:orch-secret";
const PROXY = "proxy:proxy-secret";

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `listeners through the admin role and ctl (${runtime}): ACLs, validation against the ` +
      "groups, versions, history, rollback, group deletes refused, route-test",
    ...E2E,
    fn: async () => {
      const zk = await zkSandbox("single");
      const dir = tempDir("listeners");
      const procs = [];
      try {
        const init = await ctl(runtime, [
          "zk-init",
          "--zk",
          zk.connect,
          "--zk-auth",
          OPS,
          "--admin-user",
          ADMIN,
          "--orchestrator-user",
          ORCH,
          "--proxy-user",
          PROXY,
        ]);
        assert.equal(init.status, 0, init.stderr);
        assert.match(init.stdout, /created \/lb-routes\n/);
        assert.match(init.stdout, /created \/switchyard\/route-history\n/);

        const admin = await startAdmin(runtime, zk.connect, ["--zk-auth", ADMIN]);
        procs.push(admin.process);
        const api = ["--api", admin.url, "--token", admin.token];
        for (
          const [group, backends] of [["shop", ["10.0.0.1:80", "10.0.0.2:80"]], ["shop-v2", [
            "10.0.1.1:80",
          ]]] as const
        ) {
          const r = await admin.api("POST", "/api/groups", {
            group,
            config: { backend_servers: backends },
          });
          assert.equal(r.status, 201, JSON.stringify(r.json));
        }

        // ctl listener put: an unknown group is refused naming the route, nothing written
        const bad = path.join(dir, "bad.json");
        fs.writeFileSync(
          bad,
          JSON.stringify({ routes: [{ name: "cart", forward: { group: "nope" } }] }),
        );
        const refused = await ctl(runtime, ["listener", "put", "public", bad, ...api]);
        assert.equal(refused.status, 1, refused.stdout);
        assert.match(
          refused.stderr,
          /422: invalid config\n {2}routes\[0\]\.forward\.group: route "cart" names unknown group "nope"/,
        );
        assert.equal(await zk.store.exists(routesPath("public")), null);

        const v0 = path.join(dir, "v0.json");
        fs.writeFileSync(
          v0,
          JSON.stringify({
            routes: [{
              name: "cart",
              match: { host: "shop.example.com", path: { prefix: "/cart" } },
              forward: { group: "shop" },
            }],
          }),
        );
        const put = await ctl(runtime, ["listener", "put", "public", v0, ...api]);
        assert.equal(put.status, 0, put.stderr);
        assert.equal(put.stdout.trim(), "public is now version 0");
        // an editor's "$schema" at the top of the file is dropped, not stored
        const v1 = path.join(dir, "v1.json");
        fs.writeFileSync(
          v1,
          JSON.stringify({
            $schema: "../schema/listener-config.schema.json",
            routes: [{
              name: "cart",
              match: { host: "shop.example.com", path: { prefix: "/cart" } },
              split: [{ group: "shop", weight: 95 }, { group: "shop-v2", weight: 5 }],
            }],
          }),
        );
        const put1 = await ctl(runtime, ["listener", "put", "public", v1, ...api]);
        assert.equal(put1.stdout.trim(), "public is now version 1", put1.stderr);
        const stored1 = JSON.parse(
          new TextDecoder().decode((await zk.store.get(routesPath("public")))!.data),
        );
        assert.deepEqual(Object.keys(stored1), ["routes"]);
        const stale = await ctl(runtime, [
          "listener",
          "put",
          "public",
          v0,
          "--version",
          "0",
          ...api,
        ]);
        assert.equal(stale.status, 1);
        assert.match(stale.stderr, /409: .*current version is 1/);

        // ACLs: the blob and its history carry the admin's ACL; a proxy identity cannot write
        const asProxy = await zk.session({ digest: PROXY });
        const anonymous = await zk.session();
        await assert.rejects(asProxy.create(routesPath("x"), enc.encode("{}")), NoAuthError);
        await assert.rejects(anonymous.create(routesPath("x"), enc.encode("{}")), NoAuthError);
        await assert.rejects(asProxy.set(routesPath("public"), enc.encode("{}")), NoAuthError);
        await assert.rejects(
          asProxy.create(`${routeHistoryPath("public")}/v-`, enc.encode("{}")),
          NoAuthError,
        );
        assert.ok(await asProxy.get(routesPath("public"))); // proxies read

        const list = await ctl(runtime, ["listeners", ...api]);
        assert.equal(list.stdout.trim(), "public\tversion 1", list.stderr);
        const get = await ctl(runtime, ["listener", "get", "public", ...api]);
        assert.equal(get.status, 0, get.stderr);
        assert.match(get.stdout, /^# public version 1\n\{/);
        assert.match(get.stdout, /"shop-v2"/);
        const hist = await ctl(runtime, ["listener", "history", "public", ...api]);
        assert.match(
          hist.stdout,
          /^version 1\t\S+\ttester\tupdate\nversion 0\t\S+\ttester\tcreate\n$/,
        );
        const diff = await ctl(runtime, ["listener", "diff", "public", "0", ...api]);
        assert.match(diff.stdout, /^public: version 0 -> 1\n/);
        assert.match(diff.stdout, /- routes\[0\]\.forward: \{"group":"shop"\}/);

        // route-test: the split, each group's backends, the orchestrator's verdict
        const asOrch = await zk.session({ digest: ORCH });
        await asOrch.create(`${HEALTH_ROOT}/shop`);
        await asOrch.create(healthBackendPath("shop", "10.0.0.2:80"));
        const rt = await ctl(runtime, [
          "route-test",
          "--listener",
          "public",
          "--url",
          "https://shop.example.com/cart?id=1",
          "--header",
          "Cookie: a=1",
          "--header",
          "X-Test: y",
          ...api,
        ]);
        assert.equal(rt.status, 0, rt.stderr);
        assert.equal(
          rt.stdout.trim(),
          [
            "listener public version 1",
            "GET shop.example.com/cart?id=1",
            "route: cart (#0)",
            "action: split: shop weight 95 (95%), shop-v2 weight 5 (5%)",
            "group shop: 1 of 2 backends usable",
            "  10.0.0.1:80\tusable",
            "  10.0.0.2:80\tunhealthy",
            "group shop-v2: 1 of 1 backends usable",
            "  10.0.1.1:80\tusable",
          ].join("\n"),
        );
        const none = await ctl(runtime, [
          "route-test",
          "--listener",
          "public",
          "--url",
          "https://other.example.com/",
          "--json",
          ...api,
        ]);
        assert.equal(none.status, 0, none.stderr);
        const json = JSON.parse(none.stdout);
        assert.equal(json.route, null);
        assert.equal(json.status, 404);

        // a group a route uses cannot be deleted: 409 naming the listener and route
        const del = await ctl(runtime, ["delete", "shop-v2", ...api]);
        assert.equal(del.status, 1, del.stdout);
        assert.match(del.stderr, /409: group shop-v2 is still used by listener public route cart/);
        assert.ok(await zk.store.exists("/lb-configs/shop-v2"));

        // rollback to version 0 (forward to shop), then shop-v2 is free to go
        const rb = await ctl(runtime, ["listener", "rollback", "public", "0", ...api]);
        assert.equal(
          rb.stdout.trim(),
          "public rolled back to the config of version 0 (now version 2)",
          rb.stderr,
        );
        const del2 = await ctl(runtime, ["delete", "shop-v2", ...api]);
        assert.equal(del2.status, 0, del2.stderr);

        const ldel = await ctl(runtime, ["listener", "delete", "public", ...api]);
        assert.equal(ldel.status, 0, ldel.stderr);
        assert.equal(ldel.stdout.trim(), "deleted public");
        assert.equal(await zk.store.exists(routesPath("public")), null);
        const gone = await ctl(runtime, ["listener", "get", "public", ...api]);
        assert.equal(gone.status, 1);
        assert.match(gone.stderr, /404: no such listener/);
        const usage = await ctl(runtime, ["listener", "frob", ...api]);
        assert.equal(usage.status, 2);
      } finally {
        await stopAll(procs);
        await zk.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}
