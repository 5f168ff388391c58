import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { GroupState } from "../group/group_state.ts";
import { ProxyMetrics } from "../proxy/metrics.ts";
import { readingOfText, ReadingWindow, sampleOf } from "./samples.ts";

function proxyMetrics(): ProxyMetrics {
  const state = new GroupState("g", { now: () => 0, random: mulberry32(1) });
  assert.ok(state.applyConfig("v1", { backend_servers: ["127.0.0.1:1", "127.0.0.1:2"] }).ok);
  return new ProxyMetrics(state);
}

Deno.test("sampleOf() reads connections, CPU, rate and p99 from two scrapes of a proxy", () => {
  const m = proxyMetrics();
  const cpu = (s: number) =>
    `# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ${s}\n`;
  m.activeConnections.value = 7;
  const a = readingOfText("g", 10_000, m.registry.render() + cpu(3));
  // 100 requests over 2 s: 98 fast, 2 slow (on two backends)
  for (let i = 0; i < 98; i++) {
    const addr = i % 2 ? "127.0.0.1:1" : "127.0.0.1:2";
    m.countResponse(m.forBackend(addr), addr, "GET", 200, 0.004);
  }
  m.countResponse(m.forBackend("127.0.0.1:1"), "127.0.0.1:1", "GET", 200, 0.8);
  m.countResponse(m.forBackend("127.0.0.1:2"), "127.0.0.1:2", "GET", 200, 0.9);
  m.activeConnections.value = 40;
  const b = readingOfText("g", 12_000, m.registry.render() + cpu(4.5));
  const s = sampleOf("p1", a, b);
  assert.equal(s.id, "p1");
  assert.equal(s.at, 12_000);
  assert.equal(s.values.connections, 40);
  assert.equal(s.values.cpu_percent, 75);
  assert.equal(s.values.rps, 50);
  // rank 99 of 100 falls in the (0.5, 1] bucket: 0.5 + 0.5 * (99 - 98) / 2
  assert.ok(Math.abs(s.values.p99_seconds! - 0.75) < 1e-9, String(s.values.p99_seconds));
});

Deno.test("sampleOf(): without an earlier reading only the gauge is known", () => {
  const m = proxyMetrics();
  m.activeConnections.value = 3;
  const s = sampleOf("p", null, readingOfText("g", 1, m.registry.render()));
  assert.deepEqual(s.values, { connections: 3, cpu_percent: null, rps: null, p99_seconds: null });
});

Deno.test("sampleOf(): a restarted process (counters went down) gives unknown, not negative", () => {
  const a = readingOfText(
    "g",
    0,
    'process_cpu_seconds_total 10\nswitchyard_requests_total{group="g",backend="a",code="200"} 50\n' +
      'switchyard_request_duration_seconds_bucket{group="g",backend="a",le="+Inf"} 50\n',
  );
  const b = readingOfText(
    "g",
    1000,
    'process_cpu_seconds_total 1\nswitchyard_requests_total{group="g",backend="a",code="200"} 5\n' +
      'switchyard_request_duration_seconds_bucket{group="g",backend="a",le="+Inf"} 5\n',
  );
  assert.deepEqual(sampleOf("p", a, b).values, {
    connections: null,
    cpu_percent: null,
    rps: null,
    p99_seconds: null,
  });
});

Deno.test("sampleOf(): no request in the window means no p99, and another group is not counted", () => {
  const text = 'switchyard_active_connections{group="other"} 9\n' +
    'switchyard_request_duration_seconds_bucket{group="g",backend="a",le="+Inf"} 5\n';
  const s = sampleOf("p", readingOfText("g", 0, text), readingOfText("g", 1000, text));
  assert.equal(s.values.p99_seconds, null);
  assert.equal(s.values.connections, null);
  assert.equal(s.values.rps, 0);
});

Deno.test("ReadingWindow compares the newest reading with one about a window older", () => {
  const w = new ReadingWindow(10_000);
  assert.equal(w.sample("p"), null);
  for (let t = 0; t <= 30_000; t += 1000) {
    w.add(readingOfText("g", t, `process_cpu_seconds_total ${t / 2000}\n`));
  }
  const s = w.sample("p")!;
  assert.equal(s.at, 30_000);
  assert.equal(s.values.cpu_percent, 50);
  assert.equal(w.latest()!.at, 30_000);
});

Deno.test("readingOf(): a listener's proxy (requests labelled by the group routed to) counts every group", () => {
  // fleet "public" = a listener: connections carry its name, requests the backend groups
  const text = (api: number, web: number) =>
    'switchyard_active_connections{group="public"} 4\n' +
    `switchyard_requests_total{group="api",backend="a",method="GET",class="2xx"} ${api}\n` +
    `switchyard_requests_total{group="web",backend="b",method="GET",class="2xx"} ${web}\n` +
    `switchyard_request_duration_seconds_bucket{group="api",backend="a",le="0.1"} ${api}\n` +
    `switchyard_request_duration_seconds_bucket{group="api",backend="a",le="+Inf"} ${api}\n`;
  const s = sampleOf(
    "p",
    readingOfText("public", 0, text(10, 20)),
    readingOfText("public", 2000, text(50, 80)),
  );
  assert.equal(s.values.connections, 4);
  assert.equal(s.values.rps, 50);
  const p99 = s.values.p99_seconds;
  assert.ok(typeof p99 === "number" && p99 <= 0.1, String(p99));
  // a group's own proxy: only its group counts, as before
  const own = 'switchyard_requests_total{group="public",backend="a",method="GET",class="2xx"} 5\n';
  const g = sampleOf(
    "p",
    readingOfText("public", 0, own + text(0, 0)),
    readingOfText("public", 1000, own.replace(" 5", " 9") + text(100, 100)),
  );
  assert.equal(g.values.rps, 4);
});
