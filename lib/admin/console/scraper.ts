/**
 * Live figures of the proxy fleet: every few seconds, each registered
 * proxy's admin `/status` and `/metrics` are read (its registration names
 * the admin address), turned into rates against the previous scrape, summed
 * per group, and appended to a ring buffer of chart points (the last ~10
 * minutes). Scrapes run concurrently with a timeout each and never overlap
 * the next tick; a proxy that fails to answer is shown as such and counts
 * for nothing in that tick.
 *
 * @module
 */
import type { Logger } from "../../log.ts";
import type { Registration, Topology } from "./live_state.ts";
import type { LatencyView, ScrapeView, SeriesByGroup, SeriesPoint } from "./model.ts";
import { histogramQuantile, parseExposition } from "../../prometheus/exposition.ts";
import {
  countersFromSamples,
  mergeBuckets,
  type ProxyCounters,
  type ProxyRates,
  ratesBetween,
} from "./rates.ts";
import { Ring } from "./ring.ts";

/** What `/status` says about one backend. */
export interface BackendFacts {
  readonly inflight: number | null;
  readonly usable: boolean | null;
  readonly ejected: boolean | null;
}

/** The parts of a proxy's `/status` the console uses (fields absent in older proxies are null). */
export interface StatusFacts {
  readonly connections: number | null;
  readonly draining: boolean | null;
  readonly panic: boolean | null;
  readonly configVersion: string | null;
  readonly lastRejected: { readonly version: string; readonly reason: string } | null;
  readonly backends: ReadonlyMap<string, BackendFacts>;
}

/** Everything known about one proxy from its last scrapes. */
export interface ProxyStats {
  readonly scrape: ScrapeView;
  readonly status: StatusFacts | null;
  readonly counters: ProxyCounters | null;
  /** Rates over the last interval (null: first scrape, or the last one failed). */
  readonly rates: ProxyRates | null;
}

/** A group's figures over the last interval. */
export interface GroupNow {
  readonly rps: number | null;
  readonly errorRps: number | null;
  readonly latency: LatencyView | null;
}

