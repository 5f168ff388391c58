import assert from "node:assert/strict";
import { BackendLease } from "./backend_lease.ts";
import type { BackendView } from "./snapshot.ts";

function backend(): BackendView {
  return { address: "127.0.0.1:9001", counters: { inflight: 0 } } as BackendView;
}

Deno.test("a lease counts its attempt in flight until released, once whatever the end path", () => {
  const cases: { name: string; ends: ("release" | "ok" | "fail")[]; outcomes: boolean[] }[] = [
    { name: "done", ends: ["ok", "release"], outcomes: [false] },
    { name: "failed", ends: ["fail", "release"], outcomes: [true] },
    { name: "client gone, no verdict", ends: ["release"], outcomes: [] },
    { name: "two end paths race", ends: ["ok", "release", "fail", "release"], outcomes: [false] },
    { name: "released before the head", ends: ["release", "fail", "release"], outcomes: [true] },
  ];
  for (const c of cases) {
    const b = backend();
    const outcomes: boolean[] = [];
    const lease = new BackendLease(b, { recordOutcome: (_a, failure) => outcomes.push(failure) });
    assert.equal(b.counters.inflight, 1, c.name);
    for (const end of c.ends) {
      if (end === "release") lease.release();
      else lease.report(end === "fail");
    }
    assert.equal(b.counters.inflight, 0, c.name);
    assert.ok(lease.released, c.name);
    assert.deepEqual(outcomes, c.outcomes, c.name);
  }
});

Deno.test("leases on one backend add up", () => {
  const b = backend();
  const sink = { recordOutcome: () => {} };
  const leases = [new BackendLease(b, sink), new BackendLease(b, sink), new BackendLease(b, sink)];
  assert.equal(b.counters.inflight, 3);
  leases[1]!.release();
  leases[1]!.release();
  assert.equal(b.counters.inflight, 2);
  for (const l of leases) l.release();
  assert.equal(b.counters.inflight, 0);
});
