/**
 * `deno task bench`: the whole benchmark suite in one run on this machine.
 *
 * - Data plane: Switchyard under Bun and under Deno (one process, and
 *   `--workers 2`) side by side with nginx and HAProxy (one worker each,
 *   keep-alive to the same two backends) and with the backend hit directly:
 *   wrk at 1, 50 and 256 connections, a 1 MiB response, a 64 KiB POST, and a
 *   WebSocket echo rate (`ws_load.ts`). Requests per second and added latency
 *   as ratios to nginx; the checks flag errors, a saturated load generator
 *   and a busy machine next to the figure.
 * - TLS (issue 15, `tls_setup.ts`, `tls_tools.ts`): nginx, HAProxy and
 *   Switchyard under each runtime over TLS with one certificate made for the
 *   run and the same settings: new handshakes per second (`openssl s_time
 *   -new`), HTTPS keep-alive requests/s at 50 connections (wrk), HTTP/2
 *   requests/s at 50 streams (h2load), as paired ratios to nginx.
 * - Control plane (`control/`): config propagation to N = 1, 5, 20 proxies,
 *   health-failure detection (orchestrator and passive ejection),
 *   orchestrator probe capacity, DNS proxy death, keepalived failover.
 *
 * Writes `results.json` (every figure), `results.md` (tables, ratios, the
 * issues' bars) and SVG charts into `docs/bench/` (`.state/bench/quick/`
 * with `--quick`). `--part data|tls|control` runs one part and keeps the
 * other parts' figures from the results already there.
 *
 * `--profile` instead runs Switchyard under each runtime with its CPU
 * profiler at 50 connections and writes `profile.md` (`--profile --part tls`:
 * at 50 HTTPS keep-alive connections, the `https-c50` scenario; with one
 * `--scenarios`, that scenario's load).
 *
 * Run `deno task bench --help` for the flags.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { type FlagSpec, formatFlags, parseFlags } from "../../lib/cli/flags.ts";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import { sleep } from "../support/processes.ts";
import { profileMarkdown, summarizeProfile } from "./profile.ts";
import { setAffinity, Supervisor, ticksPerSecond } from "./procs.ts";
import type { ControlContext, ControlResults } from "./control/common.ts";
import { interruptCleanup } from "./control/common.ts";
import { CONTROL_PARTS, controlSettings, runControl } from "./control/mod.ts";
import { type BenchResults, writeReport } from "./report.ts";
import {
  bars,
  type CheckLimits,
  checkRun,
  controlBars,
  type Measurement,
  routeBars,
  summarize,
  tlsBars,
} from "./results.ts";
import {
  DEFAULT_SCENARIOS,
  type LoadTool,
  type Scenario,
  scenarioPart,
  SCENARIOS,
  selectScenarios,
} from "./scenarios.ts";
import { ensureTools, type LoadSample, machineInfo, sampleLoad, versions } from "./system.ts";
import {
  altTargets,
  type BackendInstance,
  type RunningTarget,
  sanityCheck,
  selectTargets,
  servesTls,
  startBackends,
  startTarget,
  TARGETS,
  type TargetSpec,
} from "./targets.ts";
import { type BenchTls, makeBenchTls, TLS_SETTINGS } from "./tls_setup.ts";
import { runWrk } from "./wrk.ts";

const FLAGS: readonly FlagSpec[] = [
  {
    name: "part",
    type: "string",
    value: "PART",
    help: "all (data plane, TLS, then control plane), data, tls or control, or a comma-separated " +
      "list; the parts not run keep their figures from the results.json already in the output " +
      "directory",
    default: "all",
  },
  {
    name: "quick",
    type: "boolean",
    help: "fast check: 2 s runs, 1 run, 1 s warm-up, fewer control-plane trials, output to " +
      ".state/bench/quick/",
    default: false,
  },
  { name: "duration", type: "number", value: "SECONDS", help: "length of each wrk run" },
  { name: "runs", type: "number", value: "N", help: "runs per figure (median reported)" },
  { name: "warmup", type: "number", value: "SECONDS", help: "load on each target first" },
  {
    name: "scenarios",
    type: "string",
    value: "LIST",
    help: `comma-separated (${SCENARIOS.map((s) => s.id).join(", ")}) or all`,
    default: DEFAULT_SCENARIOS.join(","),
  },
  {
    name: "targets",
    type: "string",
    value: "LIST",
    help: `comma-separated (${TARGETS.map((t) => t.id).join(", ")}), default or all`,
    default: "default",
  },
  {
    name: "pin",
    type: "string",
    value: "MODE",
    help: "split: each target on the last CPU, wrk and backends on the others; none",
    default: "split",
  },
  { name: "wrk-threads", type: "number", value: "N", help: "wrk threads (-t)", default: 1 },
  {
    name: "out",
    type: "string",
    value: "DIR",
    help: "output directory (default docs/bench, or .state/bench/quick with --quick)",
  },
  {
    name: "state-dir",
    type: "string",
    value: "DIR",
    help: "where the processes' configs, logs and pid record go (default .state/bench; a run " +
      "first kills what an earlier run with the same directory left running)",
  },
  {
    name: "alt",
    type: "string",
    value: "DIR",
    help: "also measure Switchyard from other checkouts, comma-separated (A/B of engine changes)",
  },
  {
    name: "render",
    type: "string",
    value: "FILE",
    help: "only re-render results.md and the charts from a results.json (into its directory)",
  },
  {
    name: "profile",
    type: "boolean",
    help: "profile Switchyard (--cpu-prof) under load instead of benchmarking",
    default: false,
  },
  {
    name: "max-others",
    type: "number",
    value: "CORES",
    help: "flag a run when other processes used more CPU than this",
    default: 0.05,
  },
  {
    name: "wait-idle",
    type: "number",
    value: "SECONDS",
    help: "wait up to this long for the machine to be idle before starting (and before a re-run)",
    default: 120,
  },
  {
    name: "wait-budget",
    type: "number",
    value: "SECONDS",
    help: "total time re-runs may spend waiting for idle; then busy runs are only flagged",
    default: 900,
  },
  {
    name: "retries",
    type: "number",
    value: "N",
    help: "re-runs of a measurement flagged only because the machine was busy",
    default: 2,
  },
  {
    name: "install",
    type: "boolean",
    help: "apt-get install missing tools (nginx, haproxy, wrk, curl, h2load, openssl)",
    default: true,
  },
  {
    name: "control",
    type: "string",
    value: "LIST",
    help: `control-plane parts, comma-separated (${CONTROL_PARTS.join(", ")}) or all`,
    default: "all",
  },
  {
    name: "trials",
    type: "number",
    value: "N",
    help: "control plane: kills per detection/DNS figure and keepalived cycles (default 5/3/3, " +
      "quick 2/1/1)",
  },
  {
    name: "writes",
    type: "number",
    value: "N",
    help: "control plane: config writes per method and proxy count (default 100, quick 20)",
  },
  {
    name: "max-others-control",
    type: "number",
    value: "CORES",
    help: "flag a control-plane figure when other processes used more CPU than this meanwhile",
    default: 0.25,
  },
];

/** The parts of the benchmark. */
const PARTS = ["data", "tls", "control"] as const;
type Part = (typeof PARTS)[number];

