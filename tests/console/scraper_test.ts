/**
 * The console's live figures: parsing `/metrics`, rates between scrapes,
 * latency quantiles, and the scraper's per-group chart points and
 * per-proxy facts (with a fake fetch and clock).
 */
import assert from "node:assert/strict";
import type { Registration, Topology } from "../../lib/admin/console/live_state.ts";
import { histogramQuantile, parseExposition } from "../../lib/prometheus/exposition.ts";
import { counterDelta, countersFromSamples, ratesBetween } from "../../lib/admin/console/rates.ts";
import { Ring } from "../../lib/admin/console/ring.ts";
import { adminBaseUrl, FleetScraper, statusFacts } from "../../lib/admin/console/scraper.ts";
import { silentLogger } from "../../lib/log.ts";

function metrics(n: { ok: number; err: number; none503: number; fast: number; slow: number }) {
  const total = n.ok + n.err;
  return [
    "# HELP switchyard_requests_total Requests proxied.",
    "# TYPE switchyard_requests_total counter",
    `switchyard_requests_total{group="api",backend="10.0.0.1:80",code="200"} ${n.ok}`,
    `switchyard_requests_total{group="api",backend="10.0.0.1:80",code="502"} ${n.err}`,
    `switchyard_requests_total{group="api",backend="none",code="503"} ${n.none503}`,
    `switchyard_request_duration_seconds_bucket{group="api",backend="10.0.0.1:80",le="0.01"} ${n.fast}`,
    `switchyard_request_duration_seconds_bucket{group="api",backend="10.0.0.1:80",le="0.1"} ${
      n.fast + n.slow
    }`,
    `switchyard_request_duration_seconds_bucket{group="api",backend="10.0.0.1:80",le="+Inf"} ${total}`,
    `switchyard_request_duration_seconds_sum{group="api",backend="10.0.0.1:80"} ${
      n.fast * 0.005 + n.slow * 0.05
    }`,
    `switchyard_request_duration_seconds_count{group="api",backend="10.0.0.1:80"} ${total}`,
    "process_cpu_seconds_total 1.5",
    "",
  ].join("\n");
}

Deno.test("parseExposition() reads samples with escaped labels and skips bad lines", () => {
  const s = parseExposition(
    '# HELP a x\na_total{path="/a\\"b",x="1"} 2\nbroken{ 3\nb 4.5e1\nc{le="+Inf"} +Inf\n',
  );
  assert.deepEqual(s, [
    { name: "a_total", labels: { path: '/a"b', x: "1" }, value: 2 },
    { name: "b", labels: {}, value: 45 },
    { name: "c", labels: { le: "+Inf" }, value: Infinity },
  ]);
});

Deno.test("histogramQuantile() interpolates inside a bucket like histogram_quantile", () => {
  const b = new Map([[0.01, 50], [0.1, 100], [Infinity, 100]]);
  assert.equal(histogramQuantile(0.5, b), 0.01);
  assert.ok(Math.abs(histogramQuantile(0.75, b)! - 0.055) < 1e-9);
  assert.equal(histogramQuantile(0.5, new Map([[0.1, 0], [Infinity, 0]])), null);
  // in +Inf: the largest finite bound
  assert.equal(histogramQuantile(0.99, new Map([[0.1, 1], [Infinity, 10]])), 0.1);
});

Deno.test("ratesBetween() gives per-second rates and treats a counter reset as a restart", () => {
  const a = countersFromSamples(
    parseExposition(metrics({ ok: 100, err: 10, none503: 5, fast: 100, slow: 10 })),
    0,
  );
  const b = countersFromSamples(
    parseExposition(metrics({ ok: 300, err: 30, none503: 25, fast: 250, slow: 80 })),
    2000,
  );
  const r = ratesBetween(a, b)!;
  const api = r.groups.get("api")!;
  assert.equal(api.rps, (330 + 25 - 115) / 2); // every answer, the proxy's own 503s included
  assert.equal(api.errorRps, (20 + 20) / 2); // 502s from the backend and the proxy's 503s
  assert.deepEqual(api.byBackend.get("10.0.0.1:80"), { rps: 110, errorRps: 10 });
  assert.equal(r.cpuPercent, 0);
  assert.equal(counterDelta(50, 7), 7);
  // the proxy restarted (same id): its counters start again from zero
  const restarted = ratesBetween(b, { ...a, at: 4000 })!;
  assert.equal(restarted.groups.get("api")!.rps, (110 + 5) / 2);
  assert.equal(ratesBetween(b, b), null);
});

