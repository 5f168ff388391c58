/**
 * The orchestrator scale benchmark (not a timed test): 5,000 backends in 20 groups at a 1-second
 * interval, probed by three orchestrator processes on this machine, against the real ZooKeeper
 * dev node (a private chroot).
 *
 * Measures, per runtime: probe lag (how late probes start against their schedule: median and p99
 * over the steady window, from the processes' lag histograms, and the worst ring-buffer p99 seen
 * in `/status`), CPU per process (orchestrators, the simulated backends, ZooKeeper), ZooKeeper
 * writes per second in steady state (health and assignment writes counted by the orchestrators,
 * plus the server's zxid delta, which also counts other users of the shared dev node), and the
 * same during a mass failure of 1,000 backends (and their recovery), with how long marking all of
 * them took. Objective: probe lag p99 under 250 ms.
 *
 * Run: `deno task bench:orchestrator [--runtime deno|bun|both] [--steady-seconds N]`.
 * Results: `docs/bench/orchestrator.json` and `docs/bench/orchestrator.md`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import process from "node:process";
import { parseFlags } from "../../../lib/cli/flags.ts";
import { REPO_ROOT, type Runtime, runtimeBinary } from "../../../lib/runtime/role_command.ts";
import { configPath, healthGroupPath } from "../../../lib/store/layout.ts";
import { connectStore, type CoordinationStore } from "../../../lib/store/mod.ts";
import { startOrchestrator } from "../../orchestrator/_support.ts";
import { freePort, RoleProcess } from "../../support/processes.ts";
import { acquireZk, fourLetter, zkSh } from "../../support/zk_server.ts";

const GROUPS = 20;
const BACKENDS = 5000;
const IPS = 100;
const FAILED = 1000;
const ORCHESTRATORS = 3;

const flags = parseFlags(Deno.args, [
  { name: "runtime", type: "string", help: "deno, bun or both", default: "both" },
  { name: "steady-seconds", type: "number", help: "steady window", default: 30 },
  { name: "warmup-seconds", type: "number", help: "warm-up", default: 10 },
  { name: "out", type: "string", help: "results basename", default: "docs/bench/orchestrator" },
]);
const runtimes: Runtime[] = flags.runtime === "both"
  ? ["deno", "bun"]
  : [String(flags.runtime) as Runtime];
const steadyMs = Number(flags["steady-seconds"]) * 1000;
const warmupMs = Number(flags["warmup-seconds"]) * 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function simAddress(i: number, base: number): string {
  return `127.0.1.${1 + (i % IPS)}:${base + Math.floor(i / IPS)}`;
}

/** utime+stime of a pid, seconds. */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Scrape {
  at: number;
  cpu: number;
  probes: number;
  lagBuckets: Map<number, number>;
  durationBuckets: Map<number, number>;
  lagCount: number;
  healthWrites: number;
  assignmentWrites: number;
}

function metricValue(text: string, name: string, labels = ""): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(" ") || rest.startsWith("{"))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

function parseScrape(text: string): Scrape {
  const lagBuckets = new Map<number, number>();
  const durationBuckets = new Map<number, number>();
  for (const line of text.split("\n")) {
    const m = /^switchyard_orchestrator_probe_(lag|duration)_seconds_bucket\{le="([^"]+)"\} (\S+)$/
      .exec(line);
    if (m) {
      (m[1] === "lag" ? lagBuckets : durationBuckets).set(
        m[2] === "+Inf" ? Infinity : Number(m[2]),
        Number(m[3]),
      );
    }
  }
  return {
    at: Date.now(),
    cpu: metricValue(text, "process_cpu_seconds_total"),
    probes: metricValue(text, "switchyard_orchestrator_probes_total"),
    lagBuckets,
    durationBuckets,
    lagCount: metricValue(text, "switchyard_orchestrator_probe_lag_seconds_count"),
    healthWrites: metricValue(text, "switchyard_orchestrator_health_writes_total"),
    assignmentWrites: metricValue(text, "switchyard_orchestrator_assignment_writes_total"),
  };
}

/** Quantile of a histogram between two scrapes (summed over processes), in ms. */
function lagQuantile(
  before: Scrape[],
  after: Scrape[],
  q: number,
  which: "lagBuckets" | "durationBuckets" = "lagBuckets",
): number {
  const bounds = [...after[0]![which].keys()].sort((a, b) => a - b);
  const cum = bounds.map((b) =>
    after.reduce((s, a, i) => s + a[which].get(b)! - before[i]![which].get(b)!, 0)
  );
  const total = cum.at(-1)!;
  if (total === 0) return 0;
  const rank = q * total;
  let prevBound = 0;
  let prevCum = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (cum[i]! >= rank) {
      const b = bounds[i]!;
      if (b === Infinity) return prevBound * 1000;
      const frac = (rank - prevCum) / Math.max(1, cum[i]! - prevCum);
      return (prevBound + (b - prevBound) * frac) * 1000;
    }
    prevBound = bounds[i]!;
    prevCum = cum[i]!;
  }
  return prevBound * 1000;
}

