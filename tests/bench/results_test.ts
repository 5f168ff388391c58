import assert from "node:assert/strict";
import { type Measurement, pairedRatios, ratioToNginx, routeBars, tlsBars } from "./results.ts";

/** A run with only what the bars read. */
function run(
  target: string,
  n: number,
  rps: number,
  targetCores = 1,
  flags: string[] = [],
  scenario = "rps-c50",
) {
  return {
    scenario,
    target,
    run: n,
    rps,
    flags,
    cpu: { target_cores: targetCores },
  } as unknown as Measurement;
}

Deno.test("routeBars: the median of per-run ratios, so a run-to-run drift cancels", () => {
  const ms = [
    // the machine slows down run by run; each run's pair still says 0.97
    run("switchyard-bun", 1, 30_000),
    run("switchyard-bun-routes", 1, 29_100),
    run("switchyard-bun", 2, 20_000),
    run("switchyard-bun-routes", 2, 19_400),
    run("switchyard-bun", 3, 10_000),
    run("switchyard-bun-routes", 3, 9_700),
    // Deno: 0.9 in every run, one run flagged
    run("switchyard-deno", 1, 20_000),
    run("switchyard-deno-routes", 1, 18_000, 1, ["machine busy"]),
    run("nginx", 1, 40_000),
  ];
  const [bun, deno, ...rest] = routeBars(ms);
  assert.equal(rest.length, 0);
  assert.equal(bun!.issue, 14);
  assert.equal(bun!.measured, 0.97);
  assert.equal(bun!.pass, true);
  assert.equal(bun!.clean, true);
  assert.match(bun!.limits!, /median of 3 per-run ratios \(range 0\.97-0\.97\)/);
  assert.equal(deno!.measured, 0.9);
  assert.equal(deno!.pass, false);
  assert.equal(deno!.clean, false);
  // CPU per request: 1 core / 18,000 req/s against 1 / 20,000
  assert.match(deno!.limits!, /55\.6 µs with routes against 50\.0 µs/);
});

Deno.test("routeBars: nothing without both targets", () => {
  assert.deepEqual(routeBars([run("switchyard-bun", 1, 30_000), run("nginx", 1, 1)]), []);
});

/** An HTTPS keep-alive run (`https-c50`). */
function https(target: string, n: number, rps: number, flags: string[] = []) {
  return run(target, n, rps, 1, flags, "https-c50");
}

Deno.test("pairedRatios: one ratio per run both were measured in, other scenarios ignored", () => {
  const ms = [
    https("nginx", 1, 10_000),
    https("switchyard-bun", 1, 8_000),
    https("switchyard-bun", 2, 9_000), // nginx missing in run 2: no pair
    https("nginx", 3, 5_000),
    https("switchyard-bun", 3, 4_500),
    run("nginx", 1, 1), // another scenario
  ];
  assert.deepEqual(pairedRatios(ms, "https-c50", "switchyard-bun", "nginx"), [0.8, 0.9]);
  assert.deepEqual(ratioToNginx(ms, "https-c50", "switchyard-bun"), {
    median: 0.85,
    min: 0.8,
    max: 0.9,
    n: 2,
  });
  assert.equal(ratioToNginx(ms, "https-c50", "haproxy"), null);
});

Deno.test("tlsBars: issue 15's 0.7x and issue 16's 0.9x from the median of per-run ratios", () => {
  const cases: {
    name: string;
    ms: Measurement[];
    measured: number | null;
    pass15: boolean | null;
    pass16: boolean | null;
    clean: boolean;
  }[] = [
    {
      name: "a drifting machine: every run says 0.95",
      ms: [
        https("nginx", 1, 20_000),
        https("switchyard-bun", 1, 19_000),
        https("nginx", 2, 10_000),
        https("switchyard-bun", 2, 9_500),
        https("nginx", 3, 16_000),
        https("switchyard-bun", 3, 15_200),
      ],
      measured: 0.95,
      pass15: true,
      pass16: true,
      clean: true,
    },
    {
      name: "0.8x: issue 15's bar met, issue 16's not",
      ms: [https("nginx", 1, 10_000), https("switchyard-bun", 1, 8_000)],
      measured: 0.8,
      pass15: true,
      pass16: false,
      clean: true,
    },
    {
      name: "0.6x with a flagged nginx run: neither met, not clean",
      ms: [https("nginx", 1, 10_000, ["machine busy"]), https("switchyard-bun", 1, 6_000)],
      measured: 0.6,
      pass15: false,
      pass16: false,
      clean: false,
    },
    {
      name: "nginx measured, Switchyard under Bun not: not measured",
      ms: [https("nginx", 1, 10_000), https("switchyard-deno", 1, 6_000)],
      measured: null,
      pass15: null,
      pass16: null,
      clean: false,
    },
  ];
  for (const c of cases) {
    const [b15, b16, ...rest] = tlsBars(c.ms);
    assert.equal(rest.length, 0, c.name);
    assert.equal(b15!.issue, 15, c.name);
    assert.equal(b15!.threshold, 0.7, c.name);
    assert.equal(b16!.issue, 16, c.name);
    assert.equal(b16!.threshold, 0.9, c.name);
    assert.equal(b15!.scenario, "https-c50", c.name);
    assert.equal(b15!.measured, c.measured, c.name);
    assert.equal(b16!.measured, c.measured, c.name);
    assert.equal(b15!.pass, c.pass15, c.name);
    assert.equal(b16!.pass, c.pass16, c.name);
    assert.equal(b15!.clean, c.clean, c.name);
  }
});

Deno.test("tlsBars: none when the TLS part did not run", () => {
  assert.deepEqual(tlsBars([run("nginx", 1, 10_000), run("switchyard-bun", 1, 9_000)]), []);
});

Deno.test("tlsBars: the limits name the runs, their range and the CPU per request of each", () => {
  const [b] = tlsBars([
    https("nginx", 1, 20_000),
    https("switchyard-bun", 1, 16_000),
    https("nginx", 2, 20_000),
    https("switchyard-bun", 2, 18_000),
  ]);
  assert.equal(b!.measured, 0.85);
  // CPU per request: the median of 1 core / 16,000 and 1 / 18,000 (62.5 and 55.6 µs)
  assert.match(b!.limits!, /CPU per request 59\.0 µs against nginx's 50\.0 µs/);
});
