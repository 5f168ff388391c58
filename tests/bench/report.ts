/**
 * The benchmark's outputs: `results.json` (every figure of every run, data
 * plane and control plane), `results.md` (tables with ratios to nginx, the
 * issues' bars with met / not met and what limits each figure, the checks)
 * and SVG charts, all generated from one {@link BenchResults}.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { barChart, groupedChart, type Row } from "./charts.ts";
import type { ControlResults } from "./control/common.ts";
import { controlCharts, controlMarkdown } from "./report_control.ts";
import { tlsMarkdown } from "./report_tls.ts";
import type { Bar, Measurement, Summary } from "./results.ts";
import type { Scenario } from "./scenarios.ts";
import type { TargetKind } from "./targets.ts";
import type { LoadSample, MachineInfo } from "./system.ts";

/** Everything one run of the benchmark produced. */
export interface BenchResults {
  /** 1: data plane only (older results); 2: with the control plane. */
  readonly schema: 1 | 2;
  readonly meta: {
    readonly date: string;
    readonly finished: string;
    readonly command: string;
    readonly options: {
      readonly duration_s: number;
      readonly runs: number;
      readonly warmup_s: number;
      readonly wrk_threads: number;
      readonly quick: boolean;
      /** Threshold of the "machine busy" check, in cores (absent in older results). */
      readonly max_others_cores?: number;
    };
    readonly pinning: {
      readonly mode: string;
      readonly target_cpus: string | null;
      readonly load_cpus: string | null;
      /** Where `--workers 2` targets run (absent in older results). */
      readonly all_cpus?: string | null;
    };
    readonly machine: MachineInfo;
    readonly versions: Record<string, string>;
    readonly backend: string;
    readonly load_before: LoadSample;
    readonly installed: readonly string[];
    /** Which parts this run measured ("data", "control"). */
    readonly parts?: readonly string[];
    /**
     * When this run did not measure the data plane, the date of the run its
     * data-plane figures were carried over from (else null).
     */
    readonly data_from?: string | null;
    /** The TLS part's settings, the same on every target (absent in older results). */
    readonly tls_settings?: string | null;
    /** Scenarios whose figures were kept from an earlier run (`--part` of another part). */
    readonly carried_over?: { readonly scenarios: readonly string[]; readonly from: string };
  };
  readonly scenarios: readonly Scenario[];
  readonly targets: readonly {
    readonly id: string;
    readonly label: string;
    readonly kind: TargetKind;
    readonly config: string | null;
    /** What its TLS listener negotiated with OpenSSL's default client offer (TLS part). */
    readonly tls?: string | null;
  }[];
  readonly measurements: readonly Measurement[];
  readonly summaries: readonly Summary[];
  /** Every bar: issue 3's (data plane), 4, 5 and 6's (control plane). */
  readonly bars: readonly Bar[];
  /** Failed sanity checks, crashed targets: figures missing or not to be trusted. */
  readonly problems: readonly string[];
  /** The control plane's figures (null or absent when not measured). */
  readonly control?: ControlResults | null;
}

/** Writes results.json, results.md and the charts into `dir`; returns the files written. */
export function writeReport(dir: string, r: BenchResults, withJson = true): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    files.push(p);
  };
  if (withJson) write("results.json", JSON.stringify(r, null, 2) + "\n");
  const charts = charts_(r);
  const control: Chart[] = r.control ? controlCharts(r.control) : [];
  for (const c of [...charts, ...control]) write(c.file, c.svg);
  write(
    "results.md",
    markdown(r, charts.map((c) => c.file), control.map((c) => c.file)),
  );
  return files;
}

const fmt = (x: number | null | undefined, digits = 0): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "n/a" : x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
const ratio = (x: number | null | undefined): string =>
  x === null || x === undefined ? "n/a" : `${x.toFixed(2)}x`;
