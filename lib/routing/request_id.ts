/**
 * Request ids and W3C trace context: which ids a client may bring, and a
 * cheap generator for the rest.
 *
 * Every request gets an `X-Request-Id`. A client's own id is kept when it is
 * short and made of a safe set of characters (so it can go into logs, headers
 * and JSON without escaping surprises); anything else is replaced. A
 * `traceparent` is passed through unchanged when it is valid W3C Trace
 * Context and dropped otherwise, so a backend never sees a malformed one.
 *
 * @module
 */

/** Longest client-supplied request id kept. */
export const MAX_REQUEST_ID = 200;

/** Char codes allowed in a request id: `A-Z a-z 0-9 . _ : @ / + = -`. */
const SAFE_ID = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/+=-") {
  SAFE_ID[c.charCodeAt(0)] = 1;
}

/**
 * Whether a client's `X-Request-Id` value is kept: 1-200 characters of
 * `A-Z a-z 0-9 . _ : @ / + = -` (UUIDs, ULIDs, base64 and most tracing ids).
 * A loop over a lookup table: no regular expression on the request path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validRequestId } from "./request_id.ts";
 * assert.ok(validRequestId("0f8fad5b-d9cb-469f-a165-70867728950e"));
 * assert.ok(!validRequestId("")); // replaced
 * assert.ok(!validRequestId("a b")); // replaced
 * assert.ok(!validRequestId(null)); // none sent
 * ```
 */
export function validRequestId(value: string | null | undefined): boolean {
  if (value === null || value === undefined) return false;
  const n = value.length;
  if (n === 0 || n > MAX_REQUEST_ID) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || SAFE_ID[c] === 0) return false;
  }
  return true;
}

/**
 * The id a request keeps: its first `x-request-id` line when that is a valid
 * id ({@link validRequestId}), else null (the caller generates one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientRequestId } from "./request_id.ts";
 * assert.equal(clientRequestId({ lower: ["x-request-id"], values: ["abc-1"] }), "abc-1");
 * assert.equal(clientRequestId({ lower: ["x-request-id"], values: ["a b"] }), null);
 * assert.equal(clientRequestId({ lower: [], values: [] }), null);
 * ```
 */
export function clientRequestId(
  fields: { readonly lower: readonly string[]; readonly values: readonly string[] },
): string | null {
  const { lower, values } = fields;
  for (let i = 0; i < lower.length; i++) {
    if (lower[i] === "x-request-id") return validRequestId(values[i]) ? values[i]! : null;
  }
  return null;
}

/** A random 32-bit unsigned integer from a [0, 1) source. */
const random32 = (random: () => number) => Math.floor(random() * 0x1_0000_0000) >>> 0;

/** 8 lower-case hex digits. */
const hex8 = (n: number) => n.toString(16).padStart(8, "0");

/**
 * Generates request ids: a random 64-bit prefix chosen once (16 hex digits),
 * `-`, and a counter in hex. Unique within a process by the counter and across
 * processes by the prefix (two proxies collide with probability about 2^-64
 * per restart), with no crypto call and one short string per request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestIdGenerator, validRequestId } from "./request_id.ts";
 * const ids = new RequestIdGenerator(Math.random);
 * const a = ids.next();
 * const b = ids.next();
 * assert.notEqual(a, b);
 * assert.ok(validRequestId(a));
 * assert.match(a, /^[0-9a-f]{16}-1$/);
 * ```
 */
export class RequestIdGenerator {
  readonly #prefix: string;
  #counter = 0;

  /** @param random A uniform [0, 1) source, used twice, here only. */
  constructor(random: () => number) {
    this.#prefix = `${hex8(random32(random))}${hex8(random32(random))}-`;
  }

  /** The next id: `<16 hex>-<counter hex>`, at most 31 characters. */
  next(): string {
    return this.#prefix + (++this.#counter).toString(16);
  }
}

/** Lower-case hex digit (W3C Trace Context uses HEXDIGLC only). */
function isHexLc(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/** `text[from, from+len)` is lower-case hex and not all zeros. */
function hexNotZero(text: string, from: number, len: number): boolean {
  let nonZero = false;
  for (let i = from; i < from + len; i++) {
    const c = text.charCodeAt(i);
    if (!isHexLc(c)) return false;
    if (c !== 48) nonZero = true;
  }
  return nonZero;
}

/**
 * Whether a `traceparent` value is valid W3C Trace Context (Level 1, §3.2):
 * `version-traceid-parentid-flags`, lower-case hex, version `ff` forbidden,
 * trace id (32 hex) and parent id (16 hex) not all zeros. Version `00` must be
 * exactly 55 characters. A higher version is parsed as the spec says a
 * version-00 implementation should: at least 55 characters, the same first
 * four fields, and after the flags either the end or `-` (more fields the
 * future version defines). The proxy passes a valid value through unchanged
 * and drops an invalid one (several `traceparent` lines are invalid too: the
 * caller checks that there is exactly one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validTraceparent } from "./request_id.ts";
 * assert.ok(validTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
 * assert.ok(!validTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
 * assert.ok(validTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what"));
 * ```
 */
export function validTraceparent(value: string | null | undefined): boolean {
  if (value === null || value === undefined || value.length < 55) return false;
  const v0 = value.charCodeAt(0);
  const v1 = value.charCodeAt(1);
  if (!isHexLc(v0) || !isHexLc(v1) || (v0 === 102 && v1 === 102)) return false; // ff
  const version00 = v0 === 48 && v1 === 48;
  if (version00 && value.length !== 55) return false;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) {
    return false;
  }
  if (!hexNotZero(value, 3, 32) || !hexNotZero(value, 36, 16)) return false;
  if (!isHexLc(value.charCodeAt(53)) || !isHexLc(value.charCodeAt(54))) return false;
  return value.length === 55 || value.charCodeAt(55) === 45;
}
