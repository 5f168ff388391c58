/**
 * SkyDNS records in etcd, in the layout CoreDNS's `etcd` plugin reads.
 *
 * The etcd plugin maps a DNS name to a key by reversing its labels under a path prefix:
 * `lb1.api.example.com` lives at `/skydns/com/example/api/lb1`, and a query for
 * `api.example.com` returns every record in the subtree `/skydns/com/example/api/`. So each load
 * balancer instance is one key below the service name, and its value is a JSON record.
 *
 * Regions: each region gets its own tree next to the global one, `<prefix>-region-<region>`,
 * holding the same zone tree: `/skydns-region-eu/com/example/api/lb1`. The Corefile's server
 * block for a region points its etcd plugin at that path (see `corefile.ts`), so a query from a
 * client in that region sees only that region's records, with the same names as the global ones
 * (SRV target `lb1.api.example.com` in every tree). Every tree's path is one segment because
 * CoreDNS derives SRV target names by dropping exactly one path segment from a key
 * ({@link coreDnsTargetName}). Regional keys are outside the global tree, so they never leak into
 * global answers, and an instance registered in a region also registers globally (see
 * {@link registrationKeys}) so that the global answers, which regions fall back to, list every
 * live instance.
 *
 * Pure: no I/O, no runtime globals.
 *
 * @module
 */
import { parseIp } from "./ip.ts";

/** The etcd plugin's default path prefix. */
export const DEFAULT_PREFIX = "/skydns";

/** What joins the prefix and a region name in a region tree's path: `/skydns-region-eu`. */
export const REGION_INFIX = "-region-";

/** The path segment under the prefix that held per-region trees before issue 12 (read only). */
export const LEGACY_REGION_SEGMENT = "_region";

/** The most labels a DNS name may have; and the longest label and name. */
const MAX_LABEL = 63;
const MAX_NAME = 253;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Raised for an invalid zone, prefix, region or record. */
export class SkyDnsError extends Error {
  override name = "SkyDnsError";
}

/**
 * A SkyDNS record: the JSON value CoreDNS's etcd plugin reads (`msg.Service`). Only the fields
 * Switchyard uses; all but `host` are optional, and zero values are omitted like SkyDNS does.
 */
export interface SkyDnsRecord {
  /** IPv4/IPv6 address (A/AAAA answers) or a host name (CNAME, SRV target). */
  readonly host: string;
  /** Port for SRV answers, 1-65535. */
  readonly port?: number;
  /** SRV priority, 0-65535; CoreDNS answers 10 for 0/absent. */
  readonly priority?: number;
  /**
   * SRV weight, 0-65535 (CoreDNS treats 0/absent as 100). CoreDNS scales weights within a
   * priority to percentages: see {@link srvWeights}.
   */
  readonly weight?: number;
  /** Record TTL in seconds (CoreDNS: 300 when absent; capped by the cache and lease TTL). */
  readonly ttl?: number;
  /** TXT data, also a free-form note (e.g. `region=eu`). */
  readonly text?: string;
}

/** 32-bit FNV-1a over UTF-16 code units, as 8 hex digits: a short, stable name suffix. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * Turns any instance or region name into a valid DNS label (LDH, lowercase, 1-63 chars):
 * runs of other characters become `-`, leading/trailing `-` go. A name that is too long keeps
 * its first 54 characters plus `-` and a hash of the whole name; a name with nothing usable
 * becomes `x-<hash>`. Deterministic, so the same instance always maps to the same key. Distinct
 * names can collide only when they differ in case or punctuation alone (`lb_1` and `lb.1`).
 *
 * @example
 * ```ts
 * import { sanitizeLabel } from "./skydns.ts";
 * sanitizeLabel("LB_1"); // "lb-1"
 * sanitizeLabel("127.0.0.1:8080"); // "127-0-0-1-8080"
 * ```
 */
export function sanitizeLabel(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  if (cleaned === "") return `x-${shortHash(name)}`;
  if (cleaned.length <= MAX_LABEL) return cleaned;
  const head = cleaned.slice(0, MAX_LABEL - 9).replace(/-+$/, "");
  return `${head}-${shortHash(name)}`;
}

/**
 * Validates a zone (`api.example.com`, trailing dot allowed, any case) and returns its labels,
 * lowercased, left to right. Labels must already be valid LDH labels: zones are configuration,
 * not something to silently rewrite.
 */
