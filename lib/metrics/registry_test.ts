import assert from "node:assert/strict";
import {
  Counter,
  Gauge,
  Histogram,
  LATENCY_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
} from "./registry.ts";

function rendered(c: { render(out: string[]): void }): string[] {
  const out: string[] = [];
  c.render(out);
  return out;
}

/** Only the sample lines (no # HELP / # TYPE). */
function samples(c: { render(out: string[]): void }): string[] {
  return rendered(c).filter((l) => !l.startsWith("#"));
}

// --- counters ------------------------------------------------------------------------------------

Deno.test("Counter renders HELP, TYPE and one line per child", () => {
  const c = new Counter("http_requests_total", "Requests served.", ["code"]);
  c.labels("200").inc();
  c.labels("200").inc(2);
  c.labels("500").inc();
  assert.deepEqual(rendered(c), [
    "# HELP http_requests_total Requests served.",
    "# TYPE http_requests_total counter",
    'http_requests_total{code="200"} 3',
    'http_requests_total{code="500"} 1',
  ]);
});

Deno.test("Counter without labels renders a bare series once a child exists", () => {
  const c = new Counter("jobs_total", "Jobs.");
  assert.deepEqual(samples(c), [], "no child, no sample");
  c.labels().inc(0.5);
  assert.deepEqual(samples(c), ["jobs_total 0.5"]);
});

Deno.test("Counter.labels() returns the same child for the same values", () => {
  const c = new Counter("x_total", "X.", ["a", "b"]);
  const child = c.labels("1", "2");
  assert.equal(c.labels("1", "2"), child);
  assert.notEqual(c.labels("2", "1"), child);
  assert.notEqual(c.labels("12", ""), child);
});

Deno.test("Counter.labels() requires exactly one value per label name", () => {
  const c = new Counter("x_total", "X.", ["a", "b"]);
  assert.throws(() => c.labels("1"), /x_total takes 2 label values/);
  assert.throws(() => c.labels("1", "2", "3"), /x_total takes 2 label values/);
});

Deno.test("CounterChild.inc() refuses to decrease a counter", () => {
  const child = new Counter("x_total", "X.").labels();
  assert.throws(() => child.inc(-1), RangeError);
  assert.throws(() => child.inc(Number.NaN), RangeError);
  child.inc(0);
  assert.equal(child.value, 0);
});

Deno.test("Counter with a collect callback refreshes its values before each render", () => {
  let source = 3;
  let calls = 0;
  const c = new Counter("rejected_total", "Rejected.", ["group"], (self) => {
    calls++;
    self.labels("g").value = source;
  });
  assert.deepEqual(samples(c), ['rejected_total{group="g"} 3']);
  source = 5;
  assert.deepEqual(samples(c), ['rejected_total{group="g"} 5']);
  assert.equal(calls, 2);
});

// --- gauges --------------------------------------------------------------------------------------

Deno.test("Gauge goes up, down and can be set", () => {
  const g = new Gauge("queue_depth", "Queue depth.", ["q"]);
  const child = g.labels("a");
  child.inc();
  child.inc(4);
  child.dec();
  child.dec(0.5);
  assert.equal(child.value, 3.5);
  child.set(-2);
  assert.deepEqual(rendered(g), [
    "# HELP queue_depth Queue depth.",
    "# TYPE queue_depth gauge",
    'queue_depth{q="a"} -2',
  ]);
});

Deno.test("Gauge with a collect callback refreshes its values before each render", () => {
  const live = new Map([["a", 1], ["b", 2]]);
  const g = new Gauge("live_items", "Items.", ["name"], (self) => {
    self.retain(() => false);
    for (const [k, v] of live) self.labels(k).set(v);
  });
  assert.deepEqual(samples(g), ['live_items{name="a"} 1', 'live_items{name="b"} 2']);
  live.delete("a");
  live.set("c", 7);
  assert.deepEqual(samples(g), ['live_items{name="b"} 2', 'live_items{name="c"} 7']);
});

Deno.test("Gauge renders special values as Prometheus spells them", () => {
  const g = new Gauge("special", "Special.", ["v"]);
  g.labels("nan").set(Number.NaN);
  g.labels("inf").set(Infinity);
  g.labels("-inf").set(-Infinity);
  g.labels("big").set(1e21);
  g.labels("small").set(1e-7);
  assert.deepEqual(samples(g), [
    'special{v="nan"} NaN',
    'special{v="inf"} +Inf',
    'special{v="-inf"} -Inf',
    'special{v="big"} 1e+21',
    'special{v="small"} 1e-7',
  ]);
});

// --- histograms ----------------------------------------------------------------------------------

Deno.test("Histogram places a value equal to a bound in that bound's bucket", () => {
  const h = new Histogram("size_bytes", "Sizes.", [], [1, 5, 10]);
  const child = h.labels();
  for (const v of [0, 1, 1.0001, 5, 10, 10.5]) child.observe(v);
  assert.deepEqual([...child.counts], [2, 2, 1]);
  assert.equal(child.count, 6);
  assert.equal(child.sum, 0 + 1 + 1.0001 + 5 + 10 + 10.5);
});

