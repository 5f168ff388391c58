/**
 * The desired DNS records of a proxy fleet: live registrations + options -> etcd key -> SkyDNS
 * record.
 *
 * Each live proxy gets one record under the zone (`/skydns/com/example/api/<label>`) and, when
 * it declares a region, the same record under that region's tree
 * (`/skydns-region-<region>/com/example/api/<label>`, see `skydns.ts` and `corefile.ts`), so A
 * answers list the live proxies, a region's clients get that region's proxies, and a region with
 * none falls back to the global answers.
 *
 * Weights come from configuration (one weight for every proxy) or, with weight-by-load, from
 * each proxy's published load, quantized to {@link WEIGHT_LEVELS} levels with hysteresis: the
 * level only moves when the load moved by a full level from the current one, so load noise never
 * rewrites records. The current level is read back from the record in etcd, so a new leader
 * continues where the old one stopped (no flap at hand-over).
 *
 * Pure: no I/O, no runtime globals.
 *
 * @module
 */
import { formatIp, parseIp } from "./ip.ts";
import {
  DEFAULT_SRV_PRIORITY,
  normalizePrefix,
  normalizeZone,
  registrationKeys,
  sanitizeLabel,
  shortHash,
  validateRegion,
} from "./skydns.ts";
import type { SkyDnsRecord } from "./skydns.ts";

/** A proxy's published load (its registration's `load`). */
export interface ProxyLoad {
  readonly connections: number;
  readonly inflight: number;
  readonly cpuPercent: number;
}

/** One live proxy, as read from its registration. */
export interface Registration {
  readonly group: string;
  readonly id: string;
  /** Canonical IP address clients connect to. */
  readonly host: string;
  readonly port: number;
  /** The region it serves, a DNS label; null: global only. */
  readonly region: string | null;
  /** Published load; null when the registration has none. */
  readonly load: ProxyLoad | null;
}

/** The result of {@link parseRegistration}. */
export type ParsedRegistration =
  | { readonly ok: true; readonly value: Registration; readonly warning?: string }
  | { readonly ok: false; readonly reason: string };

function splitHostPort(address: string): { host: string; port: string } | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(address) ??
    /^([^:[\]\s]+):(\d{1,5})$/.exec(address);
  return m ? { host: m[1]!, port: m[2]! } : undefined;
}

function nonNegative(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Parses a proxy registration (the JSON a proxy keeps at `/switchyard/proxies/<group>/<id>`:
 * `{id, group, address, region, load: {connections, inflight, cpu_percent}, ...}`).
 *
 * The address must be `IP:PORT` (`[v6]:PORT`) with a routable IP: an unspecified address
 * (`0.0.0.0`, `::`) cannot be dialled, so the proxy must `--advertise` one. An invalid region is
 * dropped with a warning (the proxy is still served globally): a typo must not take a live
 * proxy out of DNS.
 *
 * @example
 * ```ts
 * import { parseRegistration } from "./fleet.ts";
 * const r = parseRegistration("g", "lb1", '{"address":"198.18.0.21:8080","region":"r1"}');
 * console.log(r.ok && r.value.host, r.ok && r.value.region); // 198.18.0.21 r1
 * ```
 */
export function parseRegistration(group: string, id: string, text: string): ParsedRegistration {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "not a JSON object" };
  }
  const raw = value as Record<string, unknown>;
  if (typeof raw.address !== "string") return { ok: false, reason: "no address" };
  const hp = splitHostPort(raw.address);
  const ip = hp && parseIp(hp.host);
  if (!hp || !ip) return { ok: false, reason: `address "${raw.address}" is not IP:PORT` };
  if (ip.bytes.every((b) => b === 0)) {
    return {
      ok: false,
      reason: `address "${raw.address}" is unspecified: the proxy must --advertise a routable IP`,
    };
  }
  const port = Number(hp.port);
  if (port < 1 || port > 65535) return { ok: false, reason: `port ${hp.port} is outside 1-65535` };
  let region: string | null = null;
  let warning: string | undefined;
  if (typeof raw.region === "string" && raw.region !== "") {
    try {
      region = validateRegion(raw.region);
    } catch (e) {
      warning = `${(e as Error).message}: served globally only`;
    }
  } else if (raw.region !== undefined && raw.region !== null && raw.region !== "") {
    warning = "region is not a string: served globally only";
  }
  let load: ProxyLoad | null = null;
  if (typeof raw.load === "object" && raw.load !== null) {
    const l = raw.load as Record<string, unknown>;
    load = {
      connections: nonNegative(l.connections) ?? 0,
      inflight: nonNegative(l.inflight) ?? 0,
      cpuPercent: nonNegative(l.cpu_percent) ?? 0,
    };
  }
  const reg: Registration = { group, id, host: formatIp(ip), port, region, load };
  return warning === undefined ? { ok: true, value: reg } : { ok: true, value: reg, warning };
}

/** What weight-by-load measures. */
export type LoadMetric = "connections" | "inflight" | "cpu";

