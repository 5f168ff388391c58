/**
 * A separate Bun project that depends on Switchyard (`"switchyard":
 * "link:../.."` in its package.json, installed with `bun install --offline`)
 * and balances real requests over two real backends with
 * `createLoadBalancer`, mounted as `lb.handler` in a Hono app served by
 * `Bun.serve({ fetch: app.fetch })`, as the README's "Library use" shows (the
 * client's address reaches the backend through Hono's `getConnInfo` for Bun).
 * Exits non-zero on the first failed assertion; tests/library_test.ts runs it.
 *
 * Hono resolves from Switchyard's node_modules, up the directory tree (the
 * project installs offline, with no registry to fetch a copy of its own).
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createLoadBalancer, validateGroupConfig } from "switchyard";

/** The part of Bun's API this project uses (no @types/bun here). */
interface BunServer {
  readonly port: number;
  requestIP(request: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
};

function backend(name: string): BunServer {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      return Response.json({
        name,
        path: url.pathname + url.search,
        method: request.method,
        body: await request.text(),
        xff: request.headers.get("x-forwarded-for"),
      });
    },
  });
}

const a = backend("a");
const b = backend("b");
const config = {
  backend_servers: [
    { address: `127.0.0.1:${a.port}`, weight: 1 },
    { address: `127.0.0.1:${b.port}`, weight: 3 },
  ],
  algorithm: "WEIGHTED_ROUND_ROBIN",
};
assert.equal(validateGroupConfig("api", config).ok, true);
const lb = createLoadBalancer({
  group: "api",
  config,
  stripPrefix: "/api",
  healthChecks: false,
});
const app = new Hono();
app.get("/", (c) => c.text("home"));
app.all("/api/*", lb.handler);
const front = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
const base = `http://127.0.0.1:${front.port}`;
try {
  const names: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await fetch(`${base}/api/items?x=${i}`);
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.path, `/items?x=${i}`);
    names.push(j.name);
  }
  assert.equal(names.filter((n) => n === "a").length, 2);
  assert.equal(names.filter((n) => n === "b").length, 6);

  const post = await fetch(`${base}/api/echo`, {
    method: "POST",
    body: "hello",
  });
  assert.equal(post.status, 200);
  const pj = await post.json();
  assert.equal(pj.method, "POST");
  assert.equal(pj.body, "hello");
  assert.equal(pj.xff, "127.0.0.1");
  // the app's own routes stay the app's
  assert.equal(await (await fetch(`${base}/`)).text(), "home");
  console.log(`bun project: ${names.length + 1} requests balanced, ok`);
} finally {
  lb.close();
  await front.stop(true);
  await a.stop(true);
  await b.stop(true);
}
