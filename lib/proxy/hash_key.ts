/**
 * Where CONSISTENT_HASH and IP_HASH take a request's key from, shared by the
 * proxy engine and the embeddable balancer. Pure.
 *
 * @module
 */
import type { Algorithm } from "../config/schema.ts";

/** The `hash_key` setting of a group. */
export interface HashKeySetting {
  readonly source: "client_ip" | "header" | "cookie" | "query";
  readonly name?: string | undefined;
}

/** True when the algorithm needs a per-request key. */
export function usesKey(algorithm: Algorithm): boolean {
  return algorithm === "CONSISTENT_HASH" || algorithm === "IP_HASH";
}

/** The value of cookie `name` in a Cookie header, or "". */
export function cookieValue(header: string | null, name: string): string {
  if (!header) return "";
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return "";
}

/**
 * The hash key of a request. IP_HASH always uses the client IP.
 *
 * @param header Returns a header's value by lower-case name (all Cookie headers joined by "; ").
 * @param target The request-target (`/path?query`).
 *
 * @example
 * ```ts
 * import { requestHashKey } from "./hash_key.ts";
 * requestHashKey("CONSISTENT_HASH", { source: "cookie", name: "sid" }, "10.0.0.1",
 *   (n) => n === "cookie" ? "a=1; sid=xyz" : null, "/"); // "xyz"
 * ```
 */
export function requestHashKey(
  algorithm: Algorithm,
  setting: HashKeySetting,
  clientIp: string,
  header: (lowerName: string) => string | null,
  target: string,
): string {
  if (algorithm === "IP_HASH" || setting.source === "client_ip") return clientIp;
  const name = setting.name ?? "";
  switch (setting.source) {
    case "header":
      return header(name.toLowerCase()) ?? "";
    case "cookie":
      return cookieValue(header("cookie"), name);
    case "query": {
      const q = target.indexOf("?");
      return q < 0 ? "" : new URLSearchParams(target.slice(q + 1)).get(name) ?? "";
    }
  }
}