/** The load metrics, for flag validation. */
export const LOAD_METRICS: readonly LoadMetric[] = ["connections", "inflight", "cpu"];

/** Default capacity per metric: the load at which a proxy gets the lowest weight level. */
export const DEFAULT_LOAD_CAPACITY: Readonly<Record<LoadMetric, number>> = {
  connections: 1000,
  inflight: 200,
  cpu: 100,
};

/** Weight-by-load settings. */
export interface WeightByLoad {
  readonly metric: LoadMetric;
  /** The metric's value at which the weight is lowest (must be > 0). */
  readonly capacity: number;
}

/** Weights are multiples of `weight / WEIGHT_LEVELS`: 10 levels, the lowest never 0. */
export const WEIGHT_LEVELS = 10;

/**
 * The continuous level (0 to {@link WEIGHT_LEVELS}) a load maps to: full weight when idle, one
 * level less per tenth of `capacity`. No load published: full weight.
 */
export function rawLevel(load: ProxyLoad | null, byLoad: WeightByLoad): number {
  if (load === null) return WEIGHT_LEVELS;
  const value = byLoad.metric === "connections"
    ? load.connections
    : byLoad.metric === "inflight"
    ? load.inflight
    : load.cpuPercent;
  const fraction = Math.min(1, Math.max(0, value / byLoad.capacity));
  return WEIGHT_LEVELS * (1 - fraction);
}

/**
 * Quantizes a raw level with hysteresis: with a current level, it is kept until the raw level is
 * a full level or more away from it; then (or without a current level) the nearest level,
 * 1 to {@link WEIGHT_LEVELS}. So a load that wobbles within half a level (5 % of capacity) changes
 * the weight at most once, and a change always means the load really moved.
 *
 * @example
 * ```ts
 * import { quantizeLevel } from "./fleet.ts";
 * quantizeLevel(9.2, 10); // 10: within one level of the current one
 * quantizeLevel(8.9, 10); // 9
 * quantizeLevel(3.4, undefined); // 3
 * ```
 */
export function quantizeLevel(raw: number, current: number | undefined): number {
  const clamped = Math.min(WEIGHT_LEVELS, Math.max(1, raw));
  if (current !== undefined && Math.abs(clamped - current) < 1) return current;
  return Math.min(WEIGHT_LEVELS, Math.max(1, Math.round(clamped)));
}

/** The weight of a level (1..10) for a maximum weight `base`: never below 1. */
export function levelWeight(level: number, base: number): number {
  return Math.max(1, Math.round((level * base) / WEIGHT_LEVELS));
}

/** The level a written weight stands for (inverse of {@link levelWeight}, rounded, 1..10). */
export function weightLevel(weight: number, base: number): number {
  return Math.min(WEIGHT_LEVELS, Math.max(1, Math.round((weight * WEIGHT_LEVELS) / base)));
}

/**
 * The weight of one proxy under weight-by-load: its load's level, with hysteresis around the
 * level of `previousWeight` (the weight currently in etcd, if any).
 */
export function loadWeight(
  load: ProxyLoad | null,
  base: number,
  byLoad: WeightByLoad,
  previousWeight?: number,
): number {
  const current = previousWeight === undefined ? undefined : weightLevel(previousWeight, base);
  return levelWeight(quantizeLevel(rawLevel(load, byLoad), current), base);
}

/** How records are made. */
export interface FleetOptions {
  /** The service name, e.g. `api.example.com`. */
  readonly zone: string;
  /** etcd path prefix (default `/skydns`). */
  readonly prefix?: string;
  /** Record TTL, seconds. */
  readonly ttl: number;
  /** SRV priority of every record. */
  readonly priority: number;
  /** SRV weight of every record; with weight-by-load, the weight of an idle proxy. */
  readonly weight: number;
  /**
   * Per-proxy weights overriding `weight`, keyed by `group/id` or by id (`group/id` wins); with
   * weight-by-load, that proxy's idle weight.
   */
  readonly weights?: ReadonlyMap<string, number>;
  /** Weight follows each proxy's load (null/absent: the fixed weight). */
  readonly weightByLoad?: WeightByLoad | null;
}

/** One proxy as placed in DNS. */
export interface Placement {
  readonly group: string;
  readonly id: string;
  /** The DNS label: `<label>.<zone>` is its SRV target. */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly region: string | null;
  readonly weight: number;
  readonly keys: readonly string[];
}

/** The fleet's desired state. */
export interface FleetRecords {
  /** etcd key -> record; every key is owned by this zone (see `reconcile.ts`). */
  readonly records: ReadonlyMap<string, SkyDnsRecord>;
  /** Each placed proxy, sorted by group then id. */
  readonly placements: readonly Placement[];
  /** Registrations left out, and why. */
  readonly skipped: readonly { group: string; id: string; reason: string }[];
}

const byGroupId = (a: Registration, b: Registration) =>
  a.group < b.group ? -1 : a.group > b.group ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * The DNS label of each registration (`group/id` -> label): the sanitized id, or, when two
 * registrations would share a label (the same id in two groups, or ids differing only in
 * punctuation), the id plus a hash of `group/id` for each of them. Deterministic, independent of
 * order.
 */
