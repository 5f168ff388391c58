/**
 * The control plane's part of the report: a table per section
 * (propagation, detection, orchestrator, DNS, keepalived) with median, p99,
 * range, what the configuration predicts, the ratio to the issue's bar and
 * the checks' flags, the charts, and what limits these figures.
 *
 * @module
 */
import { barChart, type Row } from "./charts.ts";
import type { ControlFigure, ControlResults, Section } from "./control/common.ts";
import type { Bar } from "./results.ts";

/** One chart file. */
interface Chart {
  readonly file: string;
  readonly svg: string;
}

const num = (x: number | null | undefined, unit: string): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  if (unit === "s") return `${x.toFixed(2)} s`;
  return `${x >= 100 ? Math.round(x).toLocaleString("en-US") : Math.round(x * 10) / 10} ms`;
};

const TITLES: Record<Section, string> = {
  propagation: "Config propagation",
  detection: "Health-failure detection",
  orchestrator: "Orchestrator probe capacity",
  dns: "DNS: proxy death to gone from the answers",
  keepalived: "keepalived failover",
};

const INTRO: Record<Section, string> = {
  propagation: "A group config written to ZooKeeper (directly, as `zkCli.sh set` does, and " +
    "through the admin API) until the last of N proxies has applied it; the time comes from " +
    "each proxy's own apply stamp (`/status`, 1 ms resolution) against the writer's clock (the " +
    "same machine), so polling adds nothing. Proxies are added to the group to reach N = 1, 5 " +
    "and 20; they run under Bun (20 Deno processes would not fit beside ZooKeeper on 2 cores " +
    "without measuring mostly the contention).",
  detection: "A backend is killed (SIGKILL) under light traffic and the time until it is out " +
    "of rotation on both proxies is measured (`/status` polled every 10 ms): once with the " +
    "orchestrator's active probes through ZooKeeper (proxies with `--no-health-checks`, " +
    "outlier detection off so only that path acts), once with passive ejection alone (no " +
    "active checks, outlier detection at its defaults). Client requests that failed meanwhile " +
    "are listed under the table: the proxies retry a refused connect on the other backend " +
    "within a retry budget (20% of requests + 10/s); with the dead backend in rotation for " +
    "seconds (the orchestrator path, outlier detection off) half the requests need a retry " +
    "and the budget runs out (502s), which outlier detection, on by default, prevents.",
  orchestrator: "The orchestrator scale benchmark (`tests/bench/orchestrator/main.ts`): probe " +
    "lag is how late a probe starts against its schedule; median and p99 interpolated from " +
    "the processes' lag histograms over the window.",
  dns: "The real stack on loopback: etcd, CoreDNS, the dns role and two registered proxies; " +
    "one proxy is SIGKILLed and `dig` asks every 50 ms until its address is no longer " +
    "answered; then it is started again and must reappear before the next trial.",
  keepalived: "Two DNS nodes (CoreDNS + keepalived) in the lab's network namespaces share a " +
    "virtual IP; a client in region 1 queries it ten times a second (1 s timeout). Seconds of " +
    "failed queries per failover, over several cycles (each cycle: the master's CoreDNS dies " +
    "and comes back, then the new master's keepalived stops and comes back; a node coming " +
    "back must cause no failed query).",
};

