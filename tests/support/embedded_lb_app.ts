/**
 * A user's app, as a process of its own, for the end-to-end tests of
 * `createLoadBalancer`: a Hono app that mounts `lb.handler` exactly as the
 * README's "Library use" shows, served the way each runtime's users serve a
 * Hono app (`Bun.serve({ fetch: app.fetch })` under Bun, `Deno.serve(app.fetch)`
 * under Deno), once on 127.0.0.1 and once on [::1] (an IPv6 client).
 *
 * Usage: `deno run -A tests/support/embedded_lb_app.ts PORT PORT6 BACKEND[,BACKEND...]`
 * (or `bun tests/support/embedded_lb_app.ts ...`). `GET /` answers `home` once
 * it serves.
 *
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import { createLoadBalancer } from "../../mod.ts";

const [port, port6, backends] = process.argv.slice(2);
if (!port || !port6 || !backends) {
  throw new Error("usage: embedded_lb_app.ts PORT PORT6 BACKEND[,BACKEND...]");
}

const lb = createLoadBalancer({
  group: "api",
  config: { backend_servers: backends.split(","), algorithm: "ROUND_ROBIN" },
  stripPrefix: "/api",
});
const app = new Hono();
app.get("/", (c) => c.text("home"));
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
