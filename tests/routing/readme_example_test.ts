/**
 * The README's worked routing example (the JSON block of "Routing: listeners
 * and routes") is valid as written, and a `--listener` proxy serves it: the
 * redirect, the API's prefix strip, the canary split with sticky sessions and
 * the proxy's own health answer (backends swapped in for the example's
 * addresses), under both runtimes.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { validateConfigFile } from "../../lib/config/schema.ts";
import { validateListenerConfig } from "../../lib/routing/schema.ts";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { startBackends } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { exchange, header } from "../support/raw_http.ts";

/** The first ```json block after the routing heading. */
function readmeExample(): {
  groups: Record<string, { backend_servers: string[] }>;
  listeners: Record<string, unknown>;
} {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const from = readme.indexOf("## Routing: listeners and routes");
  assert.ok(from >= 0, "the README has its routing section");
  const open = readme.indexOf("```json\n", from);
  const close = readme.indexOf("\n```", open + 8);
  return JSON.parse(readme.slice(open + 8, close));
}

Deno.test("the README's routing example is a valid two-section config", () => {
  const example = readmeExample();
  assert.ok(validateConfigFile(example.groups).ok);
  const groups = new Set(Object.keys(example.groups));
  const v = validateListenerConfig("public", example.listeners.public, groups);
  assert.ok(v.ok, v.ok ? "" : JSON.stringify(v.issues));
  const names = v.value.routes.map((r) => r.name);
  assert.deepEqual(names, ["old-shop", "api", "shop", "ping"]);
  // what the README says it shows: a canary, a redirect, sticky sessions, a rate limit
  const byName = Object.fromEntries(v.value.routes.map((r) => [r.name, r]));
  assert.ok(byName.shop!.split && byName.shop!.sticky);
  assert.ok(byName["old-shop"]!.redirect);
  assert.ok(byName.api!.rate_limit);
});

async function get(port: number, target: string, host: string, cookie?: string) {
  const r = await exchange(
    port,
    `GET ${target} HTTP/1.1\r\nhost: ${host}\r\n${
      cookie ? `cookie: ${cookie}\r\n` : ""
    }connection: close\r\n\r\n`,
    { timeoutMs: 10_000 },
  );
  return { r, body: r.body.toString("latin1") };
}

for (const runtime of ["deno", "bun"] as Runtime[]) {
  Deno.test({
    name: `a --listener proxy serves the README's routing example (${runtime})`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const example = readmeExample();
      const backends = await startBackends(3);
      const [api, v1, v2] = backends;
      example.groups.api!.backend_servers = [api!.address];
      example.groups["web-v1"]!.backend_servers = [v1!.address];
      example.groups["web-v2"]!.backend_servers = [v2!.address];
      const proxy = await startProxy(runtime, example as unknown as Record<string, unknown>, [
        "--listener",
        "public",
        "--no-health-checks",
      ]);
      try {
        const moved = await get(proxy.port, "/cart?id=1", "old.example.com");
        assert.equal(moved.r.status, 301);
        assert.equal(header(moved.r, "location"), "https://shop.example.com/cart?id=1");
        const apiAnswer = await get(proxy.port, "/v1/_echo", "api.example.com");
        assert.equal(JSON.parse(apiAnswer.body).path, "/_echo");
        const shop = await get(proxy.port, "/", "shop.example.com");
        assert.match(shop.body, /^b[23]\n$/);
        const pin = header(shop.r, "set-cookie")!.split(";")[0]!;
        assert.match(pin, /^shop_pin=/);
        for (let i = 0; i < 5; i++) {
          assert.equal((await get(proxy.port, "/", "shop.example.com", pin)).body, shop.body);
        }
        const ping = await get(proxy.port, "/ping", "anything.test");
        assert.equal(ping.body, "pong\n");
      } finally {
        await proxy.process.stop();
        for (const b of backends) await b.process.stop();
      }
    },
  });
}
