/**
 * From runs to figures: the checks on each run (errors, a saturated load
 * generator, a busy machine), medians with their spread, latency added over
 * the backend hit directly, ratios to nginx, and the issues' bars (3, 14, and
 * the TLS ones of 15 and 16).
 *
 * @module
 */
import type { ControlFigure } from "./control/common.ts";
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

/** One bar from the issues, with the figure measured against it. */
export interface Bar {
  readonly bar: string;
  /** The issue that set it (3: speed; 4: propagation; 5: orchestrator; 6: keepalived). */
  readonly issue?: number;
  /** Data plane: the target; control plane: "-". */
  readonly target: string;
  /** Data plane: the scenario; control plane: the figure's id. */
  readonly scenario: string;
  readonly measured: number | null;
  /** What `measured` is in: a ratio to nginx ("x"), milliseconds or seconds. */
  readonly unit?: "x" | "ms" | "s";
  readonly threshold: number;
  readonly direction: "at least" | "at most" | "under";
  readonly pass: boolean | null;
  /** The figures behind it carry no flags. */
  readonly clean: boolean;
  /** What limits the figure (the machine, the method, the configuration). */
  readonly limits?: string;
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
    limits: (s: Summary | undefined) => string,
  ): Bar => {
    const s = find(scenario, target);
    const measured = s ? pick(s) ?? null : null;
    const pass = measured === null ? null : passes(measured, direction, threshold);
    const directClean = find(scenario, "direct")?.clean ?? true;
    return {
      bar,
      issue: 3,
      target,
      scenario,
      measured,
      unit: "x",
      threshold,
      direction,
      pass,
      clean: (s?.clean ?? false) && nginxClean(scenario) && directClean,
      limits: limits(s),
    };
  };
  const rpsLimits = (s: Summary | undefined): string => {
    const nginx = find("rps-c50", "nginx");
    if (!s || !nginx) return "not measured";
    const parts = [
      `one core for the proxy, wrk and both backends on the other; it used ` +
      `${s.cpu.us_per_request.toFixed(1)} µs of CPU per request against nginx's ` +
      `${nginx.cpu.us_per_request.toFixed(1)} µs, and ran its core at ` +
      `${Math.round(s.cpu.target_cores * 100)}%`,
    ];
    if (!nginx.clean) {
      parts.push(
        "nginx's own figure is a lower bound (the load core was saturated, not nginx's), " +
          "so the ratio flatters Switchyard",
      );
    }
    if (s.vs_nginx?.rps_per_core != null) {
      parts.push(`per core of CPU used: ${s.vs_nginx.rps_per_core.toFixed(2)}x nginx`);
    }
    return parts.join("; ");
  };
  const latLimits = (s: Summary | undefined): string => {
    const nginx = find("lat-c1", "nginx");
    if (!s || !nginx || !s.added_latency_us || !nginx.added_latency_us) return "not measured";
    return `a few microseconds each (${s.added_latency_us.p50.median} µs against nginx's ` +
      `${nginx.added_latency_us.p50.median} µs; wrk reports whole µs, the runs spread ` +
      `${s.added_latency_us.p50.min}-${s.added_latency_us.p50.max} µs), measured with ` +
      `everything on one vCPU of a VM`;
  };
  return [
    def(
      "Switchyard under Bun: requests/s at 50 connections, at least 0.9x nginx",
      "switchyard-bun",
      "rps-c50",
      (s) => s.vs_nginx?.rps,
      "at least",
      0.9,
      rpsLimits,
    ),
    def(
      "Switchyard under Bun: added median latency at 1 connection, at most 1.2x nginx's",
      "switchyard-bun",
      "lat-c1",
      (s) => s.vs_nginx?.added_p50,
      "at most",
      1.2,
      latLimits,
    ),
    def(
      "Switchyard under Deno: requests/s at 50 connections, at least 0.5x nginx",
      "switchyard-deno",
      "rps-c50",
      (s) => s.vs_nginx?.rps,
      "at least",
      0.5,
      rpsLimits,
    ),
  ];
}

/** Whether `measured` meets a bar. */
export function passes(measured: number, direction: Bar["direction"], threshold: number): boolean {
  return direction === "at least"
    ? measured >= threshold
    : direction === "at most"
    ? measured <= threshold
    : measured < threshold;
}