interface Options {
  readonly parts: readonly Part[];
  readonly controlParts: readonly string[];
  readonly trials: number | undefined;
  readonly writes: number | undefined;
  readonly maxOthersControl: number;
  readonly quick: boolean;
  readonly duration: number;
  readonly runs: number;
  readonly warmup: number;
  readonly scenarios: Scenario[];
  readonly targets: TargetSpec[];
  readonly pin: "split" | "none";
  readonly wrkThreads: number;
  readonly out: string;
  readonly profile: boolean;
  readonly maxOthers: number;
  readonly waitIdle: number;
  readonly retries: number;
  readonly waitBudget: number;
  readonly install: boolean;
  readonly stateDir: string;
}

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

function parseOptions(argv: readonly string[]): Options {
  const f = parseFlags(argv, FLAGS);
  if (f.help) {
    console.log(`deno task bench [flags]\n\n${formatFlags(FLAGS)}`);
    Deno.exit(0);
  }
  const quick = f.quick === true;
  const num = (name: string, dflt: number, quickValue: number): number => {
    const v = f[name];
    const n = v === undefined ? (quick ? quickValue : dflt) : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
    return n;
  };
  const pin = String(f.pin);
  if (pin !== "split" && pin !== "none") throw new Error(`--pin must be split or none`);
  const duration = Math.max(1, Math.round(num("duration", 10, 2)));
  const runs = Math.max(1, Math.round(num("runs", 3, 1)));
  const part = String(f.part);
  const parts = part === "all" ? [...PARTS] : part.split(",").map((x) => x.trim()) as Part[];
  for (const p of parts) {
    if (!PARTS.includes(p)) throw new Error(`--part must be all, ${PARTS.join(", ")} (got "${p}")`);
  }
  // --scenarios picks among the scenarios of the parts run (data: cleartext, tls: over TLS)
  const scenarios = selectScenarios(String(f.scenarios)).filter((s) =>
    parts.includes(scenarioPart(s))
  );
  if (scenarios.length === 0 && parts.some((p) => p !== "control")) {
    throw new Error(`--scenarios: none of them belongs to --part ${part}`);
  }
  const controlParts = String(f.control) === "all"
    ? [...CONTROL_PARTS]
    : String(f.control).split(",").map((x) => x.trim()).filter(Boolean);
  for (const c of controlParts) {
    if (!CONTROL_PARTS.includes(c)) {
      throw new Error(`unknown control part "${c}" (known: ${CONTROL_PARTS.join(", ")})`);
    }
  }
  const optional = (name: string) =>
    f[name] === undefined ? undefined : Math.max(1, Math.round(Number(f[name])));
  return {
    parts,
    controlParts,
    trials: optional("trials"),
    writes: optional("writes"),
    maxOthersControl: Number(f["max-others-control"]),
    quick,
    duration,
    runs,
    warmup: num("warmup", 5, 1),
    scenarios,
    targets: [
      ...selectTargets(String(f.targets)),
      ...(f.alt !== undefined ? altTargets(String(f.alt)) : []),
    ],
    pin,
    wrkThreads: Math.max(1, Math.round(Number(f["wrk-threads"]))),
    out: path.resolve(
      f.out !== undefined
        ? String(f.out)
        : quick
        ? path.join(REPO_ROOT, ".state", "bench", "quick")
        : path.join(REPO_ROOT, "docs", "bench"),
    ),
    profile: f.profile === true,
    maxOthers: Number(f["max-others"]),
    waitIdle: Number(f["wait-idle"]),
    retries: Math.max(0, Math.round(Number(f.retries))),
    waitBudget: Number(f["wait-budget"]),
    install: f.install !== false,
    stateDir: path.resolve(
      f["state-dir"] !== undefined
        ? String(f["state-dir"])
        : path.join(REPO_ROOT, ".state", "bench"),
    ),
  };
}

