/**
 * Where the autoscaler's samples come from: Prometheus's HTTP API when one is configured
 * ({@link PrometheusSource}), else the proxies' own `/metrics`, scraped directly
 * ({@link ScrapeSource}). Both answer the same question, "one {@link Sample} per proxy of the
 * fleet", joined to the fleet by the admin address (Prometheus's `instance` label is the target
 * address, which is the registration's `admin`). {@link FallbackSource} uses the first and, when
 * it fails, the second.
 *
 * @module
 */
import { exactAlternatives, type PrometheusClient, promString } from "../prometheus/api.ts";
import type { Sample } from "./decide.ts";
import type { FleetMember } from "./fleet.ts";
import { readingOfText, ReadingWindow } from "./samples.ts";

/** A source of per-proxy samples. */
export interface MetricsSource {
  /** `scrape` or `prometheus` (what `/status` and the metrics say). */
  readonly kind: string;
  /**
   * Samples of the members it could measure (others are simply missing).
   *
   * @throws when the source as a whole is unavailable (e.g. Prometheus down)
   */
  sample(members: readonly FleetMember[]): Promise<Sample[]>;
  /** Facts for `/status`. */
  status(): Record<string, unknown>;
}

/** Options of {@link ScrapeSource}. */
export interface ScrapeSourceOptions {
  readonly group: string;
  /** The window of the rates (CPU, requests, latency), ms. */
  readonly windowMs: number;
  /** Deadline of one scrape (ms, default 2000). */
  readonly timeoutMs?: number;
  readonly now: () => number;
  readonly fetch?: typeof fetch;
}

/**
 * Scrapes every proxy's `/metrics` (in parallel) and keeps a short window of readings per proxy.
 */
export class ScrapeSource implements MetricsSource {
  readonly kind = "scrape";
  readonly #o: ScrapeSourceOptions;
  readonly #fetch: typeof fetch;
  readonly #windows = new Map<string, { admin: string; window: ReadingWindow }>();
  #errors = 0;
  #lastError: string | null = null;