Deno.test("statusFacts() reads old and new /status documents", () => {
  const f = statusFacts({
    connections: 3,
    draining: false,
    config: { version: "7", panic: true },
    last_rejected: { version: "8", reason: "bad weight" },
    backends: [
      { address: "10.0.0.1:80", inflight: 2, usable: true },
      { address: "10.0.0.2:80", inflight: 0, usable: false, ejected: true },
      { address: "10.0.0.3:80", outlier: { ejected: true } },
    ],
  });
  assert.equal(f.configVersion, "7");
  assert.equal(f.panic, true);
  assert.deepEqual(f.lastRejected, { version: "8", reason: "bad weight" });
  assert.deepEqual(f.backends.get("10.0.0.1:80"), { inflight: 2, usable: true, ejected: null });
  assert.equal(f.backends.get("10.0.0.2:80")?.ejected, true);
  assert.equal(f.backends.get("10.0.0.3:80")?.ejected, true);
  assert.equal(statusFacts("nonsense").connections, null);
});

Deno.test("adminBaseUrl() replaces a wildcard admin host by the advertised one", () => {
  assert.equal(adminBaseUrl({ admin: "127.0.0.1:9090", address: null }), "http://127.0.0.1:9090");
  assert.equal(
    adminBaseUrl({ admin: "0.0.0.0:9090", address: "10.1.2.3:80" }),
    "http://10.1.2.3:9090",
  );
  assert.equal(adminBaseUrl({ admin: "[::]:9090", address: "[::]:80" }), "http://127.0.0.1:9090");
  assert.equal(adminBaseUrl({ admin: "::1:9090", address: null }), "http://[::1]:9090");
  assert.equal(adminBaseUrl({ admin: "127.0.0.1:0", address: null }), null);
  assert.equal(adminBaseUrl({ admin: null, address: null }), null);
});

Deno.test("Ring keeps the last N values in order", () => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  assert.deepEqual(r.toArray(), [3, 4, 5]);
  assert.equal(r.last(), 5);
  assert.equal(r.size, 3);
});

const reg = (id: string, admin: string): Registration => ({
  id,
  group: "api",
  address: "127.0.0.1:8080",
  admin,
  region: null,
  runtime: null,
  configVersion: "1",
  startedAt: null,
});

Deno.test("FleetScraper sums proxies per group, keeps chart points and reports failures", async () => {
  let clock = 10_000;
  const counts = { ok: 0, err: 0, none503: 0, fast: 0, slow: 0 };
  const fakeFetch = (input: string | URL | Request): Promise<Response> => {
    const url = String(input);
    if (url.startsWith("http://127.0.0.2:")) return Promise.reject(new Error("refused"));
    if (url.endsWith("/status")) {
      return Promise.resolve(Response.json({
        connections: 4,
        config: { version: "1" },
        backends: [{ address: "10.0.0.1:80", inflight: 1, usable: true, ejected: false }],
      }));
    }
    return Promise.resolve(new Response(metrics(counts)));
  };
  const scraper = new FleetScraper({
    log: silentLogger,
    fetch: fakeFetch as typeof fetch,
    now: () => clock,
    intervalMs: 1000,
    windowMs: 3000,
  });
  const topology: Topology = {
    coordination: { kind: "memory", state: "connected", session: null, since: 0 },
    orchestrator: { master: null, workers: [] },
    groups: [{
      name: "api",
      version: 1,
      modifiedAt: null,
      config: {},
      issues: [],
      algorithm: "ROUND_ROBIN",
      backends: [{ address: "10.0.0.1:80", weight: 1, drain: false }],
      unhealthy: new Map(),
      proxies: [reg("a", "127.0.0.1:9001"), reg("b", "127.0.0.1:9002"), reg("down", "127.0.0.2:9")],
    }],
  };
  let points = await scraper.tick(topology);
  assert.equal(points.api?.rps, null); // first scrape: no rate yet
  clock += 1000;
  Object.assign(counts, { ok: 90, err: 10, none503: 0, fast: 80, slow: 20 });
  points = await scraper.tick(topology);
  // two proxies answering the same counters: 100 req/s each
  assert.equal(points.api?.rps, 200);
  assert.equal(points.api?.errorRps, 20);
  // p50: rank 100 of 200 falls in the first bucket (160 of them below 10 ms): 10 * 100/160 ms
  assert.ok(Math.abs(points.api!.p50! - 6.25) < 1e-9);
  assert.ok(points.api!.p99! > 10 && points.api!.p99! <= 100);
  assert.equal(scraper.stats(reg("a", ""))?.status?.connections, 4);
  const down = scraper.stats(reg("down", ""));
  assert.equal(down?.scrape.ok, false);
  assert.match(down?.scrape.error ?? "", /refused/);
  for (let i = 0; i < 5; i++) {
    clock += 1000;
    await scraper.tick(topology);
  }
  // the window holds 3 s at 1 s per point
  assert.equal(scraper.series().api?.length, 3);
  assert.equal(scraper.series().api?.at(-1)?.rps, 0);
  // a group gone from the topology loses its series
  await scraper.tick({ ...topology, groups: [] });
  assert.equal(scraper.series().api, undefined);
});
