/**
 * The Prometheus exposition we render, checked by the real `promtool check
 * metrics` (Debian package `prometheus`; CI installs it): it must parse, and
 * promtool's linter must report no problem for our metrics.
 */
import assert from "node:assert/strict";
import { mulberry32 } from "../lib/balancer/hash.ts";
import { GroupState } from "../lib/group/group_state.ts";
import { Counter, Gauge, Histogram, Registry } from "../lib/metrics/registry.ts";
import { ProxyMetrics } from "../lib/proxy/metrics.ts";
import { addProcessMetrics } from "../lib/runtime/process.ts";

const PROMTOOL = Deno.env.get("PROMTOOL") ?? "promtool";

interface CheckResult {
  readonly code: number;
  readonly output: string;
}

/** Runs `promtool check metrics` over `text` (on stdin). */
async function promtoolCheck(text: string): Promise<CheckResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(PROMTOOL, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      assert.fail(
        `${PROMTOOL} not found: install promtool (Debian/Ubuntu: apt-get install prometheus, ` +
          "which provides /usr/bin/promtool) or set PROMTOOL to its path",
      );
    }
    throw e;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, output: (decode(stdout) + decode(stderr)).trim() };
}

/** Asserts promtool parses `text` and reports no lint problem. */
async function assertClean(text: string): Promise<void> {
  const r = await promtoolCheck(text);
  assert.equal(
    r.output,
    "",
    `promtool reported problems:\n${r.output}\n--- exposition ---\n${text}`,
  );
  assert.equal(r.code, 0, `promtool exited with ${r.code}\n--- exposition ---\n${text}`);
}

/** A registry with every kind of metric and the awkward values. */
function everyKind(): Registry {
  const r = new Registry();
  const plain = r.add(new Counter("demo_events_total", "Events seen."));
  plain.labels().inc(3);
  const labelled = r.add(
    new Counter("demo_requests_total", 'Requests, by "kind".\nSecond help line \\ backslash.', [
      "kind",
      "path",
    ]),
  );
  labelled.labels("a", "/").inc();
  labelled.labels('quote"', "back\\slash\nnewline").inc(2);
  labelled.labels("", "utf-8 \u00e9\u2603").inc(0.5);
  let live = 7;
  r.add(
    new Counter("demo_collected_total", "Copied from live state at scrape.", ["group"], (c) => {
      c.labels("g").value = live;
    }),
  );
  const gauge = r.add(new Gauge("demo_temperature_celsius", "A plain gauge.", ["room"]));
  gauge.labels("a").set(-3.5);
  gauge.labels("b").set(Number.NaN);
  gauge.labels("c").set(Infinity);
  gauge.labels("d").set(-Infinity);
  gauge.labels("e").set(1e21);
  r.add(new Gauge("demo_empty_ratio", "A gauge without children."));
  r.add(
    new Gauge("demo_queue_length", "Computed at scrape.", ["queue"], (g) => {
      g.retain(() => false);
      g.labels("q1").set(live * 2);
    }),
  );
  const h = r.add(new Histogram("demo_latency_seconds", "A labelled histogram.", ["route"]));
  for (const v of [0.0001, 0.0005, 0.003, 0.2, 1, 31, Number.NaN]) h.labels("/a").observe(v);
  h.labels("/never");
  const bare = r.add(new Histogram("demo_size_bytes", "Sizes.", [], [100, 1000, Infinity]));
  bare.labels().observe(150);
  live = 9;
  return r;
}

Deno.test("promtool accepts a registry with every kind of metric", async () => {
  const text = everyKind().render();
  assert.match(text, /demo_collected_total\{group="g"\} 9/);
  await assertClean(text);
});

