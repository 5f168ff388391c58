import assert from "node:assert/strict";
import { type Measurement, routeBars } from "./results.ts";

/** A run with only what routeBars reads. */
function run(target: string, n: number, rps: number, targetCores = 1, flags: string[] = []) {
  return {
    scenario: "rps-c50",
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
