import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { firstDueAt, LagStats, nextDueAt, ProbeSchedule } from "./schedule.ts";

Deno.test("ProbeSchedule pops due keys earliest first and leaves the rest", () => {
  const s = new ProbeSchedule<string>();
  s.schedule("c", 30);
  s.schedule("a", 10);
  s.schedule("b", 20);
  assert.equal(s.nextDue(), 10);
  assert.deepEqual(s.popDue(20), [{ key: "a", dueAt: 10 }, { key: "b", dueAt: 20 }]);
  assert.equal(s.size, 1);
  assert.equal(s.nextDue(), 30);
  assert.deepEqual(s.popDue(29), []);
});

Deno.test("ProbeSchedule: rescheduling replaces, removing unschedules", () => {
  const s = new ProbeSchedule<string>();
  s.schedule("a", 10);
  s.schedule("a", 50);
  s.schedule("b", 20);
  s.remove("b");
  assert.equal(s.nextDue(), 50);
  assert.deepEqual(s.popDue(100), [{ key: "a", dueAt: 50 }]);
  assert.equal(s.nextDue(), undefined);
  assert.equal(s.has("a"), false);
});

Deno.test("ProbeSchedule: popDue(max) bounds a burst", () => {
  const s = new ProbeSchedule<number>();
  for (let i = 0; i < 10; i++) s.schedule(i, i);
  assert.equal(s.popDue(100, 4).length, 4);
  assert.equal(s.size, 6);
});

Deno.test("property: ProbeSchedule agrees with a sorted list under random operations", () => {
  const random = mulberry32(11);
  const s = new ProbeSchedule<number>();
  const model = new Map<number, number>();
  let now = 0;
  for (let step = 0; step < 20_000; step++) {
    const r = random();
    const key = Math.floor(random() * 300);
    if (r < 0.6) {
      const due = now + Math.floor(random() * 1000);
      s.schedule(key, due);
      model.set(key, due);
    } else if (r < 0.7) {
      s.remove(key);
      model.delete(key);
    } else {
      now += Math.floor(random() * 100);
      const popped = s.popDue(now);
      const expected = [...model].filter(([, d]) => d <= now).map(([, d]) => d).sort((a, b) =>
        a - b
      );
      assert.deepEqual(popped.map((p) => p.dueAt), expected);
      for (const p of popped) model.delete(p.key);
    }
    assert.equal(s.size, model.size);
  }
});

Deno.test("nextDueAt() jitters by ±10% around the interval and never precedes the probe's end", () => {
  const random = mulberry32(5);
  for (let i = 0; i < 1000; i++) {
    const due = nextDueAt(1000, 1100, 1000, random);
    assert.ok(due >= 1900 && due < 2100, String(due));
  }
  assert.equal(nextDueAt(1000, 4000, 1000, () => 0.5), 4000, "slow probe: next one at once");
  assert.equal(nextDueAt(1000, 1100, 1000, () => 0.5), 2000);
});

Deno.test("firstDueAt() spreads new targets over half an interval, at most 5 s", () => {
  assert.equal(firstDueAt(100, 1000, () => 0), 100);
  assert.equal(firstDueAt(100, 1000, () => 0.999), 100 + 499.5);
  assert.equal(firstDueAt(0, 60_000, () => 0.5), 2500);
});

Deno.test("LagStats: median, p99 and max over the recent window", () => {
  const s = new LagStats(1000);
  assert.deepEqual(s.summary(), { count: 0, medianMs: 0, p99Ms: 0, maxMs: 0 });
  for (let i = 1; i <= 1000; i++) s.record(i);
  assert.deepEqual(s.summary(), { count: 1000, medianMs: 500, p99Ms: 990, maxMs: 1000 });
  for (let i = 0; i < 1000; i++) s.record(-5);
  assert.deepEqual(s.summary(), { count: 1000, medianMs: 0, p99Ms: 0, maxMs: 0 });
  s.reset();
  assert.equal(s.summary().count, 0);
});
