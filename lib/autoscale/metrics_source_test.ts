import assert from "node:assert/strict";
import { PrometheusClient } from "../prometheus/api.ts";
import type { FleetMember } from "./fleet.ts";
import {
  FallbackSource,
  type MetricsSource,
  prometheusQueries,
  PrometheusSource,
  ScrapeSource,
} from "./metrics_source.ts";

const member = (id: string, admin: string | null): FleetMember => ({
  group: "g",
  id,
  address: "10.0.0.1:80",
  admin,
  region: null,
  pid: null,
  runtime: null,
  startedAt: null,
  load: null,
});

Deno.test("prometheusQueries() select the group and exactly the fleet's instances", () => {
  const q = prometheusQueries("lb-1", ["127.0.0.1:9090", "[::1]:9091"], 12.4);
  assert.equal(
    q.connections,
    'sum by (instance) (switchyard_active_connections{group="lb-1",' +
      'instance=~"127\\\\.0\\\\.0\\\\.1:9090|\\\\[::1\\\\]:9091"})',
  );
  assert.match(
    q.cpu_percent,
    /rate\(process_cpu_seconds_total\{instance=~".*"\}\[12s\]\)\) \* 100$/,
  );
  assert.match(q.p99_seconds, /^histogram_quantile\(0\.99, sum by \(instance, le\)/);
  // a listener's proxies label requests by the group routed to: the fleet's group, or else all
  assert.equal(
    q.rps,
    'sum by (instance) (rate(switchyard_requests_total{group="lb-1",instance=~"127\\\\.0\\\\.0\\\\.1:9090|\\\\[::1\\\\]:9091"}[12s])) or ' +
      'sum by (instance) (rate(switchyard_requests_total{instance=~"127\\\\.0\\\\.0\\\\.1:9090|\\\\[::1\\\\]:9091"}[12s]))',
  );
  assert.match(
    q.p99_seconds,
    /\[12s\]\)\) or sum by \(instance, le\) \(rate\(switchyard_request_duration_seconds_bucket\{instance=~/,
  );
});

/** A fetch answering Prometheus queries from a table (query text -> result vector). */
function fakePrometheus(answers: (query: string) => [Record<string, string>, string][]) {
  const seen: string[] = [];
  const f = (input: string | URL | Request) => {
    const url = new URL(String(input));
    const query = url.searchParams.get("query")!;
    seen.push(query);
    const result = answers(query).map(([metric, value]) => ({
      metric,
      value: [1700000000, value],
    }));
    return Promise.resolve(
      new Response(JSON.stringify({ status: "success", data: { resultType: "vector", result } })),
    );
  };
  return { fetch: f as typeof fetch, seen };
}

Deno.test("PrometheusSource joins Prometheus's answers to the fleet by instance", async () => {
  const p = fakePrometheus((q) => {
    const a = { instance: "h:1" };
    const b = { instance: "h:2" };
    const stranger = { instance: "h:99" };
    if (q.startsWith("max by (instance) (timestamp(")) {
      return [[a, "1700000000.5"], [stranger, "1"]];
    }
    if (q.startsWith("sum by (instance) (switchyard_active_connections")) {
      return [[a, "12"], [b, "3"]];
    }
    if (q.startsWith("histogram_quantile")) return [[a, "NaN"]];
    if (q.includes("process_cpu_seconds_total")) return [[a, "42.5"]];
    return [[a, "7"]];
  });
  const source = new PrometheusSource({
    client: new PrometheusClient("http://prom:9090", { fetch: p.fetch }),
    group: "g",
    windowSeconds: 10,
  });
  const samples = await source.sample([member("a", "h:1"), member("b", "h:2"), member("c", null)]);
  assert.equal(p.seen.length, 5);
  // b has no timestamp (never scraped): no sample; NaN p99 (no request): null
  assert.deepEqual(samples, [{
    id: "a",
    at: 1700000000500,
    values: { connections: 12, cpu_percent: 42.5, rps: 7, p99_seconds: null },
  }]);
  assert.deepEqual(await source.sample([member("c", null)]), []);
});

Deno.test("PrometheusSource fails as a whole on an error answer; FallbackSource then scrapes", async () => {
  const broken = ((_: unknown) =>
    Promise.resolve(
      new Response(JSON.stringify({ status: "error", errorType: "bad_data", error: "boom" }), {
        status: 400,
      }),
    )) as typeof fetch;
  const primary = new PrometheusSource({
    client: new PrometheusClient("http://prom:9090", { fetch: broken }),
    group: "g",
    windowSeconds: 10,
  });
  await assert.rejects(primary.sample([member("a", "h:1")]), /bad_data: boom/);
  const fallback: MetricsSource = {
    kind: "scrape",
    sample: () => Promise.resolve([{ id: "a", at: 1, values: { connections: 1 } }]),
    status: () => ({}),
  };
  const both = new FallbackSource(primary, fallback);
  assert.equal(both.kind, "prometheus");
  assert.equal((await both.sample([member("a", "h:1")])).length, 1);
  assert.equal(both.kind, "scrape");
  assert.equal((both.status() as { fallbacks: number }).fallbacks, 1);
});

Deno.test("ScrapeSource scrapes each proxy, keeps a window, and skips the ones that fail", async () => {
  let now = 10_000;
  let cpu = 1;
  const f = ((input: string | URL | Request) => {
    const url = String(input);
    if (url.includes("h:2")) return Promise.reject(new Error("connection refused"));
    if (url.includes("h:3")) return Promise.resolve(new Response("nope", { status: 500 }));
    return Promise.resolve(
      new Response(
        `process_cpu_seconds_total ${cpu}\nswitchyard_active_connections{group="g"} 5\n` +
          `switchyard_active_connections{group="other"} 50\n`,
      ),
    );
  }) as typeof fetch;
  const source = new ScrapeSource({ group: "g", windowMs: 5000, now: () => now, fetch: f });
  const fleet = [member("a", "h:1"), member("b", "h:2"), member("c", "h:3"), member("d", null)];
  let samples = await source.sample(fleet);
  assert.deepEqual(samples, [{
    id: "a",
    at: 10_000,
    values: { connections: 5, cpu_percent: null, rps: null, p99_seconds: null },
  }]);
  now += 2000;
  cpu += 1;
  samples = await source.sample(fleet);
  assert.equal(samples[0]!.values.cpu_percent, 50);
  const st = source.status() as { scrape_errors: number; last_error: string };
  assert.equal(st.scrape_errors, 4);
  assert.match(st.last_error, /HTTP 500|connection refused/);
  // a new process behind the same id (another admin address) starts a new window
  samples = await source.sample([member("a", "h:9")]);
  assert.equal(samples[0]!.values.cpu_percent, null);
});
