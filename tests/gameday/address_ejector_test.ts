import assert from "node:assert/strict";
import { AddressEjector } from "./address_ejector.ts";

const OPTIONS = { stallMs: 750, baseEjectMs: 10_000, maxEjectMs: 30_000 };
const AB = ["a", "b"];

Deno.test("AddressEjector: outstanding requests unanswered for stallMs eject the address", () => {
  const e = new AddressEjector(OPTIONS);
  e.started("a", 0);
  e.started("b", 0);
  e.answered("b", 100);
  assert.deepEqual(e.check(AB, 700), [], "not yet stalled");
  e.started("a", 740); // more requests onto it do not count as progress
  assert.deepEqual(e.check(AB, 750), ["a"]);
  assert.deepEqual(e.check(AB, 760), [], "reported once per ejection");
  assert.equal(e.ejected("a", 760), true);
  assert.deepEqual(e.usable(AB, 760), ["b"]);
  assert.equal(e.ejected("a", 10_750), false, "back after baseEjectMs");
  assert.deepEqual(e.usable(AB, 10_750), AB);
});

Deno.test("AddressEjector: an address with answers flowing is not stalled, however slow one request", () => {
  // a slow backend behind a live proxy: one request waits 2 s, others are answered meanwhile
  const e = new AddressEjector(OPTIONS);
  e.started("a", 0); // the slow one
  for (let t = 100; t <= 2000; t += 100) {
    e.started("a", t);
    e.answered("a", t + 20);
    assert.deepEqual(e.check(AB, t + 50), [], `t=${t}`);
  }
});

Deno.test("AddressEjector: idle time is not a stall; pending time counts from the first request", () => {
  const e = new AddressEjector(OPTIONS);
  e.started("a", 0);
  e.answered("a", 10);
  // idle for a minute, then one request
  e.started("a", 60_000);
  assert.deepEqual(e.check(AB, 60_500), []);
  assert.deepEqual(e.check(AB, 60_750), ["a"]);
});

Deno.test("AddressEjector: failures are no answers; ejection doubles while stalling, an answer resets it", () => {
  const e = new AddressEjector(OPTIONS);
  const stall = (at: number) => {
    e.started("a", at);
    const got = e.check(AB, at + 750);
    e.failed("a", at + 800);
    return got;
  };
  const table: [number, number][] = [
    // [stalled at, ejected for]
    [0, 10_000],
    [20_000, 20_000],
    [50_000, 30_000], // capped
    [90_000, 30_000],
  ];
  for (const [at, ms] of table) {
    assert.deepEqual(stall(at), ["a"], `at ${at}`);
    assert.equal(e.ejected("a", at + 750 + ms - 1), true, `at ${at}: ejected for ${ms}`);
    assert.equal(e.ejected("a", at + 750 + ms), false, `at ${at}: back after ${ms}`);
  }
  e.started("a", 200_000);
  e.answered("a", 200_010);
  assert.deepEqual(stall(300_000), ["a"]);
  assert.equal(e.ejected("a", 300_750 + 10_000), false, "an answer reset the doubling");
});

Deno.test("AddressEjector: never ejects the last usable address", () => {
  const e = new AddressEjector(OPTIONS);
  e.started("a", 0);
  e.started("b", 0);
  // both stall together (a starved client looks like this): only one goes
  assert.deepEqual(e.check(AB, 1000), ["a"]);
  assert.deepEqual(e.check(AB, 1100), []);
  assert.deepEqual(e.usable(AB, 1100), ["b"]);
  // a single address is never ejected
  const one = new AddressEjector(OPTIONS);
  one.started("a", 0);
  assert.deepEqual(one.check(["a"], 5000), []);
  assert.deepEqual(one.usable(["a"], 5000), ["a"]);
});

Deno.test("AddressEjector: a refused connection ejects at once, never the last usable address", () => {
  const e = new AddressEjector(OPTIONS);
  e.started("b", 0);
  e.refused("b", AB, 10);
  assert.deepEqual(e.usable(AB, 20), ["a"]);
  // "a" now the last usable one: a stall of it is not ejected (the killed proxy's peer, starved
  // for a moment while taking all the traffic, must keep it)
  e.started("a", 100);
  assert.deepEqual(e.check(AB, 2000), []);
  e.refused("a", AB, 2100);
  assert.equal(e.ejected("a", 2100), false);
  assert.equal(e.ejected("b", 10_009), true);
  assert.equal(e.ejected("b", 10_010), false);
});

Deno.test("AddressEjector: retries go to another address, in rotation if one is", () => {
  const e = new AddressEjector(OPTIONS);
  const ABC = ["a", "b", "c"];
  assert.deepEqual(e.retryTargets(ABC, "a", 0), ["b", "c"]);
  e.started("b", 0);
  e.refused("b", ABC, 0);
  assert.deepEqual(e.retryTargets(ABC, "a", 1), ["c"]);
  // only ejected others: one of them rather than the address that just failed
  assert.deepEqual(e.retryTargets(AB, "a", 1), ["b"]);
  assert.deepEqual(e.retryTargets(["a"], "a", 1), ["a"]);
});