const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** Footnote markers: a figure with flags gets "⚠n" pointing to its notes. */
class Notes {
  readonly list: string[] = [];
  mark(s: Summary | undefined): string {
    if (!s || s.clean) return "";
    this.list.push(`${s.target}, ${s.scenario}: ${s.flags.join("; ")}`);
    return ` ⚠${this.list.length}`;
  }
}

function markdown(
  r: BenchResults,
  chartFiles: readonly string[],
  controlFiles: readonly string[],
): string {
  const m = r.meta;
  const out: string[] = [];
  const get = (scenario: string, target: string) =>
    r.summaries.find((s) => s.scenario === scenario && s.target === target);
  const notes = new Notes();
  const hasData = r.measurements.length > 0;
  const c = r.control ?? null;
  out.push("# Switchyard benchmark results", "");
  const quick = m.options.quick || c?.quick;
  out.push(
    `Generated by \`deno task bench\` (\`tests/bench/main.ts\`)` +
      (quick ? " in **quick mode** (short runs; a smoke test, not a result)" : "") + ". " +
      (hasData
        ? `Data plane: ${m.date} to ${m.finished}` +
          (m.data_from ? ` (carried over from an earlier run)` : "") +
          (m.carried_over
            ? ` (${m.carried_over.scenarios.join(", ")}: carried over from the run of ` +
              `${m.carried_over.from})`
            : "") +
          ". "
        : "Data plane: not measured. ") +
      (c ? `Control plane: ${c.date} to ${c.finished}.` : "Control plane: not measured."),
    "",
  );
  out.push(
    `- Machine: ${m.machine.cpu_model}, ${m.machine.cpus} CPUs` +
      `${m.machine.virtualization ? ` (${m.machine.virtualization})` : ""}, ` +
      `${m.machine.memory_gib} GiB, ${m.machine.os}, ${m.machine.kernel}.`,
  );
  out.push(
    `- Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.`,
  );
  if (hasData) {
    out.push(
      `- Data plane: wrk (${m.options.wrk_threads} thread) for ${m.options.duration_s} s per ` +
        `run, ${m.options.runs} run${m.options.runs > 1 ? "s" : ""} per figure ` +
        `(the median is shown with the range of the runs), every target measured in turn ` +
        `within each run (order rotated from run to run), after a ${m.options.warmup_s} s ` +
        `warm-up of each. The WebSocket echo rate is measured by the suite's own client ` +
        `(\`tests/bench/ws_load.ts\`, under Bun, raw frames over \`node:net\`) in the ` +
        `same way.`,
    );
    out.push(
      `- Backends: ${m.backend}. The same two for every proxy; "backend directly" is the load ` +
        `generator against the first one.`,
    );
    out.push(`- CPU pinning: ${pinningText(m.pinning)}.`);
    const lb = m.load_before;
    out.push(
      `- Machine load before the run: load average ${lb.loadavg.join(", ")}; other processes ` +
        `used ${lb.others_cores.toFixed(2)} cores over a sample.`,
    );
  }
  if (c) {
    out.push(
      `- Control plane: real processes (Switchyard's roles under ${
        String(c.settings.runtime ?? "bun") === "bun" ? "Bun" : "Deno"
      } unless said otherwise), the ZooKeeper dev node, etcd, CoreDNS and keepalived from ` +
        "`deploy/`; every figure's raw samples are in `results.json`.",
    );
  }
  out.push("");

  const problems = [...r.problems, ...(c?.problems ?? [])];
  if (problems.length > 0) {
    out.push("**Problems (figures missing or not to be trusted):**", "");
    for (const p of problems) out.push(`- ${p.split("\n")[0]}`);
    out.push("");
  }

  if (r.bars.length > 0) {
    out.push("## The issues' bars", "");
    out.push(
      "| Issue | Bar | Measured | Result | What limits the figure |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const b of r.bars) {
      const res = b.pass === null ? "not measured" : b.pass ? "**met**" : "**not met**";
      const flagged = b.clean || b.pass === null ? "" : " (figures flagged, see below)";
      out.push(
        `| ${b.issue ?? 3} | ${b.bar} | ${barValue(b)} | ${res}${flagged} | ` +
          `${(b.limits ?? "").replace(/\|/g, "/")} |`,
      );
    }
    out.push("");
  }

  if (hasData) {
    out.push(...dataMarkdown(r, notes, get, chartFiles));
  }
  if (c) out.push(...controlMarkdown(c, r.bars, controlFiles));
  return out.join("\n") + "\n";
}