/** The CPU lists: one-process targets, the load side (wrk + backends), multi-worker targets. */
interface Pinning {
  readonly target: string | null;
  readonly load: string | null;
  /** Every CPU: where a `--workers 2` target runs (see the report's pinning note). */
  readonly all: string | null;
}

/** CPU lists for targets and for the load side (wrk + backends). */
function pinning(mode: "split" | "none"): Pinning {
  const n = navigator.hardwareConcurrency;
  if (mode === "none" || n < 2) return { target: null, load: null, all: null };
  return { target: String(n - 1), load: n === 2 ? "0" : `0-${n - 2}`, all: `0-${n - 1}` };
}

/** Waits (up to `seconds`) until other processes use less than `maxCores`; returns the sample. */
async function waitForIdle(seconds: number, maxCores: number): Promise<LoadSample> {
  const deadline = Date.now() + seconds * 1000;
  let warned = false;
  for (;;) {
    const s = await sampleLoad(2000, ticksPerSecond());
    if (s.others_cores <= maxCores || Date.now() >= deadline) {
      if (s.others_cores > maxCores) {
        log(
          `the machine is still busy (${s.others_cores} cores used by: ${
            s.top.map((t) => `${t.process} ${t.cores}`).join(", ")
          }); going ahead, affected runs will be flagged`,
        );
      }
      return s;
    }
    if (!warned) {
      log(
        `waiting for the machine to be idle: other processes use ${s.others_cores} cores (${
          s.top.map((t) => `${t.process} ${t.cores}`).join(", ")
        })`,
      );
      warned = true;
    }
  }
}

interface Env {
  readonly opts: Options;
  readonly sup: Supervisor;
  readonly stateDir: string;
  readonly pin: Pinning;
  readonly backends: BackendInstance[];
  /** The run's certificate when the TLS part runs, else null. */
  readonly tls: BenchTls | null;
  readonly problems: string[];
  /** Seconds re-runs may still spend waiting for an idle machine. */
  waitLeft: number;
}

async function startTargets(env: Env, profile: boolean): Promise<RunningTarget[]> {
  const out: RunningTarget[] = [];
  const dataPart = env.opts.parts.includes("data");
  for (const spec of env.opts.targets) {
    if (profile && spec.kind !== "switchyard") continue;
    // the TLS part alone measures only the targets that serve TLS
    if (!profile && !dataPart && !servesTls(spec)) continue;
    try {
      out.push(
        await startTarget(spec, {
          sup: env.sup,
          stateDir: env.stateDir,
          backends: env.backends,
          cpus: env.pin.target,
          allCpus: env.pin.all,
          profile,
          tls: env.tls,
        }),
      );
      const t = out[out.length - 1]!;
      log(`started ${spec.id}${t.tlsUrl ? ` (TLS: ${t.tlsNegotiated ?? "no handshake"})` : ""}`);
    } catch (e) {
      env.problems.push(`${spec.id} did not start: ${(e as Error).message.split("\n")[0]}`);
      log(`${spec.id} did not start: ${(e as Error).message}`);
    }
  }
  return out;
}