/** The control plane's bars (issues 4, 5 and 6), from its figures. */
export function controlBars(figures: readonly ControlFigure[]): Bar[] {
  const out: Bar[] = [];
  const def = (
    f: ControlFigure | undefined,
    id: string,
    issue: number,
    bar: string,
    pick: (f: ControlFigure) => number | null,
    direction: Bar["direction"],
    threshold: number,
    limits: (f: ControlFigure) => string,
  ) => {
    const measured = f && !f.error && f.stat ? pick(f) : null;
    out.push({
      bar,
      issue,
      target: "-",
      scenario: id,
      measured,
      unit: f?.unit ?? "ms",
      threshold,
      direction,
      pass: measured === null ? null : passes(measured, direction, threshold),
      clean: f !== undefined && f.error === null && f.flags.length === 0 &&
        !f.source.startsWith("NOT"),
      limits: !f ? "not run" : f.error ? `not measured: ${f.error}` : limits(f),
    });
  };
  const get = (id: string) => figures.find((f) => f.id === id);
  // issue 4's bar is for five proxies (N = 1 and 20 are reported in the table, not barred)
  for (const method of ["zk", "api"] as const) {
    const id = `propagation-${method}-n5`;
    def(
      get(id),
      id,
      4,
      `Config propagation, ${
        method === "zk" ? "ZooKeeper write (as zkCli.sh set)" : "admin API write"
      } -> applied on all 5 proxies: p99 under 25 ms`,
      (f) => f.stat!.p99,
      "under",
      25,
      (f) =>
        `${f.stat!.n} writes, 1 ms clock; 5 proxy processes, ZooKeeper and the writer share ` +
        `2 cores (the machine was ${f.load?.machine_busy_cores ?? "?"} cores busy on ` +
        `average): every proxy's watch delivery and config swap queues for the same CPU`,
    );
  }
  for (const rt of ["deno", "bun"]) {
    for (const kind of ["steady", "failure"]) {
      const id = `orchestrator-${rt}-${kind}`;
      const f = get(id);
      if (!f) continue;
      def(
        f,
        id,
        5,
        `Orchestrator under ${rt === "bun" ? "Bun" : "Deno"}, 5,000 backends at 1 s, probe lag ` +
          `p99 under 250 ms (${kind === "steady" ? "steady" : "1,000 failing"})`,
        (x) => x.stat!.p99,
        "under",
        250,
        (x) => {
          const e = x.extra ?? {};
          return `interpolated from the lag histograms' buckets; three orchestrators, the ` +
            `simulated backends and ZooKeeper on 2 cores (machine ${
              e.machine_busy_percent ?? "?"
            }% busy); ${x.source.startsWith("NOT") ? x.source : "measured in this run"}`;
        },
      );
    }
  }
  for (
    const [id, what] of [
      ["keepalived-coredns-death", "master's CoreDNS killed"],
      ["keepalived-stopped", "master's keepalived stopped"],
    ] as const
  ) {
    def(
      get(id),
      id,
      6,
      `keepalived failover (${what}): at most 3 s of failed queries, every time`,
      (f) => f.stat!.max,
      "at most",
      3,
      (f) =>
        `worst of ${f.stat!.n} failovers; a query fails after 1 s, queries every 100 ms; ` +
        `VRRP advert_int 1 s: a node lost without a last advert (host or link down) takes ` +
        `3 x advert_int + skew (~3.4 s in the lab), which this does not measure`,
    );
  }
  return out;
}

/**
 * Issue 14's bar: a proxy serving 1,000 routes (`--listener`) keeps within 5%
 * of the same runtime serving one group (`--group`), at 50 connections, in
 * the same run.
 *
 * The figure is the median of the per-run ratios (routes / one group, both
 * measured back to back within each run), not the ratio of two medians:
 * pairing cancels the machine's slow drifts, which on a shared 2-core VM are
 * larger than the 5% being measured. The CPU each spent per request (from
 * /proc, exact) goes beside it, since it is what routing adds.
 */
