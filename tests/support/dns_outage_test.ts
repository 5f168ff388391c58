import assert from "node:assert/strict";
import { measureOutage, parseProbeLines, settledPrefix, steadyFor } from "./dns_outage.ts";
import type { ProbeSample } from "./dns_outage.ts";

/** Samples every 100 ms from t=1000, failing where `pattern` has "x". */
function samples(pattern: string): ProbeSample[] {
  return [...pattern].map((c, i) => ({ seq: i + 1, sent: 1000 + i * 100, ok: c !== "x" }));
}

Deno.test("parseProbeLines: keeps results, skips done and blank lines, sorts by seq", () => {
  const text = [
    '{"seq":2,"sent":1100,"ok":false,"error":"timeout"}',
    '{"seq":1,"sent":1000,"ok":true,"rttMs":1,"rcode":"NOERROR","answers":["1.2.3.4"]}',
    "",
    '{"done":true,"sentTotal":2}',
  ].join("\n");
  assert.deepEqual(parseProbeLines(text), [
    { seq: 1, sent: 1000, ok: true },
    { seq: 2, sent: 1100, ok: false },
  ]);
});

Deno.test("measureOutage: no failures", () => {
  assert.deepEqual(measureOutage(samples("...."), 0, 99999, 100), {
    queries: 4,
    failed: 0,
    seconds: 0,
    failedAfterRecovery: 0,
  });
});

Deno.test("measureOutage: one contiguous run is its span plus one interval", () => {
  const o = measureOutage(samples("..xxxx..."), 0, 99999, 100);
  assert.equal(o.failed, 4);
  assert.equal(o.seconds, 0.4);
  assert.equal(o.firstFailed, 1200);
  assert.equal(o.lastFailed, 1500);
  assert.equal(o.failedAfterRecovery, 0);
});

Deno.test("measureOutage: a single failure counts one interval", () => {
  assert.equal(measureOutage(samples(".x."), 0, 99999, 100).seconds, 0.1);
});

Deno.test("measureOutage: failures after recovery are counted (flapping)", () => {
  const o = measureOutage(samples(".xx..x.x"), 0, 99999, 100);
  assert.equal(o.failed, 4);
  assert.equal(o.failedAfterRecovery, 2);
  assert.equal(o.seconds, 0.7);
});

Deno.test("measureOutage: only samples sent inside [from, to)", () => {
  const o = measureOutage(samples("xx....xx"), 1200, 1600, 100);
  assert.equal(o.queries, 4);
  assert.equal(o.failed, 0);
});

Deno.test("measureOutage: an outage still running at the window's end", () => {
  const o = measureOutage(samples("...xxx"), 0, 99999, 100);
  assert.equal(o.failed, 3);
  assert.equal(o.failedAfterRecovery, 0);
  assert.equal(o.seconds, 0.3);
});

Deno.test("steadyFor: needs a full window of successes", () => {
  assert.equal(steadyFor([], 1000, 100), false);
  assert.equal(steadyFor(samples("x" + ".".repeat(12)), 1000, 100), true);
  assert.equal(steadyFor(samples("x" + ".".repeat(5)), 1000, 100), false);
  assert.equal(steadyFor(samples(".".repeat(12) + "x"), 1000, 100), false);
  assert.equal(steadyFor(samples(".".repeat(8) + "x" + ".".repeat(5)), 1000, 100), false);
});

Deno.test("settledPrefix: stops at the first query still in flight", () => {
  const all = samples("..x..");
  const inFlight = all.filter((s) => s.seq !== 3); // the failure is not written yet
  assert.deepEqual(settledPrefix(inFlight).map((s) => s.seq), [1, 2]);
  assert.deepEqual(settledPrefix(all).map((s) => s.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(settledPrefix([]), []);
});

Deno.test("steadyFor: a failure still in flight keeps it unsteady", () => {
  const all = samples(".".repeat(20) + "x" + ".".repeat(5));
  const inFlight = all.filter((s) => s.seq !== 21);
  // Judged on settled samples only: 20 good ones, so steady up to the in-flight query...
  assert.equal(steadyFor(inFlight, 1000, 100), true);
  // ...but once the failure is written, the last second is not all good.
  assert.equal(steadyFor(all, 1000, 100), false);
  // With `since` at the event (query 20 sent at 2900), the window must start after it: the
  // in-flight failure leaves too few settled samples after it.
  assert.equal(steadyFor(inFlight, 1000, 100, 2900), false);
});

Deno.test("steadyFor: since requires the whole window after the event", () => {
  const all = samples(".".repeat(40)); // sent 1000..4900
  assert.equal(steadyFor(all, 1000, 100, 3800), true);
  assert.equal(steadyFor(all, 1000, 100, 3950), false);
});
