import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { assign, byWorker, diffAssignments, ownerOf } from "./rendezvous.ts";

function targets(n: number, seed: number): string[] {
  const random = mulberry32(seed);
  const out = new Set<string>();
  while (out.size < n) {
    const ip = `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${
      Math.floor(random() * 256)
    }`;
    out.add(`g${Math.floor(random() * 20)}/${ip}:${1 + Math.floor(random() * 65535)}`);
  }
  return [...out];
}

function workers(n: number, prefix = "w"): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

Deno.test("assign() gives every target exactly one of the workers", () => {
  const ts = targets(500, 1);
  const ws = workers(4);
  const a = assign(ts, ws);
  assert.equal(a.size, ts.length);
  for (const t of ts) assert.ok(ws.includes(a.get(t)!));
});

Deno.test("assign() with no worker assigns nothing", () => {
  assert.equal(assign(["a", "b"], []).size, 0);
  assert.equal(ownerOf("a", []), undefined);
});

Deno.test("assign() does not depend on the order of workers or targets", () => {
  const ts = targets(300, 2);
  const a = assign(ts, ["w1", "w2", "w3"]);
  const b = assign([...ts].reverse(), ["w3", "w1", "w2", "w1"]);
  assert.deepEqual([...a].sort(), [...b].sort());
});

Deno.test("assign() spreads 5,000 targets evenly over three workers (within 5%)", () => {
  const ts = targets(5000, 3);
  const counts = [...byWorker(assign(ts, workers(3)), workers(3)).values()].map((l) => l.length);
  for (const c of counts) assert.ok(Math.abs(c - 5000 / 3) < 5000 / 3 * 0.05, String(counts));
});

Deno.test("property: removing a worker moves only that worker's targets", () => {
  const random = mulberry32(42);
  for (let round = 0; round < 100; round++) {
    const ts = targets(50 + Math.floor(random() * 400), round);
    const ws = workers(2 + Math.floor(random() * 6), `r${round}-`);
    const gone = ws[Math.floor(random() * ws.length)]!;
    const before = assign(ts, ws);
    const after = assign(ts, ws.filter((w) => w !== gone));
    const diff = diffAssignments(before, after);
    assert.equal(diff.added.length, 0);
    assert.equal(diff.removed.length, 0);
    for (const [t, [from, to]] of diff.moved) {
      assert.equal(from, gone, `${t} moved from ${from}, not from the departed ${gone}`);
      assert.notEqual(to, gone);
    }
    const held = [...before.values()].filter((w) => w === gone).length;
    assert.equal(diff.moved.size, held, "every target of the departed worker moved");
  }
});

Deno.test("property: adding a worker moves targets only to it, about 1/N of them", () => {
  const random = mulberry32(7);
  for (let round = 0; round < 100; round++) {
    const ts = targets(200 + Math.floor(random() * 800), 1000 + round);
    const ws = workers(1 + Math.floor(random() * 6), `a${round}-`);
    const fresh = `a${round}-new`;
    const before = assign(ts, ws);
    const after = assign(ts, [...ws, fresh]);
    const diff = diffAssignments(before, after);
    for (const [t, [, to]] of diff.moved) assert.equal(to, fresh, `${t} moved to ${to}`);
    const expected = ts.length / (ws.length + 1);
    assert.ok(
      Math.abs(diff.moved.size - expected) < expected * 0.35 + 10,
      `moved ${diff.moved.size}, expected about ${expected}`,
    );
  }
});

Deno.test("property: adding or removing targets never moves the others", () => {
  const ts = targets(600, 9);
  const ws = workers(5);
  const before = assign(ts.slice(0, 400), ws);
  const after = assign(ts.slice(100), ws);
  const diff = diffAssignments(before, after);
  assert.equal(diff.moved.size, 0);
  assert.equal(diff.added.length, 200);
  assert.equal(diff.removed.length, 100);
});

Deno.test("byWorker() lists every worker, even an idle one, with sorted targets", () => {
  const m = byWorker(new Map([["b", "w1"], ["a", "w1"]]), ["w1", "w2"]);
  assert.deepEqual([...m], [["w1", ["a", "b"]], ["w2", []]]);
});
