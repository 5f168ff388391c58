/**
 * A route's `direct_response` action: the proxy answers itself with a fixed
 * status, body and headers. The response is built once per config (four
 * variants: GET or HEAD, keep-alive or close) as bytes, so answering costs no
 * string building or encoding.
 *
 * @module
 */
import { HOP_BY_HOP, REASONS } from "../http1/syntax.ts";
import type { Route } from "./schema.ts";

/** A route's `direct_response`, as validated. */
export type DirectResponseConfig = NonNullable<Route["direct_response"]>;

/** Statuses that never have a body, nor Content-Length (RFC 9110 §8.6, §15.3.5, §15.4.5). */
const NO_CONTENT = new Set([204, 304]);

/** The framing the proxy declares itself: configured values for these are ignored. */
const FRAMING = new Set([...HOP_BY_HOP, "content-length"]);

const encoder = new TextEncoder();

/**
 * The bytes of a complete HTTP/1.1 response: status line (reason from the
 * standard table, empty when unknown), the configured headers (except framing
 * and hop-by-hop ones, which the proxy declares itself), `content-type:
 * text/plain; charset=utf-8` unless configured, `content-length` in UTF-8
 * bytes (none for 204 and 304, which have no body), `connection: close` when
 * not keeping the connection alive, then the body (none for HEAD).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { directResponse } from "./direct_response.ts";
 * const bytes = directResponse({ status: 503, body: "down\n", headers: { "retry-after": "5" } }, false, true);
 * assert.equal(
 *   new TextDecoder().decode(bytes),
 *   "HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\ncontent-type: text/plain; charset=utf-8\r\n" +
 *     "content-length: 5\r\n\r\ndown\n",
 * );
 * ```
 */
export function directResponse(
  config: DirectResponseConfig,
  headRequest: boolean,
  keepAlive: boolean,
): Uint8Array {
  const body = NO_CONTENT.has(config.status)
    ? new Uint8Array(0)
    : encoder.encode(config.body ?? "");
  let head = `HTTP/1.1 ${config.status} ${REASONS[config.status] ?? ""}\r\n`;
  let typed = false;
  const headers = config.headers ?? {};
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (FRAMING.has(lower)) continue;
    if (lower === "content-type") typed = true;
    head += `${name}: ${headers[name]}\r\n`;
  }
  if (!NO_CONTENT.has(config.status)) {
    if (!typed && body.length > 0) head += "content-type: text/plain; charset=utf-8\r\n";
    head += `content-length: ${body.length}\r\n`;
  }
  if (!keepAlive) head += "connection: close\r\n";
  head += "\r\n";
  const headBytes = encoder.encode(head); // visible ASCII: the schema checked every value
  if (headRequest || body.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}

/** A direct response with its four variants built once. */
export interface CompiledDirectResponse {
  readonly status: number;
  /** The bytes to write: shared, never to be modified. */
  bytes(headRequest: boolean, keepAlive: boolean): Uint8Array;
}

/**
 * Builds a route's direct response once per config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileDirectResponse } from "./direct_response.ts";
 * const ok = compileDirectResponse({ status: 200, body: "ok" });
 * assert.equal(ok.bytes(false, true), ok.bytes(false, true)); // the same bytes, no work per request
 * ```
 */
export function compileDirectResponse(config: DirectResponseConfig): CompiledDirectResponse {
  const variants = [
    directResponse(config, false, false),
    directResponse(config, false, true),
    directResponse(config, true, false),
    directResponse(config, true, true),
  ];
  return {
    status: config.status,
    bytes: (headRequest, keepAlive) => variants[(headRequest ? 2 : 0) + (keepAlive ? 1 : 0)]!,
  };
}
