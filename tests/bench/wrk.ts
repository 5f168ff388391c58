/**
 * One wrk run with its own checks: the figures come from `report.lua`'s
 * `done()` (a JSON line with the latency percentiles), wrk's CPU time from the
 * shell's `times` (exact, not sampled), and the CPU used meanwhile by the
 * target, the backends, and everything else on the machine from `/proc`.
 * The WebSocket echo scenario runs `ws_load.ts` (under Bun) instead of wrk,
 * and the TLS scenarios h2load or parallel `openssl s_time` (`tls_tools.ts`),
 * with the same figures and the same accounting.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, runtimeBinary } from "../../lib/runtime/role_command.ts";
import {
  coreBusy,
  coreShare,
  coreTimes,
  machineProcessSeconds,
  processCpuSeconds,
  type Spawned,
  type Supervisor,
  threadCpuSeconds,
  treeCpuSeconds,
  treeSysSeconds,
} from "./procs.ts";
import type { LoadTool } from "./scenarios.ts";
import { round } from "./system.ts";
import { h2loadArgs, type LoadResult, parseH2load, parseSTime, sTimeArgs } from "./tls_tools.ts";

const LUA = path.join(REPO_ROOT, "tests", "bench", "report.lua");
const WS_LOAD = path.join(REPO_ROOT, "tests", "bench", "ws_load.ts");

/** wrk's error counters. */
export interface WrkErrors {
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  /** Responses with a status >= 400. */
  readonly status: number;
  readonly timeout: number;
}

/** Latency figures of one run, in microseconds. */
export interface Latency {
  readonly min: number;
  readonly mean: number;
  readonly stdev: number;
  readonly max: number;
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
  readonly p99: number;
  readonly "p99.9": number;
  readonly "p99.99": number;
}

/** Where the CPU went during one run (1.0 = one core busy for the whole run). */
export interface CpuUse {
  readonly wall_s: number;
  /** wrk itself (user + system); saturated when it nears the number of wrk threads. */
  readonly wrk_cores: number;
  /** The target's process tree (nginx master + worker, the proxy process...). */
  readonly target_cores: number;
  /** The part of `target_cores` spent in the kernel (socket syscalls, the TCP stack). */
  readonly target_sys_cores: number;
  /** The bench backends (excluding the target when it is a backend itself). */
  readonly backends_cores: number;
  /** Every other process on the machine (other tests, builds...), user + system. */
  readonly others_cores: number;
  /** Busy share of each core, including interrupt and softirq time (the network stack). */
  readonly core_busy: readonly number[];
  /** Share of each core spent in interrupts and softirqs (loopback TCP's receive path). */
  readonly core_irq: readonly number[];
  /** Share of each core stolen by the hypervisor. */
  readonly core_steal: readonly number[];
  /** The target's busiest threads. */
  readonly target_threads: readonly { readonly thread: string; readonly cores: number }[];
}

/** One measured run. */
export interface WrkRun {
  readonly requests: number;
  readonly duration_s: number;
  readonly rps: number;
  readonly bytes: number;
  readonly errors: WrkErrors;
  readonly latency_us: Latency;
  readonly cpu: CpuUse;
}

/** A wrk invocation. */
export interface WrkOptions {
  readonly url: string;
  readonly connections: number;
  readonly threads: number;
  readonly durationS: number;
  /** `taskset -c` list for wrk, or null. */
  readonly cpus: string | null;
  readonly method: string;
  readonly bodyBytes: number;
  /**
   * The load generator: wrk (default), the WebSocket echo client
   * (`ws_load.ts`), h2load, or `connections` parallel `openssl s_time -new`.
   */
  readonly tool?: LoadTool;
  /** h2load: streams per connection (`-m`, default 1). */
  readonly streams?: number;
}

/** Where h2load writes each request's time (read back after the run). */
function h2loadLog(sup: Supervisor): string {
  return path.join(sup.stateDir, "h2load-requests.tsv");
}

/** The load generator's command line (wrk, or the WebSocket client under Bun...). */
function loadCommand(o: WrkOptions, sup: Supervisor): string[] {
  if (o.tool === "h2load") {
    return h2loadArgs(o.url, o.connections, o.streams ?? 1, o.durationS, h2loadLog(sup));
  }
  if (o.tool === "s_time") {
    const u = new URL(o.url);
    return sTimeArgs(u.hostname, Number(u.port), u.pathname, o.connections, o.durationS);
  }
  if (o.tool === "ws") {
    return [
      runtimeBinary("bun"),
      WS_LOAD,
      "--url",
      o.url.replace(/^http:/, "ws:"),
      "--connections",
      String(o.connections),
      "--duration",
      String(o.durationS),
    ];
  }
  return [
    "wrk",
    "-t",
    String(o.threads),
    "-c",
    String(o.connections),
    "-d",
    `${o.durationS}s`,
    "--timeout",
    "5s",
    "-s",
    LUA,
    o.url,
  ];
}

/** Processes whose CPU is accounted separately. */
export interface Accounting {
  readonly target: Spawned;
  readonly backends: readonly Spawned[];
  /** Every process the harness started (the rest of "ours", not "others"). */
  readonly all: readonly Spawned[];
}

/** The harness's own CPU seconds (not its children: those are accounted one by one). */
function selfSeconds(): number {
  return processCpuSeconds(Deno.pid);
}

