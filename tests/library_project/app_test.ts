/**
 * A separate Deno project that uses Switchyard as a package: its deno.json
 * has `"links": ["../.."]` and nothing of Switchyard's own dependencies, so
 * `@switchyard/switchyard` resolves to Switchyard's deno.json `exports` and
 * its import map. The project maps only what it imports itself (Hono, for
 * its own app) and mounts the load balancer inside that app.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  createLoadBalancer,
  validateGroupConfig,
} from "@switchyard/switchyard";

function backend(name: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const body = req.body ? await req.text() : "";
      return Response.json({
        name,
        path: url.pathname + url.search,
        method: req.method,
        body,
        xff: req.headers.get("x-forwarded-for"),
      });
    },
  );
}

Deno.test({
  name:
    "createLoadBalancer() mounted in a Hono app balances by weight and forwards requests",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const a = backend("a");
    const b = backend("b");
    const lb = createLoadBalancer({
      group: "api",
      config: {
        backend_servers: [
          { address: `127.0.0.1:${a.addr.port}`, weight: 1 },
          { address: `127.0.0.1:${b.addr.port}`, weight: 3 },
        ],
        algorithm: "WEIGHTED_ROUND_ROBIN",
      },
      stripPrefix: "/api",
      healthChecks: false,
    });
    const app = new Hono();
    app.get("/", (c) => c.text("home"));
    app.all("/api/*", lb.handler);
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      app.fetch,
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      const names: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await fetch(`${base}/api/items?x=${i}`);
        assert.equal(r.status, 200);
        const j = await r.json();
        assert.equal(j.path, `/items?x=${i}`);
        names.push(j.name);
      }
      assert.deepEqual(names.filter((n) => n === "a").length, 2);
      assert.deepEqual(names.filter((n) => n === "b").length, 6);

      const post = await fetch(`${base}/api/echo`, {
        method: "POST",
        body: "hello",
      });
      const pj = await post.json();
      assert.equal(pj.method, "POST");
      assert.equal(pj.body, "hello");
      assert.equal(pj.xff, "127.0.0.1");
      assert.equal(await (await fetch(`${base}/`)).text(), "home");

      // an invalid update is rejected and the current config keeps serving
      const bad = lb.update({ backend_servers: ["nope"] });
      assert.equal(bad.ok, false);
      assert.equal((await fetch(`${base}/api/x`)).status, 200);

      // a dead backend is retried elsewhere for GETs
      await a.shutdown();
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${base}/api/after`);
        assert.equal(r.status, 200);
        assert.equal((await r.json()).name, "b");
      }
      assert.equal(
        validateGroupConfig("api", { backend_servers: [] }).ok,
        true,
      );
    } finally {
      lb.close();
      await server.shutdown();
      await b.shutdown();
    }
  },
});