/** curl-checks every (scenario, target); returns the pairs that failed. */
function sanity(env: Env, targets: readonly RunningTarget[]): Set<string> {
  const failed = new Set<string>();
  for (const s of env.opts.scenarios) {
    for (const t of targets) {
      // a TLS scenario measures only the targets that serve TLS
      if (s.tls && !t.tlsUrl) continue;
      const problem = sanityCheck(t, s, env.backends, env.stateDir, env.tls);
      if (problem) {
        failed.add(`${s.id}/${t.spec.id}`);
        env.problems.push(`${t.spec.id}, ${s.id}: sanity check failed: ${problem}`);
        log(`sanity check failed for ${t.spec.id} (${s.id}): ${problem}`);
      }
    }
  }
  return failed;
}

async function warmUp(env: Env, targets: readonly RunningTarget[]): Promise<void> {
  const secs = env.opts.warmup;
  if (secs <= 0) return;
  for (const t of targets) {
    const shapes: {
      url: string;
      path: string;
      method: string;
      bodyBytes: number;
      connections: number;
      streams?: number;
      seconds: number;
      tool?: LoadTool;
    }[] = [{ url: t.url, path: "/", method: "GET", bodyBytes: 0, connections: 50, seconds: secs }];
    for (const s of env.opts.scenarios) {
      if (s.tls && t.tlsUrl) {
        // the TLS code paths get their own warm-up (JIT, buffers)
        shapes.push({ ...s, url: t.tlsUrl, seconds: Math.min(Math.max(1, secs), 2) });
      } else if (!s.tls && s.path !== "/") {
        shapes.push({ ...s, url: t.url, connections: Math.min(s.connections, 50), seconds: 1 });
      }
    }
    for (const w of shapes) {
      await runWrk(env.sup, {
        url: `${w.url}${w.path}`,
        connections: w.connections,
        threads: env.opts.wrkThreads,
        durationS: Math.max(1, Math.round(w.seconds)),
        cpus: env.pin.load,
        method: w.method,
        bodyBytes: w.bodyBytes,
        tool: w.tool,
        streams: w.streams,
      }, { target: t.proc, backends: env.backends.map((b) => b.proc), all: env.sup.processes })
        .catch((e) => log(`warm-up of ${t.spec.id} failed: ${(e as Error).message}`));
    }
  }
}

async function measure(
  env: Env,
  t: RunningTarget,
  s: Scenario,
  run: number,
  limits: CheckLimits,
): Promise<Measurement> {
  // one-core scenarios: the target joins wrk and the backends on their core for the run
  const move = s.placement === "one-core" && t.cpus !== null &&
    env.pin.load !== null && t.spec.kind !== "direct";
  if (move) setAffinity(t.proc.pid, env.pin.load!);
  // a target on every core shares wrk's: "its core" and "the load core" mean nothing
  const lim = move || t.spread ? { ...limits, clientCore: null } : limits;
  try {
    return await measureOnce(env, t, s, run, lim);
  } finally {
    if (move && t.proc.running) setAffinity(t.proc.pid, t.cpus!);
  }
}

async function measureOnce(
  env: Env,
  t: RunningTarget,
  s: Scenario,
  run: number,
  limits: CheckLimits,
): Promise<Measurement> {
  // the WebSocket client is one thread (one event loop), h2load runs one, and the s_time
  // clients share the load core (the saturation check is on that one core)
  const threads = s.tool === "ws" || s.tool === "h2load" || s.tool === "s_time"
    ? 1
    : Math.min(env.opts.wrkThreads, s.connections);
  for (let attempt = 0;; attempt++) {
    const started = new Date().toISOString();
    const r = await runWrk(env.sup, {
      url: `${s.tls ? t.tlsUrl : t.url}${s.path}`,
      connections: s.connections,
      threads,
      durationS: env.opts.duration,
      cpus: env.pin.load,
      method: s.method,
      bodyBytes: s.bodyBytes,
      tool: s.tool,
      streams: s.streams,
    }, { target: t.proc, backends: env.backends.map((b) => b.proc), all: env.sup.processes });
    const flags = checkRun(r, threads, t.spec.kind, limits);
    if (!t.proc.running) flags.push(`${t.spec.id} exited during the run`);
    const m: Measurement = {
      scenario: s.id,
      target: t.spec.id,
      run,
      started_at: started,
      attempts: attempt + 1,
      ...r,
      flags,
    };
    const onlyBusy = flags.length > 0 && flags.every((f) => f.startsWith("machine busy"));
    if (!onlyBusy || attempt >= env.opts.retries || env.waitLeft <= 0) return m;
    log(`  ${flags.join("; ")}: waiting for idle, then re-running`);
    const t0 = Date.now();
    await waitForIdle(Math.min(env.opts.waitIdle, 60, env.waitLeft), env.opts.maxOthers);
    env.waitLeft -= (Date.now() - t0) / 1000;
  }
}

