/**
 * An HTTP/2 request's decoded header list checked against RFC 9113 §8 and
 * turned into what the proxy forwards.
 *
 * A request that breaks a rule is "malformed" (§8.1.1): the stream is reset
 * with PROTOCOL_ERROR and nothing reaches a backend. The rules are those of
 * HTTP/2 plus the HTTP/1.1 side's own: an upstream request is written as
 * HTTP/1.1, so every name must be a token and every value free of CR, LF,
 * NUL and other controls, exactly as lib/http1 demands of an HTTP/1.1 client.
 *
 * @module
 */
import { BAD_VALUE_CHAR, parseContentLength, targetFault, TOKEN } from "../http1/syntax.ts";

/** A well-formed request's fields. */
export interface H2Request {
  readonly method: string;
  /** `http` or `https` (absent for CONNECT). */
  readonly scheme: string;
  /** The `:authority`, or the `host` field, or null. */
  readonly authority: string | null;
  /** The `:path` (origin form, or `*` for OPTIONS); empty for CONNECT. */
  readonly path: string;
  /** The regular fields, names lowercase, in order; cookie crumbs joined (§8.2.3). */
  readonly names: string[];
  readonly values: string[];
  /** From content-length, or -1. */
  readonly contentLength: number;
  /** `te: trailers` was sent. */
  readonly teTrailers: boolean;
}

/** Why a header list is malformed. */
export interface Malformed {
  readonly malformed: string;
}

/** Connection-specific fields HTTP/2 forbids (§8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Checks a request's decoded fields (names as received, values as latin1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestFromFields } from "./request_fields.ts";
 * const r = requestFromFields(
 *   [":method", ":scheme", ":authority", ":path", "cookie", "cookie", "accept"],
 *   ["GET", "https", "shop.example.com", "/cart?id=1", "a=1", "b=2", "*\/*"],
 * );
 * assert.ok(!("malformed" in r));
 * assert.deepEqual([r.method, r.authority, r.path], ["GET", "shop.example.com", "/cart?id=1"]);
 * assert.deepEqual(r.names, ["cookie", "accept"]);
 * assert.deepEqual(r.values, ["a=1; b=2", "*\/*"]);
 * assert.deepEqual(requestFromFields([":method", ":path"], ["GET", "/"]), { malformed: "missing :scheme" });
 * ```
 */
export function requestFromFields(
  names: readonly string[],
  values: readonly string[],
): H2Request | Malformed {
  let method: string | null = null;
  let scheme: string | null = null;
  let authority: string | null = null;
  let path: string | null = null;
  let host: string | null = null;
  let regular = false;
  let teTrailers = false;
  let cookie: string | null = null;
  let cookieAt = -1;
  const outNames: string[] = [];
  const outValues: string[] = [];
  const lengths: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = values[i]!;
    if (BAD_VALUE_CHAR.test(value)) return bad(`${name}: a control character in the value`);
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular) return bad(`${name} after a regular field`);
      switch (name) {
        case ":method":
          if (method !== null) return bad("duplicate :method");
          if (!TOKEN.test(value)) return bad(":method not a token");
          method = value;
          break;
        case ":scheme":
          if (scheme !== null) return bad("duplicate :scheme");
          scheme = value;
          break;
        case ":authority":
          if (authority !== null) return bad("duplicate :authority");
          authority = value;
          break;
        case ":path":
          if (path !== null) return bad("duplicate :path");
          path = value;
          break;
        default:
          return bad(`pseudo-header ${name} not allowed in a request`);
      }
      continue;
    }
    regular = true;
    if (!TOKEN.test(name)) return bad(`field name ${JSON.stringify(name)} not a token`);
    if (name !== name.toLowerCase()) return bad(`field name ${name} not lowercase`);
    if (CONNECTION_SPECIFIC.has(name)) return bad(`connection-specific field ${name}`);
    if (value !== value.trim()) return bad(`${name}: leading or trailing whitespace`);
    if (name === "te") {
      if (value !== "trailers") return bad(`te: ${value} (only "trailers" is allowed)`);
      teTrailers = true;
    }
    if (name === "content-length") lengths.push(value);
    if (name === "host" && host === null) host = value;
    if (name === "cookie") {
      // §8.2.3: crumbs may arrive as separate fields; HTTP/1.1 wants one
      if (cookie === null) {
        cookie = value;
        cookieAt = outNames.length;
      } else {
        cookie += `; ${value}`;
        continue;
      }
    }
    outNames.push(name);
    outValues.push(value);
  }
  if (cookie !== null) outValues[cookieAt] = cookie;
  if (method === null) return bad("missing :method");
  if (method === "CONNECT") {
    if (scheme !== null || path !== null) return bad("CONNECT with :scheme or :path");
    if (authority === null) return bad("CONNECT without :authority");
  } else {
    if (scheme === null) return bad("missing :scheme");
    if (path === null) return bad("missing :path");
    if (path === "") return bad("empty :path");
    if (path !== "*" && path.charCodeAt(0) !== 47 /* / */) return bad(":path not origin form");
    if (path === "*" && method !== "OPTIONS") return bad(":path * for a method other than OPTIONS");
    const fault = targetFault(path);
    if (fault !== null) return bad(`:path ${fault}`);
  }
  let contentLength = -1;
  if (lengths.length > 0) {
    contentLength = parseContentLength(lengths);
    if (contentLength < 0) return bad("invalid content-length");
  }
  return {
    method,
    scheme: scheme ?? "",
    authority: authority ?? host,
    path: path ?? "",
    names: outNames,
    values: outValues,
    contentLength,
    teTrailers,
  };
}

function bad(malformed: string): Malformed {
  return { malformed };
}