/** The control plane's Markdown sections. */
export function controlMarkdown(
  c: ControlResults,
  bars: readonly Bar[],
  files: readonly string[],
): string[] {
  const out: string[] = ["## Control plane", ""];
  const notes: string[] = [];
  const mark = (f: ControlFigure) => {
    if (f.flags.length === 0) return "";
    notes.push(`${f.id}: ${f.flags.join("; ")}`);
    return ` ⚠${notes.length}`;
  };
  const sections: Section[] = ["propagation", "detection", "orchestrator", "dns", "keepalived"];
  const placed = new Set<string>();
  for (const section of sections) {
    const figs = c.figures.filter((f) => f.section === section);
    if (figs.length === 0) continue;
    out.push(`### ${TITLES[section]}`, "", INTRO[section], "");
    const sources = [...new Set(figs.map((f) => f.source))];
    if (sources.length === 1 && sources[0] !== "measured in this run") {
      out.push(`Source: ${sources[0]}.`, "");
    }
    const setups = [...new Set(figs.map((f) => f.setup))];
    for (const s of setups) out.push(`Setup: ${s}.`, "");
    const showP99 = section === "propagation" || section === "orchestrator";
    out.push(
      `| Figure | median | ${showP99 ? "p99 | " : ""}range | n | ` +
        "vs bar | expected from the configuration |",
      `| --- | ---: | ${showP99 ? "---: | " : ""}---: | ---: | ---: | --- |`,
    );
    for (const f of figs) {
      const st = f.stat;
      const bar = bars.find((b) => b.scenario === f.id);
      const vsBar = bar && bar.measured !== null
        ? `${(bar.measured / bar.threshold).toFixed(2)}x (${bar.pass ? "met" : "not met"})`
        : "-";
      if (f.error || !st) {
        out.push(
          `| ${f.title} | not measured: ${f.error ?? "?"} | ${showP99 ? "| " : ""}| | | |`,
        );
        continue;
      }
      const range = st.min !== null && st.max !== null
        ? `${num(st.min, f.unit)} - ${num(st.max, f.unit)}`
        : "-";
      out.push(
        `| ${f.title}${mark(f)} | ${num(st.median, f.unit)} | ` +
          `${showP99 ? `${num(st.p99, f.unit)} | ` : ""}${range} | ${
            st.n.toLocaleString("en-US")
          } | ` +
          `${vsBar} | ${f.expected ?? "-"} |`,
      );
    }
    out.push("");
    out.push(...sectionNotes(section, figs));
    const chart = section === "dns" || section === "keepalived"
      ? "control-failover.svg"
      : `control-${section}.svg`;
    const last = section === "dns"
      ? !sections.slice(4).some((x) => c.figures.some((f) => f.section === x))
      : true;
    if (files.includes(chart) && !placed.has(chart) && last) {
      placed.add(chart);
      out.push(`![${chart}](${chart})`, "");
    }
  }
  out.push("### Checks (control plane)", "");
  out.push(
    "Each part waits (bounded) for the machine to be idle before it starts. A figure is " +
      "flagged when other people's processes (not this suite's, and not the ZooKeeper, etcd, " +
      "CoreDNS or keepalived daemons it uses) used more than 0.25 of a core while it was " +
      "measured, or when a returning DNS node caused failed queries. A part whose infrastructure did not start is reported as " +
      "not measured, with the error; the rest of the suite still runs.",
    "",
  );
  if (notes.length === 0) out.push("Every figure above passed these checks.", "");
  else notes.forEach((n, i) => out.push(`- ⚠${i + 1} ${n}`));
  out.push("");
  out.push("### What limits these figures", "");
  out.push(
    "- **2 cores for every process.** ZooKeeper, the roles, the simulated backends and the " +
      "measuring clients share the machine; tails (p99, max) are where that shows. Each " +
      "table's load columns are in `results.json` (`load`: busy cores, others' cores).",
    "- **Configuration, not code, sets most of these times**: detection is `unhealthy_threshold` " +
      "x the probe interval (or the consecutive failures over the request rate), DNS removal is " +
      "the proxy's ZooKeeper session timeout plus CoreDNS's cache, keepalived failover is the " +
      "`vrrp_script` interval or VRRP's advert interval. The figures show the implementation " +
      "adds little to those bounds; shorter settings give shorter times.",
    "- **Loopback and network namespaces on one host.** No real network latency or loss; a " +
      "ZooKeeper ensemble across machines would add its round trips to propagation.",
    "- **Clock resolution.** Propagation uses the proxies' millisecond apply stamps; detection " +
      "polls every 10 ms, DNS every 50 ms, the keepalived client queries every 100 ms.",
    "",
  );
  return out;
}

function sectionNotes(section: Section, figs: readonly ControlFigure[]): string[] {
  const out: string[] = [];
  if (section === "propagation") {
    for (const f of figs) {
      const first = (f.extra?.first_proxy_ms ?? null) as { median: number; p99: number } | null;
      const busy = f.load ? `; machine ${f.load.machine_busy_cores} cores busy on average` : "";
      if (first) {
        out.push(
          `- ${f.title}: the first proxy applied after ${first.median} ms (median; p99 ` +
            `${first.p99} ms)${busy}.`,
        );
      }
    }
  }
  if (section === "detection") {
    for (const f of figs) {
      const e = f.extra ?? {};
      const bits: string[] = [];
      if (Array.isArray(e.marked_in_zookeeper_ms) && e.marked_in_zookeeper_ms.length > 0) {
        bits.push(`marked unhealthy in ZooKeeper after ${e.marked_in_zookeeper_ms.join(", ")} ms`);
      }
      if (typeof e.client_rate_per_proxy === "number") {
        bits.push(`~${e.client_rate_per_proxy} requests/s per proxy`);
      }
      if (typeof e.client_requests === "number") {
        const kinds = Object.entries((e.client_failures ?? {}) as Record<string, number>)
          .map(([k, v]) => `${v} ${k}`).join(", ");
        bits.push(
          `${e.client_requests_failed} of ${e.client_requests} client requests failed` +
            (kinds ? ` (${kinds})` : ""),
        );
      }
      if (f.samples.length > 0) bits.push(`trials: ${f.samples.join(", ")} ms`);
      if (bits.length > 0) out.push(`- ${f.title}: ${bits.join("; ")}.`);
    }
  }
  if (section === "orchestrator") {
    for (const f of figs) {
      const e = f.extra ?? {};
      const bits = [
        `${e.probes_per_second} probes/s`,
        `worst p99 of the last 16k probes in /status ${e.status_p99_max_ms} ms`,
        `CPU per orchestrator ${
          (e.orchestrator_cpu_percent as number[] | undefined)?.join(" / ")
        }%`,
        `machine ${e.machine_busy_percent}% busy`,
      ];
      if (e.all_marked_after_ms !== undefined) {
        bits.push(
          `${e.marked} of 1,000 marked within ${e.all_marked_after_ms} ms, all cleared within ` +
            `${e.all_cleared_after_ms} ms of recovery`,
        );
      }
      out.push(`- ${f.title}: ${bits.join("; ")}.`);
    }
  }
  if (section === "dns" || section === "keepalived") {
    for (const f of figs) {
      const e = f.extra ?? {};
      const bits: string[] = [];
      if (f.samples.length > 0) {
        bits.push(`trials: ${f.samples.map((x) => x.toFixed(2)).join(", ")} s`);
      }
      if (Array.isArray(e.vip_moved_ms)) {
        bits.push(`VIP moved after ${e.vip_moved_ms.join(", ")} ms`);
      }
      if (Array.isArray(e.failed_queries_when_a_node_returns)) {
        bits.push(
          `failed queries when a node returned: ${e.failed_queries_when_a_node_returns.join(", ")}`,
        );
      }
      if (bits.length > 0) out.push(`- ${f.title}: ${bits.join("; ")}.`);
    }
  }
  if (out.length > 0) out.push("");
  return out;
}

