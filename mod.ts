/**
 * Switchyard: a Layer-7 HTTP load balancer, as a library.
 *
 * Mount the load balancer in your own Hono app ({@linkcode createLoadBalancer}),
 * validate group configs with the same schema the proxies and the admin API use
 * ({@linkcode validateGroupConfig}), or use the balancing algorithms
 * ({@linkcode createSelector}) and the health state machine
 * ({@linkcode observeHealth}) on their own. This is the whole public surface:
 * the proxy engine, snapshots, group state and metrics classes stay internal.
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { createLoadBalancer } from "./mod.ts";
 *
 * // a local backend that echoes the path it received
 * const backend = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(new URL(req.url).pathname),
 * );
 * const lb = createLoadBalancer({
 *   group: "api",
 *   config: { backend_servers: [`127.0.0.1:${backend.addr.port}`] },
 *   stripPrefix: "/api",
 *   healthChecks: false,
 * });
 * const app = new Hono();
 * app.all("/api/*", lb.handler);
 * try {
 *   const res = await app.request("/api/hello");
 *   assert.equal(res.status, 200);
 *   assert.equal(await res.text(), "/hello");
 * } finally {
 *   lb.close();
 *   await backend.shutdown();
 * }
 * ```
 *
 * From another project: Deno links this directory (`"links": ["../switchyard"]`
 * in its deno.json, then `import ... from "@switchyard/switchyard"`); Bun
 * depends on it (`"switchyard": "link:../switchyard"` in its package.json, then
 * `import ... from "switchyard"`). See README, "Library use".
 *
 * @module
 */

// Config: the seed's JSON blob, validated with zod.
export {
  ALGORITHMS,
  formatIssues,
  groupConfigSchema,
  validateConfigFile,
  validateGroupConfig,
} from "./lib/config/schema.ts";
export type {
  Algorithm,
  BackendSpec,
  ConfigFile,
  ConfigIssue,
  GroupConfig,
  GroupConfigInput,
  Validated,
} from "./lib/config/schema.ts";

// Balancing algorithms.
export { createSelector } from "./lib/balancer/mod.ts";
export type {
  BackendCounters,
  Candidate,
  CreateSelectorOptions,
  PickContext,
  Selector,
  SelectorOptions,
} from "./lib/balancer/mod.ts";

// Health state machine.
export { initialHealth, observeHealth } from "./lib/health/state_machine.ts";
export type {
  HealthObservation,
  HealthState,
  HealthStatus,
  HealthThresholds,
} from "./lib/health/state_machine.ts";

// The load balancer inside your Hono app.
export { createLoadBalancer } from "./lib/embed.ts";
export type { LoadBalancer, LoadBalancerOptions } from "./lib/embed.ts";
