/**
 * Benchmark support: child processes (optionally pinned to CPUs with
 * `taskset`), their cleanup on every exit path, and CPU accounting from
 * `/proc` (per process tree, per thread, per core).
 *
 * Every spawned process is recorded in `<stateDir>/pids.json`, so a run that
 * was killed outright (SIGKILL, a crashed terminal) has its leftovers reaped by
 * the next run: only processes whose command line still matches the record
 * are killed.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** A child process started by the {@link Supervisor}. */
export class Spawned {
  readonly exited: Promise<number | null>;
  #log = "";

  constructor(readonly name: string, readonly child: ChildProcess, readonly cpus: string | null) {
    const keep = (d: Uint8Array) => {
      this.#log += new TextDecoder().decode(d);
      if (this.#log.length > 256 * 1024) this.#log = this.#log.slice(-128 * 1024);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null)));
      child.once("error", (e) => {
        this.#log += `\nspawn error: ${e.message}\n`;
        resolve(127);
      });
    });
  }

  /** The process id (the same as the command's: `taskset` execs it). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** What the process printed (the last 128-256 KiB). */
  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.pid > 0;
  }
}

/** Options of {@link Supervisor.spawn}. */
export interface SpawnOptions {
  /** A `taskset -c` CPU list (e.g. "1" or "0,1"); null or omitted: not pinned. */
  readonly cpus?: string | null;
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

interface PidRecord {
  readonly pid: number;
  readonly cmdline: string;
}

/** Starts processes and makes sure none outlives the benchmark. */
export class Supervisor {
  readonly #procs: Spawned[] = [];
  readonly #pidFile: string;

  constructor(readonly stateDir: string) {
    this.#pidFile = path.join(stateDir, "pids.json");
  }

  /** Kills what a previous, killed run left behind (matching pid and command line). */
  reapStale(): number {
    let records: PidRecord[] = [];
    try {
      records = JSON.parse(fs.readFileSync(this.#pidFile, "utf8")) as PidRecord[];
    } catch {
      return 0;
    }
    let killed = 0;
    for (const r of records) {
      if (readCmdline(r.pid) === r.cmdline) {
        killTree(r.pid, "SIGKILL");
        killed++;
      }
    }
    this.#save();
    return killed;
  }

  /** Starts `command args...`, pinned with `taskset -c cpus` when given. */
  spawn(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): Spawned {
    const cpus = opts.cpus ?? null;
    const [cmd, argv] = cpus === null
      ? [command, [...args]]
      : ["taskset", ["-c", cpus, command, ...args]];
    const child = spawn(cmd, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...Deno.env.toObject(), ...opts.env },
      cwd: opts.cwd,
    });
    const p = new Spawned(name, child, cpus);
    this.#procs.push(p);
    this.#save();
    p.exited.then(() => this.#save());
    return p;
  }

  /** Every process started, running or not. */
  get processes(): readonly Spawned[] {
    return this.#procs;
  }

  /**
   * Stops one process: SIGTERM (nginx and HAProxy shut down their workers,
   * the proxies drain), then SIGKILL of the whole tree after `graceMs`.
   */
  async stop(p: Spawned, graceMs = 5_000): Promise<number | null> {
    if (!p.running) return p.child.exitCode;
    const pid = p.pid;
    const tree = [pid, ...descendants(pid)];
    signal(pid, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      p.exited,
      new Promise<null>((r) => (timer = setTimeout(() => r(null), graceMs))),
    ]);
    clearTimeout(timer);
    for (const t of tree) signal(t, "SIGKILL"); // workers left behind, or the process itself
    return code ?? await p.exited;
  }