/** Options of {@link FleetScraper}. */
export interface ScraperOptions {
  readonly log: Logger;
  /** Between scrapes (default 2000). */
  readonly intervalMs?: number;
  /** Per request (default 1500). */
  readonly timeoutMs?: number;
  /** How much chart history to keep (default 10 minutes). */
  readonly windowMs?: number;
  /** Largest response read (default 4 MiB). */
  readonly maxBytes?: number;
  /** Scrapes at once (default 16). */
  readonly concurrency?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

const num = (v: unknown): number | null => typeof v === "number" && Number.isFinite(v) ? v : null;
const bool = (v: unknown): boolean | null => typeof v === "boolean" ? v : null;
const str = (v: unknown): string | null =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : null;
const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : null;

/** Reads the console's facts out of a `/status` document, leniently. */
export function statusFacts(doc: unknown): StatusFacts {
  const d = obj(doc) ?? {};
  const config = obj(d.config);
  const rejected = obj(d.last_rejected);
  const backends = new Map<string, BackendFacts>();
  if (Array.isArray(d.backends)) {
    for (const raw of d.backends) {
      const b = obj(raw);
      if (!b || typeof b.address !== "string") continue;
      const outlier = obj(b.outlier);
      backends.set(b.address, {
        inflight: num(b.inflight),
        usable: bool(b.usable),
        ejected: bool(b.ejected) ?? bool(outlier?.ejected),
      });
    }
  }
  return {
    connections: num(d.connections),
    draining: bool(d.draining),
    panic: bool(d.panic) ?? bool(config?.panic),
    configVersion: str(config?.version),
    lastRejected: rejected
      ? { version: str(rejected.version) ?? "?", reason: str(rejected.reason) ?? "" }
      : null,
    backends,
  };
}

const WILDCARD = new Set(["0.0.0.0", "::", "[::]", ""]);

function splitHostPort(hp: string): { host: string; port: string } | null {
  const i = hp.lastIndexOf(":");
  if (i <= 0 || i === hp.length - 1) return null;
  return { host: hp.slice(0, i), port: hp.slice(i + 1) };
}

/**
 * The base URL of a proxy's admin endpoints from its registration; a
 * wildcard admin host is replaced by the host the proxy advertises (or
 * loopback). Null when the registration has no usable admin address.
 *
 * @example
 * ```ts
 * import { adminBaseUrl } from "./scraper.ts";
 * adminBaseUrl({ admin: "0.0.0.0:9090", address: "10.0.0.7:8080" }); // "http://10.0.0.7:9090"
 * ```
 */
export function adminBaseUrl(
  reg: Pick<Registration, "admin" | "address">,
): string | null {
  const admin = reg.admin ? splitHostPort(reg.admin) : null;
  if (!admin || !/^\d{1,5}$/.test(admin.port) || Number(admin.port) === 0) return null;
  let host = admin.host;
  if (WILDCARD.has(host)) {
    const adv = reg.address ? splitHostPort(reg.address) : null;
    host = adv && !WILDCARD.has(adv.host) ? adv.host : "127.0.0.1";
  }
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `http://${host}:${admin.port}`;
}

/** Latency figures (ms) from bucket increases (seconds). */
export function latencyOf(
  buckets: ReadonlyMap<number, number>,
  sum: number,
  count: number,
): LatencyView | null {
  if (!(count > 0)) return null;
  const ms = (v: number | null) => v === null ? null : v * 1000;
  return {
    p50: ms(histogramQuantile(0.5, buckets)),
    p90: ms(histogramQuantile(0.9, buckets)),
    p99: ms(histogramQuantile(0.99, buckets)),
    mean: sum / count * 1000,
  };
}

const proxyKey = (r: Pick<Registration, "group" | "id">) => `${r.group}/${r.id}`;

/**
 * Scrapes the fleet and keeps chart series.
 *
 * @example
 * ```ts ignore
 * const scraper = new FleetScraper({ log });
 * const points = await scraper.tick(live.topology()); // one round; start() loops
 * ```
 */
export class FleetScraper {
  readonly #o: ScraperOptions;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #stats = new Map<string, ProxyStats>();
  readonly #rings = new Map<string, Ring<SeriesPoint>>();
  readonly #groupNow = new Map<string, GroupNow>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  #stopped = false;
  /** Scrapes done and failed since start. */
  scrapes = 0;
  failures = 0;