export function instanceLabels(registrations: readonly Registration[]): Map<string, string> {
  const byLabel = new Map<string, Registration[]>();
  for (const r of registrations) {
    const label = sanitizeLabel(r.id);
    byLabel.set(label, [...(byLabel.get(label) ?? []), r]);
  }
  const out = new Map<string, string>();
  for (const [label, regs] of byLabel) {
    for (const r of regs) {
      const name = `${r.group}/${r.id}`;
      out.set(name, regs.length === 1 ? label : sanitizeLabel(`${r.id}-${shortHash(name)}`));
    }
  }
  return out;
}

/**
 * Parses per-proxy weights: `ID=N[,ID=N...]` where ID is a proxy id or `group/id`.
 *
 * @example
 * ```ts
 * import { parseWeights } from "./fleet.ts";
 * parseWeights("lb1=70,edge/lb2=30"); // Map { "lb1" => 70, "edge/lb2" => 30 }
 * ```
 */
export function parseWeights(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const eq = entry.lastIndexOf("=");
    const name = entry.slice(0, eq).trim();
    const value = Number(entry.slice(eq + 1));
    if (eq <= 0 || name === "" || !Number.isInteger(value) || value < 1 || value > 65535) {
      throw new Error(`"${entry}" must be ID=N with N an integer 1-65535`);
    }
    out.set(name, value);
  }
  return out;
}

/** Validates fleet options; returns a list of problems (empty when fine). */
export function fleetOptionIssues(options: FleetOptions): string[] {
  const issues: string[] = [];
  const tryIt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      issues.push((e as Error).message);
    }
  };
  tryIt(() => normalizeZone(options.zone));
  tryIt(() => normalizePrefix(options.prefix));
  const int = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      issues.push(`${name} must be an integer ${min}-${max}, got ${v}`);
    }
  };
  int("ttl", options.ttl, 1, 86400);
  int("priority", options.priority, 1, 65535);
  int("weight", options.weight, 1, 65535);
  for (const [name, w] of options.weights ?? []) int(`weight of ${name}`, w, 1, 65535);
  const byLoad = options.weightByLoad;
  if (byLoad) {
    if (!LOAD_METRICS.includes(byLoad.metric)) {
      issues.push(`load metric must be one of ${LOAD_METRICS.join(", ")}, got ${byLoad.metric}`);
    }
    if (!(byLoad.capacity > 0) || !Number.isFinite(byLoad.capacity)) {
      issues.push(`load capacity must be a number > 0, got ${byLoad.capacity}`);
    }
    const all = [options.weight, ...(options.weights ?? new Map()).values()];
    if (all.some((w) => w < WEIGHT_LEVELS)) {
      issues.push(`weight-by-load needs weights >= ${WEIGHT_LEVELS} (one step per level)`);
    }
  }
  return issues;
}

/**
 * The records the fleet should have.
 *
 * @param registrations the live proxies
 * @param options zone, prefix, TTL, priority, weights
 * @param previous records now in etcd by key (for weight-by-load hysteresis), may be empty
 * @returns records by key, placements, and what was skipped
 */
export function fleetRecords(
  registrations: Iterable<Registration>,
  options: FleetOptions,
  previous: ReadonlyMap<string, SkyDnsRecord> = new Map(),
): FleetRecords {
  const zone = normalizeZone(options.zone);
  const prefix = normalizePrefix(options.prefix);
  const regs = [...registrations].sort(byGroupId);
  const labels = instanceLabels(regs);
  const records = new Map<string, SkyDnsRecord>();
  const placements: Placement[] = [];
  const skipped: { group: string; id: string; reason: string }[] = [];
  for (const r of regs) {
    const label = labels.get(`${r.group}/${r.id}`)!;
    const keys = registrationKeys(zone, label, {
      prefix,
      ...(r.region === null ? {} : { region: r.region }),
    });
    const global = keys[0]!;
    if (records.has(global)) {
      skipped.push({ group: r.group, id: r.id, reason: `label "${label}" is already taken` });
      continue;
    }
    const byLoad = options.weightByLoad;
    const base = options.weights?.get(`${r.group}/${r.id}`) ?? options.weights?.get(r.id) ??
      options.weight;
    const weight = byLoad ? loadWeight(r.load, base, byLoad, previous.get(global)?.weight) : base;
    const record: SkyDnsRecord = {
      host: r.host,
      port: r.port,
      priority: options.priority || DEFAULT_SRV_PRIORITY,
      weight,
      ttl: options.ttl,
      text: r.region === null ? `group=${r.group}` : `group=${r.group} region=${r.region}`,
    };
    for (const key of keys) records.set(key, record);
    placements.push({
      group: r.group,
      id: r.id,
      label,
      host: r.host,
      port: r.port,
      region: r.region,
      weight,
      keys,
    });
  }
  return { records, placements, skipped };
}