async function zxid(): Promise<bigint> {
  const srvr = await fourLetter("single", "srvr");
  const m = /Zxid: (0x[0-9a-f]+)/.exec(srvr);
  return m ? BigInt(m[1]!) : 0n;
}

async function unhealthyCount(store: CoordinationStore): Promise<number> {
  let n = 0;
  for (let g = 0; g < GROUPS; g++) {
    n += await store.exists(healthGroupPath(`g${g}`)).then((s) => s?.numChildren ?? 0);
  }
  return n;
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** One measurement window of a run (results JSON). */
export interface Window {
  seconds: number;
  /** Whole machine busy (all CPUs, every process: ours and anyone else's), percent of all CPUs. */
  machineBusyPercent: number;
  /** 1-minute load average at the end of the window. */
  loadAverage: number;
  probesPerSecond: number;
  lagMedianMs: number;
  lagP99Ms: number;
  statusP99MaxMs: number;
  /** Probe duration (connect to response head), median and p99. */
  durationMedianMs: number;
  durationP99Ms: number;
  /** Most probes in flight in one process at a `/status` sample. */
  inflightMax: number;
  cpuPercent: Record<string, number>;
  healthWritesPerSecond: number;
  assignmentWritesPerSecond: number;
  zxidPerSecond: number;
}

async function measure(
  procs: { name: string; scrape: () => Promise<string>; status: () => Promise<unknown> }[],
  others: { name: string; pid: number }[],
  ms: number,
): Promise<Window> {
  const z0 = await zxid();
  const before = await Promise.all(procs.map(async (p) => parseScrape(await p.scrape())));
  const other0 = others.map((o) => cpuSeconds(o.pid));
  const m0 = machineJiffies();
  const t0 = Date.now();
  let statusP99 = 0;
  let inflightMax = 0;
  while (Date.now() - t0 < ms) {
    await sleep(Math.min(5000, ms - (Date.now() - t0)));
    // The ring buffer holds the last 16k probes (~10 s at this load): skip the first samples.
    if (Date.now() - t0 < 10_000 && ms > 10_000) continue;
    for (const p of procs) {
      const s = await p.status() as {
        probe_lag: { p99_ms: number };
        probes: { inflight: number };
      };
      statusP99 = Math.max(statusP99, s.probe_lag.p99_ms);
      inflightMax = Math.max(inflightMax, s.probes.inflight);
    }
  }
  const after = await Promise.all(procs.map(async (p) => parseScrape(await p.scrape())));
  const other1 = others.map((o) => cpuSeconds(o.pid));
  const m1 = machineJiffies();
  const seconds = (Date.now() - t0) / 1000;
  const z1 = await zxid();
  const cpuPercent: Record<string, number> = {};
  procs.forEach((p, i) => {
    cpuPercent[p.name] = round(((after[i]!.cpu - before[i]!.cpu) / seconds) * 100);
  });
  others.forEach((o, i) => {
    cpuPercent[o.name] = round(((other1[i]! - other0[i]!) / seconds) * 100);
  });
  const delta = (f: (s: Scrape) => number) =>
    after.reduce((s, a, i) => s + f(a) - f(before[i]!), 0) / seconds;
  return {
    seconds: round(seconds),
    machineBusyPercent: round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100),
    loadAverage: round(os.loadavg()[0]!),
    probesPerSecond: round(delta((s) => s.probes)),
    lagMedianMs: round(lagQuantile(before, after, 0.5)),
    lagP99Ms: round(lagQuantile(before, after, 0.99)),
    statusP99MaxMs: round(statusP99),
    durationMedianMs: round(lagQuantile(before, after, 0.5, "durationBuckets")),
    durationP99Ms: round(lagQuantile(before, after, 0.99, "durationBuckets")),
    inflightMax,
    cpuPercent,
    healthWritesPerSecond: round(delta((s) => s.healthWrites)),
    assignmentWritesPerSecond: round(delta((s) => s.assignmentWrites)),
    zxidPerSecond: round(Number(z1 - z0) / seconds),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

async function http(url: string): Promise<string> {
  return await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
}

/** One runtime's run (results JSON). */
export interface RunResult {
  runtime: Runtime;
  assignedAfterMs: number;
  assignment: Record<string, number>;
  steady: Window;
  massFailure: Window & { allMarkedAfterMs: number; marked: number };
  recovery: { allClearedAfterMs: number; healthWritesPerSecond: number };
}

async function run(runtime: Runtime): Promise<RunResult> {
  const lease = await acquireZk("single");
  const chroot = `/bench-orch-${crypto.randomUUID().slice(0, 8)}`;
  const root = await connectStore({ connectionString: lease.connectionString });
  await root.create(chroot);
  await root.close();
  const connect = `${lease.connectionString}${chroot}`;
  const store = await connectStore({ connectionString: connect, sessionTimeoutMs: 10_000 });
  const basePort = 21000 + Math.floor(Math.random() * 20) * 100;
  const controlPort = await freePort();
  const procs: RoleProcess[] = [];
  try {
    const sim = new RoleProcess(
      "sim",
      spawn(runtimeBinary("bun"), [
        `${REPO_ROOT}/tests/bench/orchestrator/sim_backends.ts`,
        String(BACKENDS),
        String(IPS),
        String(basePort),
        String(controlPort),
      ], { stdio: ["ignore", "pipe", "pipe"] }),
    );
    procs.push(sim);
    const deadline = Date.now() + 60_000;
    while (!sim.log.includes("ready")) {
      if (!sim.running || Date.now() > deadline) throw new Error(`sim failed: ${sim.log}`);
      await sleep(100);
    }
    for (let g = 0; g < GROUPS; g++) {
      const list: string[] = [];
      for (let i = g; i < BACKENDS; i += GROUPS) list.push(simAddress(i, basePort));
      await store.create(
        configPath(`g${g}`),
        enc({
          backend_servers: list,
          health_check_frequency_seconds: 1,
        }),
        { parents: true },
      );
    }
    const t0 = Date.now();
    const orch = [];
    for (let i = 1; i <= ORCHESTRATORS; i++) {
      const o = await startOrchestrator(runtime, connect, `o${i}`, { sessionTimeoutSeconds: 10 });
      orch.push(o);
      procs.push(o.process);
    }
    let assignment: Record<string, number> = {};
    for (;;) {
      const s = await Promise.all(orch.map((o) => o.status()));
      assignment = Object.fromEntries(s.map((x) => [x.id, x.assignment.size]));
      const total = s.reduce((n, x) => n + x.assignment.size, 0);
      if (total === BACKENDS && s.every((x) => x.assignment.size > 0)) break;
      if (Date.now() - t0 > 60_000) throw new Error(`not assigned: ${JSON.stringify(assignment)}`);
      await sleep(100);
    }
    const assignedAfterMs = Date.now() - t0;
    console.log(
      `[${runtime}] ${BACKENDS} targets assigned after ${assignedAfterMs} ms`,
      assignment,
    );
    await sleep(warmupMs);
    const zkPid = Number((await zkSh(["pid", "single"])).stdout.trim());
    const probes = orch.map((o) => ({ name: o.id, scrape: o.metrics, status: o.status }));
    const others = [{ name: "sim-backends", pid: sim.child.pid! }, {
      name: "zookeeper",
      pid: zkPid,
    }];
    const steady = await measure(probes, others, steadyMs);
    console.log(`[${runtime}] steady`, steady);

    const marks = await unhealthyCount(store);
    if (marks !== 0) console.log(`[${runtime}] note: ${marks} unhealthy before the mass failure`);
    await http(`http://127.0.0.1:${controlPort}/fail?count=${FAILED}`);
    const tFail = Date.now();
    let allMarkedAfterMs = -1;
    const watcher = (async () => {
      while (Date.now() - tFail < 30_000) {
        if (await unhealthyCount(store) >= FAILED) {
          allMarkedAfterMs = Date.now() - tFail;
          return;
        }
        await sleep(100);
      }
    })();
    const failWindow = await measure(probes, others, 15_000);
    await watcher;
    const marked = await unhealthyCount(store);
    console.log(`[${runtime}] mass failure: ${marked} marked, all after ${allMarkedAfterMs} ms`);

    const before = await Promise.all(probes.map(async (p) => parseScrape(await p.scrape())));
    await http(`http://127.0.0.1:${controlPort}/recover`);
    const tRecover = Date.now();
    let allClearedAfterMs = -1;
    while (Date.now() - tRecover < 30_000) {
      if (await unhealthyCount(store) === 0) {
        allClearedAfterMs = Date.now() - tRecover;
        break;
      }
      await sleep(100);
    }
    const after = await Promise.all(probes.map(async (p) => parseScrape(await p.scrape())));
    const seconds = (Date.now() - tRecover) / 1000;
    const recoveryWrites = after.reduce(
      (s, a, i) => s + a.healthWrites - before[i]!.healthWrites,
      0,
    );
    console.log(`[${runtime}] recovery: all cleared after ${allClearedAfterMs} ms`);
    return {
      runtime,
      assignedAfterMs,
      assignment,
      steady,
      massFailure: { ...failWindow, allMarkedAfterMs, marked },
      recovery: {
        allClearedAfterMs,
        healthWritesPerSecond: round(recoveryWrites / Math.max(seconds, 0.001)),
      },
    };
  } finally {
    for (const p of procs) await p.stop("SIGKILL");
    await store.close();
    const cleanup = await connectStore({ connectionString: lease.connectionString });
    await cleanup.deleteTree(chroot).catch(() => {});
    await cleanup.close();
    await lease.release();
  }
}

function markdown(results: RunResult[], meta: Record<string, unknown>): string {
  const lines = [
    "# Orchestrator scale benchmark",
    "",
    `Generated by \`deno task bench:orchestrator\` on ${meta.date}: ${BACKENDS} backends in ` +
    `${GROUPS} groups (simulated by one Bun process on ${IPS} loopback addresses), 1 s ` +
    `interval, HTTP probes, ${ORCHESTRATORS} orchestrator processes, ZooKeeper ${meta.zookeeper} ` +
    `(dev node), ${meta.cpus} CPUs (${meta.cpuModel}), load average before: ${meta.loadBefore}.`,
    "",
    "Probe lag = how late a probe starts against its (jittered) schedule, including waiting for a " +
    "concurrency slot; median and p99 interpolated from the processes' lag histograms over the " +
    "window; `status p99` is the worst p99 of the last 16k probes seen in any process's " +
    "`/status`. Writes: health and assignment writes counted by the orchestrators; `zxid/s` is " +
    "the server's transaction rate (it also counts anything else using the shared dev node). " +
    "Objective: probe lag p99 < 250 ms.",
    "",
    "CPU % is of one core; `machine busy` is the whole machine over the window (all " +
    `${meta.cpus} CPUs, every process, including other people's work on this shared machine), ` +
    "with the load average at the end of the window: contention shows up in the lag tail.",
    "",
    "| runtime | window | probes/s | lag median | lag p99 | status p99 | health writes/s | assignment writes/s | zxid/s | CPU % (o1 / o2 / o3) | CPU % sim | CPU % ZK | machine busy / load |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    for (const [name, w] of [["steady", r.steady], ["1,000 fail", r.massFailure]] as const) {
      const c = w.cpuPercent;
      lines.push(
        `| ${r.runtime} | ${name} (${w.seconds} s) | ${w.probesPerSecond} | ${w.lagMedianMs} ms | ` +
          `${w.lagP99Ms} ms | ${w.statusP99MaxMs} ms | ${w.healthWritesPerSecond} | ` +
          `${w.assignmentWritesPerSecond} | ${w.zxidPerSecond} | ${c.o1} / ${c.o2} / ${c.o3} | ` +
          `${c["sim-backends"]} | ${c.zookeeper} | ${w.machineBusyPercent}% / ${w.loadAverage} |`,
      );
    }
  }
  lines.push("");
  for (const r of results) {
    lines.push(
      `- ${r.runtime}: all ${BACKENDS} targets assigned ${r.assignedAfterMs} ms after the first ` +
        `process started (${
          Object.entries(r.assignment).map(([k, v]) => `${k}: ${v}`).join(", ")
        }); ` +
        `mass failure: ${r.massFailure.marked} of ${FAILED} marked, all within ` +
        `${r.massFailure.allMarkedAfterMs} ms (fall 3 x 1 s + jitter + write); recovery: all ` +
        `cleared within ${r.recovery.allClearedAfterMs} ms (${r.recovery.healthWritesPerSecond} ` +
        `health writes/s over that time). p99 objective: ${
          r.steady.lagP99Ms < 250 && r.massFailure.lagP99Ms < 250 ? "met" : "MISSED"
        }.`,
    );
  }
  lines.push("");
  return lines.join("\n");
}

// Seen once in this harness (never in the orchestrators): an ECONNRESET from a node:net socket
// with no error listener during the mass failure. Record it rather than lose the whole run.
const uncaught: string[] = [];
process.on("uncaughtException", (e: unknown) => {
  uncaught.push(String(e));
  console.error("uncaught in the benchmark harness:", e);
});

const meta = {
  date: new Date().toISOString(),
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(" "),
  zookeeper: "3.8",
  backends: BACKENDS,
  groups: GROUPS,
  orchestrators: ORCHESTRATORS,
  failed: FAILED,
  harnessUncaught: uncaught,
};
const results: RunResult[] = [];
for (const rt of runtimes) results.push(await run(rt));
const out = String(flags.out).startsWith("/") ? String(flags.out) : `${REPO_ROOT}/${flags.out}`;
fs.mkdirSync(out.slice(0, out.lastIndexOf("/")), { recursive: true });
fs.writeFileSync(`${out}.json`, JSON.stringify({ meta, results }, null, 2) + "\n");
fs.writeFileSync(`${out}.md`, markdown(results, meta));
console.log(`wrote ${out}.json and ${out}.md`);
