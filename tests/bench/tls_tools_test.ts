import assert from "node:assert/strict";
import { h2loadArgs, latencyOf, parseH2load, parseSTime, sTimeArgs } from "./tls_tools.ts";

/** h2load 1.52's output of a 2 s run against a proxy over TLS (trimmed of its progress lines). */
const H2LOAD_OUT = `starting benchmark...
spawning thread #0: 10 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 2.01s, 8759.00 req/s, 754.12KB/s
requests: 17518 total, 17568 started, 17518 done, 17518 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 17518 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.47MB (1544434) total, 1.12MB (1176006) headers (space savings 40.59%), 51.32KB (52554) data
                     min         max         mean         sd        +/- sd
time for request:      367us     56.58ms      5.31ms      4.82ms    90.05%
`;

Deno.test("parseH2load: the figures of a clean run, the duration behind h2load's own req/s", () => {
  const log = "1796692024136038\t200\t30669\n1796692024136038\t200\t31291\n";
  const r = parseH2load(H2LOAD_OUT, log);
  assert.equal(r.requests, 17518);
  // 17518 / 8759 req/s = 2 s exactly (h2load's "2.01s" is rounded)
  assert.equal(r.duration_us, 2_000_000);
  assert.equal(r.bytes, 1544434);
  assert.deepEqual(r.errors, { connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
  assert.equal(r.latency_us.min, 30669);
  assert.equal(r.latency_us.max, 31291);
  assert.equal(r.latency_us.percentiles["50"], 30669);
  assert.equal(r.latency_us.percentiles["99"], 31291);
});

Deno.test("parseH2load: errored streams, timeouts and 4xx/5xx become wrk's error counters", () => {
  const out = H2LOAD_OUT
    .replace(
      /^requests: .*$/m,
      "requests: 1000 total, 1010 started, 990 done, 900 succeeded, 100 failed, 7 errored, 3 timeout",
    )
    .replace(/^status codes: .*$/m, "status codes: 900 2xx, 0 3xx, 40 4xx, 50 5xx");
  const r = parseH2load(out, "");
  assert.equal(r.requests, 990);
  assert.deepEqual(r.errors, { connect: 0, read: 7, write: 0, status: 90, timeout: 3 });
  // no log lines: no latency figures rather than made-up ones
  assert.equal(r.latency_us.percentiles["50"], 0);
});

Deno.test("parseH2load: output without a summary (h2load failed to connect) is an error", () => {
  assert.throws(
    () => parseH2load("starting benchmark...\nNo protocol negotiated. Aborted\n", ""),
    /no h2load summary/,
  );
});

Deno.test("latencyOf: nearest-rank percentiles, mean and deviation", () => {
  const cases: { times: number[]; p50: number; p99: number; mean: number; stdev: number }[] = [
    { times: [5], p50: 5, p99: 5, mean: 5, stdev: 0 },
    { times: [4, 1, 3, 2], p50: 2, p99: 4, mean: 2.5, stdev: Math.sqrt(1.25) },
    {
      times: Array.from({ length: 100 }, (_, i) => i + 1),
      p50: 50,
      p99: 99,
      mean: 50.5,
      stdev: Math.sqrt(833.25),
    },
  ];
  for (const c of cases) {
    const l = latencyOf(c.times);
    assert.equal(l.percentiles["50"], c.p50, `p50 of ${c.times.length}`);
    assert.equal(l.percentiles["99"], c.p99, `p99 of ${c.times.length}`);
    assert.equal(l.mean, c.mean);
    if (c.stdev > 0) assert.ok(Math.abs(l.stdev - c.stdev) < 1e-9);
    assert.equal(l.min, Math.min(...c.times));
    assert.equal(l.max, Math.max(...c.times));
  }
  assert.equal(latencyOf([]).percentiles["99.99"], 0);
});

/** One s_time run's two summary lines (OpenSSL 3.0). */
function sTimeRun(connections: number, bytesPerConnection: number): string {
  return `\nCollecting connection statistics for 3 seconds\n${"*".repeat(20)}\n\n` +
    `${connections} connections in 1.25s; 1770.40 connections/user sec, bytes read ` +
    `${connections * bytesPerConnection}\n` +
    `${connections} connections in 3 real seconds, ${bytesPerConnection} bytes read per ` +
    `connection\n`;
}

Deno.test("parseSTime: connections summed over the parallel clients, over the measured wall time", () => {
  const r = parseSTime(sTimeRun(300, 158) + sTimeRun(500, 158), 2, 4);
  assert.equal(r.requests, 800);
  assert.equal(r.duration_us, 4_000_000);
  assert.equal(r.bytes, 800 * 158);
  assert.deepEqual(r.errors, { connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
  // two serial clients, 800 connections in 4 s: 10 ms each on average
  assert.equal(r.latency_us.mean, 10_000);
  assert.equal(r.latency_us.percentiles["50"], 0);
});

Deno.test("parseSTime: a client that never printed counts as a connect error, no answer as read errors", () => {
  const out = sTimeRun(300, 158) + sTimeRun(40, 0) + "ERROR\nconnect:errno=111\n";
  const r = parseSTime(out, 3, 3);
  assert.equal(r.requests, 340);
  assert.equal(r.errors.connect, 1);
  assert.equal(r.errors.read, 40);
});

Deno.test("sTimeArgs and h2loadArgs: full handshakes with a request each; c x m streams for the duration", () => {
  const s = sTimeArgs("127.0.0.1", 8443, "/", 8, 10);
  assert.equal(s[0], "bash");
  assert.match(s[2]!, /seq 8\)/);
  assert.match(s[2]!, /openssl s_time -connect 127\.0\.0\.1:8443 -new -www \/ -time 10/);
  assert.doesNotMatch(s[2]!, /-reuse/);
  assert.deepEqual(
    h2loadArgs("https://127.0.0.1:8443/", 10, 5, 3, "/tmp/log.tsv"),
    [
      "h2load",
      "-c",
      "10",
      "-m",
      "5",
      "-t",
      "1",
      "-D",
      "3",
      "--log-file=/tmp/log.tsv",
      "https://127.0.0.1:8443/",
    ],
  );
});
