/**
 * From two scrapes of a proxy's `/metrics` to rates: requests and 5xx per
 * second per group and backend, latency quantiles from the histogram's bucket
 * deltas (as PromQL's `histogram_quantile(rate(...))`), CPU use. Counter
 * resets (a restarted process) count from zero, as Prometheus does. Pure.
 *
 * @module
 */
import type { PromSample } from "../../prometheus/exposition.ts";

/** Cumulative counters of one backend. */
export interface BackendCounters {
  readonly requests: number;
  readonly errors: number;
}

/** Cumulative counters of one group in one proxy. */
export interface GroupCounters {
  /** Every response, including the ones the proxy answered itself (backend `none`). */
  readonly requests: number;
  /** Responses with a 5xx status. */
  readonly errors: number;
  readonly byBackend: ReadonlyMap<string, BackendCounters>;
  /** Cumulative bucket counts by upper bound (seconds; `Infinity` for `+Inf`), all backends. */
  readonly buckets: ReadonlyMap<number, number>;
  readonly durationSum: number;
  readonly durationCount: number;
}

/** Everything the console takes from one scrape of one proxy. */
export interface ProxyCounters {
  /** When it was scraped (ms). */
  readonly at: number;
  readonly groups: ReadonlyMap<string, GroupCounters>;
  /** `process_cpu_seconds_total`, when exported. */
  readonly cpuSeconds: number | null;
}

interface MutableGroup {
  requests: number;
  errors: number;
  byBackend: Map<string, { requests: number; errors: number }>;
  buckets: Map<number, number>;
  durationSum: number;
  durationCount: number;
}

function groupOf(map: Map<string, MutableGroup>, name: string): MutableGroup {
  let g = map.get(name);
  if (!g) {
    g = {
      requests: 0,
      errors: 0,
      byBackend: new Map(),
      buckets: new Map(),
      durationSum: 0,
      durationCount: 0,
    };
    map.set(name, g);
  }
  return g;
}

/**
 * Extracts the console's counters from parsed samples.
 *
 * @param samples parsed `/metrics`
 * @param at scrape time (ms)
 */
export function countersFromSamples(samples: readonly PromSample[], at: number): ProxyCounters {
  const groups = new Map<string, MutableGroup>();
  let cpuSeconds: number | null = null;
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    const group = s.labels.group;
    if (s.name === "process_cpu_seconds_total") {
      cpuSeconds = (cpuSeconds ?? 0) + s.value;
      continue;
    }
    if (group === undefined) continue;
    if (s.name === "switchyard_requests_total") {
      const g = groupOf(groups, group);
      const isError = s.labels.class === "5xx" || /^5\d\d$/.test(s.labels.code ?? "");
      g.requests += s.value;
      if (isError) g.errors += s.value;
      const backend = s.labels.backend;
      if (backend !== undefined && backend !== "none") {
        const b = g.byBackend.get(backend) ?? { requests: 0, errors: 0 };
        b.requests += s.value;
        if (isError) b.errors += s.value;
        g.byBackend.set(backend, b);
      }
    } else if (s.name === "switchyard_request_duration_seconds_bucket") {
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      if (Number.isNaN(le)) continue;
      const g = groupOf(groups, group);
      g.buckets.set(le, (g.buckets.get(le) ?? 0) + s.value);
    } else if (s.name === "switchyard_request_duration_seconds_sum") {
      groupOf(groups, group).durationSum += s.value;
    } else if (s.name === "switchyard_request_duration_seconds_count") {
      groupOf(groups, group).durationCount += s.value;
    }
  }
  return { at, groups, cpuSeconds };
}

/** Increase of a counter; a smaller value means the process restarted: count from zero. */
export function counterDelta(prev: number, cur: number): number {
  return cur >= prev ? cur - prev : cur;
}

/** Rates of one group in one proxy over one interval. */
export interface GroupRates {
  readonly rps: number;
  readonly errorRps: number;
  readonly byBackend: ReadonlyMap<string, { readonly rps: number; readonly errorRps: number }>;
  /** Increase of each cumulative bucket over the interval. */
  readonly bucketDeltas: ReadonlyMap<number, number>;
  readonly sumDelta: number;
  readonly countDelta: number;
}

/** Rates of one proxy over one interval. */
export interface ProxyRates {
  readonly seconds: number;
  readonly groups: ReadonlyMap<string, GroupRates>;
  readonly cpuPercent: number | null;
}

/**
 * Rates between two scrapes of the same proxy; null when the interval is not positive.
 *
 * @example
 * ```ts ignore
 * const r = ratesBetween(previous, current);
 * r?.groups.get("api")?.rps;
 * ```
 */
export function ratesBetween(prev: ProxyCounters, cur: ProxyCounters): ProxyRates | null {
  const seconds = (cur.at - prev.at) / 1000;
  if (!(seconds > 0)) return null;
  const groups = new Map<string, GroupRates>();
  for (const [name, c] of cur.groups) {
    const p = prev.groups.get(name);
    const byBackend = new Map<string, { rps: number; errorRps: number }>();
    for (const [addr, b] of c.byBackend) {
      const pb = p?.byBackend.get(addr);
      byBackend.set(addr, {
        rps: counterDelta(pb?.requests ?? 0, b.requests) / seconds,
        errorRps: counterDelta(pb?.errors ?? 0, b.errors) / seconds,
      });
    }
    const bucketDeltas = new Map<number, number>();
    for (const [le, n] of c.buckets) bucketDeltas.set(le, counterDelta(p?.buckets.get(le) ?? 0, n));
    groups.set(name, {
      rps: counterDelta(p?.requests ?? 0, c.requests) / seconds,
      errorRps: counterDelta(p?.errors ?? 0, c.errors) / seconds,
      byBackend,
      bucketDeltas,
      sumDelta: counterDelta(p?.durationSum ?? 0, c.durationSum),
      countDelta: counterDelta(p?.durationCount ?? 0, c.durationCount),
    });
  }
  const cpuPercent = prev.cpuSeconds !== null && cur.cpuSeconds !== null
    ? counterDelta(prev.cpuSeconds, cur.cpuSeconds) / seconds * 100
    : null;
  return { seconds, groups, cpuPercent };
}

/** Sums cumulative bucket maps (several proxies, same bounds). */
export function mergeBuckets(maps: Iterable<ReadonlyMap<number, number>>): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of maps) for (const [le, n] of m) out.set(le, (out.get(le) ?? 0) + n);
  return out;
}
