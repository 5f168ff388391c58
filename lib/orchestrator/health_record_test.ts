import assert from "node:assert/strict";
import {
  applyProbe,
  decodeHealthRecord,
  encodeHealthRecord,
  takeoverState,
} from "./health_record.ts";
import type { ProbeSettings } from "./targets.ts";

const settings: ProbeSettings = {
  type: "http",
  path: "/health",
  expectedStatus: 200,
  timeoutMs: 1000,
  intervalMs: 1000,
  rise: 2,
  fall: 3,
};

function run(start: ReturnType<typeof takeoverState>, results: boolean[]) {
  let s = start;
  const writes: (string | null)[] = [];
  results.forEach((ok, i) => {
    const o = applyProbe(s, ok, ok ? null : "ECONNREFUSED", i + 1, settings);
    s = o.state;
    writes.push(o.write);
  });
  return { state: s, writes };
}

Deno.test("a healthy target is marked (create) on the third failure, once", () => {
  const r = run(takeoverState(0, false), [false, false, false, false, false]);
  assert.deepEqual(r.writes, [null, null, "create", null, null]);
  assert.equal(r.state.status, "unhealthy");
  assert.equal(r.state.lastError, "ECONNREFUSED");
});

Deno.test("an unhealthy target is cleared (delete) on the second success, once", () => {
  const r = run(takeoverState(0, true), [true, false, true, true, true]);
  assert.deepEqual(r.writes, [null, null, null, "delete", null]);
  assert.equal(r.state.status, "healthy");
});

Deno.test("takeover from the store: steady results write nothing (no flap on failover)", () => {
  // The backend is down and its node exists: the new owner keeps failing it, silently.
  assert.deepEqual(run(takeoverState(0, true), [false, false, false, false]).writes, [
    null,
    null,
    null,
    null,
  ]);
  // The backend is up and has no node: successes write nothing.
  assert.deepEqual(run(takeoverState(0, false), [true, true, true]).writes, [null, null, null]);
  // A single success after takeover does not clear a marked backend (rise = 2).
  assert.deepEqual(run(takeoverState(0, true), [true, false]).writes, [null, null]);
});

Deno.test("a custom rise/fall is honoured", () => {
  const s = { ...settings, rise: 1, fall: 1 };
  const down = applyProbe(takeoverState(0, false), false, "x", 1, s);
  assert.equal(down.write, "create");
  assert.equal(applyProbe(down.state, true, null, 2, s).write, "delete");
});

Deno.test("health records round-trip and junk is refused", () => {
  const r = {
    status: "unhealthy",
    since: 1700000000000,
    reason: "timeout",
    failures: 3,
    worker: "w",
  } as const;
  const bytes = encodeHealthRecord(r);
  assert.deepEqual(decodeHealthRecord(bytes), r);
  assert.match(new TextDecoder().decode(bytes), /"since_iso":"2023-11-14T22:13:20.000Z"/);
  assert.equal(decodeHealthRecord(new TextEncoder().encode("nope")), undefined);
  assert.equal(decodeHealthRecord(new TextEncoder().encode('{"status":"healthy"}')), undefined);
});
