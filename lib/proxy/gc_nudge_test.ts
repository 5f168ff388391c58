import assert from "node:assert/strict";
import { GcNudge } from "./gc_nudge.ts";

const MIB = 1024 * 1024;

/** A fake heap: external memory that a minor or major collection frees (partly). */
function fake(freedByMinor: number, freedByMajor: number) {
  const calls: string[] = [];
  const heap = {
    external: 10 * MIB,
    calls,
    gc: (o?: { type?: "minor" | "major" }) => {
      calls.push(o?.type ?? "major");
      heap.external -= o?.type === "minor" ? freedByMinor : freedByMajor;
    },
  };
  return heap;
}

Deno.test("GcNudge does nothing while external memory grows less than a step", () => {
  const h = fake(0, 0);
  const n = new GcNudge(h.gc, () => h.external, 64 * MIB);
  h.external += 63 * MIB;
  n.check();
  assert.deepEqual(h.calls, []);
});

Deno.test("GcNudge runs a young-generation collection when external memory grew by a step", () => {
  const h = fake(60 * MIB, 0);
  const n = new GcNudge(h.gc, () => h.external, 64 * MIB);
  h.external += 64 * MIB;
  n.check();
  assert.deepEqual(h.calls, ["minor"]);
  assert.equal(n.minor, 1);
  assert.equal(n.major, 0);
  // the new baseline is what was left: another step is needed for the next one
  h.external += 63 * MIB;
  n.check();
  assert.deepEqual(h.calls, ["minor"]);
});

Deno.test("GcNudge falls back to a full collection when the young one freed too little", () => {
  const h = fake(1 * MIB, 70 * MIB);
  const n = new GcNudge(h.gc, () => h.external, 64 * MIB);
  h.external += 80 * MIB;
  n.check();
  assert.deepEqual(h.calls, ["minor", "major"]);
  assert.equal(n.major, 1);
});

Deno.test("GcNudge does not collect again and again for memory that is really in use", () => {
  const h = fake(0, 0);
  const n = new GcNudge(h.gc, () => h.external, 64 * MIB);
  h.external += 100 * MIB; // live buffers: nothing to free
  n.check();
  assert.deepEqual(h.calls, ["minor", "major"]);
  for (let i = 0; i < 10; i++) n.check();
  assert.deepEqual(h.calls, ["minor", "major"], "the baseline moved up to what is in use");
  // once it is released, the baseline follows it down
  h.external -= 100 * MIB;
  n.check();
  h.external += 64 * MIB;
  n.check();
  assert.equal(h.calls.length, 4);
});

Deno.test("GcNudge.forRuntime() reaches V8's collector under Deno", () => {
  const n = GcNudge.forRuntime();
  assert.ok(n !== null);
  n.gc({ type: "minor" });
  n.check();
});
