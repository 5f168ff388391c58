/**
 * Orchestrator probe capacity: runs the orchestrator scale benchmark
 * (`tests/bench/orchestrator/main.ts`: 5,000 simulated backends in 20 groups
 * at a 1 s interval, three orchestrator processes, the ZooKeeper dev node) as
 * a child process, and turns its results into figures: probe lag (median and
 * p99, from the processes' lag histograms) in steady state and while 1,000
 * backends fail, per runtime. With `--quick` it runs a shortened form (Bun
 * only, 10 s window). When it cannot run, the latest committed results
 * (`docs/bench/orchestrator.json`) are reported instead, saying so.
 *
 * @module
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, runtimeBinary } from "../../../lib/runtime/role_command.ts";
import { RoleProcess } from "../../support/processes.ts";
import { type ControlContext, type ControlFigure, failedFigure, track } from "./common.ts";
import { busyFlags, LoadWindow, type WindowLoad } from "./load.ts";
import type { RunResult } from "../orchestrator/main.ts";

/** Options of {@link orchestratorCapacity}. */
export interface OrchestratorOptions {
  readonly runtimes: readonly ("deno" | "bun")[];
  readonly steadySeconds: number;
  readonly warmupSeconds: number;
}

interface Saved {
  meta: { date: string; backends: number; groups: number; orchestrators: number };
  results: RunResult[];
}

const SETUP = (s: Saved["meta"], steady: number) =>
  `${s.backends} simulated backends in ${s.groups} groups (one Bun process on 100 loopback ` +
  `addresses), 1 s interval, HTTP probes, ${s.orchestrators} orchestrator processes, the ` +
  `ZooKeeper dev node; ${steady} s steady window, then 1,000 backends fail for 15 s`;

/** Probe-lag figures (two per runtime: steady, mass failure). */
export async function orchestratorCapacity(
  ctx: ControlContext,
  o: OrchestratorOptions,
): Promise<ControlFigure[]> {
  const out = path.join(ctx.quick ? ctx.stateDir : ctx.outDir, "orchestrator");
  const script = path.join(REPO_ROOT, "tests", "bench", "orchestrator", "main.ts");
  const args = [
    "run",
    "-A",
    script,
    "--runtime",
    o.runtimes.length === 2 ? "both" : o.runtimes[0]!,
    "--steady-seconds",
    String(o.steadySeconds),
    "--warmup-seconds",
    String(o.warmupSeconds),
    "--out",
    out,
  ];
  await ctx.waitIdle();
  ctx.log(
    `orchestrator capacity: deno ${args.slice(2).join(" ")} (about ${
      o.runtimes.length * (o.steadySeconds + o.warmupSeconds + 25)
    } s)`,
  );
  const w = new LoadWindow();
  let error: string | null = null;
  let saved: Saved | null = null;
  let source = "measured in this run (`tests/bench/orchestrator/main.ts`, " +
    `\`--steady-seconds ${o.steadySeconds}\`; its own report: ` +
    `\`${path.relative(REPO_ROOT, out)}.md\`)`;
  try {
    fs.rmSync(`${out}.json`, { force: true });
    const p = track(
      new RoleProcess(
        "orchestrator bench",
        spawn(runtimeBinary("deno"), args, { stdio: ["ignore", "pipe", "pipe"], cwd: REPO_ROOT }),
      ),
    );
    const code = await p.exited;
    if (code !== 0) throw new Error(`exited ${code}: ${p.log.slice(-1500)}`);
    saved = JSON.parse(fs.readFileSync(`${out}.json`, "utf8")) as Saved;
  } catch (e) {
    error = (e as Error).message;
    ctx.log(`orchestrator capacity failed: ${error.split("\n")[0]}`);
  }
  const load: WindowLoad = w.end();
  if (saved === null) {
    // fall back to the latest committed results, saying so
    const committed = path.join(REPO_ROOT, "docs", "bench", "orchestrator.json");
    try {
      saved = JSON.parse(fs.readFileSync(committed, "utf8")) as Saved;
      source = `NOT measured in this run (it failed: ${error?.split("\n")[0]?.slice(0, 200)}); ` +
        `read from docs/bench/orchestrator.json of ${saved.meta.date}`;
    } catch {
      return [failedFigure({
        id: "orchestrator-probe-lag",
        section: "orchestrator",
        title: "Orchestrator probe lag",
        unit: "ms",
        setup: "tests/bench/orchestrator/main.ts",
        expected: null,
      }, error ?? "no results")];
    }
  }
  const figures: ControlFigure[] = [];
  const steadyS = saved.results[0]?.steady.seconds ?? o.steadySeconds;
  for (const r of saved.results) {
    for (const [kind, win] of [["steady", r.steady], ["failure", r.massFailure]] as const) {
      const c = win.cpuPercent;
      const orchCpu = Object.entries(c).filter(([k]) => /^o\d+$/.test(k)).map(([, v]) => v);
      figures.push({
        id: `orchestrator-${r.runtime}-${kind}`,
        section: "orchestrator",
        title: `Probe lag under ${r.runtime === "bun" ? "Bun" : "Deno"}, ` +
          (kind === "steady" ? "steady state" : "while 1,000 backends fail"),
        unit: "ms",
        samples: [],
        stat: {
          median: win.lagMedianMs,
          p99: win.lagP99Ms,
          min: null,
          max: null,
          n: Math.round(win.probesPerSecond * win.seconds),
        },
        setup: SETUP(saved.meta, steadyS),
        expected: null,
        source,
        flags: error === null ? busyFlags(load, ctx.maxOthers) : [],
        error: null,
        load: error === null ? load : null,
        extra: {
          probes_per_second: win.probesPerSecond,
          window_seconds: win.seconds,
          status_p99_max_ms: win.statusP99MaxMs,
          orchestrator_cpu_percent: orchCpu,
          health_writes_per_second: win.healthWritesPerSecond,
          machine_busy_percent: win.machineBusyPercent,
          ...(kind === "failure"
            ? {
              all_marked_after_ms: r.massFailure.allMarkedAfterMs,
              marked: r.massFailure.marked,
              all_cleared_after_ms: r.recovery.allClearedAfterMs,
            }
            : {}),
        },
      });
    }
  }
  return figures;
}
