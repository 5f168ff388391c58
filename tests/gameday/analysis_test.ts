import assert from "node:assert/strict";
import {
  type ActingSample,
  type BackendSample,
  duplicatedPosts,
  faultBars,
  faultImpact,
  type FaultWindow,
  lostVersions,
  perSecond,
  quantile,
  twoActing,
  unhealthyTraffic,
  versionRegressions,
  type VersionSample,
} from "./analysis.ts";
import type { ClientSample } from "./client.ts";

const T0 = 1_000_000;
function req(
  t: number,
  status: number,
  extra: Partial<ClientSample> = {},
): ClientSample {
  return { t: T0 + t, client: "c1", method: "GET", ms: 10, status, target: "10.0.0.1", ...extra };
}

Deno.test("quantile: nearest rank", () => {
  const table: [number[], number, number][] = [
    [[], 0.99, 0],
    [[5], 0.99, 5],
    [[1, 2, 3, 4], 0.5, 2],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
    [[3, 1, 2], 1, 3],
  ];
  for (const [values, q, want] of table) assert.equal(quantile(values, q), want, `${values} ${q}`);
});

Deno.test("perSecond: buckets by second from t0, success rate and p99, empty seconds are 1", () => {
  const samples = [
    req(0, 200, { ms: 5 }),
    req(500, 502, { ms: 40 }),
    req(1200, 200, { ms: 7 }),
    req(3100, 0, { error: "cut", ms: 3 }),
    req(-10, 200), // before the run
    req(9000, 200), // after it
  ];
  assert.deepEqual(perSecond(samples, T0, 4), [
    { second: 0, total: 2, ok: 1, successRate: 0.5, p99Ms: 40 },
    { second: 1, total: 1, ok: 1, successRate: 1, p99Ms: 7 },
    { second: 2, total: 0, ok: 0, successRate: 1, p99Ms: 0 },
    { second: 3, total: 1, ok: 0, successRate: 0, p99Ms: 3 },
  ]);
});

Deno.test("faultImpact: failed GETs, failed POSTs and cut connections apart, recovery time", () => {
  const fault: FaultWindow = {
    name: "proxy killed",
    injectedAt: T0 + 1000,
    end: T0 + 10_000,
    victims: ["10.0.0.2"],
  };
  const cases: [string, ClientSample[], Partial<ReturnType<typeof faultImpact>>][] = [
    ["nothing failed", [req(1000, 200), req(2000, 200)], {
      requests: 2,
      failedIdempotent: 0,
      failedNonIdempotent: 0,
      cut: 0,
      stalled: 0,
      retried: 0,
      recoveryMs: 0,
    }],
    ["outside the window is not counted", [req(500, 502), req(10_000, 502)], { requests: 0 }],
    ["a reset on the victim is cut, not failed", [
      req(1100, 0, { error: "cut", target: "10.0.0.2", ms: 50 }),
      req(1200, 0, { error: "cut", target: "10.0.0.2", ms: 80, method: "POST" }),
    ], { cut: 2, failedIdempotent: 0, failedNonIdempotent: 0, recoveryMs: 280 }],
    ["a POST that hung on the (stopped) victim until the client gave up is stalled", [
      req(1200, 0, { error: "timeout", target: "10.0.0.2", ms: 5000, method: "POST" }),
    ], { cut: 0, stalled: 1, failedNonIdempotent: 0, recoveryMs: 5200 }],
    ["a GET that timed out on the victim failed (the client retries GETs elsewhere)", [
      req(1200, 0, { error: "timeout", target: "10.0.0.2", ms: 5000 }),
    ], { stalled: 0, failedIdempotent: 1 }],
    ["a POST that timed out on a survivor failed", [
      req(1200, 0, { error: "timeout", target: "10.0.0.1", ms: 5000, method: "POST" }),
    ], { stalled: 0, failedNonIdempotent: 1 }],
    ["a reset on a survivor is a failure", [
      req(1100, 0, { error: "cut", target: "10.0.0.1" }),
      req(1300, 0, { error: "cut", target: "10.0.0.1", method: "POST" }),
    ], { cut: 0, failedIdempotent: 1, failedNonIdempotent: 1, recoveryMs: 310 }],
    ["a refused connect on the victim is a failure (the client could not fail over)", [
      req(2000, 0, { error: "refused", target: "10.0.0.2" }),
    ], { cut: 0, failedIdempotent: 1 }],
    ["a GET retried elsewhere that succeeded is counted as retried, not failed", [
      req(1200, 200, { retried: { from: "10.0.0.2", error: "stalled" } }),
    ], { retried: 1, failedIdempotent: 0, stalled: 0, recoveryMs: 0 }],
    ["a 5xx is a failure", [req(4000, 503, { ms: 20 })], {
      failedIdempotent: 1,
      recoveryMs: 3020,
    }],
  ];
  for (const [name, samples, want] of cases) {
    const got = faultImpact(samples, fault);
    for (const [k, v] of Object.entries(want)) {
      assert.equal(got[k as keyof typeof got], v, `${name}: ${k}`);
    }
  }
});

Deno.test("twoActing: only instants with more than one acting", () => {
  const samples: ActingSample[] = [
    { t: 1, acting: ["a"] },
    { t: 2, acting: [] },
    { t: 3, acting: ["a", "b"] },
    { t: 4, acting: ["b"] },
  ];
  assert.deepEqual(twoActing(samples), [{ t: 3, acting: ["a", "b"] }]);
  assert.deepEqual(twoActing([]), []);
});