function barValue(b: Bar): string {
  if (b.measured === null) return "n/a";
  if (b.unit === "ms") return `${fmt(b.measured)} ms`;
  if (b.unit === "s") return `${b.measured.toFixed(1)} s`;
  return ratio(b.measured);
}

function dataMarkdown(
  r: BenchResults,
  notes: Notes,
  get: (scenario: string, target: string) => Summary | undefined,
  chartFiles: readonly string[],
): string[] {
  const m = r.meta;
  const out: string[] = [];
  const img = (f: string) => {
    if (chartFiles.includes(f)) out.push(`![${f}](${f})`, "");
  };
  out.push("## Data plane", "");
  const scenarioIds = new Set(r.scenarios.map((s) => s.id));
  const c1 = scenarioIds.has("rps-c1") ? "rps-c1" : "lat-c1";
  const conns = [c1, "rps-c50", "rps-c256"].filter((id) => scenarioIds.has(id));
  if (conns.length > 1) {
    out.push("### Requests per second at 1, 50 and 256 connections", "");
    out.push(
      "Medians over the runs, and the ratio to nginx. At 1 connection the request is a " +
        "serial chain (client, proxy, backend and back), so the rate is 1 / latency; the " +
        `figure comes from the \`${c1}\` runs.`,
      "",
    );
    out.push(
      `| Target | ${conns.map((id) => `${connsOf(r, id)} conn. | × nginx`).join(" | ")} |`,
      `| --- | ${conns.map(() => "---: | ---:").join(" | ")} |`,
    );
    for (const t of r.targets) {
      const cells = conns.map((id) => {
        const s = get(id, t.id);
        return s
          ? `${fmt(s.rps.median)}${s.clean ? "" : " ⚠"} | ${
            s.vs_nginx ? ratio(s.vs_nginx.rps) : "-"
          }`
          : "- | -";
      });
      out.push(`| ${t.label} | ${cells.join(" | ")} |`);
    }
    out.push("", '⚠: flagged by the checks; see the detailed tables and "Checks" below.', "");
    img("rps-connections.svg");
  }
  if (scenarioIds.has("rps-c50")) {
    out.push("### Requests per second at 50 connections", "");
    out.push(...rpsTable(r, "rps-c50", notes, get));
    out.push("");
    img("rps-c50.svg");
  }
  if (scenarioIds.has("lat-c1")) {
    out.push("### Latency at 1 connection", "");
    out.push(
      "Added latency = the target's percentile minus the backend's own (hit directly) in the " +
        "same run; the ratio compares it with nginx's added latency (lower is better).",
      "",
    );
    out.push(
      "| Target | p50 | p99 | p99.9 | added p50 | × nginx | added p99 | × nginx | req/s |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const t of r.targets) {
      const s = get("lat-c1", t.id);
      if (!s) continue;
      const a = s.added_latency_us;
      out.push(
        `| ${t.label}${notes.mark(s)} | ${us(s.latency_us.p50)} | ${us(s.latency_us.p99)} | ` +
          `${us(s.latency_us["p99.9"])} | ${a ? us(a.p50) : "-"} | ` +
          `${s.vs_nginx ? ratio(s.vs_nginx.added_p50) : "-"} | ${a ? us(a.p99) : "-"} | ` +
          `${s.vs_nginx ? ratio(s.vs_nginx.added_p99) : "-"} | ${fmt(s.rps.median)} |`,
      );
    }
    out.push("");
    img("lat-c1.svg");
    img("lat-c1-percentiles.svg");
  }
  for (const sc of r.scenarios) {
    // the TLS scenarios have their own section below
    if (sc.id === "rps-c50" || sc.id === "lat-c1" || sc.tls) continue;
    out.push(`### ${sc.title}`, "");
    if (sc.tool === "ws") {
      out.push(
        "Messages per second: each connection sends a 32-byte text frame, waits for the " +
          "backend's echo and sends the next (one in flight per connection, as wrk does with " +
          "requests); latency is the round trip. nginx needs `proxy_http_version 1.1` and the " +
          "`Upgrade`/`Connection` headers for it (its `/ws` location); HAProxy and Switchyard " +
          "tunnel an upgrade by default.",
        "",
      );
    }
    out.push(...rpsTable(r, sc.id, notes, get));
    out.push("");
    img(`${sc.id}.svg`);
  }
  out.push(
    ...tlsMarkdown(
      r,
      get,
      (s) => notes.mark(s),
      (f) => chartFiles.includes(f) ? [`![${f}](${f})`, ""] : [],
    ),
  );
  if (r.targets.some((t) => t.id.endsWith("-w2"))) {
    out.push(
      "**`--workers 2`.** Two Switchyard processes share the port (`SO_REUSEPORT`; the kernel " +
        "spreads connections over them). This machine has 2 CPUs, so the second worker can only " +
        `run on the core of the load generator and the backends: these targets may use every ` +
        `CPU (\`taskset -c ${m.pinning.all_cpus ?? "all"}\`, the scheduler places the workers), ` +
        "while every single-process target keeps one core to itself. Their ratios to nginx are " +
        "therefore not like for like (two processes on two shared cores against one nginx " +
        "worker on one core), and the load-side check does not apply to them (their core is " +
        "the load side's core); what they show is that the workers share the load and what it " +
        "costs, not how Switchyard scales on a machine with cores to spare.",
      "",
    );
  }

  out.push("### Where the CPU went (requests/s scenarios)", "");
  out.push(
    "Cores used during the runs (1.00 = one core for the whole run): the target's process " +
      "tree (and the part in the kernel: socket syscalls and the loopback TCP stack), its CPU " +
      "time per request, the load generator, the two backends, every other process on the " +
      "machine, and the target's busiest threads. Medians over the runs.",
    "",
  );
  out.push(
    "| Scenario | Target | target cores | kernel | µs/request | kernel µs/request | load gen. | " +
      "backends | others (max) | busy per core | target threads |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
  );
  for (const sc of r.scenarios) {
    for (const t of r.targets) {
      const s = get(sc.id, t.id);
      if (!s || sc.primary !== "rps") continue;
      const th = s.cpu.target_threads.slice(0, 4).map((x) => `${x.thread} ${x.cores.toFixed(2)}`);
      out.push(
        `| ${sc.id} | ${t.label} | ${s.cpu.target_cores.toFixed(2)} | ` +
          `${s.cpu.target_sys_cores.toFixed(2)} | ${s.cpu.us_per_request.toFixed(1)} | ` +
          `${s.cpu.sys_us_per_request.toFixed(1)} | ${s.cpu.wrk_cores.toFixed(2)} | ` +
          `${s.cpu.backends_cores.toFixed(2)} | ${s.cpu.others_cores_max.toFixed(2)} | ` +
          `${s.cpu.core_busy.map(pct).join(" / ")} | ${th.join(", ")} |`,
      );
    }
  }
  out.push("");

  out.push("### Checks", "");
  out.push(
    "Before measuring, curl checks that each target answers every scenario's request with the " +
      "backends' body (and that a proxy alternates between both backends); the WebSocket " +
      "client checks that echoes come back through it. Each run is flagged " +
      "when the load generator counted errors (connect/read/write/timeout, or a status >= 400), " +
      "when it used its whole core (it, not the target, set the pace), when the core " +
      "of the load generator and the backends was saturated while the target's was not " +
      "(pinned one-process runs), or when " +
      `other processes used more than ${m.options.max_others_cores ?? 0.05} of a core ` +
      "(such a run is repeated once the machine is idle again, within a time budget; a flag " +
      "left here means the re-runs did not get a quiet machine).",
    "",
  );
  if (notes.list.length === 0) out.push("Every figure above passed these checks.", "");
  else notes.list.forEach((n, i) => out.push(`- ⚠${i + 1} ${n}`));
  out.push("");
  out.push("### What limits these figures", "");
  out.push(...limits(r));
  out.push("");
  return out;
}

