/**
 * A `--listener` proxy on a config file, under both runtimes: routes over
 * three groups (host and path matches, a prefix strip, a canary split, a
 * redirect, a direct response, a rate limit, header policies, request ids),
 * 404 without a match, the default route, metrics by route, and a bad edit
 * (a route naming a group the file lacks) rejected with the last good routes
 * still serving.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { type Backend, startBackends, tempDir, waitUntil } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { exchange, header } from "../support/raw_http.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";

const RUNTIMES: Runtime[] = ["deno", "bun"];

function config(b: Backend[], extraRoute?: unknown) {
  return {
    groups: {
      api: { backend_servers: [b[0]!.address] },
      web: { backend_servers: [b[1]!.address] },
      "web-v2": { backend_servers: [b[2]!.address] },
    },
    listeners: {
      public: {
        routes: [
          ...(extraRoute ? [extraRoute] : []),
          {
            name: "api",
            match: { host: "api.example.com", path: { prefix: "/v1" } },
            forward: { group: "api" },
            rewrite: { strip_prefix: "/v1" },
            request_headers: { set: { "x-client": "${client_ip}" } },
            response_headers: { set: { "x-route": "api" } },
          },
          {
            name: "old-shop",
            match: { host: "old.example.com" },
            redirect: { status: 301, host: "shop.example.com" },
          },
          {
            name: "ping",
            match: { path: { exact: "/ping" } },
            direct_response: { status: 200, body: "pong\n" },
          },
          {
            name: "limited",
            match: { path: { prefix: "/limited" } },
            forward: { group: "web" },
            rate_limit: { rate: 0.01, burst: 2 },
          },
          {
            name: "shop",
            match: { host: "*.example.com" },
            split: [{ group: "web", weight: 50 }, { group: "web-v2", weight: 50 }],
          },
          { name: "fallback", match: { host: "default.test" }, forward: { group: "web" } },
        ],
        default_route: "fallback",
      },
    },
  };
}

/** A GET with this Host (fetch cannot set Host), over a raw connection. */
async function get(url: string, host: string, headers: Record<string, string> = {}) {
  const u = new URL(url);
  let head = `GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const r = await exchange(Number(u.port), `${head}\r\n`, { timeoutMs: 10_000 });
  return {
    status: r.status,
    headers: { get: (name: string) => header(r, name) },
    body: r.body.toString("latin1"),
  };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `--listener on a file (${runtime}): routes over groups, policies, 404, default route`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const backends = await startBackends(3);
      const accessLog = path.join(tempDir("access"), "access.log");
      const proxy = await startProxy(
        runtime,
        config(backends) as unknown as Record<string, unknown>,
        ["--listener", "public", "--no-health-checks", "--access-log", accessLog],
      );
      try {
        // host + prefix, prefix stripped, a header with a variable, request id, response header
        const api = await get(`${proxy.url}/v1/_echo?q=1`, "API.example.com:8080");
        assert.equal(api.status, 200);
        const echo = JSON.parse(api.body);
        assert.equal(echo.backend, "b1");
        assert.equal(echo.path, "/_echo");
        assert.deepEqual(echo.query, { q: ["1"] });
        assert.equal(echo.headers["x-client"], "127.0.0.1");
        assert.match(echo.headers["x-request-id"], /^[0-9a-f]{16}-[0-9a-f]+$/);
        assert.equal(api.headers.get("x-route"), "api");
        assert.equal(api.headers.get("x-request-id"), echo.headers["x-request-id"]);
        // a valid client request id is kept, end to end
        const kept = await get(`${proxy.url}/v1/_echo`, "api.example.com", {
          "x-request-id": "client-id-42",
        });
        assert.equal(JSON.parse(kept.body).headers["x-request-id"], "client-id-42");
        assert.equal(kept.headers.get("x-request-id"), "client-id-42");
        // /v1x is not under the /v1 prefix: it falls to the wildcard split
        const notPrefix = await get(`${proxy.url}/v1x`, "api.example.com");
        assert.match(notPrefix.body, /^b[23]\n$/);

        // the canary split reaches both groups
        const seen = new Set<string>();
        for (let i = 0; i < 40 && seen.size < 2; i++) {
          seen.add((await get(`${proxy.url}/`, "shop.example.com")).body.trim());
        }
        assert.deepEqual([...seen].sort(), ["b2", "b3"]);

        // redirect keeps the path and query
        const redirect = await get(`${proxy.url}/cart?id=7`, "old.example.com");
        assert.equal(redirect.status, 301);
        assert.equal(redirect.headers.get("location"), "http://shop.example.com/cart?id=7");

        // direct response, for any host
        const ping = await get(`${proxy.url}/ping`, "whatever.test");
        assert.equal(ping.status, 200);
        assert.equal(ping.body, "pong\n");

        // the rate limit: a burst of 2, then 429 with Retry-After
        const limited = [];
        for (let i = 0; i < 3; i++) limited.push(await get(`${proxy.url}/limited`, "x.test"));
        assert.deepEqual(limited.map((r) => r.status), [200, 200, 429]);
        assert.ok(Number(limited[2]!.headers.get("retry-after")) >= 1);

        // no route matches: the default route; without one, 404 (checked after the bad edit below)
        const fallback = await get(`${proxy.url}/anything`, "unknown.test");
        assert.equal(fallback.status, 200);
        assert.equal(fallback.body, "b2\n");

        // the access log: a JSON line per request, with route, group, backend and request id
        await waitUntil("the access log lines", () =>
          Promise.resolve(
            fs.existsSync(accessLog) &&
              fs.readFileSync(accessLog, "utf8").includes('"route":"ping"'),
          ));
        const lines = fs.readFileSync(accessLog, "utf8").trim().split("\n").map((l) =>
          JSON.parse(l)
        );
        const apiLine = lines.find((l) => l.request_id === "client-id-42")!;
        assert.equal(apiLine.route, "api");
        assert.equal(apiLine.group, "api");
        assert.equal(apiLine.backend, backends[0]!.address);
        assert.equal(apiLine.status, 200);
        assert.equal(apiLine.client, "127.0.0.1");
        assert.ok(apiLine.duration_ms >= apiLine.upstream_ms && apiLine.upstream_ms >= 0);
        assert.ok(apiLine.bytes > 0);
        const redirectLine = lines.find((l) => l.route === "old-shop")!;
        assert.equal(redirectLine.status, 301);
        assert.equal(redirectLine.group, null);

        // metrics by route
        const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
        assert.match(
          metrics,
          /switchyard_route_requests_total\{listener="public",route="api",class="2xx"\} 2/,
        );
        assert.match(
          metrics,
          /switchyard_rate_limited_total\{listener="public",route="limited"\} 1/,
        );
        assert.match(metrics, /switchyard_requests_total\{group="web-v2",backend="127\.0\.0\.1:/);

        // a route naming a group the file lacks: rejected, nothing applied
        const bad = config(backends, {
          name: "ghost",
          match: { path: { prefix: "/ghost" } },
          forward: { group: "nope" },
        });
        proxy.writeConfig(bad);
        await waitUntil("the bad edit to be rejected", async () => {
          const s = await proxy.status() as unknown as { rejected_total: number };
          return s.rejected_total >= 1;
        });
        const status = await proxy.status() as unknown as {
          last_rejected: { issues: { field: string; reason: string }[] };
          routes: { names: string[] };
        };
        assert.equal(status.last_rejected.issues[0]!.field, "routes[0].forward.group");
        assert.match(status.last_rejected.issues[0]!.reason, /"ghost".*unknown group "nope"/);
        assert.ok(!status.routes.names.includes("ghost"));
        assert.equal((await get(`${proxy.url}/ping`, "a.test")).body, "pong\n");

        // a good edit without the default route: an unmatched request gets 404
        type Groups = { groups: Record<string, { config: { version: string } }> };
        const before = (await proxy.status() as unknown as Groups).groups;
        const next = config(backends);
        delete (next.listeners.public as { default_route?: string }).default_route;
        (next.groups.web as Record<string, unknown>).algorithm = "RANDOM";
        proxy.writeConfig(next);
        await waitUntil("the edit without a default route", async () => {
          return (await get(`${proxy.url}/anything`, "unknown.test")).status === 404;
        });
        assert.equal((await get(`${proxy.url}/`, "shop.example.com")).status, 200);
        // each group is versioned by its own blob: only the edited one changed
        const after = (await proxy.status() as unknown as Groups).groups;
        assert.equal(after.api!.config.version, before.api!.config.version);
        assert.notEqual(after.web!.config.version, before.web!.config.version);
      } finally {
        await proxy.process.stop();
        for (const b of backends) await b.process.stop();
      }
    },
  });
}