Deno.test("versionRegressions: a version lower than one already seen, per proxy and key", () => {
  const v = (t: number, proxy: string, key: string, version: number): VersionSample => ({
    t,
    proxy,
    key,
    version,
  });
  const table: [string, VersionSample[], number][] = [
    ["rising", [v(1, "p1", "routes", 0), v(2, "p1", "routes", 1), v(3, "p1", "routes", 1)], 0],
    ["another key or proxy is independent", [
      v(1, "p1", "group:api", 5),
      v(2, "p2", "group:api", 1),
      v(3, "p1", "routes", 0),
    ], 0],
    ["out of order", [v(1, "p1", "group:api", 5), v(2, "p1", "group:api", 4)], 1],
    [
      "unsorted input is sorted by time",
      [v(2, "p1", "group:api", 5), v(1, "p1", "group:api", 4)],
      0,
    ],
  ];
  for (const [name, samples, want] of table) {
    assert.equal(versionRegressions(samples).length, want, name);
  }
  assert.deepEqual(versionRegressions([v(1, "p1", "k", 3), v(2, "p1", "k", 2)]), [
    { proxy: "p1", key: "k", t: 2, from: 3, to: 2 },
  ]);
});

Deno.test("lostVersions: proxies not on the last written version", () => {
  const finals: VersionSample[] = [
    { t: 1, proxy: "p1", key: "group:api", version: 100 },
    { t: 1, proxy: "p2", key: "group:api", version: 99 },
    { t: 1, proxy: "p2", key: "routes", version: 0 },
  ];
  assert.deepEqual(lostVersions(finals, "group:api", 100).map((s) => s.proxy), ["p2"]);
  assert.deepEqual(lostVersions(finals, "routes", 0), []);
});

Deno.test("unhealthyTraffic: requests after mark + bound while the mark spreads or holds", () => {
  // b(t, served, proxies showing the mark), of 4 reporting
  const b = (t: number, served: number | null, unhealthyOn: number): BackendSample => ({
    t,
    backend: "b1",
    served,
    unhealthyOn,
    reporting: 4,
  });
  const table: [string, BackendSample[], number][] = [
    ["healthy traffic is fine", [b(0, 0, 0), b(500, 10, 0)], 0],
    ["traffic inside the bound is fine", [b(0, 0, 0), b(500, 5, 4), b(1000, 8, 4)], 0],
    ["traffic after the bound while every proxy shows the mark", [
      b(0, 0, 0),
      b(500, 5, 4),
      b(2500, 5, 4),
      b(3000, 7, 4),
    ], 1],
    ["a proxy that never applies the mark, past the bound", [
      b(500, 5, 3),
      b(2500, 5, 3),
      b(3000, 9, 3),
      b(3500, 9, 3),
    ], 1],
    ["a dead backend (no count) is fine", [b(0, 0, 0), b(500, null, 4), b(3000, null, 4)], 0],
    ["clearing: a proxy applied the recovery and sends again", [
      b(500, 5, 4),
      b(3000, 5, 4),
      b(3500, 5, 2),
      b(4000, 9, 1),
      b(4500, 12, 0),
    ], 0],
    ["an interval right before the clearing is not counted (read order race)", [
      b(500, 5, 4),
      b(3000, 5, 4),
      b(3500, 7, 4),
      b(4000, 9, 2),
    ], 0],
    ["a recovery resets the mark", [
      b(0, 0, 4),
      b(2500, 0, 4),
      b(3000, 0, 0),
      b(3500, 4, 4),
      b(4000, 9, 4),
    ], 0],
  ];
  for (const [name, samples, want] of table) {
    assert.equal(unhealthyTraffic(samples, 2000).length, want, name);
  }
  assert.deepEqual(
    unhealthyTraffic([b(500, 5, 4), b(2500, 5, 4), b(3000, 7, 4)], 2000),
    [{ backend: "b1", markedAt: 500, from: 2500, to: 3000, requests: 2 }],
  );
});

Deno.test("faultBars: the issue's bars, the VIP bar only when the fault moved the VIP", () => {
  const impact = {
    requests: 10,
    failedIdempotent: 0,
    failedNonIdempotent: 1,
    cut: 3,
    stalled: 2,
    retried: 0,
    recoveryMs: 5,
  };
  assert.deepEqual(faultBars(impact, 5, null).map((b) => b.held), [true, true]);
  assert.equal(faultBars({ ...impact, stalled: 3 }, 5, null)[1]?.held, false, "cut + stalled");
  assert.deepEqual(
    faultBars({ ...impact, failedIdempotent: 2, cut: 6 }, 5, null).map((b) => b.held),
    [
      false,
      false,
    ],
  );
  const vip = faultBars(impact, 5, 3100);
  assert.equal(vip.length, 3);
  assert.equal(vip[2]?.held, false);
  assert.equal(faultBars(impact, 5, 2900)[2]?.held, true);
});

Deno.test("duplicatedPosts: ids counted more than once across backends", () => {
  assert.deepEqual(duplicatedPosts(new Map([["c1-4", 1], ["c2-8", 2], ["c1-12", 3]])), [
    "c1-12",
    "c2-8",
  ]);
  assert.deepEqual(duplicatedPosts(new Map()), []);
});