function line(m: Measurement): string {
  const l = m.latency_us;
  const c = m.cpu;
  const unit = SCENARIOS.find((s) => s.id === m.scenario)?.unit ?? "req/s";
  return `${m.scenario} ${m.target.padEnd(16)} ${
    Math.round(m.rps).toString().padStart(7)
  } ${unit}  p50 ${l.p50} µs  p99 ${l.p99} µs  | cores: target ${c.target_cores} ` +
    `(sys ${c.target_sys_cores}) wrk ${c.wrk_cores}` +
    ` backends ${c.backends_cores} others ${c.others_cores} busy [${c.core_busy.join(", ")}]` +
    ` irq [${c.core_irq.join(", ")}] steal [${c.core_steal.join(", ")}]` +
    (m.flags.length > 0 ? `  ⚠ ${m.flags.join("; ")}` : "");
}

/** The data plane's part of the results. */
type DataPart = Pick<
  BenchResults,
  "meta" | "scenarios" | "targets" | "measurements" | "problems"
>;

async function bench(env: Env, meta: Omit<BenchResults["meta"], "finished">): Promise<DataPart> {
  const { opts } = env;
  const targets = await startTargets(env, false);
  const failed = sanity(env, targets);
  log(`warming up (${opts.warmup} s per target)`);
  await warmUp(env, targets);
  const limits: CheckLimits = {
    maxOthersCores: opts.maxOthers,
    wrkSaturation: 0.95,
    clientCore: env.pin.load !== null && /^\d+$/.test(env.pin.load) ? Number(env.pin.load) : null,
    targetCore: env.pin.target !== null ? Number(env.pin.target) : null,
  };
  const measurements: Measurement[] = [];
  for (let run = 1; run <= opts.runs; run++) {
    for (const s of opts.scenarios) {
      // rotate the order from run to run so no target always follows the same one
      const k = (run - 1) % Math.max(1, targets.length);
      const order = [...targets.slice(k), ...targets.slice(0, k)];
      for (const t of order) {
        if (failed.has(`${s.id}/${t.spec.id}`)) continue;
        if (s.tls && !t.tlsUrl) continue;
        if (!t.proc.running) {
          const p = `${t.spec.id} is not running (exit ${t.proc.child.exitCode}); no figures`;
          if (!env.problems.includes(p)) env.problems.push(p);
          continue;
        }
        try {
          const m = await measure(env, t, s, run, limits);
          measurements.push(m);
          log(`[run ${run}/${opts.runs}] ${line(m)}`);
        } catch (e) {
          env.problems.push(`${t.spec.id}, ${s.id}, run ${run}: ${(e as Error).message}`);
          log(`${t.spec.id} ${s.id} run ${run} failed: ${(e as Error).message}`);
        }
        await sleep(300);
      }
    }
  }
  for (const t of targets) {
    if (!t.proc.running) {
      env.problems.push(`${t.spec.id} exited (code ${t.proc.child.exitCode}):\n${t.proc.log}`);
    }
  }
  const started = new Set(targets.map((t) => t.spec.id));
  const specs = opts.targets.filter((t) => started.has(t.id));
  return {
    meta: { ...meta, finished: new Date().toISOString() },
    scenarios: opts.scenarios,
    targets: specs.map((t) => ({
      id: t.id,
      label: t.label,
      kind: t.kind,
      tls: targets.find((x) => x.spec.id === t.id)?.tlsNegotiated ?? null,
      config: targets.find((x) => x.spec.id === t.id)?.configPath
        ? fs.readFileSync(targets.find((x) => x.spec.id === t.id)!.configPath!, "utf8")
        : null,
    })),
    measurements,
    problems: env.problems,
  };
}

/** The full results from the data part and the control part (recomputing every figure). */
function assemble(data: DataPart, control: ControlResults | null): BenchResults {
  const summaries = summarize(data.scenarios, data.targets, data.measurements);
  return {
    schema: 2,
    ...data,
    summaries,
    bars: [
      ...bars(summaries),
      ...routeBars(data.measurements),
      ...tlsBars(data.measurements),
      ...(control ? controlBars(control.figures) : []),
    ],
    control,
  };
}

