/**
 * The console's session cookie, for the one thing a bearer header cannot
 * reach: `EventSource` (the live stream) cannot send headers.
 *
 * After signing in with the admin token (`POST /api/session` with
 * `Authorization: Bearer`), the browser gets a short-lived cookie
 * `<payload>.<mac>` where the payload names the token and its expiry and the
 * MAC is an HMAC-SHA256 keyed by a key derived from THAT token. So:
 * - nothing is stored server-side, and every admin replica with the same
 *   tokens accepts it (a restart does not sign anyone out);
 * - removing or changing a token invalidates its sessions at once;
 * - the cookie is `HttpOnly`, `SameSite=Strict`, `Path=/api`, and accepted
 *   only by the read-only console endpoints (`GET /api/events`,
 *   `GET /api/overview`): every write still needs the bearer token, so a
 *   forged cross-site request can neither read nor write anything.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AdminToken } from "../tokens.ts";

/** Name of the cookie. */
export const SESSION_COOKIE = "swy_console";

/** Default lifetime; the page renews it well before (see the client). */
export const SESSION_TTL_MS = 15 * 60_000;

function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString("base64url");
}

function sessionKey(token: string): Buffer {
  return createHmac("sha256", token).update("switchyard console session v1").digest();
}

function mac(token: string, payload: string): Buffer {
  return createHmac("sha256", sessionKey(token)).update(payload).digest();
}

/**
 * Issues a cookie value for the token named `name`.
 *
 * @example
 * ```ts
 * import { issueSession, verifySession } from "./session.ts";
 * const alice = { name: "alice", token: "s3cret-token" };
 * const value = issueSession(alice, 1_000, 60_000);
 * verifySession([alice], value, 2_000); // { name: "alice", expiresAt: 61000 }
 * ```
 */
export function issueSession(token: AdminToken, now: number, ttlMs = SESSION_TTL_MS): string {
  const payload = b64url(JSON.stringify({ n: token.name, e: now + ttlMs }));
  return `${payload}.${b64url(mac(token.token, payload))}`;
}

/** A valid session. */
export interface Session {
  readonly name: string;
  readonly expiresAt: number;
}

/** Checks a cookie value: the named token still exists, the MAC matches, it has not expired. */
export function verifySession(
  tokens: readonly AdminToken[],
  value: string | undefined | null,
  now: number,
): Session | null {
  if (!value || value.length > 1024) return null;
  const dot = value.indexOf(".");
  if (dot <= 0) return null;
  const payload = value.slice(0, dot);
  let given: Buffer;
  let doc: { n?: unknown; e?: unknown };
  try {
    given = Buffer.from(value.slice(dot + 1), "base64url");
    doc = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof doc?.n !== "string" || typeof doc.e !== "number") return null;
  const token = tokens.find((t) => t.name === doc.n);
  if (!token) return null;
  const want = mac(token.token, payload);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  if (!(doc.e > now)) return null;
  return { name: token.name, expiresAt: doc.e };
}

/** The value of cookie `name` in a `Cookie` header. */
export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The `Set-Cookie` value for a session (empty value and `Max-Age=0` clear it). */
export function sessionCookie(value: string, maxAgeMs: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    "Path=/api",
    `Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}