export function routeBars(ms: readonly Measurement[]): Bar[] {
  const out: Bar[] = [];
  for (const runtime of ["bun", "deno"]) {
    const one = ms.filter((m) => m.scenario === "rps-c50" && m.target === `switchyard-${runtime}`);
    const routed = ms.filter((m) =>
      m.scenario === "rps-c50" && m.target === `switchyard-${runtime}-routes`
    );
    const ratios = pairedRatios(
      ms,
      "rps-c50",
      `switchyard-${runtime}-routes`,
      `switchyard-${runtime}`,
    );
    if (ratios.length === 0) continue;
    const measured = round(median(ratios), 3);
    const usOf = (xs: readonly Measurement[]) =>
      median(xs.map((m) => m.cpu.target_cores / m.rps * 1e6));
    out.push({
      bar: `Switchyard under ${runtime === "bun" ? "Bun" : "Deno"}: requests/s at 50 ` +
        `connections with 1,000 routes, within 5% of one group (at least 0.95x)`,
      issue: 14,
      target: `switchyard-${runtime}-routes`,
      scenario: "rps-c50",
      measured,
      unit: "x",
      threshold: 0.95,
      direction: "at least",
      pass: passes(measured, "at least", 0.95),
      clean: [...one, ...routed].every((m) => m.flags.length === 0),
      limits: `median of ${ratios.length} per-run ratios (range ` +
        `${round(Math.min(...ratios), 2)}-${round(Math.max(...ratios), 2)}); CPU per request ` +
        `${usOf(routed).toFixed(1)} µs with routes against ${usOf(one).toFixed(1)} µs ` +
        `(${round(usOf(one) / usOf(routed), 3)}x the one group's requests per CPU second)`,
    });
  }
  return out;
}

/**
 * The per-run ratios of `target`'s requests/s to `base`'s in `scenario`:
 * one for each run both were measured in (measured back to back within the
 * run, so the machine's slow drifts cancel), in run order.
 */
export function pairedRatios(
  ms: readonly Measurement[],
  scenario: string,
  target: string,
  base: string,
): number[] {
  const out: number[] = [];
  for (const t of ms) {
    if (t.scenario !== scenario || t.target !== target) continue;
    const b = ms.find((m) => m.scenario === scenario && m.target === base && m.run === t.run);
    if (b && b.rps > 0) out.push(t.rps / b.rps);
  }
  return out;
}

/** The ratio to nginx of one TLS figure: the median of the paired per-run ratios, and their range. */
export interface PairedRatio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** {@link pairedRatios} to nginx, summarized (null without a pair). */
export function ratioToNginx(
  ms: readonly Measurement[],
  scenario: string,
  target: string,
): PairedRatio | null {
  const xs = pairedRatios(ms, scenario, target, "nginx");
  if (xs.length === 0) return null;
  return {
    median: round(median(xs), 3),
    min: round(Math.min(...xs), 3),
    max: round(Math.max(...xs), 3),
    n: xs.length,
  };
}

/**
 * The TLS bars on HTTPS keep-alive requests/s at 50 connections
 * (`https-c50`), Switchyard under Bun against nginx: issue 15's "at least
 * 0.7x" and issue 16's "at least 0.9x". The figure is the median of the
 * per-run ratios, as issue 14's. None when the TLS part did not run.
 */
export function tlsBars(ms: readonly Measurement[]): Bar[] {
  const scenario = "https-c50";
  const target = "switchyard-bun";
  const mine = ms.filter((m) => m.scenario === scenario && m.target === target);
  const nginx = ms.filter((m) => m.scenario === scenario && m.target === "nginx");
  if (mine.length === 0 && nginx.length === 0) return [];
  const r = ratioToNginx(ms, scenario, target);
  const usOf = (xs: readonly Measurement[]) =>
    median(xs.map((m) => m.cpu.target_cores / m.rps * 1e6));
  const limits = r === null
    ? "not measured (no run with both Switchyard under Bun and nginx)"
    : `median of ${r.n} per-run ratios (range ${r.min.toFixed(2)}-${r.max.toFixed(2)}); CPU ` +
      `per request ${usOf(mine).toFixed(1)} µs against nginx's ${usOf(nginx).toFixed(1)} µs, ` +
      `both pinned to one core, wrk and the backends on the other`;
  const clean = r !== null && [...mine, ...nginx].every((m) => m.flags.length === 0);
  return ([[15, 0.7], [16, 0.9]] as const).map(([issue, threshold]): Bar => ({
    bar: `Switchyard under Bun: HTTPS keep-alive requests/s at 50 connections, at least ` +
      `${threshold}x nginx's`,
    issue,
    target,
    scenario,
    measured: r?.median ?? null,
    unit: "x",
    threshold,
    direction: "at least",
    pass: r === null ? null : passes(r.median, "at least", threshold),
    clean,
    limits,
  }));
}
