/**
 * A `--config` file that carries an editor's top-level `"$schema"` (a link to
 * schema/) is served by a real proxy, under Deno and Bun, in both of its
 * forms: group name -> blob (`--group`'s file), and the `groups` and
 * `listeners` sections (`--listener`).
 */
import assert from "node:assert/strict";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { startBackends, stopAll } from "../support/processes.ts";
import { countAnswers, startProxy } from "../support/proxy.ts";

const RUNTIMES: Runtime[] = ["deno", "bun"];
const E2E = { sanitizeOps: false, sanitizeResources: false } as const;
const $schema = "../schema/config-file.schema.json";

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `a --config file with a top-level $schema is served in both forms (${runtime})`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(2);
      try {
        const groups = {
          a: { backend_servers: [backends[0]!.address] },
          b: { backend_servers: [backends[1]!.address] },
        };
        // group name -> blob: the proxy finds one group, "a", not a group "$schema"
        const one = await startProxy(runtime, { $schema, a: groups.a });
        try {
          assert.deepEqual(Object.fromEntries(await countAnswers(one.url, 2)), { b1: 2 });
          const status = await one.status();
          assert.equal(status.rejected_total, 0);
          assert.equal(status.config?.applied_total, 1);
        } finally {
          await one.process.stop();
        }
        // the two sections, served by --listener
        const listeners = {
          pub: {
            routes: [{ name: "all", match: { path: { prefix: "/" } }, forward: { group: "b" } }],
          },
        };
        const two = await startProxy(runtime, { $schema, groups, listeners }, [
          "--listener",
          "pub",
        ]);
        try {
          assert.deepEqual(Object.fromEntries(await countAnswers(two.url, 2)), { b2: 2 });
        } finally {
          await two.process.stop();
        }
      } finally {
        await stopAll(backends);
      }
    },
  });
}
