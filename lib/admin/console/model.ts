/**
 * What the console shows: the documents the server pushes over
 * server-sent events and the browser renders. Pure types plus a few pure
 * helpers; imported by both the server (`live_state.ts`, `scraper.ts`) and
 * the browser bundle (`client/`), so nothing here may touch the runtime.
 *
 * @module
 */

/** A ZooKeeper (or etcd) connection as the console shows it. */
export interface ConnectionView {
  /** `zookeeper`, `memory`, `etcd`. */
  readonly kind: string;
  /** `connecting`, `connected`, `disconnected`, `closed` (etcd providers may add their own). */
  readonly state: string;
  /** Session id (ZooKeeper), or null. */
  readonly session: string | null;
  /** When the state last changed (ms since epoch). */
  readonly since: number;
  /** Endpoints, when the provider knows them. */
  readonly endpoints?: readonly string[];
}

/** One DNS record served (CoreDNS's etcd plugin layout: one key per instance). */
export interface DnsRecordView {
  /** The DNS name it answers for, e.g. `api.example.com`. */
  readonly name: string;
  /** Region the record is served in (undefined: global). */
  readonly region?: string;
  /** Store key, e.g. `/skydns/com/example/api/lb1`. */
  readonly key?: string;
  readonly host: string;
  readonly port?: number;
  readonly priority?: number;
  readonly weight?: number;
  readonly ttl?: number;
  readonly text?: string;
}

/** The DNS panel: present only when a DNS provider is configured. */
export interface DnsView {
  readonly connection: ConnectionView;
  readonly records: readonly DnsRecordView[];
  /** Why the last read failed, or null. */
  readonly error: string | null;
  /** When the records were last read (ms since epoch). */
  readonly at: number;
}

/** One backend of a group: configured facts, orchestrator health, and live stats from proxies. */
export interface BackendView {
  readonly address: string;
  /** Configured weight (default 1). */
  readonly weight: number;
  /** `"drain": true` in the config: kept, but not picked for new requests. */
  readonly drain: boolean;
  /** The orchestrator holds it unhealthy (its health znode exists). */
  readonly unhealthy: { readonly reason: string | null; readonly since: string | null } | null;
  /** Proxies that report it ejected by outlier detection. */
  readonly ejectedOn: readonly string[];
  /** Proxies whose `/status` says it may not be picked. */
  readonly unusableOn: readonly string[];
  /** Proxies whose `/status` lists it (0: no proxy reports on it). */
  readonly seenBy: number;
  /** Requests in flight to it, summed over the proxies (null: no proxy scraped). */
  readonly inflight: number | null;
  /** Requests per second over the last scrape interval, all proxies (null: unknown). */
  readonly rps: number | null;
  /** 5xx answers per second from it (null: unknown). */
  readonly errorRps: number | null;
}

/** The last scrape of one proxy's admin endpoints. */
export interface ScrapeView {
  readonly ok: boolean;
  readonly at: number;
  readonly error: string | null;
}

/** One registered proxy instance. */
export interface ProxyView {
  readonly id: string;
  readonly group: string;
  readonly address: string | null;
  readonly admin: string | null;
  readonly region: string | null;
  readonly runtime: string | null;
  /** The config version the proxy applied (its registration, else its `/status`). */
  readonly configVersion: string | null;
  readonly startedAt: string | null;
  readonly scrape: ScrapeView | null;
  /** Client connections open (from `/status`). */
  readonly connections: number | null;
  readonly draining: boolean | null;
  /** Panic mode (from `/status`, when the proxy reports it). */
  readonly panic: boolean | null;
  readonly rps: number | null;
  readonly errorRps: number | null;
  /** CPU use of the process in percent of one core (from `process_cpu_seconds_total`). */
  readonly cpuPercent: number | null;
  /** The last config the proxy rejected, if any. */
  readonly lastRejected: { readonly version: string; readonly reason: string } | null;
}

/** A config issue as the schema reports it (field path and reason). */
export interface IssueView {
  readonly field: string;
  readonly reason: string;
}

/** One group: its config, health, fleet and live figures. */
export interface GroupView {
  readonly name: string;
  /** znode version of `/lb-configs/<group>`; null when only proxies name the group. */
  readonly version: number | null;
  readonly modifiedAt: string | null;
  /** The stored blob (null when absent or not JSON). */
  readonly config: unknown;
  /** Problems of the stored blob (written around the API); empty when valid. */
  readonly issues: readonly IssueView[];
  readonly algorithm: string | null;
  readonly backends: readonly BackendView[];
  readonly proxies: readonly ProxyView[];
  readonly rps: number | null;
  readonly errorRps: number | null;
  readonly latency: LatencyView | null;
}

/** Latency over the last interval, milliseconds. */
export interface LatencyView {
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly mean: number | null;
}

/** One orchestrator worker and the size of what it was assigned. */
export interface WorkerView {
  readonly id: string;
  /** Backends assigned to it (null: no assignment node). */
  readonly backends: number | null;
  readonly groups: number | null;
}

/** The orchestrator cluster. */
export interface OrchestratorView {
  readonly master: string | null;
  readonly workers: readonly WorkerView[];
}

/** Everything on the overview, published whole after every change. */
export interface ConsoleState {
  /** Increases with every published state. */
  readonly seq: number;
  readonly at: number;
  readonly coordination: ConnectionView;
  /** null: no DNS provider configured. */
  readonly dns: DnsView | null;
  readonly orchestrator: OrchestratorView;
  readonly groups: readonly GroupView[];
  /** Seconds between scrapes of the proxies (the charts' resolution). */
  readonly scrapeSeconds: number;
}

/** One chart point of a group. */
export interface SeriesPoint {
  /** ms since epoch. */
  readonly t: number;
  readonly rps: number | null;
  readonly errorRps: number | null;
  /** Milliseconds. */
  readonly p50: number | null;
  readonly p99: number | null;
}

/** Chart series by group, oldest point first. */
export type SeriesByGroup = Readonly<Record<string, readonly SeriesPoint[]>>;

/** Events on the `/api/events` stream. */
export type ConsoleEvent =
  | { readonly type: "state"; readonly state: ConsoleState }
  | { readonly type: "series"; readonly series: SeriesByGroup; readonly windowMs: number }
  | { readonly type: "sample"; readonly points: Readonly<Record<string, SeriesPoint>> };

/** A backend entry of a stored config, read leniently (the blob may be invalid). */
export interface BackendEntry {
  readonly address: string;
  readonly weight: number;
  readonly drain: boolean;
}

/**
 * Reads `backend_servers` of a stored blob without validating it: every
 * entry that has an address, with its weight (default 1) and drain flag.
 *
 * @example
 * ```ts
 * import { backendEntries } from "./model.ts";
 * backendEntries({ backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", weight: 3 }] });
 * // [{ address: "10.0.0.1:80", weight: 1, drain: false }, { address: "10.0.0.2:80", ... }]
 * ```
 */
export function backendEntries(config: unknown): BackendEntry[] {
  if (typeof config !== "object" || config === null) return [];
  const list = (config as { backend_servers?: unknown }).backend_servers;
  if (!Array.isArray(list)) return [];
  const out: BackendEntry[] = [];
  for (const b of list) {
    if (typeof b === "string") out.push({ address: b, weight: 1, drain: false });
    else if (typeof b === "object" && b !== null && typeof b.address === "string") {
      const weight = typeof b.weight === "number" ? b.weight : 1;
      out.push({ address: b.address, weight, drain: b.drain === true });
    }
  }
  return out;
}
