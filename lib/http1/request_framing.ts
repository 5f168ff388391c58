/**
 * The framing the proxy declares on a request it sends a backend. Pure.
 *
 * A chunked request body is re-encoded chunk by chunk, so it stays chunked;
 * a Content-Length (0 included) is passed on; a request without either has
 * no body and declares none. Shared constants except for a non-zero length.
 *
 * @module
 */
import { type BodyFraming, NO_BODY } from "./forward.ts";
import type { RequestHead } from "./head.ts";
import { CHUNKED_BODY } from "./response_framing.ts";

const ZERO_LENGTH: BodyFraming = Object.freeze({ contentLength: 0, chunked: false });

/**
 * The upstream request's body framing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestFraming } from "./request_framing.ts";
 * assert.deepEqual(requestFraming({ chunked: false, contentLength: 5 }), {
 *   contentLength: 5,
 *   chunked: false,
 * });
 * ```
 */
export function requestFraming(req: Pick<RequestHead, "chunked" | "contentLength">): BodyFraming {
  if (req.chunked) return CHUNKED_BODY;
  if (req.contentLength > 0) return { contentLength: req.contentLength, chunked: false };
  return req.contentLength === 0 ? ZERO_LENGTH : NO_BODY;
}