Deno.test("promtool accepts the proxy's metrics, with process metrics, after traffic", async () => {
  let t = 1_700_000_000_000;
  const state = new GroupState("lb-group-1", { now: () => t, random: mulberry32(1) });
  const applied = state.applyConfig("v1", {
    backend_servers: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 3 }, "[::1]:9003"],
    algorithm: "WEIGHTED_ROUND_ROBIN",
  });
  assert.ok(applied.ok);
  state.applyConfig("v2", { backend_servers: ["nope"] }); // rejected: counted
  t += 1000;
  state.observeProbe("[::1]:9003", false, "refused");
  const metrics = new ProxyMetrics(state);
  addProcessMetrics(metrics.registry, t - 5000);
  for (
    const [address, status, seconds] of [
      ["127.0.0.1:9001", 200, 0.004],
      ["127.0.0.1:9001", 200, 0.02],
      ["127.0.0.1:9002", 404, 0.001],
      ["127.0.0.1:9002", 502, 3],
      ["[::1]:9003", 200, 0.5],
    ] as const
  ) {
    metrics.countResponse(metrics.forBackend(address), address, "GET", status, seconds);
  }
  metrics.countResponse(metrics.forBackend("127.0.0.1:9001"), "127.0.0.1:9001", "MKCOL", 201, 0.1);
  metrics.countError("no_backend", 503, "POST");
  metrics.countError("timeout", 504);
  metrics.countError("connect_failed", 502);
  metrics.retries.inc();
  metrics.countGrpc("0");
  metrics.countGrpc("5");
  metrics.connectionsTotal.inc(2);
  metrics.activeConnections.value = 1;
  state.snapshot!.backends[0]!.counters.inflight = 2;

  const text = metrics.registry.render();
  for (
    const expected of [
      "# TYPE switchyard_requests_total counter",
      "# TYPE switchyard_request_duration_seconds histogram",
      "# TYPE switchyard_proxy_errors_total counter",
      'switchyard_grpc_responses_total{group="lb-group-1",code="5"} 1',
      "# TYPE switchyard_config_rejected_total counter",
      'switchyard_config_rejected_total{group="lb-group-1"} 1',
      'switchyard_config_info{group="lb-group-1",version="v1"} 1',
      'switchyard_backend_weight{group="lb-group-1",backend="127.0.0.1:9002"} 3',
      'switchyard_backend_inflight{group="lb-group-1",backend="127.0.0.1:9001"} 2',
      'switchyard_requests_total{group="lb-group-1",backend="none",method="POST",class="5xx"} 1',
      'switchyard_requests_total{group="lb-group-1",backend="127.0.0.1:9001",method="GET",class="2xx"} 2',
      'switchyard_requests_total{group="lb-group-1",backend="127.0.0.1:9002",method="GET",class="5xx"} 1',
      'switchyard_requests_total{group="lb-group-1",backend="127.0.0.1:9001",method="other",class="2xx"} 1',
      'switchyard_proxy_errors_total{group="lb-group-1",cause="no_backend",code="503"} 1',
      'switchyard_connection_limit{group="lb-group-1"} 10000',
      "# TYPE process_cpu_seconds_total counter",
      "# TYPE process_resident_memory_bytes gauge",
      "process_start_time_seconds 1699999996",
    ]
  ) {
    assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in\n${text}`);
  }
  assert.ok(
    !text.includes('switchyard_request_duration_seconds_count{group="lb-group-1",backend="none"}'),
    "proxy-generated responses have no latency series",
  );
  await assertClean(text);

  // after a config change drops a backend, the pruned exposition is still clean
  state.applyConfig("v3", { backend_servers: ["127.0.0.1:9001"] });
  metrics.pruneBackends(new Set(["127.0.0.1:9001"]));
  const pruned = metrics.registry.render();
  assert.ok(!pruned.includes("127.0.0.1:9002"), pruned);
  await assertClean(pruned);
});

Deno.test("promtool check is not vacuous: it flags a gauge named like a counter", async () => {
  const r = new Registry();
  r.add(new Gauge("demo_things_total", "Wrongly named.")).labels().set(1);
  const result = await promtoolCheck(r.render());
  assert.notEqual(result.code, 0);
  assert.match(result.output, /non-counter metrics should not have "_total" suffix/);
});

Deno.test("promtool check is not vacuous: it rejects a malformed exposition", async () => {
  const result = await promtoolCheck('# TYPE x counter\nx{a="1} 1\n');
  assert.notEqual(result.code, 0);
});
