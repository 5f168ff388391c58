/**
 * From runs to figures: the checks on each run (errors, a saturated load
 * generator, a busy machine), medians with their spread, latency added over
 * the backend hit directly, ratios to nginx, and issue 3's bars.
 *
 * @module
 */
import type { Scenario } from "./scenarios.ts";
import { round } from "./system.ts";
import type { TargetSpec } from "./targets.ts";
import type { WrkRun } from "./wrk.ts";

/** One run of one scenario against one target, with what its checks found. */
export interface Measurement extends WrkRun {
  readonly scenario: string;
  readonly target: string;
  /** Run number, from 1. */
  readonly run: number;
  readonly started_at: string;
  /** 1, or more when a run flagged only for a busy machine was repeated (this is the last). */
  readonly attempts: number;
  /** Reasons this figure is not clean (empty when it is). */
  readonly flags: string[];
}

/** Median and range over the runs. */
export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median, in percent. */
  readonly spread_pct: number;
  readonly n: number;
}

/** The figures of one scenario for one target. */
export interface Summary {
  readonly scenario: string;
  readonly target: string;
  readonly rps: Stat;
  /**
   * Requests per second per core the target used (rps / target cores): its
   * throughput per unit of CPU, which stays meaningful when the load side, not
   * the target, set the pace.
   */
  readonly rps_per_core: Stat;
  readonly latency_us: { readonly p50: Stat; readonly p99: Stat; readonly "p99.9": Stat };
  /** Target minus direct backend, paired by run; null without a `direct` measurement. */
  readonly added_latency_us: { readonly p50: Stat; readonly p99: Stat } | null;
  /** Ratios to nginx (rps: higher is better; added latency: lower is better). */
  readonly vs_nginx: {
    readonly rps: number | null;
    readonly rps_per_core: number | null;
    readonly added_p50: number | null;
    readonly added_p99: number | null;
  } | null;
  /** Medians over the runs. */
  readonly cpu: {
    readonly target_cores: number;
    readonly target_sys_cores: number;
    /** Target CPU microseconds per request (user + system), and the system part. */
    readonly us_per_request: number;
    readonly sys_us_per_request: number;
    readonly wrk_cores: number;
    readonly backends_cores: number;
    /** The largest over the runs. */
    readonly others_cores_max: number;
    /** Busy share of each core (median over the runs). */
    readonly core_busy: readonly number[];
    readonly target_threads: readonly { readonly thread: string; readonly cores: number }[];
  };
  /** Every run's flags, counted: "2/3 runs: ...". */
  readonly flags: string[];
  readonly clean: boolean;
}

/** One of issue 3's bars. */
export interface Bar {
  readonly bar: string;
  readonly target: string;
  readonly scenario: string;
  readonly measured: number | null;
  readonly threshold: number;
  readonly direction: "at least" | "at most";
  readonly pass: boolean | null;
  /** The figures behind it carry no flags. */
  readonly clean: boolean;
}

/** Thresholds of the self-checks. */
export interface CheckLimits {
  /** Other processes may use at most this much CPU (cores) before a run is flagged. */
  readonly maxOthersCores: number;
  /** wrk using this share of its threads' cores counts as saturated. */
  readonly wrkSaturation: number;
  /** Index of the core wrk and the backends are pinned to, and of the target's core (or null). */
  readonly clientCore: number | null;
  readonly targetCore: number | null;
}