function printSummary(r: BenchResults): void {
  const rows: string[] = [];
  for (const s of r.summaries) {
    const v = s.vs_nginx;
    rows.push(
      `${s.scenario.padEnd(9)} ${s.target.padEnd(16)} ${
        Math.round(s.rps.median).toString().padStart(7)
      } req/s [${Math.round(s.rps.min)}-${Math.round(s.rps.max)}]  p50 ${s.latency_us.p50.median}` +
        ` µs  p99 ${s.latency_us.p99.median} µs` +
        (s.added_latency_us
          ? `  added p50 ${s.added_latency_us.p50.median} p99 ${s.added_latency_us.p99.median}`
          : "") +
        (v ? `  x nginx: rps ${v.rps ?? "-"} added p50 ${v.added_p50 ?? "-"}` : "") +
        (s.clean ? "" : `  ⚠ ${s.flags.join("; ")}`),
    );
  }
  for (const f of r.control?.figures ?? []) {
    const st = f.stat;
    rows.push(
      `${f.id.padEnd(28)} ${
        f.error
          ? `not measured: ${f.error}`
          : `median ${st?.median} ${f.unit}  p99 ${st?.p99}  range ${st?.min}-${st?.max}  n ${st?.n}`
      }${f.flags.length > 0 ? `  ⚠ ${f.flags.join("; ")}` : ""}`,
    );
  }
  console.log(rows.join("\n"));
  for (const b of r.bars) {
    console.log(
      `bar (issue ${b.issue ?? 3}): ${b.bar}: ${b.measured ?? "n/a"}${
        b.unit && b.unit !== "x" ? ` ${b.unit}` : ""
      } -> ${b.pass === null ? "not measured" : b.pass ? "met" : "NOT met"}${
        b.clean || b.pass === null ? "" : " (flagged figures)"
      }`,
    );
  }
  for (const p of [...r.problems, ...(r.control?.problems ?? [])]) {
    console.log(`problem: ${p.split("\n")[0]}`);
  }
}

async function profile(env: Env): Promise<void> {
  const { opts } = env;
  // one scenario asked for is the load; else 50 connections in cleartext (data part) and over
  // TLS (tls part)
  const byId = (id: string) => SCENARIOS.find((x) => x.id === id)!;
  const loads = opts.scenarios.length === 1 ? [opts.scenarios[0]!] : [
    ...(opts.parts.includes("data") ? [byId("rps-c50")] : []),
    ...(env.tls !== null ? [byId("https-c50")] : []),
  ];
  const sections: string[] = [];
  for (const s of loads) {
    // a profile is written when the process exits: fresh processes for each load
    sections.push(...await profileLoad(env, s, loads.length > 1));
  }
  const m = machineInfo();
  const v = versions();
  const text = [
    "# Switchyard CPU profiles under load",
    "",
    `Generated by \`deno task bench --profile\` on ${new Date().toISOString()}: ` +
    `${m.cpu_model}, ${m.cpus} CPUs; deno ${v.deno}; bun ${v.bun}; Switchyard ` +
    `${v.switchyard}. Each proxy ran with its runtime's sampling profiler (\`--cpu-prof\`), ` +
    `pinned as in the benchmark; percentages are of the sampled busy (non-idle) time.`,
    "",
    "How to read it: a sampling profiler charges a syscall to the JavaScript-visible function " +
    "that made it, so the runtimes' socket writes (`writeBuffered` in Bun, `writeBuffer` and " +
    "`writeLatin1String` in Deno) include `send(2)` and the kernel's whole loopback TCP path, " +
    "delivery to the peer and its wake-up. That is what nginx pays too: the byte-relay targets " +
    "(`deno task bench --targets all`) measure it on each runtime's `node:net` without any " +
    "HTTP work. The rows under `lib/` are Switchyard's own work.",
    "",
    "Over TLS the runtimes' TLS libraries (BoringSSL in Bun, rustls in Deno) encrypt inside the " +
    "same native socket writes and decrypt before the data reaches JavaScript, so record " +
    "encryption shows in `writeBuffered` (Bun) and decryption in native or idle time; a " +
    "handshake's public-key work is native too and mostly invisible to a JavaScript sampler. " +
    "The CPU per request or handshake measured from `/proc` (`deno task bench --part tls`) is " +
    "the complete figure.",
    "",
    ...sections,
    ...(env.problems.length > 0 ? ["Problems:", "", ...env.problems.map((p) => `- ${p}`)] : []),
  ].join("\n");
  fs.mkdirSync(opts.out, { recursive: true });
  const out = path.join(opts.out, "profile.md");
  fs.writeFileSync(out, text + "\n");
  log(`wrote ${path.relative(REPO_ROOT, out)}`);
}

