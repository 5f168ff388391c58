import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "../metrics/registry.ts";
import { bucketsOf, histogramQuantile, parseExposition, sumOf } from "./exposition.ts";

Deno.test("parseExposition() reads what our registry renders, escapes included", () => {
  const r = new Registry();
  r.add(new Counter("x_total", "X.", ["a"])).labels('q"uote\\back\nline').inc(2);
  r.add(new Gauge("g", "G.")).labels().set(-1.5);
  r.add(new Gauge("inf", "I.", ["k"])).labels("v").set(Infinity);
  const h = r.add(new Histogram("h_seconds", "H.", ["b"], [0.1, 1]));
  h.labels("b1").observe(0.05);
  const samples = parseExposition(r.render());
  assert.deepEqual(samples[0], {
    name: "x_total",
    labels: { a: 'q"uote\\back\nline' },
    value: 2,
  });
  assert.deepEqual(samples[1], { name: "g", labels: {}, value: -1.5 });
  assert.equal(samples[2]!.value, Infinity);
  assert.deepEqual(
    samples.filter((s) => s.name === "h_seconds_bucket").map((s) => [s.labels.le, s.value]),
    [["0.1", 1], ["1", 1], ["+Inf", 1]],
  );
});

Deno.test("parseExposition() skips malformed lines and keeps the rest", () => {
  const text = [
    "# HELP ok Fine.",
    'broken{a="1} 3',
    "novalue",
    "bad_value abc",
    'ok{a="1"} 4 1700000000000',
    "  spaced   5  ",
    "",
  ].join("\n");
  assert.deepEqual(parseExposition(text), [
    { name: "ok", labels: { a: "1" }, value: 4 },
    { name: "spaced", labels: {}, value: 5 },
  ]);
});

Deno.test("sumOf() and bucketsOf() add matching series up", () => {
  const s = parseExposition([
    'c{group="g",backend="a"} 1',
    'c{group="g",backend="b"} 2',
    'c{group="h",backend="a"} 100',
    'h_bucket{group="g",le="0.1"} 1',
    'h_bucket{group="g",le="+Inf"} 2',
    'h_bucket{group="g",backend="x",le="0.1"} 3',
    'h_bucket{group="g",backend="x",le="+Inf"} 3',
    'h_bucket{group="h",le="+Inf"} 50',
  ].join("\n"));
  assert.equal(sumOf(s, "c", { group: "g" }), 3);
  assert.equal(sumOf(s, "c"), 103);
  assert.equal(sumOf(s, "missing"), null);
  assert.deepEqual([...bucketsOf(s, "h", { group: "g" })], [[0.1, 4], [Infinity, 5]]);
});

Deno.test("histogramQuantile() interpolates like PromQL's histogram_quantile", () => {
  const b = new Map([[0.1, 50], [0.2, 90], [0.5, 100], [Infinity, 100]]);
  assert.equal(histogramQuantile(0.5, b), 0.1);
  assert.ok(Math.abs(histogramQuantile(0.99, b)! - 0.47) < 1e-9);
  assert.ok(Math.abs(histogramQuantile(0.25, b)! - 0.05) < 1e-9);
  // rank in +Inf: the highest finite bound
  assert.equal(histogramQuantile(0.99, new Map([[0.1, 1], [Infinity, 10]])), 0.1);
  // no observations, no +Inf bucket
  assert.equal(histogramQuantile(0.99, new Map([[0.1, 0], [Infinity, 0]])), null);
  assert.equal(histogramQuantile(0.99, new Map([[0.1, 3]])), null);
  // a torn scrape (a bucket below the previous one) is made monotonic
  assert.equal(histogramQuantile(0.5, new Map([[0.1, 10], [0.2, 5], [Infinity, 10]])), 0.05);
});
