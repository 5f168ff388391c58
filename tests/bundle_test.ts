/**
 * `deno task build` (`npm run build`) bundles each role with esbuild, and
 * compiles dist/bin/switchyard; the proxy bundle runs under Bun and under
 * Deno without the sources.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, runtimeBinary } from "../lib/runtime/role_command.ts";
import { RUNTIMES, startBackends, stopAll } from "./support/processes.ts";
import { countAnswers, startProxy } from "./support/proxy.ts";

Deno.test({
  name: "the esbuild bundle of the proxy runs under Bun and Deno",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const build = spawnSync(runtimeBinary("deno"), ["run", "-A", "deploy/build.ts"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(build.status, 0, build.stderr);
    // `npm run build` also compiles the single-file executable (tests/packaging/executable_test.ts
    // runs it)
    assert.match(build.stdout, /^built dist\/bin\/switchyard$/m);
    assert.ok(fs.statSync(path.join(REPO_ROOT, "dist", "bin", "switchyard")).mode & 0o111);
    const bundle = path.join(REPO_ROOT, "dist", "proxy.js");
    assert.ok(fs.statSync(bundle).size > 10_000);
    // the bundle must not import project sources or packages at run time
    const imports = fs.readFileSync(bundle, "utf8").split("\n").filter((l) => /^import /.test(l));
    for (const line of imports) {
      assert.match(line, /from "node:[a-z0-9_/]+";$/, `unexpected ${line}`);
    }
    const backends = await startBackends(2);
    try {
      for (const runtime of RUNTIMES) {
        const proxy = await startProxy(
          runtime,
          {
            g: { backend_servers: backends.map((b) => b.address), algorithm: "ROUND_ROBIN" },
          },
          [],
          { script: bundle },
        );
        try {
          const counts = await countAnswers(proxy.url, 10);
          assert.deepEqual(Object.fromEntries(counts), { b1: 5, b2: 5 }, `under ${runtime}`);
          assert.match((await proxy.status()).config!.algorithm, /ROUND_ROBIN/);
        } finally {
          await proxy.process.stop();
        }
      }
    } finally {
      await stopAll(backends);
    }
  },
});
