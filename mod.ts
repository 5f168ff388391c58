/**
 * Switchyard: a Layer-7 HTTP load balancer, as a library.
 *
 * Mount the load balancer in your own Hono app, validate group configs with
 * the same schema the proxies and the admin API use, or use the balancing
 * cores and the health state machine on their own.
 *
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createLoadBalancer } from "./mod.ts";
 *
 * const lb = createLoadBalancer({
 *   group: "api",
 *   config: {
 *     backend_servers: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 3 }],
 *     algorithm: "WEIGHTED_ROUND_ROBIN",
 *   },
 *   stripPrefix: "/api",
 * });
 * const app = new Hono();
 * app.all("/api/*", lb.handler);
 * ```
 *
 * Importing from another Deno project: map `hono` and `zod` in that project's
 * import map (see README, "Library use").
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
export { createSelector, SELECTOR_FACTORIES } from "./lib/balancer/mod.ts";
export type {
  BackendCounters,
  Candidate,
  PickContext,
  Selector,
  SelectorOptions,
} from "./lib/balancer/types.ts";

// Health state machine.
export { initialHealth, observeHealth } from "./lib/health/state_machine.ts";
export type { HealthState, HealthStatus, HealthThresholds } from "./lib/health/state_machine.ts";

// Snapshots and live group state.
export { buildSnapshot } from "./lib/group/snapshot.ts";
export type { BackendView, GroupSnapshot } from "./lib/group/snapshot.ts";
export { GroupState } from "./lib/group/group_state.ts";

// The load balancer inside your Hono app.
export { createLoadBalancer } from "./lib/embed.ts";
export type { LoadBalancer, LoadBalancerOptions } from "./lib/embed.ts";

// The proxy engine (what the proxy role runs), for in-process use.
export { ProxyServer } from "./lib/proxy/server.ts";
export type { ProxyServerOptions } from "./lib/proxy/server.ts";

// Metrics in Prometheus text format.
export { Counter, Gauge, Histogram, Registry } from "./lib/metrics/registry.ts";
