/**
 * What a route does to a request before it is forwarded: path rewrite, host
 * rewrite and request header operations (whose values may name the request
 * id; the `x-request-id` line itself is written with the head, by
 * `upstreamRequestHead`, for every request). Pure: the input head is never
 * changed; a new head is returned (or the same one when there is nothing to
 * change).
 *
 * @module
 */
import type { RequestHead } from "../http1/head.ts";
import {
  applyHeaderOps,
  type CompiledHeaderOps,
  compileHeaderOps,
  type HeaderVars,
} from "./header_ops.ts";
import type { Route } from "./schema.ts";

/** A prefix without its trailing slashes; `/` becomes "" (every path starts with it). */
function trimPrefix(prefix: string): string {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 47 /* / */) end--;
  return prefix.slice(0, end);
}

/** A compiled path rewrite: `from` (on a segment boundary) becomes `to`. */
export interface PathRewrite {
  /** The prefix replaced, without a trailing `/` ("" for `/`). */
  readonly from: string;
  /** Its replacement, without a trailing `/` ("" for `/` and for stripping). */
  readonly to: string;
}

/** The path rewrite of a route's `rewrite`, or null for none. */
export function compilePathRewrite(rewrite: Route["rewrite"]): PathRewrite | null {
  if (rewrite?.strip_prefix !== undefined) {
    const from = trimPrefix(rewrite.strip_prefix);
    return from === "" ? null : { from, to: "" };
  }
  if (rewrite?.replace_prefix !== undefined) {
    return {
      from: trimPrefix(rewrite.replace_prefix.from),
      to: trimPrefix(rewrite.replace_prefix.to),
    };
  }
  return null;
}

/**
 * A request target with its path prefix rewritten on a segment boundary; the
 * query is kept as is. A target whose path does not start with the prefix
 * (or only with it as part of a segment: `/apix` for `/api`) is returned
 * unchanged, as is the asterisk-form `*`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePathRewrite, rewriteTarget } from "./request_policy.ts";
 * const strip = compilePathRewrite({ strip_prefix: "/api" })!;
 * assert.equal(rewriteTarget("/api/x?q=1", strip), "/x?q=1");
 * assert.equal(rewriteTarget("/api", strip), "/");
 * assert.equal(rewriteTarget("/apix", strip), "/apix");
 * const move = compilePathRewrite({ replace_prefix: { from: "/old", to: "/new" } })!;
 * assert.equal(rewriteTarget("/old/a", move), "/new/a");
 * ```
 */
export function rewriteTarget(target: string, rewrite: PathRewrite): string {
  const { from, to } = rewrite;
  if (!target.startsWith(from)) return target;
  if (target.charCodeAt(0) !== 47 /* / */) return target;
  if (target.length > from.length) {
    // the prefix must end at a segment boundary: "/", the query, or the end
    const next = target.charCodeAt(from.length);
    if (next !== 47 /* / */ && next !== 63 /* ? */) return target;
  }
  const rest = target.slice(from.length);
  if (to === "" && (rest === "" || rest.charCodeAt(0) === 63)) return `/${rest}`;
  return to + rest;
}

/** A route's request policy, compiled once per config. */
export interface RequestPolicy {
  readonly path: PathRewrite | null;
  /** The Host to send instead of the client's, or null. */
  readonly host: string | null;
  /** Route ops with a rewritten `host` set last. */
  readonly ops: CompiledHeaderOps;
  /** Whether the route changes anything. */
  readonly changes: boolean;
}

/**
 * Compiles a route's request policy (rewrite and `request_headers`). A
 * rewritten `host` is applied after the route's header ops, so a route cannot
 * set it to something else.
 */
export function compileRequestPolicy(route: Route): RequestPolicy {
  const path = compilePathRewrite(route.rewrite);
  const host = route.rewrite?.host ?? null;
  const extra: [string, string][] = [];
  if (host !== null) extra.push(["host", host]);
  const own = route.request_headers;
  const hasOps = own !== undefined &&
    (Object.keys(own.set ?? {}).length + Object.keys(own.add ?? {}).length +
        (own.remove?.length ?? 0)) > 0;
  return {
    path,
    host,
    ops: compileHeaderOps(own, extra),
    changes: path !== null || host !== null || hasOps,
  };
}

/** Applies a compiled request policy: see {@linkcode routedRequestHead}. */
export function applyRequestPolicy(
  head: RequestHead,
  policy: RequestPolicy,
  vars: HeaderVars,
): RequestHead {
  if (!policy.changes) return head;
  const fields = applyHeaderOps(head, policy.ops, vars);
  return {
    ...head,
    names: fields.names,
    lower: fields.lower,
    values: fields.values,
    target: policy.path === null ? head.target : rewriteTarget(head.target, policy.path),
    host: policy.host ?? head.host,
  };
}

const COMPILED = new WeakMap<Route, RequestPolicy>();

/**
 * The request head to forward for a route: the path rewritten (`strip_prefix`
 * or `replace_prefix`, on segment boundaries, the query unchanged), the Host
 * rewritten (field and `head.host`), the route's header ops in the order
 * remove, set, add with `${client_ip}` and `${request_id}` filled in.
 * Returns a new head and never mutates `head`; returns `head` itself when the
 * route changes nothing.
 *
 * The route's policy is compiled on first use and cached per route object (a
 * config swap brings new route objects); the proxy may instead hold
 * {@linkcode compileRequestPolicy}'s result and call
 * {@linkcode applyRequestPolicy}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRequestHead } from "../http1/head.ts";
 * import { routedRequestHead } from "./request_policy.ts";
 * import type { Route } from "./schema.ts";
 * const head = parseRequestHead("GET /api/users?id=1 HTTP/1.1\r\nHost: shop.example.com\r\nX-Debug: 1", {
 *   maxHeaderCount: 100,
 *   maxUriLength: 8192,
 * });
 * if ("error" in head) throw new Error(head.reason);
 * const route = {
 *   name: "api",
 *   match: {},
 *   forward: { group: "api" },
 *   rewrite: { strip_prefix: "/api", host: "api.internal" },
 *   request_headers: { remove: ["x-debug"], set: { "x-client": "${client_ip}" } },
 * } as Route;
 * const out = routedRequestHead(head, route, { clientIp: "10.0.0.9", requestId: "r-1" });
 * assert.equal(out.target, "/users?id=1");
 * assert.equal(out.host, "api.internal");
 * assert.deepEqual(out.lower, ["x-client", "host"]);
 * assert.deepEqual(out.values, ["10.0.0.9", "api.internal"]);
 * assert.equal(head.target, "/api/users?id=1"); // the input is unchanged
 * ```
 */
export function routedRequestHead(head: RequestHead, route: Route, vars: HeaderVars): RequestHead {
  let policy = COMPILED.get(route);
  if (policy === undefined) COMPILED.set(route, policy = compileRequestPolicy(route));
  return applyRequestPolicy(head, policy, vars);
}
