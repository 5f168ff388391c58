/**
 * Adds field lines to a complete response the proxy generated itself (an
 * answer: a 404, a redirect, a direct response, a limit), right after its
 * status line: how a TLS connection's `Strict-Transport-Security` reaches
 * those responses too. Only called when there is something to add, so a
 * plain connection pays nothing.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/**
 * `response` with `fields` (lines each ending in CRLF) inserted after its
 * status line; unchanged when `fields` is empty or there is no status line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withFieldsAfterStatusLine } from "./status_line_fields.ts";
 * assert.equal(
 *   withFieldsAfterStatusLine("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", "x: 1\r\n"),
 *   "HTTP/1.1 404 Not Found\r\nx: 1\r\ncontent-length: 0\r\n\r\n",
 * );
 * ```
 */
export function withFieldsAfterStatusLine(
  response: string | Uint8Array,
  fields: string,
): string | Uint8Array {
  if (fields === "") return response;
  if (typeof response === "string") {
    const eol = response.indexOf("\r\n");
    return eol < 0 ? response : response.slice(0, eol + 2) + fields + response.slice(eol + 2);
  }
  const bytes = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  const eol = bytes.indexOf("\r\n");
  if (eol < 0) return response;
  return Buffer.concat([
    bytes.subarray(0, eol + 2),
    Buffer.from(fields, "latin1"),
    bytes.subarray(eol + 2),
  ]);
}