/** The control plane's charts. */
export function controlCharts(c: ControlResults): Chart[] {
  const out: Chart[] = [];
  const figs = (s: Section) => c.figures.filter((f) => f.section === s);
  const row = (f: ControlFigure, label: string, pick: "p99" | "median"): Row => {
    const st = f.stat;
    const v = f.error || !st ? null : st[pick];
    const unit = f.unit;
    return {
      label,
      value: v,
      min: st?.min ?? v ?? 0,
      max: st?.max ?? v ?? 0,
      marker: pick === "p99" && st ? st.median : undefined,
      note: v === null
        ? ""
        : pick === "p99"
        ? `p99 ${num(v, unit)}, median ${num(st!.median, unit)}`
        : `${num(v, unit)} (${num(st!.min, unit)}-${num(st!.max, unit)})`,
      flagged: f.flags.length > 0,
      ours: true,
    };
  };
  const prop = figs("propagation");
  if (prop.length > 0) {
    out.push({
      file: "control-propagation.svg",
      svg: barChart(
        "Config write -> applied on all N proxies, ms (bar: p99, tick: median)",
        prop.map((f) =>
          row(
            f,
            `${f.id.includes("-zk-") ? "ZooKeeper set" : "admin API PUT"}, N = ${
              f.id.replace(/.*-n/, "")
            }`,
            "p99",
          )
        ),
        {
          threshold: { value: 25, label: "issue 4's bar: p99 under 25 ms" },
          legend: "Whiskers: fastest to slowest write; orange: flagged (see results.md).",
        },
      ),
    });
  }
  const det = figs("detection");
  if (det.length > 0) {
    out.push({
      file: "control-detection.svg",
      svg: barChart(
        "Backend killed -> out of rotation on both proxies, ms (median, range of the trials)",
        det.map((f) =>
          row(
            f,
            f.id === "detection-orchestrator"
              ? "orchestrator (1 s probes, fall 3)"
              : "passive ejection",
            "median",
          )
        ),
        { legend: "Whiskers: range of the trials; orange: flagged (see results.md)." },
      ),
    });
  }
  const orch = figs("orchestrator");
  if (orch.length > 0 && orch.some((f) => f.stat)) {
    out.push({
      file: "control-orchestrator.svg",
      svg: barChart(
        "Orchestrator probe lag, 5,000 backends at 1 s, ms (bar: p99, tick: median)",
        orch.map((f) => row(f, f.title.replace("Probe lag under ", ""), "p99")),
        {
          threshold: { value: 250, label: "issue 5's bar: p99 under 250 ms" },
          legend: "From the orchestrators' lag histograms; orange: flagged (see results.md).",
        },
      ),
    });
  }
  const ha = [...figs("dns"), ...figs("keepalived")];
  if (ha.length > 0) {
    const labels: Record<string, string> = {
      "dns-proxy-death": "DNS: proxy SIGKILLed -> gone",
      "keepalived-coredns-death": "keepalived: CoreDNS killed",
      "keepalived-stopped": "keepalived: keepalived stopped",
    };
    out.push({
      file: "control-failover.svg",
      svg: barChart(
        "DNS and keepalived, seconds (median, range of the trials)",
        ha.map((f) => row(f, labels[f.id] ?? f.id, "median")),
        {
          threshold: { value: 3, label: "issue 6's bar for keepalived failover: 3 s" },
          legend: "DNS: until dig stops answering the dead proxy; keepalived: seconds of failed " +
            "queries to the VIP.",
        },
      ),
    });
  }
  return out;
}
