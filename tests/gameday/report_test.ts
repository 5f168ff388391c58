import assert from "node:assert/strict";
import path from "node:path";
import { REPO } from "../support/dns_stack.ts";
import { parseGamedayArgs } from "./main.ts";
import { renderReport, renderTimelines, type Results } from "./report.ts";

const RESULTS: Results = {
  started_at: "2026-12-07T22:00:00.000Z",
  mode: "quick",
  duration_s: 95,
  topology: "the topology",
  client_rate_per_s: 25,
  client_behaviour: "GETs retried once elsewhere.",
  cut_bound: 10,
  unhealthy_bound_ms: 2000,
  faults: [
    {
      name: "proxy SIGKILL",
      detail: "p2 (bun)",
      injected_at_s: 8,
      window_s: 16,
      impact: {
        requests: 800,
        failedIdempotent: 0,
        failedNonIdempotent: 1,
        cut: 2,
        stalled: 3,
        retried: 4,
        recoveryMs: 40,
      },
      vip_failover_ms: null,
      invariants: {
        two_orchestrator_masters: 0,
        two_dns_leaders: 0,
        versions_out_of_order: 0,
        versions_lost: null,
        unhealthy_backend_traffic: 3,
        duplicated_posts: 0,
      },
      observed: {
        sampler_rounds: 30,
        orchestrator_masters: ["orch-1"],
        dns_leaders: ["dns-1"],
        proxies_reporting: ["p1", "p3", "p4"],
        marked_unhealthy: [],
        backends_down: [],
      },
      failures: [],
      violations: {
        two_acting: [],
        versions_out_of_order: [],
        unhealthy_backend_traffic: [{ backend: "b5", markedAt: 1, from: 2, to: 3, requests: 3 }],
        duplicated_posts: [],
      },
      bars: [
        { bar: "zero failed idempotent requests", held: true, detail: "0 failed" },
        { bar: "VIP failover within 3000 ms", held: false, detail: "3400 ms" },
      ],
    },
  ],
  monitoring: {
    prometheus_targets: {
      "switchyard-proxy": { up: 4, total: 5 },
      "switchyard-orchestrator": { up: 3, total: 3 },
    },
    autoscaler_evaluations: 120,
    autoscaler_actions: [{
      at: "2026-12-08T01:00:00.000Z",
      action: "grow",
      reason: "scale_out",
      detail: "utilization 1.2 > 0.9",
      current: 4,
      desired: 6,
      remove: [],
      result: "ok",
    }],
    fleet_at_end: 4,
    sampled_at_end: 4,
  },
  totals: { requests: 800, ok: 797, duplicated_posts: [], posts_seen: 200 },
  passed: false,
  not_covered: ["a rolling restart of every proxy"],
  seconds: [],
};

Deno.test("renderReport: verdict, one row per fault with failed bars named, invariants, what is not covered", () => {
  const md = renderReport(RESULTS);
  assert.match(md, /^# Game day report\n/);
  assert.match(md, /`deno task gameday --quick`/);
  assert.match(md, /\*\*Some bars did not hold\.\*\*/);
  assert.match(
    md,
    /\| 1 \| proxy SIGKILL \| p2 \(bun\) \| 800 \| 0 \| 1 \| 2 \| 3 \| 4 \| 40 ms \| — \| \*\*VIP failover within 3000 ms: 3400 ms\*\* \|/,
  );
  assert.match(
    md,
    /\| 1 \| proxy SIGKILL \| held \| held \| held \| — \| \*\*3 requests\*\* \| held \|/,
  );
  assert.match(md, /\| 1 \| 30 \| orch-1 \| dns-1 \| p1, p3, p4 \| — \| — \|/);
  assert.match(md, /\nClient behaviour: GETs retried once elsewhere\.\n/);
  assert.match(
    md,
    /targets at the end of the run \(up \/ discovered\): switchyard-orchestrator 3\/3, switchyard-proxy 4\/5\. The autoscaler evaluated the fleet 120 times/,
  );
  assert.match(
    md,
    /\| 2026-12-08T01:00:00\.000Z \| grow \| 4 -> 6 \| scale_out \| ok \| utilization 1\.2 > 0\.9 \|/,
  );
  assert.match(
    renderReport({ ...RESULTS, monitoring: { ...RESULTS.monitoring, autoscaler_actions: [] } }),
    /It decided no grow or shrink\./,
  );
  assert.match(md, /## Not covered by this run\n\n- a rolling restart of every proxy\n/);
  assert.match(md, /!\[client success rate per second\]\(success\.svg\)/);
  assert.match(
    renderReport({ ...RESULTS, passed: true, not_covered: [] }),
    /\*\*Every bar held\.\*\*/,
  );
  assert.doesNotMatch(renderReport({ ...RESULTS, not_covered: [] }), /Not covered/);
});

Deno.test("parseGamedayArgs: defaults, --out, and a quick run never writes docs/gameday", () => {
  assert.deepEqual(parseGamedayArgs([]), { quick: false, out: path.join(REPO, "docs/gameday") });
  assert.deepEqual(parseGamedayArgs(["--quick"]), {
    quick: true,
    out: path.join(REPO, ".state/gameday/quick"),
  });
  assert.deepEqual(parseGamedayArgs(["--quick", "--out", "/tmp/gd"]), {
    quick: true,
    out: "/tmp/gd",
  });
  assert.throws(
    () => parseGamedayArgs(["--quick", "--out", `${REPO}/docs/gameday`]),
    /--out: docs\/gameday/,
  );
  assert.throws(() => parseGamedayArgs(["--out"]), /--out: needs a directory/);
  assert.throws(() => parseGamedayArgs(["--fast"]), /unknown argument --fast/);
  assert.deepEqual(parseGamedayArgs(["--only", "SIGSTOP", "--only", "cut", "--out", "/tmp/gd"]), {
    quick: false,
    out: "/tmp/gd",
    only: ["SIGSTOP", "cut"],
  });
  assert.throws(() => parseGamedayArgs(["--only", "SIGSTOP"]), /--only: a partial run/);
  assert.throws(() => parseGamedayArgs(["--only"]), /--only: needs/);
});

Deno.test("renderTimelines: both charts, one point per second, faults marked by number", () => {
  const seconds = [0, 1, 2].map((second) => ({
    second,
    total: 10,
    ok: 10,
    successRate: 1,
    p99Ms: 5,
  }));
  const { success, p99 } = renderTimelines({ ...RESULTS, seconds });
  for (const svg of [success, p99]) {
    assert.equal(/points="([^"]*)"/.exec(svg)?.[1]?.split(" ").length, 3);
    assert.equal(svg.match(/class="fault"/g)?.length, 1);
    assert.match(svg, /text-anchor="middle">1<\/text>/);
  }
  assert.match(success, />100 %</);
  assert.match(p99, />5 ms</);
});
