/**
 * Which certificate answers a TLS ClientHello's server name (SNI): an exact
 * name first, then a wildcard `*.example.com` covering exactly one more
 * label, else the default (the first pair configured). Case-insensitive; a
 * trailing dot (`shop.example.com.`) is ignored.
 *
 * The table is built once per certificate set (at start and on each reload),
 * so a handshake costs at most two map lookups, never a scan of the pairs.
 * Pure: the values are whatever the caller stores (a secure context).
 *
 * @module
 */

/** A certificate's names and what to answer with when one of them is asked for. */
export interface SniEntry<T> {
  /** DNS names the certificate covers, e.g. `shop.example.com`, `*.example.com`. */
  readonly names: readonly string[];
  readonly value: T;
}

/** The lookup maps built by {@link buildSniTable}. */
export interface SniTable<T> {
  /** Exact names (lower-case, no trailing dot). */
  readonly exact: ReadonlyMap<string, T>;
  /** Wildcards by the suffix after `*.` (`*.example.com` → `example.com`). */
  readonly wildcard: ReadonlyMap<string, T>;
  /** The answer for no name, an IP literal or an unknown name. */
  readonly fallback: T;
}

/**
 * Builds the lookup maps; the first entry is the default. When two entries
 * cover the same name, the earlier one wins (the order of the flags).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSniTable, pickBySni } from "./sni.ts";
 * const t = buildSniTable([
 *   { names: ["default.example"], value: "d" },
 *   { names: ["*.example.com"], value: "w" },
 * ]);
 * assert.equal(pickBySni(t, "API.example.com."), "w");
 * assert.equal(pickBySni(t, "example.com"), "d");
 * ```
 */
export function buildSniTable<T>(entries: readonly SniEntry<T>[]): SniTable<T> {
  if (entries.length === 0) throw new Error("an SNI table needs at least one certificate");
  const exact = new Map<string, T>();
  const wildcard = new Map<string, T>();
  for (const { names, value } of entries) {
    for (const raw of names) {
      const name = normalizeServerName(raw);
      if (name.startsWith("*.")) {
        const suffix = name.slice(2);
        if (suffix !== "" && !wildcard.has(suffix)) wildcard.set(suffix, value);
      } else if (name !== "" && !exact.has(name)) exact.set(name, value);
    }
  }
  return { exact, wildcard, fallback: entries[0]!.value };
}

/**
 * The value for a ClientHello's server name (undefined or "" when the client
 * sent none): exact, then one-label wildcard, then the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSniTable, pickBySni } from "./sni.ts";
 * const t = buildSniTable([{ names: ["a.test"], value: 1 }, { names: ["*.b.test"], value: 2 }]);
 * assert.equal(pickBySni(t, "x.b.test"), 2);
 * assert.equal(pickBySni(t, "y.x.b.test"), 1); // a wildcard covers one label only
 * ```
 */
export function pickBySni<T>(table: SniTable<T>, serverName: string | undefined): T {
  if (!serverName) return table.fallback;
  const name = normalizeServerName(serverName);
  const hit = table.exact.get(name);
  if (hit !== undefined) return hit;
  const dot = name.indexOf(".");
  // the first label must be non-empty: "*.example.com" does not cover ".example.com"
  if (dot > 0) {
    const wild = table.wildcard.get(name.slice(dot + 1));
    if (wild !== undefined) return wild;
  }
  return table.fallback;
}

/** Lower-cases a DNS name and drops one trailing dot. */
export function normalizeServerName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}