export function zoneLabels(zone: string): string[] {
  const trimmed = zone.endsWith(".") ? zone.slice(0, -1) : zone;
  if (trimmed === "") throw new SkyDnsError("zone must not be empty (the root zone is not served)");
  if (trimmed.length > MAX_NAME) throw new SkyDnsError(`zone "${zone}" is longer than 253`);
  const labels = trimmed.toLowerCase().split(".");
  for (const label of labels) {
    if (!LDH_LABEL.test(label)) {
      throw new SkyDnsError(`zone "${zone}": "${label}" is not a valid DNS label (a-z, 0-9, -)`);
    }
  }
  return labels;
}

/** The canonical zone name: lowercase, no trailing dot. */
export function normalizeZone(zone: string): string {
  return zoneLabels(zone).join(".");
}

/**
 * Validates an etcd path prefix (`/skydns`, `/switchyard-dns`): one absolute path segment of
 * `[A-Za-z0-9._-]`, no trailing slash. Returns it unchanged. One segment, because CoreDNS's etcd
 * plugin names SRV targets by dropping exactly one segment from a record's key
 * ({@link coreDnsTargetName}): under `/switchyard/dns` the target of `lb1` would be
 * `lb1.api.example.com.dns.`, a name that resolves nowhere.
 */
export function normalizePrefix(prefix: string = DEFAULT_PREFIX): string {
  if (!/^\/[A-Za-z0-9._-]+$/.test(prefix) || prefix === "/." || prefix === "/..") {
    throw new SkyDnsError(
      `prefix "${prefix}" must be one etcd path segment such as /skydns (absolute, no further ` +
        "/: CoreDNS names SRV targets by dropping exactly one segment of the key)",
    );
  }
  return prefix;
}

/** Validates a region name: already a valid DNS label (it appears in keys and view names). */
export function validateRegion(region: string): string {
  if (!LDH_LABEL.test(region)) {
    throw new SkyDnsError(`region "${region}" must be a DNS label: a-z, 0-9, - (max 63)`);
  }
  return region;
}

/**
 * The name CoreDNS's etcd plugin gives the record stored at `key` when it answers SRV (and MX)
 * queries for an address record: the SRV target, and the owner name of the A/AAAA record it adds
 * to the additional section. CoreDNS (`plugin/etcd/msg.Domain`, v1.15.0) drops the key's first
 * path segment, whatever its `path` is, and reverses the rest: `/skydns/com/example/api/lb1`
 * gives `lb1.api.example.com.`. So a tree answers SRV with names that resolve only if its path
 * is exactly one segment; every layout here is checked against this (see skydns_test.ts).
 *
 * @example
 * ```ts
 * import { coreDnsTargetName } from "./skydns.ts";
 * coreDnsTargetName("/skydns/com/example/api/lb1"); // "lb1.api.example.com."
 * coreDnsTargetName("/a/b/com/example/api/lb1"); // "lb1.api.example.com.b." (two segments)
 * ```
 */
export function coreDnsTargetName(key: string): string {
  const segments = key.split("/").filter((s) => s !== "");
  return `${segments.slice(1).reverse().join(".")}.`;
}

/**
 * The etcd `path` of a region's tree (its server block reads it): `<prefix>-region-<region>`,
 * a sibling of the global tree, never below it. It must be one path segment, like the prefix,
 * because CoreDNS names SRV targets by dropping exactly one segment from a key
 * ({@link coreDnsTargetName}): below the prefix (`/skydns/_region/eu`, the layout before
 * issue 12) the targets were `lb1.api.example.com.eu._region.`, which no client can resolve.
 *
 * @example
 * ```ts
 * import { regionPath } from "./skydns.ts";
 * regionPath("eu"); // "/skydns-region-eu"
 * ```
 */
export function regionPath(region: string, prefix: string = DEFAULT_PREFIX): string {
  return `${regionTreesPrefix(prefix)}${validateRegion(region)}`;
}

/**
 * The etcd key prefix that every region's tree starts with, `<prefix>-region-`: list it to see
 * every regional key (then {@link parseKey} tells the region).
 */
export function regionTreesPrefix(prefix: string = DEFAULT_PREFIX): string {
  return `${normalizePrefix(prefix)}${REGION_INFIX}`;
}

