/**
 * The forwarding fields a request carries to a backend: `X-Forwarded-For`
 * and `Forwarded` (RFC 7239) with the client appended to whatever the client
 * sent, and `X-Forwarded-Proto` and `X-Forwarded-Host` set afresh (the
 * client's values are replaced, as they describe the hop the proxy sees).
 *
 * One function for both data planes, the proxy role (`upstreamRequestHead`
 * in forward.ts) and the embedded load balancer (`requestHeadFromWeb` in
 * lib/proxy/http_client.ts), so the two cannot drift apart again: the
 * embedded one used to drop the client's `Forwarded` elements. Pure string
 * building, on the proxy's per-request path: no allocation beyond the strings
 * it returns.
 *
 * @module
 */

/**
 * Joins one more field value onto the values of earlier field lines of the
 * same name (`null` when there were none), as RFC 9110 §5.3 combines repeated
 * list fields: `a`, then `a, b`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendFieldValue } from "./forwarding.ts";
 * assert.equal(appendFieldValue(appendFieldValue(null, "for=a"), "for=b"), "for=a, for=b");
 * ```
 */
export function appendFieldValue(prior: string | null, value: string): string {
  return prior === null ? value : `${prior}, ${value}`;
}

/**
 * An address as a `Forwarded` node (RFC 7239 §6): an IPv6 address is
 * bracketed and quoted (`"[2001:db8::7]"`), as `:` and `[` are not token
 * characters; IPv4 and `unknown` stay as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forwardedNode } from "./forwarding.ts";
 * assert.equal(forwardedNode("::1"), '"[::1]"');
 * assert.equal(forwardedNode("192.0.2.1"), "192.0.2.1");
 * ```
 */
export function forwardedNode(ip: string): string {
  return ip.includes(":") ? `"[${ip}]"` : ip;
}

/**
 * The four forwarding field lines, each ending in CRLF, to add to a request
 * head whose own forwarding fields were left out.
 *
 * @param priorFor The client's `X-Forwarded-For` values (repeated lines joined
 *   with {@link appendFieldValue}), or null when it sent none.
 * @param priorForwarded The client's `Forwarded` values likewise, or null.
 * @param clientIp The client's address as the proxy sees it.
 * @param proto The scheme the client used to reach the proxy.
 * @param host The Host the client asked for, or "" when it sent none (then
 *   neither `X-Forwarded-Host` nor the element's `host=` is written).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { forwardingFields } from "./forwarding.ts";
 * assert.equal(
 *   forwardingFields(null, "for=198.51.100.1", "203.0.113.7", "http", "shop.example"),
 *   "x-forwarded-for: 203.0.113.7\r\n" +
 *     "x-forwarded-proto: http\r\n" +
 *     "x-forwarded-host: shop.example\r\n" +
 *     'forwarded: for=198.51.100.1, for=203.0.113.7;proto=http;host="shop.example"\r\n',
 * );
 * ```
 */
export function forwardingFields(
  priorFor: string | null,
  priorForwarded: string | null,
  clientIp: string,
  proto: "http" | "https",
  host: string,
): string {
  let element = `for=${forwardedNode(clientIp)};proto=${proto}`;
  if (host) element += `;host="${host}"`;
  let out = `x-forwarded-for: ${
    priorFor === null ? clientIp : `${priorFor}, ${clientIp}`
  }\r\nx-forwarded-proto: ${proto}\r\n`;
  if (host) out += `x-forwarded-host: ${host}\r\n`;
  return `${out}forwarded: ${
    priorForwarded === null ? element : `${priorForwarded}, ${element}`
  }\r\n`;
}
