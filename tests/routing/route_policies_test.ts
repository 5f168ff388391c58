/**
 * Per-route policies a `--listener` proxy applies on the way to a backend,
 * under both runtimes: cookie-based sticky sessions (pinned, honoured while
 * the backend is usable, re-pinned when it is not), and a route's response
 * timeout overriding its group's (with a route without the override as the
 * positive control), and mirroring to a slow group that never delays the
 * client; a route's retry override, a rate limit keyed by a header, and W3C
 * trace context passed through.
 */
import assert from "node:assert/strict";
import { freePort, startBackends, waitUntil } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { exchange, header } from "../support/raw_http.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";

const RUNTIMES: Runtime[] = ["deno", "bun"];

async function get(port: number, target: string, headers: Record<string, string> = {}) {
  let head = `GET ${target} HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const r = await exchange(port, `${head}\r\n`, { timeoutMs: 15_000 });
  return { status: r.status, setCookie: header(r, "set-cookie"), body: r.body.toString("latin1") };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `route policies (${runtime}): sticky sessions and a route's response timeout`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const backends = await startBackends(2);
      const addresses = backends.map((b) => b.address);
      const config = (drained: string | null) => ({
        groups: {
          pool: {
            algorithm: "ROUND_ROBIN",
            backend_servers: addresses.map((a) => a === drained ? { address: a, drain: true } : a),
          },
        },
        listeners: {
          public: {
            routes: [
              {
                name: "slow-capped",
                match: { path: { prefix: "/_delay" }, query: [{ name: "cap", present: true }] },
                forward: { group: "pool" },
                timeouts: { response_seconds: 0.3 },
                retry: { max_retries: 0 },
              },
              {
                name: "app",
                forward: { group: "pool" },
                sticky: { cookie: "sy", ttl_seconds: 60 },
              },
            ],
          },
        },
      });
      const proxy = await startProxy(runtime, config(null) as unknown as Record<string, unknown>, [
        "--listener",
        "public",
        "--no-health-checks",
      ]);
      try {
        // the first answer pins the client with a cookie naming (opaquely) the backend
        const first = await get(proxy.port, "/");
        assert.equal(first.status, 200);
        assert.ok(first.setCookie, "a sticky route sets its cookie");
        assert.match(first.setCookie!, /^sy=[0-9a-f]{16}; Path=\/; .*Max-Age=60/);
        assert.ok(!first.setCookie!.includes("127.0.0.1"), "the cookie hides the address");
        const pinned = first.body.trim();
        const cookie = first.setCookie!.split(";")[0]!;
        // round robin would alternate; with the cookie, every answer comes from the pinned one
        for (let i = 0; i < 6; i++) {
          const r = await get(proxy.port, "/", { cookie: `other=1; ${cookie}` });
          assert.equal(r.body.trim(), pinned);
          assert.equal(r.setCookie, null, "an honoured cookie is not set again");
        }
        // positive control: without the cookie, round robin reaches both backends
        const seen = new Set<string>();
        for (let i = 0; i < 4; i++) seen.add((await get(proxy.port, "/")).body.trim());
        assert.equal(seen.size, 2);

        // the pinned backend drains: the request falls back to the other and re-pins
        const pinnedAddress = backends.find((b) => b.name === pinned)!.address;
        proxy.writeConfig(config(pinnedAddress));
        await waitUntil("the drain to apply", async () => {
          return (await get(proxy.port, "/", { cookie })).body.trim() !== pinned;
        });
        const moved = await get(proxy.port, "/", { cookie });
        assert.notEqual(moved.body.trim(), pinned);
        assert.ok(moved.setCookie && moved.setCookie.split(";")[0] !== cookie, "re-pinned");

        // the route's 0.3 s response timeout beats the group's 30 s: 504
        const capped = await get(proxy.port, "/_delay?ms=1500&cap=1");
        assert.equal(capped.status, 504);
        // positive control: the same delay on a route without the override is answered
        const uncapped = await get(proxy.port, "/_delay?ms=1500");
        assert.equal(uncapped.status, 200);
      } finally {
        await proxy.process.stop();
        for (const b of backends) await b.process.stop();
      }
    },
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `route policies (${runtime}): mirroring copies requests and never waits for the mirror`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const [primary] = await startBackends(1);
      // the mirror answers only when released: the client must be answered before that
      const mirrored: { target: string; id: string | null }[] = [];
      let release = () => {};
      const released = new Promise<void>((r) => release = r);
      const mirror = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
        const u = new URL(req.url);
        if (u.pathname === "/health") return new Response("ok");
        mirrored.push({ target: u.pathname + u.search, id: req.headers.get("x-request-id") });
        await released;
        return new Response("mirror\n");
      });
      const config = {
        groups: {
          main: { backend_servers: [primary!.address] },
          shadow: { backend_servers: [`127.0.0.1:${mirror.addr.port}`] },
        },
        listeners: {
          public: {
            routes: [{
              name: "app",
              forward: { group: "main" },
              mirror: { group: "shadow", percent: 100 },
            }],
          },
        },
      };
      const proxy = await startProxy(runtime, config as unknown as Record<string, unknown>, [
        "--listener",
        "public",
        "--no-health-checks",
      ]);
      try {
        const r = await exchange(
          proxy.port,
          "GET /_echo?x=1 HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n\r\n",
          { timeoutMs: 15_000 },
        );
        assert.equal(r.status, 200);
        const sentId = JSON.parse(r.body.toString()).headers["x-request-id"];
        await waitUntil(
          "the mirror to receive its copy",
          () => Promise.resolve(mirrored.length > 0),
        );
        // the client had its answer while the mirror was still holding its copy
        assert.deepEqual(mirrored[0], { target: "/_echo?x=1", id: sentId });
        // a request with a body is not copied (counted as skipped)
        const post = await exchange(
          proxy.port,
          "POST /_echo HTTP/1.1\r\nhost: app.test\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi",
          { timeoutMs: 15_000 },
        );
        assert.equal(post.status, 200);
        release();
        await waitUntil("the mirror outcomes to be counted", async () => {
          const m = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
          return m.includes(
            'switchyard_mirrored_requests_total{listener="public",route="app",outcome="sent"} 1',
          ) &&
            m.includes(
              'switchyard_mirrored_requests_total{listener="public",route="app",outcome="skipped"} 1',
            );
        });
        assert.equal(mirrored.length, 1);
      } finally {
        release();
        await proxy.process.stop();
        await primary!.process.stop();
        await mirror.shutdown();
      }
    },
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `route policies (${runtime}): a route's retry override, a rate limit keyed by a header, traceparent passed through`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const [live] = await startBackends(1);
      const dead = `127.0.0.1:${await freePort()}`;
      const config = {
        groups: {
          // the dead backend first: round robin's first pick fails to connect
          pool: { algorithm: "ROUND_ROBIN", backend_servers: [dead, live!.address] },
        },
        listeners: {
          public: {
            routes: [
              {
                name: "no-retry",
                match: { path: { prefix: "/once" } },
                forward: { group: "pool" },
                retry: { max_retries: 0 },
              },
              {
                name: "keyed",
                match: { path: { prefix: "/keyed" } },
                forward: { group: "pool" },
                rate_limit: { rate: 0.001, burst: 1, key: "header", header: "x-api-key" },
              },
              { name: "default", forward: { group: "pool" } },
            ],
          },
        },
      };
      const proxy = await startProxy(runtime, config as unknown as Record<string, unknown>, [
        "--listener",
        "public",
        "--no-health-checks",
      ]);
      try {
        // the group retries a refused connect on the other backend: every answer is 200 ...
        for (let i = 0; i < 2; i++) assert.equal((await get(proxy.port, "/any")).status, 200);
        // ... the route with max_retries 0 does not: one of two requests meets the dead one
        const once = [];
        for (let i = 0; i < 4; i++) once.push((await get(proxy.port, "/once")).status);
        assert.ok(once.includes(502), `no 502 without retries: ${once}`);
        assert.ok(once.includes(200), `the live backend still answers: ${once}`);

        // the bucket is per value of x-api-key
        const keyed = async (key: string) =>
          (await get(proxy.port, "/keyed", { "x-api-key": key })).status;
        assert.deepEqual([await keyed("a"), await keyed("a"), await keyed("b")], [200, 429, 200]);

        // W3C trace context passes through to the backend unchanged
        const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        const echoed = await get(proxy.port, "/_echo", {
          traceparent: trace,
          tracestate: "congo=t61rcWkgMzE",
        });
        const headers = JSON.parse(echoed.body).headers;
        assert.equal(headers.traceparent, trace);
        assert.equal(headers.tracestate, "congo=t61rcWkgMzE");
      } finally {
        await proxy.process.stop();
        await live!.process.stop();
      }
    },
  });
}