Deno.test("Histogram renders cumulative buckets, +Inf, sum and count", () => {
  const h = new Histogram("latency_seconds", "Latency.", ["route"], [0.1, 0.5, 1]);
  const child = h.labels("/a");
  for (const v of [0.05, 0.1, 0.3, 0.7, 2, 3]) child.observe(v);
  assert.deepEqual(rendered(h), [
    "# HELP latency_seconds Latency.",
    "# TYPE latency_seconds histogram",
    'latency_seconds_bucket{route="/a",le="0.1"} 2',
    'latency_seconds_bucket{route="/a",le="0.5"} 3',
    'latency_seconds_bucket{route="/a",le="1"} 4',
    'latency_seconds_bucket{route="/a",le="+Inf"} 6',
    'latency_seconds_sum{route="/a"} 6.15',
    'latency_seconds_count{route="/a"} 6',
  ]);
});

Deno.test("Histogram without labels renders le as the only label", () => {
  const h = new Histogram("d_seconds", "D.", [], [1]);
  h.labels().observe(0.5);
  assert.deepEqual(samples(h), [
    'd_seconds_bucket{le="1"} 1',
    'd_seconds_bucket{le="+Inf"} 1',
    "d_seconds_sum 0.5",
    "d_seconds_count 1",
  ]);
});

Deno.test("Histogram of a child with no observations renders zeros", () => {
  const h = new Histogram("d_seconds", "D.", ["a"], [1, 2]);
  h.labels("x");
  assert.deepEqual(samples(h), [
    'd_seconds_bucket{a="x",le="1"} 0',
    'd_seconds_bucket{a="x",le="2"} 0',
    'd_seconds_bucket{a="x",le="+Inf"} 0',
    'd_seconds_sum{a="x"} 0',
    'd_seconds_count{a="x"} 0',
  ]);
});

Deno.test("Histogram counts NaN only in +Inf and values beyond the last bound only in +Inf", () => {
  const h = new Histogram("d", "D.", [], [1, 2]);
  const child = h.labels();
  child.observe(Number.NaN);
  child.observe(Infinity);
  child.observe(99);
  assert.deepEqual([...child.counts], [0, 0]);
  assert.equal(child.count, 3);
  assert.deepEqual(samples(h).slice(0, 3), [
    'd_bucket{le="1"} 0',
    'd_bucket{le="2"} 0',
    'd_bucket{le="+Inf"} 3',
  ]);
});

Deno.test("Histogram counts negative values in the first bucket", () => {
  const child = new Histogram("d", "D.", [], [0, 1]).labels();
  child.observe(-5);
  assert.deepEqual([...child.counts], [1, 0]);
});

Deno.test("Histogram uses the default latency buckets from 0.5 ms to 30 s", () => {
  const h = new Histogram("d_seconds", "D.");
  assert.deepEqual(h.bounds, LATENCY_BUCKETS);
  assert.equal(LATENCY_BUCKETS[0], 0.0005);
  assert.equal(LATENCY_BUCKETS.at(-1), 30);
  h.labels().observe(0.0005);
  assert.equal(samples(h)[0], 'd_seconds_bucket{le="0.0005"} 1');
  assert.equal(samples(h).filter((l) => l.startsWith("d_seconds_bucket")).length, 16);
});

Deno.test("Histogram requires strictly increasing finite buckets", () => {
  assert.throws(() => new Histogram("d", "D.", [], [1, 1]), /must increase/);
  assert.throws(() => new Histogram("d", "D.", [], [2, 1]), /must increase/);
  assert.throws(() => new Histogram("d", "D.", [], [Number.NaN]), /must be finite/);
  assert.throws(() => new Histogram("d", "D.", [], [1, Number.NaN, 3]), /must be finite/);
  assert.throws(() => new Histogram("d", "D.", [], [-Infinity, 1]), /must be finite/);
});

Deno.test("Histogram drops an explicit +Inf bound instead of rendering it twice", () => {
  const h = new Histogram("d", "D.", [], [1, Infinity]);
  assert.deepEqual(h.bounds, [1]);
  h.labels().observe(5);
  const lines = samples(h);
  assert.equal(lines.filter((l) => l.includes('le="+Inf"')).length, 1);
  assert.equal(lines[1], 'd_bucket{le="+Inf"} 1');
});

Deno.test("Histogram rejects a label named le", () => {
  assert.throws(() => new Histogram("d", "D.", ["le"]), /invalid label name le/);
  new Counter("c_total", "C.", ["le"]); // only histograms reserve it
});

// --- names, escaping ------------------------------------------------------------------------------

