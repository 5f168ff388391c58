/**
 * Turning what a proxy's `/metrics` says into the decision core's {@link Sample}: the active
 * connections (a gauge, read as is), and over a window between two scrapes the CPU (percent of
 * one core, from `process_cpu_seconds_total`), the request rate and the p99 latency (from the
 * deltas of `switchyard_request_duration_seconds` buckets, summed over backends). Pure.
 *
 * @module
 */
import {
  bucketsOf,
  histogramQuantile,
  parseExposition,
  type PromSample,
  sumOf,
} from "../prometheus/exposition.ts";
import type { Sample } from "./decide.ts";

/** The figures of one scrape of one proxy that the autoscaler keeps. */
export interface Reading {
  /** When it was scraped (ms). */
  readonly at: number;
  readonly connections: number | null;
  readonly cpuSeconds: number | null;
  readonly requests: number | null;
  /** Latency buckets summed over backends (`le -> cumulative count`). */
  readonly buckets: ReadonlyMap<number, number>;
}

/**
 * Reduces a scrape of a proxy serving `group` to a {@link Reading}. A listener's proxy (the fleet
 * named after the listener) labels its connections with the listener's name but its requests
 * and latencies with the group each was routed to: when none carry `group`, every group's count.
 */
export function readingOf(group: string, at: number, samples: readonly PromSample[]): Reading {
  const g = { group };
  const requests = "switchyard_requests_total";
  const latency = "switchyard_request_duration_seconds";
  const own = bucketsOf(samples, latency, g);
  return {
    at,
    connections: sumOf(samples, "switchyard_active_connections", g),
    cpuSeconds: sumOf(samples, "process_cpu_seconds_total"),
    requests: sumOf(samples, requests, g) ?? sumOf(samples, requests),
    buckets: own.size > 0 ? own : bucketsOf(samples, latency),
  };
}

/** Parses exposition text and reduces it (see {@link readingOf}). */
export function readingOfText(group: string, at: number, text: string): Reading {
  return readingOf(group, at, parseExposition(text));
}

function rate(cur: number | null, prev: number | null, seconds: number): number | null {
  if (cur === null || prev === null || !(seconds > 0) || cur < prev) return null; // reset: unknown
  return (cur - prev) / seconds;
}

/**
 * The sample of one proxy from its latest reading and an earlier one (the start of the
 * window; null: only the gauges are known). A counter that went down (the process restarted)
 * makes the windowed figures unknown rather than wrong.
 *
 * @example
 * ```ts
 * import { readingOfText, sampleOf } from "./samples.ts";
 * const a = readingOfText("g", 0, 'process_cpu_seconds_total 1\nswitchyard_active_connections{group="g"} 2\n');
 * const b = readingOfText("g", 2000, 'process_cpu_seconds_total 2\nswitchyard_active_connections{group="g"} 5\n');
 * console.log(sampleOf("p1", a, b).values); // { connections: 5, cpu_percent: 50, rps: 0, p99_seconds: null }
 * ```
 */
export function sampleOf(id: string, earlier: Reading | null, latest: Reading): Sample {
  const seconds = earlier === null ? 0 : (latest.at - earlier.at) / 1000;
  const cpu = rate(latest.cpuSeconds, earlier?.cpuSeconds ?? null, seconds);
  // no requests series yet means none served (the counters' children appear on first use)
  const rps = earlier === null ? null : rate(latest.requests ?? 0, earlier.requests ?? 0, seconds);
  let p99: number | null = null;
  if (earlier !== null && seconds > 0) {
    const delta = new Map<number, number>();
    let reset = false;
    for (const [le, count] of latest.buckets) {
      const before = earlier.buckets.get(le) ?? 0;
      if (count < before) reset = true;
      delta.set(le, count - before);
    }
    if (!reset) p99 = histogramQuantile(0.99, delta);
  }
  return {
    id,
    at: latest.at,
    values: {
      connections: latest.connections,
      cpu_percent: cpu === null ? null : cpu * 100,
      rps,
      p99_seconds: p99,
    },
  };
}

/**
 * Readings of one proxy over a sliding window: {@link ReadingWindow.add} keeps the latest ones,
 * and {@link ReadingWindow.sample} compares the newest with the oldest kept that is at least
 * `windowMs` old (or the oldest there is).
 */
export class ReadingWindow {
  #readings: Reading[] = [];
  constructor(readonly windowMs: number) {}

  /** Adds a reading (older ones beyond the window are dropped, one is kept before it). */
  add(r: Reading): void {
    this.#readings.push(r);
    const cutoff = r.at - this.windowMs;
    while (this.#readings.length > 2 && this.#readings[1]!.at <= cutoff) this.#readings.shift();
  }

  /** The sample from the window, null before the first reading. */
  sample(id: string): Sample | null {
    const latest = this.#readings.at(-1);
    if (!latest) return null;
    const earliest = this.#readings.length > 1 ? this.#readings[0]! : null;
    return sampleOf(id, earliest, latest);
  }

  /** The newest reading. */
  latest(): Reading | null {
    return this.#readings.at(-1) ?? null;
  }
}
