/**
 * ZooKeeper digest ACLs (`ctl zk-init`): only the admin role writes configs,
 * only the orchestrator writes health, proxies only read (and register);
 * a client without the credentials gets NoAuth. A malformed config from an
 * authorized writer is refused by the API and rejected by the proxies.
 */
import assert from "node:assert/strict";
import { NoAuthError } from "../../lib/store/errors.ts";
import {
  configPath,
  HEALTH_ROOT,
  healthBackendPath,
  proxiesGroupPath,
} from "../../lib/store/layout.ts";
import { ctl } from "../support/ctl.ts";
import { startAdmin, startZkProxy, zkSandbox } from "../support/control_plane.ts";
import { startBackends, stopAll, waitUntil } from "../support/processes.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const enc = new TextEncoder();
const OPS = "ops:ops-secret";
const ADMIN = "admin:admin-secret";
const ORCH = "orchestrator:orch-secret";
const PROXY = "proxy:proxy-secret";

Deno.test({
  name: "digest ACLs: only admin writes configs, only the orchestrator writes health, proxies read",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("single");
    const backends = await startBackends(1);
    const procs = [];
    try {
      const initArgs = [
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
      ];
      const init = await ctl("deno", initArgs);
      assert.equal(init.status, 0, init.stderr);
      assert.match(init.stdout, /created \/lb-configs/);
      // idempotent: a second run only re-applies ACLs
      const again = await ctl("deno", initArgs);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /set ACL on \/lb-configs/);

      const anonymous = await zk.session();
      const asProxy = await zk.session({ digest: PROXY });
      const asOrch = await zk.session({ digest: ORCH });
      const blob = enc.encode(JSON.stringify({ backend_servers: [backends[0]!.address] }));
      await assert.rejects(anonymous.create(configPath("g"), blob), NoAuthError);
      await assert.rejects(asProxy.create(configPath("g"), blob), NoAuthError);
      await assert.rejects(asOrch.create(configPath("g"), blob), NoAuthError);
      await assert.rejects(asProxy.create(`${HEALTH_ROOT}/g`), NoAuthError);
      await asOrch.create(`${HEALTH_ROOT}/g`);
      await asOrch.create(healthBackendPath("g", "10.0.0.1:80"));
      await asOrch.delete(healthBackendPath("g", "10.0.0.1:80"));

      // the admin role with its credentials writes; with others it gets 403
      const admin = await startAdmin("deno", zk.connect, ["--zk-auth", ADMIN]);
      procs.push(admin.process);
      const created = await admin.api("POST", "/api/groups", {
        group: "g",
        config: { backend_servers: [backends[0]!.address] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const { acl } = await anonymous.getAcl(configPath("g"));
      assert.deepEqual(acl.map((a) => a.scheme).sort(), ["digest", "world"]);
      await assert.rejects(anonymous.set(configPath("g"), blob), NoAuthError);
      await assert.rejects(asProxy.set(configPath("g"), blob), NoAuthError);
      const impostor = await startAdmin("bun", zk.connect, ["--zk-auth", PROXY]);
      procs.push(impostor.process);
      const refused = await impostor.api("POST", "/api/groups", {
        group: "h",
        config: { backend_servers: [] },
      });
      assert.equal(refused.status, 403, JSON.stringify(refused.json));

      // a proxy with the proxy credentials reads the config and registers itself
      const proxy = await startZkProxy("bun", zk.connect, "g", [
        "--zk-auth",
        PROXY,
        "--no-health-checks",
      ]);
      procs.push(proxy.process);
      await waitUntil(
        "the proxy to apply",
        async () => (await proxy.status()).config?.version === "0",
      );
      await waitUntil(
        "registration",
        async () => (await anonymous.children(proxiesGroupPath("g"))).length === 1,
      );
      assert.equal((await fetch(proxy.url)).status, 200);

      // a malformed config from the authorized writer: the API refuses it...
      const bad = await admin.api("PUT", "/api/groups/g", { backend_servers: ["no-port"] }, {
        "if-match": '"0"',
      });
      assert.equal(bad.status, 422);
      assert.match(String(bad.json.reason), /backend_servers\[0\]/);
      // ...and written around the API with the admin's credentials, the proxy rejects it
      const asAdmin = await zk.session({ digest: ADMIN });
      await asAdmin.set(configPath("g"), enc.encode('{"backend_servers": ["no-port"]}'));
      await waitUntil(
        "the proxy to reject version 1",
        async () => (await proxy.status()).last_rejected?.version === "1",
      );
      assert.equal((await proxy.status()).config?.version, "0");
      const ok = await fetch(proxy.url);
      assert.equal(ok.status, 200);
      await ok.text();
    } finally {
      await stopAll([...procs, ...backends]);
      await zk.close();
    }
  },
});
