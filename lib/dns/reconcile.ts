/**
 * Desired records vs what etcd holds -> the puts and deletes that make them equal, touching only
 * the keys this zone owns.
 *
 * A zone (`api.example.com`) owns exactly its instance keys: one label below the zone's path,
 * globally (`/skydns/com/example/api/<label>`) and in any region
 * (`/skydns-region-<region>/com/example/api/<label>`), plus its instance keys in the regional
 * layout used before issue 12 (`/skydns/_region/<region>/com/example/api/<label>`), which are
 * never desired and so are deleted by the first pass (their SRV targets did not resolve, see
 * `skydns.ts`). Everything else (other zones, deeper names an operator added under the zone,
 * malformed keys) is never written or deleted. Records compare by their canonical encoding (`encodeRecord`), so an unchanged fleet
 * plans nothing: reconciling is idempotent and can run as often as wanted.
 *
 * Pure: no I/O, no runtime globals.
 *
 * @module
 */
import {
  decodeRecord,
  encodeRecord,
  legacyRegionTreesPrefix,
  normalizeZone,
  parseKey,
  regionTreesPrefix,
  zonePath,
} from "./skydns.ts";
import type { SkyDnsRecord } from "./skydns.ts";

/** The etcd prefixes to read to see every key a zone owns (then filter with {@link isOwnedKey}). */
export function ownedPrefixes(zone: string, prefix?: string): string[] {
  return [
    `${zonePath(zone, { prefix })}/`,
    regionTreesPrefix(prefix),
    legacyRegionTreesPrefix(prefix),
  ];
}

/**
 * True when `key` is one of the zone's instance keys, global or regional.
 *
 * @example
 * ```ts
 * import { isOwnedKey } from "./reconcile.ts";
 * isOwnedKey("/skydns/com/example/api/lb1", "api.example.com"); // true
 * isOwnedKey("/skydns-region-eu/com/example/api/lb1", "api.example.com"); // true
 * isOwnedKey("/skydns/_region/eu/com/example/api/lb1", "api.example.com"); // true (legacy)
 * isOwnedKey("/skydns/com/example/api/x/lb1", "api.example.com"); // false (deeper)
 * isOwnedKey("/skydns/com/example/web/lb1", "api.example.com"); // false (another zone)
 * ```
 */
export function isOwnedKey(key: string, zone: string, prefix?: string): boolean {
  const parsed = parseKey(key, prefix);
  if (parsed === undefined) return false;
  const suffix = `.${normalizeZone(zone)}`;
  if (!parsed.name.endsWith(suffix)) return false;
  const label = parsed.name.slice(0, -suffix.length);
  return label !== "" && !label.includes(".");
}

/** What to write: puts (key, encoded value) and deletes, each sorted by key. */
export interface ReconcilePlan {
  readonly puts: readonly (readonly [string, string])[];
  readonly deletes: readonly string[];
}

/** True when the plan changes nothing. */
export function isEmptyPlan(plan: ReconcilePlan): boolean {
  return plan.puts.length === 0 && plan.deletes.length === 0;
}

/** Only the zone's keys of what was read. */
export function ownedActual(
  actual: ReadonlyMap<string, string>,
  zone: string,
  prefix?: string,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of actual) if (isOwnedKey(key, zone, prefix)) out.set(key, value);
  return out;
}

/** The records of `actual` that decode (the rest are simply rewritten or deleted). */
export function decodeActual(actual: ReadonlyMap<string, string>): Map<string, SkyDnsRecord> {
  const out = new Map<string, SkyDnsRecord>();
  for (const [key, value] of actual) {
    try {
      out.set(key, decodeRecord(value));
    } catch {
      // malformed: the plan overwrites or deletes it
    }
  }
  return out;
}

/**
 * The plan that turns `actual` into `desired`: put every desired key whose stored value differs
 * (absent, or another encoding), delete every owned key that is not desired. Keys of `actual`
 * the zone does not own are ignored; a desired key it does not own is a bug and throws.
 *
 * @example
 * ```ts
 * import { planReconcile } from "./reconcile.ts";
 * const desired = new Map([["/skydns/com/example/api/lb1", { host: "198.18.0.21", port: 80 }]]);
 * const actual = new Map([["/skydns/com/example/api/old", '{"host":"198.18.0.9"}']]);
 * planReconcile(desired, actual, "api.example.com");
 * // { puts: [["/skydns/com/example/api/lb1", '{"host":"198.18.0.21","port":80}']],
 * //   deletes: ["/skydns/com/example/api/old"] }
 * ```
 */
export function planReconcile(
  desired: ReadonlyMap<string, SkyDnsRecord>,
  actual: ReadonlyMap<string, string>,
  zone: string,
  prefix?: string,
): ReconcilePlan {
  const puts: [string, string][] = [];
  const deletes: string[] = [];
  for (const [key, record] of desired) {
    if (!isOwnedKey(key, zone, prefix)) {
      throw new Error(`refusing to write ${key}: not a key of zone ${zone}`);
    }
    const value = encodeRecord(record);
    if (actual.get(key) !== value) puts.push([key, value]);
  }
  for (const key of actual.keys()) {
    if (!desired.has(key) && isOwnedKey(key, zone, prefix)) deletes.push(key);
  }
  puts.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  deletes.sort();
  return { puts, deletes };
}

/** The region name counts use for the zone's own tree (no region can start with `_`). */
export const GLOBAL_TREE = "_global";

/**
 * Keys counted by region ({@link GLOBAL_TREE} for the zone's own tree), for metrics. Keys in the
 * legacy regional layout are not counted: CoreDNS no longer reads them.
 */
export function countByRegion(keys: Iterable<string>, prefix?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const key of keys) {
    const parsed = parseKey(key, prefix);
    if (parsed?.legacy) continue;
    const region = parsed?.region ?? GLOBAL_TREE;
    out.set(region, (out.get(region) ?? 0) + 1);
  }
  return out;
}
