/**
 * `ctl export` / `ctl import` against the real ZooKeeper, under Deno and Bun:
 * every group and listener goes into one file; an import of that file
 * restores what changed since (history says "import"), `--dry-run` prints the
 * plan and writes nothing, and an invalid file is refused whole.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { LISTENER_CONFIGS } from "../../lib/admin/config_kind.ts";
import { ConfigRepo, encodeConfig } from "../../lib/admin/config_repo.ts";
import { configPath, ROUTES_ROOT, routesPath } from "../../lib/store/layout.ts";
import { ctl } from "../support/ctl.ts";
import { zkSandbox } from "../support/control_plane.ts";
import { tempDir } from "../support/processes.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

const dec = new TextDecoder();

Deno.test({
  name: "ctl export writes every group and listener; ctl import (--dry-run too) restores them",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("single");
    const dir = tempDir("backup");
    const file = path.join(dir, "cluster.json");
    try {
      const repo = new ConfigRepo(zk.store, { historyLimit: 50, acl: null });
      await repo.create("api", { backend_servers: ["127.0.0.1:9001"] }, "test");
      await repo.create("web", { backend_servers: ["127.0.0.1:9002"], algorithm: "RANDOM" }, "t");
      const routes = { routes: [{ name: "api", forward: { group: "api" } }] };
      await zk.store.ensurePath(ROUTES_ROOT);
      await zk.store.create(routesPath("public"), encodeConfig(routes));

      const exported = await ctl("deno", ["export", file, "--zk", zk.connect]);
      assert.equal(exported.status, 0, exported.stderr);
      assert.match(exported.stderr, /exported 2 groups and 1 listeners/);
      const doc = JSON.parse(fs.readFileSync(file, "utf8"));
      assert.equal(doc.format, "switchyard-export");
      assert.deepEqual(Object.keys(doc.groups).sort(), ["api", "web"]);
      assert.deepEqual(doc.groups.web, {
        backend_servers: ["127.0.0.1:9002"],
        algorithm: "RANDOM",
      });
      assert.deepEqual(doc.listeners.public, routes);

      // the cluster changes after the backup
      await repo.update("api", { backend_servers: ["127.0.0.1:9999"] }, 0, "someone");
      await repo.remove("web", 0, "someone");
      await zk.store.delete(routesPath("public"));

      for (const runtime of ["bun", "deno"] as const) {
        const dry = await ctl(runtime, ["import", file, "--zk", zk.connect, "--dry-run"]);
        assert.equal(dry.status, 0, dry.stderr);
        assert.match(dry.stdout, /^replace group api \(version 1\)$/m, runtime);
        assert.match(dry.stdout, /^create group web$/m);
        assert.match(dry.stdout, /^create listener public$/m);
        assert.match(dry.stdout, /dry run: nothing written/);
        assert.equal((await repo.get("api"))!.version, 1, "dry run wrote nothing");
        assert.equal(await repo.get("web"), null);
        assert.equal(await zk.store.exists(routesPath("public")), null);
      }

      const imported = await ctl("bun", ["import", file, "--zk", zk.connect]);
      assert.equal(imported.status, 0, imported.stderr);
      const api = (await repo.get("api"))!;
      assert.deepEqual(api.config, { backend_servers: ["127.0.0.1:9001"] });
      assert.equal(api.version, 2);
      assert.equal((await repo.history("api", 1))[0]!.action, "import");
      assert.deepEqual((await repo.get("web"))!.config, doc.groups.web);
      const listener = await zk.store.get(routesPath("public"));
      assert.deepEqual(JSON.parse(dec.decode(listener!.data)), routes);
      // the listener's write went through its repository: its route history says who and why
      const routeRepo = new ConfigRepo(zk.store, {
        historyLimit: 50,
        acl: null,
        kind: LISTENER_CONFIGS,
      });
      const last = (await routeRepo.history("public", 1))[0]!;
      assert.deepEqual([last.action, last.config], ["create", routes]);

      // importing the same file again changes nothing
      const again = await ctl("deno", ["import", file, "--zk", zk.connect]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /^unchanged group api$/m);
      assert.equal((await repo.get("api"))!.version, 2);
    } finally {
      await zk.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "ctl import refuses a file with any invalid group or route and writes nothing",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("single");
    const dir = tempDir("backup");
    try {
      const file = path.join(dir, "bad.json");
      fs.writeFileSync(
        file,
        JSON.stringify({
          format: "switchyard-export",
          format_version: 1,
          groups: {
            ok: { backend_servers: ["127.0.0.1:9001"] },
            bad: { backend_servers: [{ address: "127.0.0.1:9002", weight: 0 }] },
          },
          listeners: { public: { routes: [{ name: "x", forward: { group: "missing" } }] } },
        }),
      );
      for (const runtime of ["deno", "bun"] as const) {
        const r = await ctl(runtime, ["import", file, "--zk", zk.connect]);
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, /import refused, nothing written/);
        assert.match(r.stderr, /group "bad": backend_servers\[0\]\.weight: must be an integer/);
        assert.match(r.stderr, /listener "public": routes\[0\]\.forward\.group: .*"missing"/);
      }
      assert.equal(
        await zk.store.exists(configPath("ok")),
        null,
        "the valid group was not written",
      );
      assert.equal(await zk.store.exists(routesPath("public")), null);
    } finally {
      await zk.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
});
