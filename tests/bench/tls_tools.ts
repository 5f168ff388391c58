/**
 * The TLS scenarios' load generators (issue 15) and their output, read into
 * the same {@link LoadResult} as wrk's `report.lua` line:
 *
 * - **h2load** (HTTP/2 over TLS, ALPN `h2`): `-c` connections with `-m`
 *   streams each for `-D` seconds. Its summary has no percentiles, so each
 *   request's time comes from its `--log-file` (one tab-separated line per
 *   request: start in µs since the epoch, status, µs to the end of the
 *   response).
 * - **`openssl s_time -new`**, several in parallel: every connection is a full
 *   handshake (no session is kept for the next one), then `GET / HTTP/1.0`
 *   and its whole answer, then the close. wrk with `Connection: close` and
 *   h2load's reconnects both resume the previous session (checked against
 *   nginx's `$ssl_session_reused`: all but the first connection of each
 *   client were resumed), so they would measure resumption, not new
 *   handshakes. s_time reports connections per process and no latency: the
 *   only timing is the mean connection time (clients x wall time /
 *   connections), the other latency figures are 0 (not measured).
 *
 * @module
 */

/** A load generator's figures, as wrk's `report.lua` prints them (its `WRK_JSON` line). */
export interface LoadResult {
  readonly duration_us: number;
  readonly requests: number;
  readonly bytes: number;
  readonly errors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    /** Responses with a status >= 400. */
    readonly status: number;
    readonly timeout: number;
  };
  readonly latency_us: {
    readonly min: number;
    readonly max: number;
    readonly mean: number;
    readonly stdev: number;
    /** "50", "75", "90", "99", "99.9", "99.99". */
    readonly percentiles: Record<string, number>;
  };
}

/** The percentiles every result carries (wrk's `report.lua` prints the same). */
const QUANTILES = ["50", "75", "90", "99", "99.9", "99.99"] as const;

/** h2load's command line: `connections` x `streams` for `seconds`, one thread. */
export function h2loadArgs(
  url: string,
  connections: number,
  streams: number,
  seconds: number,
  logFile: string,
): string[] {
  return [
    "h2load",
    ...["-c", String(connections), "-m", String(streams), "-t", "1"],
    ...["-D", String(seconds), `--log-file=${logFile}`],
    url,
  ];
}

/**
 * Reads h2load's summary and its per-request log into a {@link LoadResult}.
 * The duration is the one behind h2load's own req/s (its "finished in" is
 * rounded to 10 ms). Throws when the summary is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseH2load } from "./tls_tools.ts";
 * const out = "finished in 2.01s, 1000.00 req/s, 75.00KB/s\n" +
 *   "requests: 2000 total, 2050 started, 2000 done, 1990 succeeded, 10 failed, 0 errored, 0 timeout\n" +
 *   "status codes: 1990 2xx, 0 3xx, 0 4xx, 10 5xx\n" +
 *   "traffic: 150.00KB (153600) total, 100.00KB (102400) headers (space savings 40.00%), 6.00KB (6000) data\n";
 * const r = parseH2load(out, "1\t200\t300\n1\t200\t100\n1\t502\t200\n");
 * assert.equal(r.requests, 2000);
 * assert.equal(r.duration_us, 2_000_000);
 * assert.equal(r.errors.status, 10);
 * assert.equal(r.latency_us.percentiles["50"], 200);
 * ```
 */
export function parseH2load(stdout: string, log: string): LoadResult {
  const finished = /^finished in [\d.]+m?s, ([\d.]+) req\/s/m.exec(stdout);
  const req =
    /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m
      .exec(stdout);
  if (!finished || !req) throw new Error(`no h2load summary in:\n${stdout.slice(-2000)}`);
  const status = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(stdout);
  const traffic = /^traffic: \S+ \((\d+)\) total/m.exec(stdout);
  const done = Number(req[3]);
  const rate = Number(finished[1]);
  const times: number[] = [];
  for (const line of log.split("\n")) {
    const f = line.split("\t");
    if (f.length >= 3 && f[2] !== "") times.push(Number(f[2]));
  }
  return {
    duration_us: rate > 0 ? Math.round(done / rate * 1e6) : 0,
    requests: done,
    bytes: traffic ? Number(traffic[1]) : 0,
    errors: {
      connect: 0,
      // h2load's "errored": streams reset or the connection lost; "failed" covers those and >= 400
      read: Number(req[6]),
      write: 0,
      status: status ? Number(status[3]) + Number(status[4]) : 0,
      timeout: Number(req[7]),
    },
    latency_us: latencyOf(times),
  };
}

