/**
 * Runs the ZooKeeper store under Bun against the real dev node: spawns
 * `./node_modules/.bin/bun tests/zookeeper/_bun_smoke.ts` and checks the JSON it prints.
 */

import assert from "node:assert/strict";
import { assertForcedExpiry } from "../support/zk_harness.ts";
import { acquireZk } from "../support/zk_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("zookeeper store works under Bun: CRUD, versions, watch, multi, pings, expiry", async () => {
  const lease = await acquireZk("single");
  try {
    const run = await new Deno.Command(`${ROOT}node_modules/.bin/bun`, {
      args: ["tests/zookeeper/_bun_smoke.ts", lease.connectionString],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    const line = stdout.trim().split("\n").at(-1) ?? "";
    const result = JSON.parse(line);
    assert.equal(result.error, undefined, line);
    assert.equal(result.runtime, "bun");
    assert.match(result.created, /^\/bun-smoke-[a-z0-9]+\/cfg$/);
    assert.deepEqual(result.get, { data: "v0", version: 0 });
    assert.equal(result.setVersion, 1);
    assert.equal(result.conflict, "VersionConflict current=1");
    assert.equal(result.watchSawV2, true);
    assert.deepEqual(result.tx, ["check", "create"]);
    assert.equal(result.idleSurvived, true, "pings keep an idle session alive under Bun");
    assert.equal(result.renewed, true);
    assert.equal(result.newSessionId, true);
    assert.equal(result.watchAfterExpiry, true);
    assert.equal(result.ephemeralGone, true);
    assertForcedExpiry(result.events);
    console.log(
      `  bun ${result.version}: ${line.length} bytes of results, seen ${
        JSON.stringify(result.seen)
      }`,
    );
  } finally {
    await lease.release();
  }
});