function connsOf(r: BenchResults, id: string): number {
  return r.scenarios.find((s) => s.id === id)?.connections ?? 0;
}

function us(s: { median: number; min: number; max: number }): string {
  return `${fmt(s.median)} µs`;
}

function rpsTable(
  r: BenchResults,
  scenario: string,
  notes: Notes,
  get: (scenario: string, target: string) => Summary | undefined,
): string[] {
  const unit = r.scenarios.find((s) => s.id === scenario)?.unit ?? "req/s";
  const lines = [
    `| Target | ${unit} (median) | range | spread | × nginx | p50 | p99 | p99.9 | target CPU | ` +
    `${unit} per target core | × nginx |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const t of r.targets) {
    const s = get(scenario, t.id);
    if (!s) continue;
    lines.push(
      `| ${t.label}${notes.mark(s)} | ${fmt(s.rps.median)} | ${fmt(s.rps.min)}-${
        fmt(s.rps.max)
      } | ${s.rps.spread_pct.toFixed(1)}% | ${s.vs_nginx ? ratio(s.vs_nginx.rps) : "-"} | ` +
        `${us(s.latency_us.p50)} | ${us(s.latency_us.p99)} | ${us(s.latency_us["p99.9"])} | ` +
        `${s.cpu.target_cores.toFixed(2)} | ` +
        `${fmt(s.rps_per_core.median)} | ${s.vs_nginx ? ratio(s.vs_nginx.rps_per_core) : "-"} |`,
    );
  }
  return lines;
}

function pinningText(p: BenchResults["meta"]["pinning"]): string {
  if (p.mode === "none") return "none (the scheduler places every process on either core)";
  const workers = p.all_cpus
    ? `; \`--workers 2\` targets may run on every CPU (${p.all_cpus}), see below`
    : "";
  return `for throughput, each target on CPU ${p.target_cpus} and wrk with both backends on CPU ` +
    `${p.load_cpus} (\`taskset\`), so every proxy has one whole core, as one nginx worker or ` +
    `one HAProxy thread would; for the 1-connection scenarios the target is moved onto ` +
    `CPU ${p.load_cpus} with the others for the run (a serial chain gains nothing from a ` +
    `second core, and on this VM a wake-up across cores costs tens of microseconds, more ` +
    `than a proxy adds)${workers}`;
}

const f1 = (x: number | undefined): string => (x === undefined ? "n/a" : x.toFixed(1));

function limits(r: BenchResults): string[] {
  const m = r.meta;
  const get = (scenario: string, target: string) =>
    r.summaries.find((s) => s.scenario === scenario && s.target === target);
  const lines: string[] = [];
  const nginx = get("rps-c50", "nginx");
  const bun = get("rps-c50", "switchyard-bun");
  const deno = get("rps-c50", "switchyard-deno");
  const loadCore = m.pinning.load_cpus !== null && /^\d+$/.test(m.pinning.load_cpus)
    ? Number(m.pinning.load_cpus)
    : null;
  const loadBusy = (s: Summary | undefined) =>
    s && loadCore !== null ? pct(s.cpu.core_busy[loadCore] ?? 0) : "n/a";
  const helpers = (s: Summary | undefined) => {
    if (!s) return "n/a";
    const x = s.cpu.target_threads.slice(1).reduce((a, t) => a + t.cores, 0);
    return x < 0.01 ? "under 0.01" : x.toFixed(2);
  };
  lines.push(
    `- **${m.machine.cpus} cores for everything.** wrk, the two backends and the proxy under ` +
      `test share this ${m.machine.cpus}-core machine. That hurts the JS proxies more than ` +
      `nginx, because:`,
  );
  if (nginx && bun) {
    lines.push(
      `  - they need more CPU per request (at 50 connections: nginx ` +
        `${f1(nginx.cpu.us_per_request)} µs, Switchyard under Bun ` +
        `${f1(bun.cpu.us_per_request)} µs${
          deno ? `, under Deno ${f1(deno.cpu.us_per_request)} µs` : ""
        }), so they are the ones that run out of core, and whatever else needs that core ` +
        `(the runtime's own threads, or, unpinned, wrk and the backends) comes straight out ` +
        `of their requests;`,
    );
    lines.push(
      `  - part of that extra CPU is the kernel's, not JavaScript's: kernel time per request ` +
        `is ${f1(nginx.cpu.sys_us_per_request)} µs for nginx but ` +
        `${f1(bun.cpu.sys_us_per_request)} µs under Bun${
          deno ? ` and ${f1(deno.cpu.sys_us_per_request)} µs under Deno` : ""
        }. A slower proxy leaves the load core idle more often (it was ${loadBusy(nginx)} ` +
        `busy while nginx was measured, ${loadBusy(bun)} for Bun${
          deno ? `, ${loadBusy(deno)} for Deno` : ""
        }), and waking a process on an idle vCPU means an inter-processor interrupt to a ` +
        `halted vCPU, which in a VM is far dearer than on bare metal: a penalty this ` +
        `2-vCPU guest adds to exactly the proxies that are already slower;`,
    );
    lines.push(
      `  - there is no spare core for the runtimes' helper threads (JIT compiler, garbage ` +
        `collector, platform workers); measured here they are small (${
          helpers(bun)
        } cores beside Bun's event loop${
          deno ? `, ${helpers(deno)} beside Deno's` : ""
        }), so this matters less than the two points above.`,
    );
  }
  if (nginx && !nginx.clean) {
    lines.push(
      `- **nginx's (and possibly HAProxy's) requests/s are a lower bound.** At their rate ` +
        `the load core (wrk + both backends) is saturated while the proxy's core is not ` +
        `(flagged above), so the load side set the pace. The requests/s ratios therefore ` +
        `flatter Switchyard; the per-core ratio (requests per second per core the target ` +
        `used) does not depend on who set the pace and is the better estimate of single-core ` +
        `capacity.`,
    );
  }
  const relay = get("rps-c50", "relay-bun");
  if (relay && bun) {
    lines.push(
      `- **The runtime's floor.** A byte relay on the same \`node:net\` sockets under Bun, ` +
        `with no HTTP work at all, costs ${f1(relay.cpu.us_per_request)} µs per request; ` +
        `Switchyard under Bun costs ${f1(bun.cpu.us_per_request)} µs, so about ` +
        `${f1(bun.cpu.us_per_request - relay.cpu.us_per_request)} µs per request is ` +
        `Switchyard's own work (parsing, re-writing heads, bookkeeping).`,
    );
  }
  lines.push(
    `- **One machine, loopback.** No network: the figures compare per-request CPU cost and ` +
      `event-loop latency, not behaviour on a real link. wrk's latency includes its own ` +
      `scheduling.`,
  );
  lines.push(
    `- **Virtual machine.** ${
      m.machine.virtualization ? `A ${m.machine.virtualization}: ` : ""
    }the host's other tenants, caches and frequency are not controlled; identical code ` +
      `measured twice can differ by several percent, so the spread column matters, and ` +
      `differences smaller than it are noise.`,
  );
  lines.push(
    `- **Tiny responses.** A 3-byte body is the worst case for a proxy's per-request overhead ` +
      `relative to nginx's; larger bodies shift the cost to copying, which all of them do ` +
      `in native code.`,
  );
  lines.push(
    `- **Same work, not same features.** nginx and HAProxy add X-Forwarded-For like ` +
      `Switchyard; Switchyard also adds X-Forwarded-Proto/-Host and Forwarded, re-parses and ` +
      `re-writes every head strictly, and keeps per-backend metrics (a histogram per request).`,
  );
  return lines;
}