/** Min, max, mean, standard deviation and wrk's percentiles of request times (µs). */
export function latencyOf(times: readonly number[]): LoadResult["latency_us"] {
  const percentiles: Record<string, number> = {};
  if (times.length === 0) {
    for (const q of QUANTILES) percentiles[q] = 0;
    return { min: 0, max: 0, mean: 0, stdev: 0, percentiles };
  }
  const sorted = [...times].sort((a, b) => a - b);
  let sum = 0;
  for (const t of sorted) sum += t;
  const mean = sum / sorted.length;
  let sq = 0;
  for (const t of sorted) sq += (t - mean) ** 2;
  for (const q of QUANTILES) {
    // nearest rank, as wrk's histogram reports it
    const rank = Math.ceil(Number(q) / 100 * sorted.length);
    percentiles[q] = sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
  }
  return {
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean,
    stdev: Math.sqrt(sq / sorted.length),
    percentiles,
  };
}

/**
 * `clients` parallel `openssl s_time -new` runs against `host:port` for
 * `seconds`, each fetching `path`, as one shell command (so the shell's
 * `times` counts all of them).
 */
export function sTimeArgs(
  host: string,
  port: number,
  path: string,
  clients: number,
  seconds: number,
): string[] {
  const one = `openssl s_time -connect ${host}:${port} -new -www ${path} -time ${seconds}`;
  return ["bash", "-c", `for i in $(seq ${clients}); do ${one} 2>&1 & done; wait`];
}

/**
 * Reads `clients` parallel s_time runs that took `wallS` seconds in all. Each
 * run prints "N connections in T real seconds, B bytes read per connection";
 * a run that printed none (it could not connect) counts as a connect error,
 * and a run whose connections read nothing (no HTTP answer) as read errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSTime } from "./tls_tools.ts";
 * const line = (n: number, b: number) =>
 *   `${n} connections in 2.00s; 50.00 connections/user sec, bytes read ${n * b}\n` +
 *   `${n} connections in 11 real seconds, ${b} bytes read per connection\n`;
 * const r = parseSTime(line(1000, 150) + line(1500, 150), 3, 10);
 * assert.equal(r.requests, 2500);
 * assert.equal(r.errors.connect, 1);
 * assert.equal(r.duration_us, 10_000_000);
 * ```
 */
export function parseSTime(stdout: string, clients: number, wallS: number): LoadResult {
  let connections = 0;
  let bytes = 0;
  let runs = 0;
  let unanswered = 0;
  for (const m of stdout.matchAll(/^(\d+) connections in \d+ real seconds, (\d+) bytes read/gm)) {
    const n = Number(m[1]);
    const perConnection = Number(m[2]);
    runs++;
    connections += n;
    bytes += n * perConnection;
    if (perConnection === 0) unanswered += n;
  }
  const percentiles: Record<string, number> = {};
  for (const q of QUANTILES) percentiles[q] = 0;
  return {
    duration_us: Math.round(wallS * 1e6),
    requests: connections,
    bytes,
    errors: {
      connect: Math.max(0, clients - runs),
      read: unanswered,
      write: 0,
      status: 0,
      timeout: 0,
    },
    latency_us: {
      min: 0,
      max: 0,
      // each client is serial: its mean connection time is its share of the wall time
      mean: connections > 0 ? Math.round(runs * wallS * 1e6 / connections) : 0,
      stdev: 0,
      percentiles,
    },
  };
}