  /** Stops every running process (in reverse start order, concurrently). */
  async stopAll(graceMs = 5_000): Promise<void> {
    await Promise.all([...this.#procs].reverse().map((p) => this.stop(p, graceMs)));
    this.#save();
  }

  /** Last resort on exit: SIGKILL every process tree still running, synchronously. */
  killAllSync(): void {
    for (const p of this.#procs) if (p.running) killTree(p.pid, "SIGKILL");
  }

  #save(): void {
    const records: PidRecord[] = [];
    for (const p of this.#procs) {
      if (!p.running) continue;
      const cmdline = readCmdline(p.pid);
      if (cmdline !== null) records.push({ pid: p.pid, cmdline });
    }
    try {
      fs.writeFileSync(this.#pidFile, JSON.stringify(records));
    } catch { /* the state dir is gone: nothing to record */ }
  }
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

/** Moves every thread of a process tree to the CPUs of a `taskset -c` list. */
export function setAffinity(pid: number, cpus: string): void {
  for (const p of [pid, ...descendants(pid)]) {
    const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(p)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${p}: ${r.stderr}`);
  }
}

/** SIGKILLs (or signals) a process and all its descendants, children first. */
export function killTree(pid: number, sig: Deno.Signal): void {
  const all = [pid, ...descendants(pid)];
  for (const p of all.reverse()) signal(p, sig);
}

function readCmdline(pid: number): string | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return s.length > 0 ? s : null;
  } catch {
    return null;
  }
}

/** Parsed fields of `/proc/<pid>/stat` we use. */
interface ProcStat {
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
  /** stime alone: in the kernel (syscalls, and softirqs that ran on the process's time). */
  readonly sys: number;
}

function readStat(file: string): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  // the command name (field 2) is in parentheses and may contain spaces
  const close = text.lastIndexOf(")");
  const f = text.slice(close + 2).split(" ");
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), sys: Number(f[12]) };
}

/** Process ids of every descendant of `pid` (a /proc scan). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  for (const e of entries) {
    const c = Number(e);
    if (!Number.isInteger(c)) continue;
    const st = readStat(`/proc/${c}/stat`);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(c);
    else children.set(st.ppid, [c]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

let clockTicks = 0;
/** Clock ticks per second of the `/proc` CPU counters (`getconf CLK_TCK`). */
export function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds used so far by `pid` and its descendants (0 when gone). */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) ticks += readStat(`/proc/${p}/stat`)?.ticks ?? 0;
  return ticks / ticksPerSecond();
}

/** Kernel-mode CPU seconds used so far by `pid` and its descendants. */
export function treeSysSeconds(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) ticks += readStat(`/proc/${p}/stat`)?.sys ?? 0;
  return ticks / ticksPerSecond();
}

/** CPU seconds used so far by `pid` alone (all its threads, not its children). */
export function processCpuSeconds(pid: number): number {
  return (readStat(`/proc/${pid}/stat`)?.ticks ?? 0) / ticksPerSecond();
}

/** CPU seconds of each thread of a process tree, keyed by `pid/tid name`. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of [pid, ...descendants(pid)]) {
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const st = readStat(`/proc/${p}/task/${tid}/stat`);
      if (!st) continue;
      let name = "?";
      try {
        name = fs.readFileSync(`/proc/${p}/task/${tid}/comm`, "utf8").trim();
      } catch { /* exited */ }
      out.set(`${p}/${tid} ${name}`, st.ticks / ticksPerSecond());
    }
  }
  return out;
}

/** One `/proc/stat` line: busy (user+nice+system+irq+softirq+steal) and total ticks. */
export interface CoreTimes {
  readonly busy: number;
  readonly total: number;
  /**
   * user + nice + system + irq + softirq: with tick-based accounting (no
   * IRQ_TIME_ACCOUNTING) a softirq tick is also charged to the interrupted
   * process, so this is what the processes' own times add up to.
   */
  readonly process: number;
  /** irq + softirq (with IRQ time accounting, the network stack's receive work). */
  readonly irq: number;
  /** Time the hypervisor ran something else while this vCPU wanted to run. */
  readonly steal: number;
}

/** Times of every core (index = CPU number) from `/proc/stat`. */
export function coreTimes(): CoreTimes[] {
  const out: CoreTimes[] = [];
  const text = fs.readFileSync("/proc/stat", "utf8");
  for (const line of text.split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0] = v;
    const steal = v[7] ?? 0;
    const total = user + nice + system + idle + iowait + irq + softirq + steal;
    out[Number(m[1])] = {
      busy: total - idle - iowait,
      total,
      process: user + nice + system + irq + softirq,
      irq: irq + softirq,
      steal,
    };
  }
  return out;
}

/** CPU seconds used by processes since boot (all cores, see {@link CoreTimes.process}). */
export function machineProcessSeconds(cores: readonly CoreTimes[]): number {
  let t = 0;
  for (const c of cores) t += c.process;
  return t / ticksPerSecond();
}

/** Per-core share (0-1) of `field` between two {@link coreTimes} snapshots. */
export function coreShare(
  before: readonly CoreTimes[],
  after: readonly CoreTimes[],
  field: "busy" | "irq" | "steal" = "busy",
): number[] {
  return after.map((a, i) => {
    const b = before[i];
    if (!b) return 0;
    const total = a.total - b.total;
    return total > 0 ? (a[field] - b[field]) / total : 0;
  });
}

/** Per-core busy share (0-1) between two {@link coreTimes} snapshots. */
export function coreBusy(before: readonly CoreTimes[], after: readonly CoreTimes[]): number[] {
  return coreShare(before, after, "busy");
}