/** Profiles every Switchyard target under one load; returns a section for each. */
async function profileLoad(env: Env, s: Scenario, titled: boolean): Promise<string[]> {
  const { opts } = env;
  const targets = await startTargets(env, true);
  const sections: string[] = [];
  for (const t of targets) {
    const problem = sanityCheck(t, s, env.backends, env.stateDir, env.tls);
    if (problem) throw new Error(`${t.spec.id}: ${problem}`);
  }
  for (const t of targets) {
    const load = (seconds: number) =>
      runWrk(env.sup, {
        url: `${s.tls ? t.tlsUrl : t.url}${s.path}`,
        connections: s.connections,
        threads: s.tool === undefined || s.tool === "wrk" ? opts.wrkThreads : 1,
        durationS: seconds,
        cpus: env.pin.load,
        method: s.method,
        bodyBytes: s.bodyBytes,
        tool: s.tool,
        streams: s.streams,
      }, { target: t.proc, backends: env.backends.map((b) => b.proc), all: env.sup.processes });
    // warm this one up right before its profiled run with the same load, so the profile is
    // mostly that load
    if (opts.warmup > 0) await load(Math.max(1, Math.round(opts.warmup)));
    const r = await load(opts.duration);
    const unit = s.unit ?? "req/s";
    log(`profiled ${t.spec.id} (${s.id}): ${Math.round(r.rps)} ${unit} under the profiler`);
    await env.sup.stop(t.proc, 10_000);
    const dir = t.profileDir!;
    await sleep(500);
    const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) {
      env.problems.push(`${t.spec.id}: no .cpuprofile written in ${dir}`);
      continue;
    }
    const summary = summarizeProfile(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")));
    sections.push(profileMarkdown(
      titled ? `${t.spec.label}, ${s.title}` : t.spec.label,
      summary,
      `Whole process life (start-up, ${opts.warmup} s warm-up, ${opts.duration} s of ` +
        `${s.id}: ${Math.round(r.rps)} ${unit} under the profiler). Raw profile and the ` +
        `runtime's own Markdown: \`${path.relative(REPO_ROOT, dir)}/\`.`,
    ));
  }
  return sections;
}

/**
 * This run's data-plane results plus the figures of the scenarios whose part
 * (`data` or `tls`) it did not run, from the results already there (`old`).
 */
export function carryOver(fresh: DataPart, old: BenchResults, ran: readonly string[]): DataPart {
  const known = new Map(SCENARIOS.map((s) => [s.id, s]));
  // scenarios of older harnesses are the data part's
  const keep = (id: string) => {
    const s = known.get(id);
    return !ran.includes(s ? scenarioPart(s) : "data");
  };
  const kept = old.measurements.filter((m) => keep(m.scenario));
  if (kept.length === 0) return fresh;
  const scenarios = [...fresh.scenarios, ...old.scenarios.filter((s) => keep(s.id))];
  const order = (id: string) => {
    const i = SCENARIOS.findIndex((s) => s.id === id);
    return i < 0 ? SCENARIOS.length : i;
  };
  scenarios.sort((a, b) => order(a.id) - order(b.id));
  const ids = new Set(fresh.targets.map((t) => t.id));
  const extra = old.targets.filter((t) => !ids.has(t.id) && kept.some((m) => m.target === t.id));
  return {
    meta: {
      ...fresh.meta,
      carried_over: { scenarios: [...new Set(kept.map((m) => m.scenario))], from: old.meta.date },
    },
    scenarios,
    // in the harness's order (fresh targets first, then the ones only the old figures have)
    targets: [...fresh.targets, ...extra],
    measurements: [...kept, ...fresh.measurements],
    problems: fresh.problems,
  };
}