/**
 * Where regional keys were written before issue 12 (`<prefix>/_region/<region>/...`): still
 * parsed, so the dns role can find and delete its zone's leftovers there (see `reconcile.ts`),
 * and the console can show them; never written.
 */
export function legacyRegionTreesPrefix(prefix: string = DEFAULT_PREFIX): string {
  return `${normalizePrefix(prefix)}/${LEGACY_REGION_SEGMENT}/`;
}

/** Options for key builders. */
export interface KeyOptions {
  /** etcd path prefix (default `/skydns`). */
  readonly prefix?: string;
  /** Region, for region-scoped keys (default: the global tree). */
  readonly region?: string;
}

function basePath(options: KeyOptions): string {
  return options.region === undefined
    ? normalizePrefix(options.prefix ?? DEFAULT_PREFIX)
    : regionPath(options.region, options.prefix ?? DEFAULT_PREFIX);
}

/**
 * The etcd key of a zone's node: `/skydns/com/example/api` for `api.example.com`. List or
 * watch `zonePath(...) + "/"` to see every record CoreDNS answers for the zone.
 */
export function zonePath(zone: string, options: KeyOptions = {}): string {
  return `${basePath(options)}/${zoneLabels(zone).reverse().join("/")}`;
}

/**
 * The etcd key of one instance's record: `/skydns/com/example/api/lb1` for zone
 * `api.example.com`, instance `lb1` (sanitized with {@link sanitizeLabel}); with a region,
 * `/skydns-region-eu/com/example/api/lb1`. The full DNS name (`lb1.api.example.com`) must stay
 * within 253 characters.
 */
export function instanceKey(zone: string, instance: string, options: KeyOptions = {}): string {
  const label = sanitizeLabel(instance);
  const name = `${label}.${normalizeZone(zone)}`;
  if (name.length > MAX_NAME) {
    throw new SkyDnsError(`name "${name}" is longer than 253 characters`);
  }
  return `${zonePath(zone, options)}/${label}`;
}

/**
 * The keys one instance registers under: always the global key and, when it belongs to a
 * region, the regional key too (write both in one transaction under one lease, so they appear
 * and disappear together). The global answers are what a region with no live instance falls
 * back to.
 */
export function registrationKeys(
  zone: string,
  instance: string,
  options: KeyOptions = {},
): string[] {
  const global = instanceKey(zone, instance, { prefix: options.prefix });
  if (options.region === undefined) return [global];
  return [global, instanceKey(zone, instance, options)];
}

/** Where a key sits: the DNS name it answers for, and its region (undefined when global). */
export interface ParsedKey {
  readonly name: string;
  readonly region?: string;
  /** True for a key in the pre-issue-12 regional layout (`<prefix>/_region/<region>/...`). */
  readonly legacy?: true;
}

/**
 * The inverse of {@link instanceKey}: the DNS name a key answers for, and its region. Also reads
 * the legacy regional layout (`legacy: true`, see {@link legacyRegionTreesPrefix}). Returns
 * undefined for a key outside the prefix's trees or malformed.
 *
 * @example
 * ```ts
 * import { parseKey } from "./skydns.ts";
 * parseKey("/skydns-region-eu/com/example/api/lb1"); // { name: "lb1.api.example.com", region: "eu" }
 * ```
 */
export function parseKey(key: string, prefix: string = DEFAULT_PREFIX): ParsedKey | undefined {
  const base = normalizePrefix(prefix);
  let region: string | undefined;
  let legacy = false;
  let segments: string[];
  if (key.startsWith(`${base}/`)) {
    segments = key.slice(base.length + 1).split("/");
    if (segments[0] === LEGACY_REGION_SEGMENT) {
      region = segments[1];
      if (region === undefined) return undefined;
      segments.splice(0, 2);
      legacy = true;
    }
  } else if (key.startsWith(`${base}${REGION_INFIX}`)) {
    segments = key.slice(base.length + REGION_INFIX.length).split("/");
    region = segments.shift();
  } else {
    return undefined;
  }
  if (region !== undefined && !LDH_LABEL.test(region)) return undefined;
  if (segments.length === 0 || segments.some((s) => !LDH_LABEL.test(s))) return undefined;
  const name = segments.reverse().join(".");
  if (region === undefined) return { name };
  return legacy ? { name, region, legacy: true } : { name, region };
}

