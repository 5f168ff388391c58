/**
 * What a route overrides of its groups' settings for the requests it takes:
 * timeouts, the retry policy (its own retry budget when it sets a ratio) and
 * cookie-based sticky sessions. Compiled once per listener config; read by
 * the exchange and its upstream attempt.
 *
 * @module
 */
import type { Route } from "../routing/schema.ts";
import { RetryBudget } from "./retry_budget.ts";

/** A route's overrides; null fields fall back to the group's config. */
export interface RoutePolicy {
  readonly connectTimeoutMs: number | null;
  readonly responseTimeoutMs: number | null;
  readonly maxRetries: number | null;
  /** The route's own retry budget (when it sets `retry.budget_ratio`). */
  readonly budget: RetryBudget | null;
  /** Cookie-based sticky sessions: the cookie's name and lifetime (0: a session cookie). */
  readonly sticky: { readonly cookie: string; readonly ttlSeconds: number } | null;
}

/** Retries always allowed per second under a route's own budget (the groups' default floor). */
const ROUTE_MIN_RETRIES_PER_SECOND = 10;

/**
 * The overrides of `route`, or null when it overrides nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { routePolicy } from "./route_policy.ts";
 * import type { Route } from "../routing/schema.ts";
 * assert.equal(routePolicy({ name: "r", match: {} } as Route), null);
 * const p = routePolicy({ name: "r", match: {}, timeouts: { response_seconds: 2 } } as Route)!;
 * assert.equal(p.responseTimeoutMs, 2000);
 * assert.equal(p.maxRetries, null);
 * ```
 */
export function routePolicy(route: Route): RoutePolicy | null {
  const t = route.timeouts;
  const r = route.retry;
  const s = route.sticky;
  if (!t && !r && !s) return null;
  return {
    connectTimeoutMs: t?.connect_seconds !== undefined ? t.connect_seconds * 1000 : null,
    responseTimeoutMs: t?.response_seconds !== undefined ? t.response_seconds * 1000 : null,
    maxRetries: r?.max_retries ?? null,
    budget: r?.budget_ratio !== undefined
      ? new RetryBudget(r.budget_ratio, ROUTE_MIN_RETRIES_PER_SECOND)
      : null,
    sticky: s ? { cookie: s.cookie, ttlSeconds: s.ttl_seconds } : null,
  };
}