/** The results already in `dir` (to keep the part this run does not measure), or null. */
function previous(dir: string): BenchResults | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")) as BenchResults;
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${formatFlags(FLAGS)}`);
    return 2;
  }
  const render = Deno.args.find((a) => a.startsWith("--render"));
  if (render !== undefined) {
    const i = Deno.args.indexOf(render);
    const file = render.includes("=") ? render.slice(9) : Deno.args[i + 1];
    if (!file) {
      console.error("bench: --render FILE");
      return 2;
    }
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as BenchResults;
    // figures are recomputed from the raw runs, so a newer harness renders older results
    const results = assemble(saved, saved.control ?? null);
    const files = writeReport(path.dirname(path.resolve(file)), results, false);
    log(`wrote ${files.map((f) => path.relative(REPO_ROOT, f)).join(", ")}`);
    return 0;
  }
  const stateDir = opts.stateDir;
  fs.mkdirSync(stateDir, { recursive: true });
  const sup = new Supervisor(stateDir);
  let stopping = false;
  const onSignal = (sig: Deno.Signal) => {
    if (stopping) Deno.exit(130);
    stopping = true;
    log(`${sig}: stopping every process started`);
    const cleanup = Promise.all([sup.stopAll(2_000), interruptCleanup()]);
    Promise.race([cleanup, sleep(20_000)]).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  globalThis.addEventListener("unload", () => sup.killAllSync());
  const doData = opts.parts.includes("data") || opts.parts.includes("tls") || opts.profile;
  const doControl = opts.parts.includes("control") && !opts.profile;
  try {
    const stale = sup.reapStale();
    if (stale > 0) log(`killed ${stale} process(es) left over by an earlier run`);
    const installed = doData && opts.install ? ensureTools(log) : [];
    const pin = pinning(opts.pin);
    if (doData) {
      log(
        `pinning: ${
          pin.target === null
            ? "none"
            : `targets on CPU ${pin.target}, wrk and backends on CPU ${pin.load}, ` +
              `--workers 2 targets on CPUs ${pin.all}`
        }`,
      );
    }
    log("checking the machine is idle");
    const loadBefore = await waitForIdle(opts.waitIdle, Math.max(opts.maxOthers, 0.15));
    const meta: Omit<BenchResults["meta"], "finished"> = {
      date: new Date().toISOString(),
      command: `deno task bench ${Deno.args.join(" ")}`.trim(),
      options: {
        duration_s: opts.duration,
        runs: opts.runs,
        warmup_s: opts.warmup,
        wrk_threads: opts.wrkThreads,
        quick: opts.quick,
        max_others_cores: opts.maxOthers,
      },
      pinning: { mode: opts.pin, target_cpus: pin.target, load_cpus: pin.load, all_cpus: pin.all },
      machine: machineInfo(),
      versions: versions(),
      backend: "tests/bench/backend.ts under Bun (Bun.serve answering a fixed 3-byte body, " +
        "a 1 MiB body, the size of a POSTed body, or a WebSocket echo)",
      load_before: loadBefore,
      installed,
      parts: opts.parts,
      data_from: null,
      tls_settings: opts.parts.includes("tls") ? TLS_SETTINGS : null,
    };
    let data: DataPart | null = null;
    if (doData) {
      const backends = await startBackends(sup, 2, pin.load);
      log(`backends: ${backends.map((b) => b.address).join(", ")}`);
      const env: Env = {
        opts,
        sup,
        stateDir,
        pin,
        backends,
        tls: opts.parts.includes("tls") ? makeBenchTls(path.join(stateDir, "tls")) : null,
        problems: [],
        waitLeft: opts.waitBudget,
      };
      if (opts.profile) {
        await profile(env);
        return 0;
      }
      data = await bench(env, meta);
      // nothing of the data plane keeps running while the control plane is measured
      await sup.stopAll();
    }
    let control: ControlResults | null = null;
    if (doControl) {
      const ctx: ControlContext = {
        quick: opts.quick,
        log,
        stateDir: opts.quick ? opts.out : stateDir,
        outDir: opts.out,
        maxOthers: opts.maxOthersControl,
        waitIdle: async () => {
          await waitForIdle(Math.min(opts.waitIdle, 60), Math.max(opts.maxOthersControl, 0.15));
        },
      };
      control = await runControl(
        ctx,
        opts.controlParts,
        controlSettings(opts.quick, opts.trials, opts.writes),
      );
    }
    // the parts not run keep their figures from the results already there
    const old = opts.parts.length < PARTS.length ? previous(opts.out) : null;
    if (data !== null && old) data = carryOver(data, old, opts.parts);
    if (data === null) {
      data = old && old.measurements.length > 0
        ? {
          meta: { ...old.meta, parts: opts.parts, data_from: old.meta.date },
          scenarios: old.scenarios,
          targets: old.targets,
          measurements: old.measurements,
          problems: old.problems,
        }
        : {
          meta: { ...meta, finished: new Date().toISOString() },
          scenarios: [],
          targets: [],
          measurements: [],
          problems: [],
        };
    }
    if (control === null && old?.control) control = old.control;
    const results = assemble(data, control);
    const files = writeReport(opts.out, results);
    printSummary(results);
    log(`wrote ${files.map((f) => path.relative(REPO_ROOT, f)).join(", ")}`);
    return 0;
  } catch (e) {
    log(`failed: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    await sup.stopAll();
  }
}

if (import.meta.main) {
  const code = await main();
  Deno.exit(code);
}
