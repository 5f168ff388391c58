/**
 * A route's `redirect` action: the Location a request is sent to, and the
 * complete response the proxy answers with.
 *
 * @module
 */
import { simpleResponse } from "../http1/forward.ts";
import type { Route } from "./schema.ts";

/** A route's `redirect`, as validated (`keep_query` may be absent: true). */
export type Redirect = NonNullable<Route["redirect"]>;

/** What a redirect reads from the request. */
export interface RedirectRequest {
  /** The scheme the client used: `http` or `https`. */
  readonly scheme: string;
  /** The Host the client sent (with its port, if any). */
  readonly host: string;
  /** The origin-form request target: path and optional `?query`. */
  readonly target: string;
}

/** A host without its port (`[::1]:80` keeps the brackets). */
function withoutPort(host: string): string {
  const colon = host.lastIndexOf(":");
  if (colon < 0 || host.indexOf("]", colon) >= 0) return host;
  return host.slice(0, colon);
}

/**
 * The absolute URL a redirect sends a request to: the request's scheme, host
 * and path, each replaced when the redirect sets it, and the request's query
 * kept unless `keep_query` is false. When only the scheme changes, the
 * request's port is dropped from its host (as nginx's `$host` does): the
 * port that served `http` is not the one serving `https`; set `host` to name
 * one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redirectLocation } from "./redirect.ts";
 * const req = { scheme: "http", host: "shop.example.com:8080", target: "/cart?id=1" };
 * assert.equal(redirectLocation({ status: 301, scheme: "https" }, req), "https://shop.example.com/cart?id=1");
 * assert.equal(
 *   redirectLocation({ status: 302, host: "new.example.com", path: "/basket", keep_query: false }, req),
 *   "http://new.example.com/basket",
 * );
 * ```
 */
export function redirectLocation(
  redirect: Omit<Redirect, "keep_query"> & { readonly keep_query?: boolean },
  req: RedirectRequest,
): string {
  const scheme = redirect.scheme ?? req.scheme;
  const host = redirect.host ??
    (scheme !== req.scheme ? withoutPort(req.host) : req.host);
  const q = req.target.indexOf("?");
  const path = redirect.path ?? (q < 0 ? req.target : req.target.slice(0, q));
  const query = redirect.keep_query === false || q < 0 ? "" : req.target.slice(q);
  return `${scheme}://${host}${path}${query}`;
}

/**
 * The complete response for a redirect: the route's status, `location`, and a
 * one-line text body naming the target (none for HEAD; its length is still
 * declared). `keepAlive` false adds `connection: close`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redirectResponse } from "./redirect.ts";
 * const text = redirectResponse({ status: 308, scheme: "https" }, {
 *   scheme: "http",
 *   host: "a.example",
 *   target: "/x",
 * }, true);
 * assert.ok(text.startsWith("HTTP/1.1 308 Permanent Redirect\r\nlocation: https://a.example/x\r\n"));
 * ```
 */
export function redirectResponse(
  redirect: Omit<Redirect, "keep_query"> & { readonly keep_query?: boolean },
  req: RedirectRequest,
  keepAlive: boolean,
  headRequest = false,
): string {
  const location = redirectLocation(redirect, req);
  return simpleResponse(
    redirect.status,
    `redirecting to ${location}\n`,
    keepAlive,
    { location },
    headRequest,
  );
}