  constructor(options: ScraperOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Seconds between scrapes. */
  get intervalMs(): number {
    return this.#o.intervalMs ?? 2000;
  }

  /** How much history the series hold. */
  get windowMs(): number {
    return this.#o.windowMs ?? 600_000;
  }

  /**
   * Scrapes every proxy in `topology` now and appends one chart point per group.
   * @returns the new points by group
   */
  async tick(topology: Topology): Promise<Record<string, SeriesPoint>> {
    const targets = topology.groups.flatMap((g) => g.proxies);
    const live = new Set(targets.map(proxyKey));
    for (const k of [...this.#stats.keys()]) if (!live.has(k)) this.#stats.delete(k);
    const queue = [...targets];
    const workers = Array.from(
      { length: Math.min(this.#o.concurrency ?? 16, queue.length) },
      async () => {
        for (let r = queue.shift(); r; r = queue.shift()) await this.#scrape(r);
      },
    );
    await Promise.all(workers);

    const at = this.#now();
    const points: Record<string, SeriesPoint> = {};
    const capacity = Math.max(2, Math.ceil(this.windowMs / this.intervalMs));
    const groups = new Set(topology.groups.map((g) => g.name));
    for (const k of [...this.#rings.keys()]) {
      if (!groups.has(k)) {
        this.#rings.delete(k);
        this.#groupNow.delete(k);
      }
    }
    for (const g of topology.groups) {
      let rps: number | null = null;
      let errorRps: number | null = null;
      let sum = 0;
      let count = 0;
      const buckets: ReadonlyMap<number, number>[] = [];
      for (const p of g.proxies) {
        const rates = this.#stats.get(proxyKey(p))?.rates?.groups.get(g.name);
        if (!rates) continue;
        rps = (rps ?? 0) + rates.rps;
        errorRps = (errorRps ?? 0) + rates.errorRps;
        sum += rates.sumDelta;
        count += rates.countDelta;
        buckets.push(rates.bucketDeltas);
      }
      // a group whose proxies all answered with no traffic still has a rate: zero
      if (rps === null && g.proxies.some((p) => this.#stats.get(proxyKey(p))?.rates)) {
        rps = 0;
        errorRps = 0;
      }
      const latency = latencyOf(mergeBuckets(buckets), sum, count);
      this.#groupNow.set(g.name, { rps, errorRps, latency });
      const point: SeriesPoint = {
        t: at,
        rps,
        errorRps,
        p50: latency?.p50 ?? null,
        p99: latency?.p99 ?? null,
      };
      let ring = this.#rings.get(g.name);
      if (!ring || ring.capacity !== capacity) {
        const old = ring?.toArray() ?? [];
        ring = new Ring<SeriesPoint>(capacity);
        for (const p of old) ring.push(p);
        this.#rings.set(g.name, ring);
      }
      ring.push(point);
      points[g.name] = point;
    }
    return points;
  }

  /** Runs {@link tick} every interval (never two at once) and hands each round's points over. */
  start(
    topology: () => Topology,
    onPoints: (points: Record<string, SeriesPoint>) => void,
  ): void {
    this.#stopped = false;
    const loop = async () => {
      if (this.#stopped || this.#running) return;
      this.#running = true;
      try {
        onPoints(await this.tick(topology()));
      } catch (e) {
        this.#o.log.warn("console scrape round failed", { error: String(e) });
      } finally {
        this.#running = false;
        if (!this.#stopped) this.#timer = setTimeout(loop, this.intervalMs);
      }
    };
    this.#timer = setTimeout(loop, 0);
  }

  /** Stops the loop (an ongoing round finishes on its own). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The last facts about a proxy. */
  stats(reg: Pick<Registration, "group" | "id">): ProxyStats | undefined {
    return this.#stats.get(proxyKey(reg));
  }

  /** A group's figures over the last interval. */
  groupNow(group: string): GroupNow | undefined {
    return this.#groupNow.get(group);
  }

  /** Every group's chart points, oldest first. */
  series(): SeriesByGroup {
    const out: Record<string, SeriesPoint[]> = {};
    for (const [g, ring] of this.#rings) out[g] = ring.toArray();
    return out;
  }

  async #get(url: string): Promise<string> {
    const r = await this.#fetch(url, {
      signal: AbortSignal.timeout(this.#o.timeoutMs ?? 1500),
      headers: { accept: "application/json, text/plain" },
    });
    if (!r.ok) {
      await r.body?.cancel();
      throw new Error(`${new URL(url).pathname} answered ${r.status}`);
    }
    const max = this.#o.maxBytes ?? 4 * 1024 * 1024;
    if (Number(r.headers.get("content-length") ?? 0) > max) {
      await r.body?.cancel();
      throw new Error(`${new URL(url).pathname} is larger than ${max} bytes`);
    }
    const text = await r.text();
    if (text.length > max) throw new Error(`${new URL(url).pathname} is larger than ${max} bytes`);
    return text;
  }

  async #scrape(reg: Registration): Promise<void> {
    const key = proxyKey(reg);
    const prev = this.#stats.get(key);
    const base = adminBaseUrl(reg);
    this.scrapes++;
    if (!base) {
      this.failures++;
      this.#stats.set(key, {
        scrape: { ok: false, at: this.#now(), error: "no admin address in its registration" },
        status: null,
        counters: null,
        rates: null,
      });
      return;
    }
    try {
      const [statusText, metricsText] = await Promise.all([
        this.#get(`${base}/status`),
        this.#get(`${base}/metrics`),
      ]);
      const at = this.#now();
      const counters = countersFromSamples(parseExposition(metricsText), at);
      const status = statusFacts(JSON.parse(statusText));
      const rates = prev?.counters ? ratesBetween(prev.counters, counters) : null;
      this.#stats.set(key, { scrape: { ok: true, at, error: null }, status, counters, rates });
    } catch (e) {
      this.failures++;
      const error = e instanceof Error && e.name === "TimeoutError"
        ? "timed out"
        : String((e as Error).message ?? e);
      this.#stats.set(key, {
        scrape: { ok: false, at: this.#now(), error },
        status: prev?.status ?? null,
        counters: prev?.counters ?? null,
        rates: null,
      });
    }
  }
}