function cpuOf(procs: readonly Spawned[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of procs) if (p.running) m.set(p.pid, treeCpuSeconds(p.pid));
  return m;
}

function delta(before: Map<number, number>, after: Map<number, number>, pids: number[]): number {
  let s = 0;
  for (const pid of pids) {
    const a = after.get(pid);
    const b = before.get(pid);
    if (a !== undefined && b !== undefined) s += a - b;
  }
  return s;
}

/** The figures the load generator printed; throws when it failed or printed none. */
function loadResult(
  o: WrkOptions,
  sup: Supervisor,
  code: number | null,
  out: string,
  wall: number,
  args: readonly string[],
): LoadResult {
  const failed = () => new Error(`${args.join(" ")} failed (exit ${code}):\n${out.slice(-4000)}`);
  if (code !== 0) throw failed();
  if (o.tool === "h2load") {
    const log = fs.existsSync(h2loadLog(sup)) ? fs.readFileSync(h2loadLog(sup), "utf8") : "";
    return parseH2load(out, log);
  }
  if (o.tool === "s_time") {
    const r = parseSTime(out, o.connections, wall);
    if (r.requests === 0) throw failed();
    return r;
  }
  const line = /^(?:WRK|WS)_JSON (.+)$/m.exec(out);
  if (!line) throw failed();
  return JSON.parse(line[1]!) as LoadResult;
}

/** Runs wrk once and measures what it cost. Throws when wrk fails or prints no result. */
export async function runWrk(sup: Supervisor, o: WrkOptions, acc: Accounting): Promise<WrkRun> {
  const wrkArgs = loadCommand(o, sup);
  if (o.tool === "h2load") fs.rmSync(h2loadLog(sup), { force: true });
  // `times` prints the CPU time of the shell's children (wrk) when it exits
  const script = '"$@"; rc=$?; times >&2; exit $rc';
  const others = acc.all.filter((p) => p.running);
  const cpuBefore = cpuOf(others);
  const selfBefore = selfSeconds();
  const threadsBefore = threadCpuSeconds(acc.target.pid);
  const sysBefore = treeSysSeconds(acc.target.pid);
  const coresBefore = coreTimes();
  const t0 = performance.now();
  const wrk = sup.spawn("wrk", "bash", ["-c", script, "bash", ...wrkArgs], {
    cpus: o.cpus,
    env: { BENCH_METHOD: o.method, BENCH_BODY_BYTES: String(o.bodyBytes) },
  });
  const code = await wrk.exited;
  const wall = (performance.now() - t0) / 1000;
  const coresAfter = coreTimes();
  const threadsAfter = threadCpuSeconds(acc.target.pid);
  const sysAfter = treeSysSeconds(acc.target.pid);
  const selfAfter = selfSeconds();
  const cpuAfter = cpuOf(others);
  const out = wrk.log;
  const r = loadResult(o, sup, code, out, wall, wrkArgs);
  const times = [...out.matchAll(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/gm)];
  const t = times[times.length - 1];
  const wrkSeconds = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : NaN;

  const targetPid = acc.target.pid;
  const backendPids = acc.backends.map((b) => b.pid).filter((p) => p !== targetPid);
  const target = delta(cpuBefore, cpuAfter, [targetPid]);
  const backends = delta(cpuBefore, cpuAfter, backendPids);
  const ours = delta(cpuBefore, cpuAfter, [...cpuAfter.keys()]) + (selfAfter - selfBefore) +
    (Number.isFinite(wrkSeconds) ? wrkSeconds : 0);
  const machine = machineProcessSeconds(coresAfter) - machineProcessSeconds(coresBefore);
  const threads: { thread: string; cores: number }[] = [];
  for (const [k, a] of threadsAfter) {
    const b = threadsBefore.get(k);
    if (b === undefined) continue;
    const cores = (a - b) / wall;
    if (cores >= 0.01) {
      threads.push({ thread: k.replace(/^\d+\/\d+ /, ""), cores: round(cores, 3) });
    }
  }
  threads.sort((x, y) => y.cores - x.cores);
  const p = r.latency_us.percentiles;
  const duration = r.duration_us / 1e6;
  return {
    requests: r.requests,
    duration_s: round(duration, 3),
    rps: round(r.requests / duration, 1),
    bytes: r.bytes,
    errors: r.errors,
    latency_us: {
      min: r.latency_us.min,
      mean: round(r.latency_us.mean, 1),
      stdev: round(r.latency_us.stdev, 1),
      max: r.latency_us.max,
      p50: p["50"]!,
      p75: p["75"]!,
      p90: p["90"]!,
      p99: p["99"]!,
      "p99.9": p["99.9"]!,
      "p99.99": p["99.99"]!,
    },
    cpu: {
      wall_s: round(wall, 3),
      wrk_cores: round(wrkSeconds / wall, 3),
      target_cores: round(target / wall, 3),
      target_sys_cores: round((sysAfter - sysBefore) / wall, 3),
      backends_cores: round(backends / wall, 3),
      others_cores: round(Math.max(0, machine - ours) / wall, 3),
      core_busy: coreBusy(coresBefore, coresAfter).map((x) => round(x, 3)),
      core_irq: coreShare(coresBefore, coresAfter, "irq").map((x) => round(x, 3)),
      core_steal: coreShare(coresBefore, coresAfter, "steal").map((x) => round(x, 3)),
      target_threads: threads.slice(0, 8),
    },
  };
}
