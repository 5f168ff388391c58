/**
 * What a route does to a backend's response before the client gets it: the
 * route's `response_headers` (remove, set, add, with `${client_ip}` and
 * `${request_id}`) and extra `set-cookie` lines (sticky sessions). The
 * request id's own `x-request-id` line is written with the head, for every
 * response (`clientResponseHead`).
 *
 * @module
 */
import type { ResponseHead } from "../http1/head.ts";
import {
  applyHeaderOps,
  type CompiledHeaderOps,
  compileHeaderOps,
  type HeaderVars,
} from "./header_ops.ts";
import type { Route } from "./schema.ts";

/** A route's response policy, compiled once per config. */
export interface ResponsePolicy {
  /** The route's ops. */
  readonly ops: CompiledHeaderOps;
}

/** Compiles a route's `response_headers`. */
export function compileResponsePolicy(route: Route): ResponsePolicy {
  return {
    ops: compileHeaderOps(route.response_headers),
  };
}

/** Applies a compiled response policy: see {@linkcode routedResponseHead}. */
export function applyResponsePolicy(
  head: ResponseHead,
  policy: ResponsePolicy,
  vars: HeaderVars,
  setCookies?: readonly string[],
): ResponseHead {
  const fields = applyHeaderOps(head, policy.ops, vars, "set-cookie", setCookies);
  return { ...head, names: fields.names, lower: fields.lower, values: fields.values };
}

const COMPILED = new WeakMap<Route, ResponsePolicy>();

/**
 * The response head to send the client for a route: the route's
 * `response_headers` in the order remove, set, add (variables filled in), then
 * `setCookies` as `set-cookie` lines (the backend's own cookies are kept).
 * Returns a new head; `head` is never mutated. The policy is compiled on
 * first use and cached per route object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseResponseHead } from "../http1/head.ts";
 * import { routedResponseHead } from "./response_policy.ts";
 * import type { Route } from "./schema.ts";
 * const head = parseResponseHead("HTTP/1.1 200 OK\r\nServer: app/1.2\r\nContent-Length: 0", 100);
 * if ("error" in head) throw new Error(head.reason);
 * const route = {
 *   name: "web",
 *   match: {},
 *   forward: { group: "web" },
 *   response_headers: { remove: ["server"], add: { "x-served-by": "switchyard" } },
 * } as Route;
 * const out = routedResponseHead(head, route, { clientIp: "10.0.0.9", requestId: "r-1" }, [
 *   "sy=ab12; Path=/; HttpOnly; SameSite=Lax",
 * ]);
 * assert.deepEqual(out.lower, ["content-length", "x-served-by", "set-cookie"]);
 * ```
 */
export function routedResponseHead(
  head: ResponseHead,
  route: Route,
  vars: HeaderVars,
  setCookies?: readonly string[],
): ResponseHead {
  let policy = COMPILED.get(route);
  if (policy === undefined) COMPILED.set(route, policy = compileResponsePolicy(route));
  return applyResponsePolicy(head, policy, vars, setCookies);
}