/** The checks of one run: returns the flags to attach. */
export function checkRun(r: WrkRun, threads: number, kind: string, lim: CheckLimits): string[] {
  const flags: string[] = [];
  const e = r.errors;
  const errors = e.connect + e.read + e.write + e.status + e.timeout;
  if (r.requests === 0) flags.push("no requests completed");
  if (errors > 0) {
    const parts = Object.entries(e).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
    flags.push(`wrk errors: ${parts.join(", ")}`);
  }
  if (r.cpu.wrk_cores >= lim.wrkSaturation * threads) {
    flags.push(`wrk saturated its core (${pct(r.cpu.wrk_cores / threads)})`);
  }
  if (kind !== "direct" && lim.clientCore !== null && lim.targetCore !== null) {
    const client = r.cpu.core_busy[lim.clientCore] ?? 0;
    const target = r.cpu.core_busy[lim.targetCore] ?? 0;
    if (client >= 0.97 && target < 0.9) {
      flags.push(
        `load side saturated: client core ${pct(client)} busy, target core only ${pct(target)}`,
      );
    }
  }
  if (r.cpu.others_cores > lim.maxOthersCores) {
    flags.push(`machine busy: other processes used ${pct(r.cpu.others_cores)} of a core`);
  }
  return flags;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** Median (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median, range and spread of `xs`. */
export function stat(xs: readonly number[], digits = 1): Stat {
  const med = median(xs);
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return {
    median: round(med, digits),
    min: round(min, digits),
    max: round(max, digits),
    spread_pct: med !== 0 && Number.isFinite(med) ? round((max - min) / Math.abs(med) * 100, 1) : 0,
    n: xs.length,
  };
}

function countFlags(ms: readonly Measurement[]): string[] {
  // grouped by kind (the text without its figures); differing figures become ranges
  const groups = new Map<string, string[]>();
  for (const m of ms) {
    for (const f of m.flags) {
      const key = f.replace(/\d+(\.\d+)?/g, "#");
      const list = groups.get(key);
      if (list) list.push(f);
      else groups.set(key, [f]);
    }
  }
  return [...groups].map(([key, texts]) => {
    const numbers = texts.map((t) => (t.match(/\d+(\.\d+)?/g) ?? []).map(Number));
    let k = 0;
    const text = key.replace(/#/g, () => {
      const xs = numbers.map((n) => n[k]!);
      k++;
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      return lo === hi ? String(lo) : `${lo}-${hi}`;
    });
    return ms.length > 1 ? `${texts.length}/${ms.length} runs: ${text}` : text;
  });
}

/** Summarizes every (scenario, target) pair. */
export function summarize(
  scenarios: readonly Scenario[],
  targets: readonly Pick<TargetSpec, "id" | "kind">[],
  ms: readonly Measurement[],
): Summary[] {
  const out: Summary[] = [];
  for (const s of scenarios) {
    const direct = ms.filter((m) => m.scenario === s.id && m.target === "direct");
    const nginxRuns = ms.filter((m) => m.scenario === s.id && m.target === "nginx");
    const addedOf = (runs: readonly Measurement[], q: "p50" | "p99"): number[] => {
      const xs: number[] = [];
      for (const m of runs) {
        const d = direct.find((x) => x.run === m.run);
        if (d) xs.push(m.latency_us[q] - d.latency_us[q]);
      }
      return xs;
    };
    const nginxRps = median(nginxRuns.map((m) => m.rps));
    const perCore = (m: Measurement) => m.cpu.target_cores > 0 ? m.rps / m.cpu.target_cores : NaN;
    const nginxPerCore = median(nginxRuns.map(perCore));
    const nginxAdded50 = median(addedOf(nginxRuns, "p50"));
    const nginxAdded99 = median(addedOf(nginxRuns, "p99"));
    for (const t of targets) {
      const runs = ms.filter((m) => m.scenario === s.id && m.target === t.id);
      if (runs.length === 0) continue;
      const a50 = addedOf(runs, "p50");
      const a99 = addedOf(runs, "p99");
      const added = t.kind !== "direct" && a50.length > 0
        ? { p50: stat(a50), p99: stat(a99) }
        : null;
      const ratio = (x: number, base: number) =>
        Number.isFinite(x) && Number.isFinite(base) && base > 0 ? round(x / base, 3) : null;
      const rps = stat(runs.map((m) => m.rps));
      const rpsPerCore = stat(runs.map(perCore), 0);
      const vs = nginxRuns.length > 0 && t.kind !== "direct"
        ? {
          rps: ratio(rps.median, nginxRps),
          rps_per_core: ratio(rpsPerCore.median, nginxPerCore),
          added_p50: added ? ratio(added.p50.median, nginxAdded50) : null,
          added_p99: added ? ratio(added.p99.median, nginxAdded99) : null,
        }
        : null;
      const threads = new Map<string, number[]>();
      for (const m of runs) {
        for (const th of m.cpu.target_threads) {
          const list = threads.get(th.thread);
          if (list) list.push(th.cores);
          else threads.set(th.thread, [th.cores]);
        }
      }
      const flags = countFlags(runs);
      out.push({
        scenario: s.id,
        target: t.id,
        rps,
        rps_per_core: rpsPerCore,
        latency_us: {
          p50: stat(runs.map((m) => m.latency_us.p50)),
          p99: stat(runs.map((m) => m.latency_us.p99)),
          "p99.9": stat(runs.map((m) => m.latency_us["p99.9"])),
        },
        added_latency_us: added,
        vs_nginx: vs,
        cpu: {
          target_cores: round(median(runs.map((m) => m.cpu.target_cores)), 3),
          target_sys_cores: round(median(runs.map((m) => m.cpu.target_sys_cores)), 3),
          us_per_request: round(median(runs.map((m) => m.cpu.target_cores / m.rps * 1e6)), 2),
          sys_us_per_request: round(
            median(runs.map((m) => m.cpu.target_sys_cores / m.rps * 1e6)),
            2,
          ),
          wrk_cores: round(median(runs.map((m) => m.cpu.wrk_cores)), 3),
          backends_cores: round(median(runs.map((m) => m.cpu.backends_cores)), 3),
          others_cores_max: round(Math.max(...runs.map((m) => m.cpu.others_cores)), 3),
          core_busy: (runs[0]?.cpu.core_busy ?? []).map((_, i) =>
            round(median(runs.map((m) => m.cpu.core_busy[i] ?? 0)), 3)
          ),
          target_threads: [...threads]
            .map(([thread, xs]) => ({ thread, cores: round(median(xs), 3) }))
            .sort((x, y) => y.cores - x.cores),
        },
        flags,
        clean: flags.length === 0,
      });
    }
  }
  return out;
}

/** Issue 3's bars, from the summaries (null when a figure is missing). */
export function bars(summaries: readonly Summary[]): Bar[] {
  const find = (scenario: string, target: string) =>
    summaries.find((s) => s.scenario === scenario && s.target === target);
  const nginxClean = (scenario: string) => find(scenario, "nginx")?.clean ?? false;
  const def = (
    bar: string,
    target: string,
    scenario: string,
    pick: (s: Summary) => number | null | undefined,
    direction: Bar["direction"],
    threshold: number,
  ): Bar => {
    const s = find(scenario, target);
    const measured = s ? pick(s) ?? null : null;
    const pass = measured === null
      ? null
      : direction === "at least"
      ? measured >= threshold
      : measured <= threshold;
    const directClean = find(scenario, "direct")?.clean ?? true;
    return {
      bar,
      target,
      scenario,
      measured,
      threshold,
      direction,
      pass,
      clean: (s?.clean ?? false) && nginxClean(scenario) && directClean,
    };
  };
  return [
    def(
      "Switchyard under Bun: requests/s at 50 connections, at least 0.9x nginx",
      "switchyard-bun",
      "rps-c50",
      (s) => s.vs_nginx?.rps,
      "at least",
      0.9,
    ),
    def(
      "Switchyard under Bun: added median latency at 1 connection, at most 1.2x nginx's",
      "switchyard-bun",
      "lat-c1",
      (s) => s.vs_nginx?.added_p50,
      "at most",
      1.2,
    ),
    def(
      "Switchyard under Deno: requests/s at 50 connections, at least 0.5x nginx",
      "switchyard-deno",
      "rps-c50",
      (s) => s.vs_nginx?.rps,
      "at least",
      0.5,
    ),
  ];
}
