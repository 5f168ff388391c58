/**
 * A user's app, as a process of its own, for the end-to-end tests of
 * `createLoadBalancer`: a Hono app that mounts `lb.handler` exactly as the
 * README's "Library use" shows, served the way each runtime's users serve a
 * Hono app (`Bun.serve({ fetch: app.fetch })` under Bun, `Deno.serve(app.fetch)`
 * under Deno), once on 127.0.0.1 and once on [::1] (an IPv6 client).
 *
 * Usage: `deno run -A tests/support/embedded_lb_app.ts PORT PORT6 BACKEND[,BACKEND...] [CONFIG [TRANSPORT]]`
 * (or `bun tests/support/embedded_lb_app.ts ...`). CONFIG is a group config
 * blob as JSON (default: the backends, round robin); BACKEND may be `-` when
 * CONFIG lists them. TRANSPORT is `createLoadBalancer`'s `transport` option,
 * `socket` (default) or `fetch`. `GET /` answers `home` once it serves.
 *
 * For the shared data-plane suite (tests/data_plane/) the app also shows what
 * the proxy role's admin port shows, built from the load balancer's public
 * `state` and `metrics`: `GET /_lb/status` (the proxy's `/status` document),
 * `GET /_lb/metrics`, and `PUT /_lb/config` (a new config blob, `lb.update`).
 *
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import { createLoadBalancer } from "../../mod.ts";
import { statusDocument } from "../../lib/proxy/admin_app.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../../lib/metrics/registry.ts";

const [port, port6, backends, configJson, transport = "socket"] = process.argv.slice(2);
if (!port || !port6 || !backends) {
  throw new Error("usage: embedded_lb_app.ts PORT PORT6 BACKEND[,BACKEND...] [CONFIG [TRANSPORT]]");
}
if (transport !== "socket" && transport !== "fetch") throw new Error(`bad transport ${transport}`);

const lb = createLoadBalancer({
  group: "api",
  config: configJson
    ? JSON.parse(configJson)
    : { backend_servers: backends.split(","), algorithm: "ROUND_ROBIN" },
  stripPrefix: "/api",
  transport,
});
const startedAt = Date.now();
const app = new Hono();
app.get("/", (c) => c.text("home"));
app.get("/_lb/status", (c) =>
  c.json(statusDocument(lb.state, {
    id: "embedded",
    runtime: "",
    startedAt,
    source: "createLoadBalancer",
    listen: `127.0.0.1:${port}`,
    healthChecks: true,
    connections: () => 0,
    draining: () => false,
  })));
app.get(
  "/_lb/metrics",
  (c) => c.body(lb.metrics.registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
);
app.put("/_lb/config", async (c) => {
  const r = lb.update(await c.req.json());
  return r.ok ? c.text("applied\n") : c.text(`${r.reason}\n`, 400);
});
app.all("/api/*", lb.handler);

/** The part of Bun's global this app uses (Deno's types do not know Bun). */
interface BunServe {
  serve(options: { fetch: typeof app.fetch; hostname: string; port: number }): unknown;
}
const bun = (globalThis as { Bun?: BunServe }).Bun;

for (const [hostname, p] of [["127.0.0.1", port], ["::1", port6]] as const) {
  if (bun) bun.serve({ fetch: app.fetch, hostname, port: Number(p) });
  else Deno.serve({ hostname, port: Number(p), onListen() {} }, app.fetch);
}
