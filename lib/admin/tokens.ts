/**
 * Bearer tokens of the admin API: who may write configs. A token file holds
 * one `name:token` per line (or a bare token, named `admin`); the name is
 * what the audit log records. Comparison is constant-time.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** A named token. */
export interface AdminToken {
  readonly name: string;
  readonly token: string;
}

/**
 * Parses a token file's text. Throws on a malformed line (invalid name, token
 * shorter than 8 characters or containing whitespace, duplicate name or
 * token) so a typo is noticed at start, not at the first request. A token
 * with whitespace could never be presented in a bearer header, and one token
 * under two names would make the audit log name the wrong person.
 *
 * @example
 * ```ts
 * import { parseTokens } from "./tokens.ts";
 * parseTokens("# operators\nalice:s3cret-token-1\nbob:s3cret-token-2\n").length; // 2
 * ```
 */
export function parseTokens(text: string): AdminToken[] {
  const out: AdminToken[] = [];
  const names = new Set<string>();
  const owners = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    const name = colon < 0 ? "admin" : line.slice(0, colon).trim();
    const token = colon < 0 ? line : line.slice(colon + 1).trim();
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new Error(`line ${i + 1}: invalid name`);
    if (token.length < 8) throw new Error(`line ${i + 1}: token shorter than 8 characters`);
    if (/\s/.test(token)) throw new Error(`line ${i + 1}: token contains whitespace`);
    if (names.has(name)) throw new Error(`line ${i + 1}: duplicate name ${name}`);
    const owner = owners.get(token);
    if (owner !== undefined) {
      throw new Error(`line ${i + 1}: ${name} has the same token as ${owner}`);
    }
    names.add(name);
    owners.set(token, name);
    out.push({ name, token });
  });
  if (out.length === 0) throw new Error("no tokens");
  return out;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** The name behind a bearer token, or null (constant-time over each known token). */
export function identify(tokens: readonly AdminToken[], presented: string): string | null {
  const p = digest(presented);
  let found: string | null = null;
  for (const t of tokens) if (timingSafeEqual(p, digest(t.token))) found ??= t.name;
  return found;
}

/** The token in an `Authorization: Bearer ...` header, or null. */
export function bearer(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
