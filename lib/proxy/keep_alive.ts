/**
 * Whether the two connections of an exchange outlive it. Pure.
 *
 * Why apart: a connection kept open after a response whose end the peer
 * cannot find, or after a request body nobody read, would have the next
 * exchange parse leftovers of this one (request smuggling, a response
 * spliced into the wrong reply). These two predicates are the only place
 * that decides it. Positional booleans so the request path allocates
 * nothing.
 *
 * @module
 */

/**
 * The client connection stays open after this response: the client asked
 * for it (`requestKeepAlive`: HTTP/1.1 without `Connection: close`, or 1.0
 * with `keep-alive`), it can tell where the response ends (`endKnown`), the
 * proxy is not closing it (`closing`: the client half-closed, or a drain),
 * and the whole request body was read (`requestBodyRead`: else its rest
 * would be read as the next request).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientKeepAlive } from "./keep_alive.ts";
 * assert.equal(clientKeepAlive(true, true, false, true), true);
 * assert.equal(clientKeepAlive(true, true, false, false), false); // body left unread
 * ```
 */
export function clientKeepAlive(
  requestKeepAlive: boolean,
  endKnown: boolean,
  closing: boolean,
  requestBodyRead: boolean,
): boolean {
  return requestKeepAlive && endKnown && !closing && requestBodyRead;
}

/**
 * The upstream connection goes back to the pool after this exchange: its
 * framing allows it (`framingReusable`, see `responseFraming()`), the
 * backend did not say `Connection: close` (`responseKeepAlive`), no byte
 * arrived beyond the response's declared end (`strayBytes`), and the whole
 * request body was sent (`requestBodyRead`: a backend that answered early may
 * still be waiting for the rest).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamReusable } from "./keep_alive.ts";
 * assert.equal(upstreamReusable(true, true, false, true), true);
 * assert.equal(upstreamReusable(true, true, true, true), false); // bytes after the end
 * ```
 */
export function upstreamReusable(
  framingReusable: boolean,
  responseKeepAlive: boolean,
  strayBytes: boolean,
  requestBodyRead: boolean,
): boolean {
  return framingReusable && responseKeepAlive && !strayBytes && requestBodyRead;
}
