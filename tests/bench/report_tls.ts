/**
 * The TLS part of `results.md` (issue 15): what was measured and how, the
 * settings every target got, what each negotiated, and each TLS scenario's
 * figures with the paired ratio to nginx (the median of the per-run ratios,
 * as the bars use).
 *
 * @module
 */
import type { BenchResults } from "./report.ts";
import { type Measurement, median, ratioToNginx, type Summary } from "./results.ts";

const fmt = (x: number): string =>
  Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a";

/** Its rate per core it used, as a ratio to nginx's (who set the pace does not matter). */
function perCore(s: Summary): string {
  const x = s.vs_nginx?.rps_per_core;
  return x === null || x === undefined ? "-" : `${x.toFixed(2)}x`;
}

/** "0.93x (0.90-0.95)", or "-" without a pair. */
function pairedText(ms: readonly Measurement[], scenario: string, target: string): string {
  if (target === "nginx") return "1.00x";
  const r = ratioToNginx(ms, scenario, target);
  if (r === null) return "-";
  return r.n > 1
    ? `${r.median.toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)})`
    : `${r.median.toFixed(2)}x`;
}

/**
 * The TLS section's lines (empty when no TLS scenario was measured). `mark`
 * footnotes a flagged figure; `img` adds a chart that was written.
 */
export function tlsMarkdown(
  r: BenchResults,
  get: (scenario: string, target: string) => Summary | undefined,
  mark: (s: Summary | undefined) => string,
  img: (file: string) => string[],
): string[] {
  const scenarios = r.scenarios.filter((s) => s.tls);
  if (scenarios.length === 0) return [];
  const ms = r.measurements;
  const targets = r.targets.filter((t) => scenarios.some((s) => get(s.id, t.id)));
  const out: string[] = [];
  out.push("### TLS and HTTP/2 (issue 15)", "");
  out.push(
    "nginx (one worker), HAProxy (one thread) and Switchyard (one process) under each runtime " +
      "terminate TLS in front of the same two backends (upstream stays cleartext HTTP/1.1 " +
      "with keep-alive). The same settings on every target: " +
      `${r.meta.tls_settings ?? "see tests/bench/tls_setup.ts"}.`,
    "",
  );
  out.push(
    "- **New handshakes per second:** parallel `openssl s_time -new -www /` clients (as many " +
      "as the scenario's connections): each connection is a full handshake (no session " +
      "offered), one `GET / HTTP/1.0` and its whole answer, then the close. wrk with " +
      "`Connection: close` and h2load's reconnects resume the previous session, so they " +
      "would measure resumption. s_time reports no latency; the figure beside it is the mean " +
      "connection time (handshake, request, close).",
    "- **HTTPS keep-alive:** wrk over `https://` at 50 connections, as `rps-c50` in cleartext.",
    "- **HTTP/2:** h2load over TLS (ALPN `h2`), 10 connections x 5 streams = 50 concurrent " +
      "streams, one thread; latency percentiles from its per-request log.",
    "- **Ratios to nginx:** the median of the per-run ratios (each target and nginx measured " +
      "back to back within a run), with their range when there is more than one run. " +
      '"Per core" divides each rate by the CPU its target used: it holds when the load ' +
      "side, not the target, set the pace (the check flags that), or the machine was busy.",
    "",
  );
  out.push(
    `| Target | negotiated (OpenSSL's default client offer) | ${
      scenarios.map((s) => `${s.id} | × nginx`).join(" | ")
    } |`,
    `| --- | --- | ${scenarios.map(() => "---: | ---:").join(" | ")} |`,
  );
  for (const t of targets) {
    const cells = scenarios.map((s) => {
      const x = get(s.id, t.id);
      return x
        ? `${fmt(x.rps.median)}${x.clean ? "" : " ⚠"} | ${pairedText(ms, s.id, t.id)}`
        : "- | -";
    });
    out.push(`| ${t.label} | ${t.tls ?? "-"} | ${cells.join(" | ")} |`);
  }
  out.push("");
  for (const s of scenarios) {
    const unit = s.unit ?? "req/s";
    out.push(`#### ${s.title}`, "");
    const latency = s.tool === "s_time" ? "mean connection" : "p50 | p99 | p99.9";
    out.push(
      `| Target | ${unit} (median) | range | × nginx (paired) | ${latency} | target CPU | ` +
        `CPU µs per ${s.tool === "s_time" ? "handshake" : "request"} | per core × nginx | ` +
        "load gen. |",
      `| --- | ---: | ---: | ---: | ${
        s.tool === "s_time" ? "---:" : "---: | ---: | ---:"
      } | ---: | ---: | ---: | ---: |`,
    );
    for (const t of targets) {
      const x = get(s.id, t.id);
      if (!x) continue;
      const runs = ms.filter((m) => m.scenario === s.id && m.target === t.id);
      const lat = s.tool === "s_time"
        ? `${fmt(median(runs.map((m) => m.latency_us.mean)))} µs`
        : `${fmt(x.latency_us.p50.median)} µs | ${fmt(x.latency_us.p99.median)} µs | ` +
          `${fmt(x.latency_us["p99.9"].median)} µs`;
      out.push(
        `| ${t.label}${mark(x)} | ${fmt(x.rps.median)} | ${fmt(x.rps.min)}-${fmt(x.rps.max)} | ` +
          `${pairedText(ms, s.id, t.id)} | ${lat} | ${x.cpu.target_cores.toFixed(2)} | ` +
          `${x.cpu.us_per_request.toFixed(1)} | ${perCore(x)} | ${x.cpu.wrk_cores.toFixed(2)} |`,
      );
    }
    out.push("");
    out.push(...img(`${s.id}.svg`));
  }
  return out;
}
