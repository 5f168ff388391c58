import assert from "node:assert/strict";
import { carryOver } from "./main.ts";
import type { BenchResults } from "./report.ts";
import type { Measurement } from "./results.ts";
import {
  DEFAULT_SCENARIOS,
  scenarioPart,
  SCENARIOS,
  selectScenarios,
  TLS_SCENARIOS,
} from "./scenarios.ts";

const scenario = (id: string) => SCENARIOS.find((s) => s.id === id)!;

function m(s: string, target: string): Measurement {
  return { scenario: s, target, run: 1, rps: 1, flags: [] } as unknown as Measurement;
}

function results(
  date: string,
  scenarios: string[],
  targets: string[],
  ms: Measurement[],
): BenchResults {
  return {
    schema: 2,
    meta: { date } as BenchResults["meta"],
    scenarios: scenarios.map(scenario),
    targets: targets.map((id) => ({ id, label: id, kind: "switchyard" as const, config: null })),
    measurements: ms,
    summaries: [],
    bars: [],
    problems: [`problem of ${date}`],
  };
}

Deno.test("scenarios: the TLS ones are the tls part's and in the default list; the rest the data part's", () => {
  assert.deepEqual(TLS_SCENARIOS, ["tls-handshakes", "https-c50", "h2-s50"]);
  for (const s of selectScenarios("all")) {
    assert.equal(scenarioPart(s), TLS_SCENARIOS.includes(s.id) ? "tls" : "data", s.id);
  }
  for (const id of TLS_SCENARIOS) assert.ok(DEFAULT_SCENARIOS.includes(id), id);
});

Deno.test("carryOver: --part tls keeps the data part's figures from the earlier run, and says so", () => {
  const old = results("2026-01-01", ["rps-c50", "https-c50"], ["nginx", "switchyard-bun-w2"], [
    m("rps-c50", "nginx"),
    m("rps-c50", "switchyard-bun-w2"),
    m("https-c50", "nginx"), // re-measured now: dropped
  ]);
  const fresh = results("2026-02-02", ["https-c50"], ["nginx"], [m("https-c50", "nginx")]);
  const out = carryOver(fresh, old, ["tls"]);
  assert.deepEqual(out.scenarios.map((s) => s.id), ["rps-c50", "https-c50"]);
  assert.deepEqual(out.targets.map((t) => t.id), ["nginx", "switchyard-bun-w2"]);
  assert.deepEqual(
    out.measurements.map((x) => `${x.scenario}/${x.target}`),
    ["rps-c50/nginx", "rps-c50/switchyard-bun-w2", "https-c50/nginx"],
  );
  assert.deepEqual(out.meta.carried_over, { scenarios: ["rps-c50"], from: "2026-01-01" });
  // problems are this run's: the earlier ones may be about what was just re-measured
  assert.deepEqual(out.problems, ["problem of 2026-02-02"]);
});

Deno.test("carryOver: --part data keeps the TLS figures; nothing to keep leaves the run as it is", () => {
  const old = results("2026-01-01", ["https-c50"], ["nginx"], [m("https-c50", "nginx")]);
  const fresh = results("2026-02-02", ["rps-c50"], ["nginx"], [m("rps-c50", "nginx")]);
  const out = carryOver(fresh, old, ["data"]);
  assert.deepEqual(out.measurements.map((x) => x.scenario), ["https-c50", "rps-c50"]);
  assert.deepEqual(out.meta.carried_over?.scenarios, ["https-c50"]);
  assert.equal(carryOver(fresh, old, ["data", "tls"]), fresh);
});