function checkInt(field: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new SkyDnsError(`record ${field} must be an integer ${min}-${max}, got ${value}`);
  }
}

const HOSTNAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Validates a record; returns it with only the known fields, in a fixed order. */
export function validateRecord(record: SkyDnsRecord): SkyDnsRecord {
  const raw = record as unknown as Record<string, unknown>;
  if (typeof raw !== "object" || raw === null) throw new SkyDnsError("record must be an object");
  const known = ["host", "port", "priority", "weight", "ttl", "text"];
  const unknownKeys = Object.keys(raw).filter((k) => !known.includes(k));
  if (unknownKeys.length > 0) {
    throw new SkyDnsError(`record has unknown field(s): ${unknownKeys.join(", ")}`);
  }
  const host = raw.host;
  if (typeof host !== "string" || host === "") throw new SkyDnsError("record host is required");
  const looksLikeIp = host.includes(":") || /^[\d.]+$/.test(host);
  if (looksLikeIp ? parseIp(host) === undefined : !HOSTNAME.test(host)) {
    throw new SkyDnsError(`record host "${host}" is neither an IP address nor a host name`);
  }
  checkInt("port", raw.port, 0, 65535);
  checkInt("priority", raw.priority, 0, 65535);
  checkInt("weight", raw.weight, 0, 65535);
  checkInt("ttl", raw.ttl, 0, 0xffffffff);
  if (raw.text !== undefined && typeof raw.text !== "string") {
    throw new SkyDnsError("record text must be a string");
  }
  const out: Record<string, unknown> = { host };
  for (const field of ["port", "priority", "weight", "ttl"] as const) {
    const value = raw[field];
    if (value !== undefined && value !== 0) out[field] = value;
  }
  if (typeof raw.text === "string" && raw.text !== "") out.text = raw.text;
  return out as unknown as SkyDnsRecord;
}

/**
 * The JSON value to store under an instance key. Zero and empty fields are omitted (as SkyDNS
 * does), field order is fixed, so equal records encode to equal strings.
 *
 * @example
 * ```ts
 * import { encodeRecord } from "./skydns.ts";
 * encodeRecord({ host: "198.18.10.1", port: 80, weight: 100 });
 * // '{"host":"198.18.10.1","port":80,"weight":100}'
 * ```
 */
export function encodeRecord(record: SkyDnsRecord): string {
  return JSON.stringify(validateRecord(record));
}

/**
 * Parses a stored value. Fields CoreDNS knows but Switchyard does not write (`mail`,
 * `targetstrip`, `group`) are ignored; anything malformed throws.
 */
export function decodeRecord(json: string): SkyDnsRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new SkyDnsError(`record is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SkyDnsError("record must be a JSON object");
  }
  const { mail: _m, targetstrip: _t, group: _g, ...rest } = value as Record<string, unknown>;
  return validateRecord(rest as unknown as SkyDnsRecord);
}

/** CoreDNS's default SRV priority for records without one. */
export const DEFAULT_SRV_PRIORITY = 10;

/**
 * The SRV (priority, weight) CoreDNS's etcd plugin answers for each record, in input order.
 * CoreDNS treats a missing priority as 10 and a missing weight as 100, then scales weights to
 * percentages within each priority: `max(1, floor(100 * weight / sum))`. So configured weights
 * 70 and 30 are answered as 70 and 30, while 2 and 1 become 66 and 33.
 */
export function srvWeights(
  records: readonly Pick<SkyDnsRecord, "priority" | "weight">[],
): { priority: number; weight: number }[] {
  const priorityOf = (r: Pick<SkyDnsRecord, "priority">) => r.priority || DEFAULT_SRV_PRIORITY;
  const weightOf = (r: Pick<SkyDnsRecord, "weight">) => r.weight || 100;
  const sums = new Map<number, number>();
  for (const r of records) sums.set(priorityOf(r), (sums.get(priorityOf(r)) ?? 0) + weightOf(r));
  return records.map((r) => {
    const sum = sums.get(priorityOf(r)) as number;
    return { priority: priorityOf(r), weight: Math.max(1, Math.floor((100 / sum) * weightOf(r))) };
  });
}