// ------------------------------------------------------------------ charts

/** One chart file. */
export interface Chart {
  readonly file: string;
  readonly svg: string;
}

function charts_(r: BenchResults): Chart[] {
  const out: Chart[] = [];
  const get = (scenario: string, target: string) =>
    r.summaries.find((x) => x.scenario === scenario && x.target === target);
  const ids = new Set(r.scenarios.map((s) => s.id));
  const c1 = ids.has("rps-c1") ? "rps-c1" : "lat-c1";
  const conns = [c1, "rps-c50", "rps-c256"].filter((id) => ids.has(id));
  if (conns.length > 1) {
    const groups = r.targets.map((t) => {
      const ss = conns.map((id) => get(id, t.id));
      return {
        label: t.label,
        values: ss.map((s) => s?.rps.median ?? null),
        flagged: ss.some((s) => s !== undefined && !s.clean),
      };
    });
    out.push({
      file: "rps-connections.svg",
      svg: groupedChart(
        "Requests/s at 1, 50 and 256 connections (median of the runs)",
        conns.map((id) => `${connsOf(r, id)} connection${connsOf(r, id) > 1 ? "s" : ""}`),
        groups,
        { unit: "requests per second" },
      ),
    });
  }
  for (const sc of r.scenarios) {
    const rows: Row[] = [];
    const unit = sc.unit ?? "req/s";
    for (const t of r.targets) {
      const s = get(sc.id, t.id);
      if (!s) continue;
      if (sc.primary === "rps") {
        rows.push({
          label: t.label,
          value: s.rps.median,
          min: s.rps.min,
          max: s.rps.max,
          note: `${fmt(s.rps.median)}${s.vs_nginx?.rps ? ` (${ratio(s.vs_nginx.rps)})` : ""}`,
          flagged: !s.clean,
        });
      } else if (s.added_latency_us) {
        const a = s.added_latency_us.p50;
        rows.push({
          label: t.label,
          value: a.median,
          min: a.min,
          max: a.max,
          note: `${fmt(a.median)} µs${
            s.vs_nginx?.added_p50 ? ` (${ratio(s.vs_nginx.added_p50)})` : ""
          }`,
          flagged: !s.clean,
        });
      }
    }
    if (rows.length === 0) continue;
    const title = sc.primary === "rps"
      ? `${sc.title}: ${unit} (median, range; × nginx)`
      : `${sc.title}: added median latency over the backend, µs (× nginx)`;
    out.push({ file: `${sc.id}.svg`, svg: barChart(title, rows) });
    if (sc.id === "lat-c1") {
      const groups = r.targets.map((t) => {
        const s = get(sc.id, t.id);
        return {
          label: t.label,
          values: s
            ? [s.latency_us.p50.median, s.latency_us.p99.median, s.latency_us["p99.9"].median]
            : [null, null, null],
          flagged: s !== undefined && !s.clean,
        };
      });
      out.push({
        file: "lat-c1-percentiles.svg",
        svg: groupedChart(
          `${sc.title}: latency percentiles, µs`,
          ["p50", "p99", "p99.9"],
          groups,
          { unit: "microseconds", log: true },
        ),
      });
    }
  }
  return out;
}