Deno.test("Metric families reject invalid metric names", () => {
  for (const name of ["", "1abc", "a-b", "a b", "a.b", "é"]) {
    assert.throws(() => new Counter(name, "X."), /invalid metric name/, name);
    assert.throws(() => new Gauge(name, "X."), /invalid metric name/, name);
    assert.throws(() => new Histogram(name, "X."), /invalid metric name/, name);
  }
  for (const name of ["a", "_a", "a:b", "ns:sub_system:name_total", "A1"]) new Gauge(name, "X.");
});

Deno.test("Metric families reject invalid and reserved label names", () => {
  for (const label of ["", "1a", "a-b", "a:b", "__name__", "__x"]) {
    assert.throws(() => new Counter("x_total", "X.", [label]), /invalid label name/, label);
  }
  new Counter("x_total", "X.", ["_a", "a1", "A_b"]);
});

Deno.test("Label values escape backslash, double quote and newline", () => {
  const c = new Counter("x_total", "X.", ["v"]);
  c.labels('a\\b"c\nd').inc();
  c.labels("C:\\path\\").inc();
  c.labels("plain \t tab and 'single'").inc();
  assert.deepEqual(samples(c), [
    'x_total{v="a\\\\b\\"c\\nd"} 1',
    'x_total{v="C:\\\\path\\\\"} 1',
    "x_total{v=\"plain \t tab and 'single'\"} 1",
  ]);
});

Deno.test("Histogram label values are escaped on every line", () => {
  const h = new Histogram("d", "D.", ["v"], [1]);
  h.labels('"').observe(1);
  for (const line of samples(h)) assert.ok(line.includes('v="\\""'), line);
});

Deno.test("HELP text escapes backslash and newline but not quotes", () => {
  const c = new Counter("x_total", 'Line one\nline "two" with \\ backslash.');
  assert.equal(rendered(c)[0], '# HELP x_total Line one\\nline "two" with \\\\ backslash.');
});

// --- remove / retain ------------------------------------------------------------------------------

Deno.test("remove() drops one child so its series stops", () => {
  const c = new Counter("x_total", "X.", ["backend"]);
  c.labels("a").inc();
  c.labels("b").inc();
  c.remove("a");
  assert.deepEqual(samples(c), ['x_total{backend="b"} 1']);
  c.remove("missing");
  assert.equal(c.labels("a").value, 0, "a removed child starts again from zero");
});

Deno.test("retain() keeps only children whose label values pass", () => {
  const h = new Histogram("d", "D.", ["group", "backend"], [1]);
  h.labels("g", "a").observe(1);
  h.labels("g", "b").observe(1);
  h.labels("g", "c").observe(1);
  h.retain((v) => v[1] !== "b");
  const backends = samples(h).filter((l) => l.startsWith("d_count")).map((l) =>
    /backend="(\w)"/.exec(l)![1]
  );
  assert.deepEqual(backends, ["a", "c"]);
  h.retain(() => false);
  assert.deepEqual(samples(h), []);
});

// --- registry --------------------------------------------------------------------------------------

Deno.test("Registry renders every metric in registration order, ending with a newline", () => {
  const r = new Registry();
  const c = r.add(new Counter("a_total", "A.", ["k"]));
  const g = r.add(new Gauge("b", "B."));
  const h = r.add(new Histogram("c_seconds", "C.", [], [1]));
  c.labels("x").inc();
  g.labels().set(2);
  h.labels().observe(0.5);
  assert.equal(
    r.render(),
    [
      "# HELP a_total A.",
      "# TYPE a_total counter",
      'a_total{k="x"} 1',
      "# HELP b B.",
      "# TYPE b gauge",
      "b 2",
      "# HELP c_seconds C.",
      "# TYPE c_seconds histogram",
      'c_seconds_bucket{le="1"} 1',
      'c_seconds_bucket{le="+Inf"} 1',
      "c_seconds_sum 0.5",
      "c_seconds_count 1",
      "",
    ].join("\n"),
  );
});

Deno.test("Registry.add() returns the collector it was given", () => {
  const r = new Registry();
  const c = new Counter("a_total", "A.");
  assert.equal(r.add(c), c);
});

Deno.test("Registry.add() rejects a second metric with the same name", () => {
  const r = new Registry();
  r.add(new Counter("a_total", "A."));
  assert.throws(() => r.add(new Counter("a_total", "Again.")), /duplicate metric a_total/);
  assert.throws(() => r.add(new Gauge("a_total", "A gauge.")), /duplicate metric a_total/);
});

Deno.test("Registry accepts custom collectors", () => {
  const r = new Registry();
  r.add({ name: "custom", render: (out) => out.push("# TYPE custom gauge", "custom 1") });
  assert.equal(r.render(), "# TYPE custom gauge\ncustom 1\n");
});

Deno.test("PROMETHEUS_CONTENT_TYPE names text format 0.0.4", () => {
  assert.equal(PROMETHEUS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});
