/**
 * What the benchmark measures: one scenario is one load shape (connections,
 * request) run against every target, with wrk, or for the WebSocket echo rate
 * with `ws_load.ts`. Issue 3 needs `rps-c50` and `lat-c1`; the others are
 * issue 9's data-plane suite. Requests/s at 1 connection come from the
 * `lat-c1` runs (the same load shape; `rps-c1` is the same thing again, kept
 * for `--scenarios`).
 *
 * @module
 */

/** One load shape. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** wrk connections (`-c`). */
  readonly connections: number;
  /** Request path on the target. */
  readonly path: string;
  readonly method: "GET" | "POST";
  /** Request body size (POST), 0 for none. */
  readonly bodyBytes: number;
  /**
   * The figure the scenario exists for: requests per second (throughput,
   * compared as a ratio), or latency (compared as added latency over the
   * backend hit directly).
   */
  readonly primary: "rps" | "latency";
  /**
   * Where the target runs when pinning is on. `split`: on its own core, wrk and
   * the backends on the other(s): a proxy has a whole core for throughput.
   * `one-core`: moved onto wrk's and the backends' core for the run. At one
   * connection the request is a serial chain (wrk, proxy, backend, proxy, wrk),
   * so one core loses no parallelism, and it avoids cross-core wake-ups, which
   * in a VM cost tens of microseconds each (an IPI to a halted vCPU) and would
   * drown the proxy's own latency.
   */
  readonly placement: "split" | "one-core";
  /**
   * The load generator (default wrk): the WebSocket client (`ws_load.ts`),
   * h2load (HTTP/2), or parallel `openssl s_time -new` clients (one full
   * handshake per connection; see `tls_tools.ts`).
   */
  readonly tool?: LoadTool;
  /** What one "request" is, for the tables (default req/s). */
  readonly unit?: "req/s" | "msg/s" | "handshakes/s";
  /**
   * Over the targets' TLS listener (`--part tls`, issue 15): `h1` HTTPS with
   * HTTP/1.1, `h2` HTTP/2 by ALPN. Absent: cleartext (`--part data`).
   */
  readonly tls?: "h1" | "h2";
  /** h2load: concurrent streams per connection (`-m`); `connections` is its `-c`. */
  readonly streams?: number;
}

/** The load generators the harness runs. */
export type LoadTool = "wrk" | "ws" | "h2load" | "s_time";

/** Every scenario the harness knows, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: "rps-c50",
    title: "Requests/s at 50 connections, GET of a 3-byte body",
    connections: 50,
    path: "/",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "split",
  },
  {
    id: "lat-c1",
    title: "Latency at 1 connection, GET of a 3-byte body",
    connections: 1,
    path: "/",
    method: "GET",
    bodyBytes: 0,
    primary: "latency",
    placement: "one-core",
  },
  {
    id: "rps-c1",
    title: "Requests/s at 1 connection",
    connections: 1,
    path: "/",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "one-core",
  },
  {
    id: "rps-c256",
    title: "Requests/s at 256 connections",
    connections: 256,
    path: "/",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "split",
  },
  {
    id: "body-1m",
    title: "1 MiB response body, 50 connections",
    connections: 50,
    path: "/1m",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "split",
  },
  {
    id: "post-64k",
    title: "POST of a 64 KiB body, 50 connections",
    connections: 50,
    path: "/upload",
    method: "POST",
    bodyBytes: 64 * 1024,
    primary: "rps",
    placement: "split",
  },
  {
    id: "ws-echo",
    title: "WebSocket echo, 50 connections, 32-byte messages",
    connections: 50,
    path: "/ws",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "split",
    tool: "ws",
    unit: "msg/s",
  },
  // issue 15's TLS scenarios (`--part tls`), on the same backends, with the same certificate
  {
    id: "tls-handshakes",
    title: "New TLS handshakes per second (full handshakes, one HTTP/1.0 request each)",
    connections: 8,
    path: "/",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "split",
    tool: "s_time",
    unit: "handshakes/s",
    tls: "h1",
  },
  {
    id: "https-c50",
    title: "HTTPS keep-alive requests/s at 50 connections (HTTP/1.1 over TLS)",
    connections: 50,
    path: "/",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "split",
    tls: "h1",
  },
  {
    id: "h2-s50",
    title: "HTTP/2 requests/s at 50 streams (h2load, 10 connections x 5 streams, over TLS)",
    connections: 10,
    streams: 5,
    path: "/",
    method: "GET",
    bodyBytes: 0,
    primary: "rps",
    placement: "split",
    tool: "h2load",
    tls: "h2",
  },
];

/** The scenarios of issue 15's TLS part (`--part tls`), in report order. */
export const TLS_SCENARIOS: readonly string[] = SCENARIOS.filter((s) => s.tls).map((s) => s.id);

/**
 * What `deno task bench` measures by default: issue 3's two and issue 9's
 * data plane (`--part data`), and issue 15's TLS scenarios (`--part tls`).
 */
export const DEFAULT_SCENARIOS: readonly string[] = [
  "rps-c50",
  "lat-c1",
  "rps-c256",
  "body-1m",
  "post-64k",
  "ws-echo",
  ...TLS_SCENARIOS,
];

/** The `--part` a scenario belongs to: `tls` over the TLS listeners, else `data`. */
export function scenarioPart(s: Pick<Scenario, "tls">): "data" | "tls" {
  return s.tls ? "tls" : "data";
}

/** Resolves a `--scenarios` list (`all` for every one). */
export function selectScenarios(list: string): Scenario[] {
  if (list === "all") return [...SCENARIOS];
  const ids = list.split(",").map((s) => s.trim()).filter(Boolean);
  return ids.map((id) => {
    const s = SCENARIOS.find((x) => x.id === id);
    if (!s) {
      throw new Error(`unknown scenario "${id}" (known: ${SCENARIOS.map((x) => x.id).join(", ")})`);
    }
    return s;
  });
}