  constructor(options: ScrapeSourceOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  async sample(members: readonly FleetMember[]): Promise<Sample[]> {
    const ids = new Set(members.map((m) => m.id));
    for (const id of this.#windows.keys()) if (!ids.has(id)) this.#windows.delete(id);
    await Promise.all(members.map(async (m) => {
      if (m.admin === null) return;
      let entry = this.#windows.get(m.id);
      if (entry === undefined || entry.admin !== m.admin) {
        entry = { admin: m.admin, window: new ReadingWindow(this.#o.windowMs) };
        this.#windows.set(m.id, entry);
      }
      try {
        const r = await this.#fetch(`http://${m.admin}/metrics`, {
          signal: AbortSignal.timeout(this.#o.timeoutMs ?? 2000),
        });
        const text = await r.text();
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        entry.window.add(readingOfText(this.#o.group, this.#o.now(), text));
      } catch (e) {
        this.#errors++;
        this.#lastError = `${m.id} (${m.admin}): ${(e as Error).message}`;
      }
    }));
    const out: Sample[] = [];
    for (const m of members) {
      const s = this.#windows.get(m.id)?.window.sample(m.id);
      if (s) out.push(s);
    }
    return out;
  }

  status(): Record<string, unknown> {
    return {
      kind: this.kind,
      window_seconds: this.#o.windowMs / 1000,
      scrape_errors: this.#errors,
      last_error: this.#lastError,
    };
  }
}

/** Options of {@link PrometheusSource}. */
export interface PrometheusSourceOptions {
  readonly client: PrometheusClient;
  readonly group: string;
  /** The range of `rate()` (s); at least a few scrape intervals. */
  readonly windowSeconds: number;
}

/** The PromQL the Prometheus source runs, by sample field (exported for docs and tests). */
export function prometheusQueries(
  group: string,
  admins: readonly string[],
  windowSeconds: number,
): Record<"connections" | "at" | "cpu_percent" | "rps" | "p99_seconds", string> {
  const sel = `instance=~${promString(exactAlternatives(admins))}`;
  const g = `group=${promString(group)}`;
  const w = `${Math.max(1, Math.round(windowSeconds))}s`;
  return {
    connections: `sum by (instance) (switchyard_active_connections{${g},${sel}})`,
    at: `max by (instance) (timestamp(switchyard_active_connections{${g},${sel}}))`,
    cpu_percent: `sum by (instance) (rate(process_cpu_seconds_total{${sel}}[${w}])) * 100`,
    // a listener's proxies label requests by the group routed to, not the listener (the fleet's
    // name): per instance, the group's series, or else every group's (`or` keeps the left side)
    rps: `sum by (instance) (rate(switchyard_requests_total{${g},${sel}}[${w}])) or ` +
      `sum by (instance) (rate(switchyard_requests_total{${sel}}[${w}]))`,
    p99_seconds: `histogram_quantile(0.99, sum by (instance, le) ` +
      `(rate(switchyard_request_duration_seconds_bucket{${g},${sel}}[${w}])) or ` +
      `sum by (instance, le) (rate(switchyard_request_duration_seconds_bucket{${sel}}[${w}])))`,
  };
}

/** Reads the samples from Prometheus (five instant queries per evaluation, in parallel). */
export class PrometheusSource implements MetricsSource {
  readonly kind = "prometheus";
  readonly #o: PrometheusSourceOptions;
  #errors = 0;
  #lastError: string | null = null;

  constructor(options: PrometheusSourceOptions) {
    this.#o = options;
  }

  async sample(members: readonly FleetMember[]): Promise<Sample[]> {
    const byAdmin = new Map<string, FleetMember>();
    for (const m of members) if (m.admin !== null) byAdmin.set(m.admin, m);
    if (byAdmin.size === 0) return [];
    const q = prometheusQueries(this.#o.group, [...byAdmin.keys()], this.#o.windowSeconds);
    const fields = Object.keys(q) as (keyof typeof q)[];
    let results;
    try {
      results = await Promise.all(fields.map((f) => this.#o.client.query(q[f])));
    } catch (e) {
      this.#errors++;
      this.#lastError = (e as Error).message;
      throw e;
    }
    const values = new Map<string, Record<string, number | null>>();
    fields.forEach((f, i) => {
      for (const el of results[i]!) {
        const instance = el.metric.instance;
        if (instance === undefined || !byAdmin.has(instance)) continue;
        const v = values.get(instance) ?? {};
        v[f] = Number.isFinite(el.value) ? el.value : null;
        values.set(instance, v);
      }
    });
    const out: Sample[] = [];
    for (const [admin, v] of values) {
      if (v.at === undefined || v.at === null) continue; // no scrape of it yet
      out.push({
        id: byAdmin.get(admin)!.id,
        at: v.at * 1000,
        values: {
          connections: v.connections ?? null,
          cpu_percent: v.cpu_percent ?? null,
          rps: v.rps ?? null,
          p99_seconds: v.p99_seconds ?? null,
        },
      });
    }
    return out;
  }

  status(): Record<string, unknown> {
    return {
      kind: this.kind,
      url: this.#o.client.url,
      window_seconds: this.#o.windowSeconds,
      errors: this.#errors,
      last_error: this.#lastError,
    };
  }
}

/** Uses `primary`; when it throws, `fallback` for that evaluation. */
export class FallbackSource implements MetricsSource {
  #lastUsed: string;
  #fallbacks = 0;
  constructor(readonly primary: MetricsSource, readonly fallback: MetricsSource) {
    this.#lastUsed = primary.kind;
  }

  get kind(): string {
    return this.#lastUsed;
  }

  async sample(members: readonly FleetMember[]): Promise<Sample[]> {
    try {
      const s = await this.primary.sample(members);
      this.#lastUsed = this.primary.kind;
      return s;
    } catch {
      this.#fallbacks++;
      this.#lastUsed = this.fallback.kind;
      return await this.fallback.sample(members);
    }
  }

  status(): Record<string, unknown> {
    return {
      kind: this.#lastUsed,
      primary: this.primary.status(),
      fallback: this.fallback.status(),
      fallbacks: this.#fallbacks,
    };
  }
}
