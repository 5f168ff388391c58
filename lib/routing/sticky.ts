/**
 * Cookie-based sticky sessions: the proxy sets a cookie naming the backend
 * that served a client and, while that backend is usable, sends the client's
 * next requests to it. When it is not, the caller falls back to the balancer
 * and re-pins (sets the cookie again).
 *
 * The cookie holds an opaque value, a stable 64-bit hash of the backend's
 * address in hex, never the address itself, so internal addresses do not leak
 * to clients. The same address gives the same value in every proxy process and
 * runtime (murmur3 over its UTF-8 bytes, two seeds).
 *
 * @module
 */
import { hashKey, hashKeyAlt } from "../balancer/hash.ts";

/** 8 lower-case hex digits. */
const hex8 = (n: number) => n.toString(16).padStart(8, "0");

/**
 * The cookie value naming a backend: 16 hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stickyValue } from "./sticky.ts";
 * assert.match(stickyValue("10.0.0.7:8080"), /^[0-9a-f]{16}$/);
 * assert.equal(stickyValue("10.0.0.7:8080"), stickyValue("10.0.0.7:8080"));
 * ```
 */
export function stickyValue(address: string): string {
  return hex8(hashKey(address)) + hex8(hashKeyAlt(address));
}

/** Skips optional whitespace (SP, HTAB) from `i`. */
function skipOws(s: string, i: number, end: number): number {
  while (i < end && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  return i;
}

/** The value of cookie `name` in one `Cookie` field value, or null. */
function cookieIn(header: string, name: string): string | null {
  let pos = 0;
  const len = header.length;
  while (pos < len) {
    let end = header.indexOf(";", pos);
    if (end < 0) end = len;
    const start = skipOws(header, pos, end);
    const eq = header.indexOf("=", start);
    let nameEnd = eq;
    while (
      nameEnd > start &&
      (header.charCodeAt(nameEnd - 1) === 32 || header.charCodeAt(nameEnd - 1) === 9)
    ) {
      nameEnd--;
    }
    if (
      eq >= 0 && eq < end && nameEnd - start === name.length && header.startsWith(name, start)
    ) {
      let vs = skipOws(header, eq + 1, end);
      let ve = end;
      while (ve > vs && (header.charCodeAt(ve - 1) === 32 || header.charCodeAt(ve - 1) === 9)) ve--;
      // RFC 6265 §4.1.1: a cookie-value may be wrapped in double quotes
      if (ve - vs >= 2 && header.charCodeAt(vs) === 34 && header.charCodeAt(ve - 1) === 34) {
        vs++;
        ve--;
      }
      return header.slice(vs, ve);
    }
    pos = end + 1;
  }
  return null;
}

/**
 * The value of the first cookie named `name` (case-sensitive, as RFC 6265
 * names are) in `Cookie` field values (`a=1; b=2`), or null. Takes one value,
 * several (a client may send several `Cookie` lines) or none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCookie } from "./sticky.ts";
 * assert.equal(readCookie("a=1; sy=ab12; sy=other", "sy"), "ab12");
 * assert.equal(readCookie(["a=1", "sy=ab12"], "sy"), "ab12");
 * assert.equal(readCookie(null, "sy"), null);
 * ```
 */
export function readCookie(
  cookieHeaderValues: readonly string[] | string | null,
  name: string,
): string | null {
  if (cookieHeaderValues === null) return null;
  if (typeof cookieHeaderValues === "string") return cookieIn(cookieHeaderValues, name);
  for (let i = 0; i < cookieHeaderValues.length; i++) {
    const v = cookieIn(cookieHeaderValues[i]!, name);
    if (v !== null) return v;
  }
  return null;
}

/**
 * The `Set-Cookie` field value pinning a client: `Path=/` (every route of the
 * host), `HttpOnly` (scripts have no use for it), `SameSite=Lax`, `Max-Age`
 * when `ttlSeconds` > 0 (else a session cookie), `Secure` when asked (the
 * listener serves HTTPS).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setCookieLine } from "./sticky.ts";
 * assert.equal(setCookieLine("sy", "ab12", 0, false), "sy=ab12; Path=/; HttpOnly; SameSite=Lax");
 * assert.equal(
 *   setCookieLine("sy", "ab12", 3600, true),
 *   "sy=ab12; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure",
 * );
 * ```
 */
export function setCookieLine(
  name: string,
  value: string,
  ttlSeconds: number,
  secure: boolean,
): string {
  const maxAge = ttlSeconds > 0 ? `; Max-Age=${Math.floor(ttlSeconds)}` : "";
  return `${name}=${value}; Path=/${maxAge}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

/** A backend as sticky sessions see it. */
export interface StickyBackend {
  readonly address: string;
  /** Healthy, not ejected, not draining: may take new requests now. */
  readonly usable: boolean;
}

/**
 * Cookie value -> backend index, built once per backend snapshot, so a
 * request does not hash every address. On a (2^-64-unlikely) collision the
 * first backend wins.
 */
export function stickyIndex(
  backends: readonly { readonly address: string }[],
): Map<string, number> {
  const index = new Map<string, number>();
  for (let i = 0; i < backends.length; i++) {
    const value = stickyValue(backends[i]!.address);
    if (!index.has(value)) index.set(value, i);
  }
  return index;
}

/**
 * The index of the usable backend the cookie value names, or -1 (no cookie,
 * an unknown value, or a backend gone or unusable): then the caller picks
 * with the balancer and re-pins. Pass {@linkcode stickyIndex}'s map for this
 * snapshot to avoid hashing the addresses per request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stickyChoice, stickyValue } from "./sticky.ts";
 * const backends = [{ address: "10.0.0.1:80", usable: true }, { address: "10.0.0.2:80", usable: false }];
 * assert.equal(stickyChoice(stickyValue("10.0.0.1:80"), backends), 0);
 * assert.equal(stickyChoice(stickyValue("10.0.0.2:80"), backends), -1); // unusable: re-pin
 * assert.equal(stickyChoice(null, backends), -1);
 * ```
 */
export function stickyChoice(
  value: string | null,
  backends: readonly StickyBackend[],
  index?: ReadonlyMap<string, number>,
): number {
  if (value === null) return -1;
  let i = -1;
  if (index !== undefined) i = index.get(value) ?? -1;
  else {
    for (let k = 0; k < backends.length; k++) {
      if (stickyValue(backends[k]!.address) === value) {
        i = k;
        break;
      }
    }
  }
  return i >= 0 && i < backends.length && backends[i]!.usable ? i : -1;
}
