import assert from "node:assert/strict";
import { mulberry32 } from "./hash.ts";
import { buildSlotArray, IP_HASH_MIN_SLOTS, ipHash, ipKeyStart } from "./ip_hash.ts";
import {
  makeCandidates,
  maxShareError,
  measureShares,
  randomIps,
  weightShares,
} from "./testing.ts";
import type { Candidate } from "./types.ts";

const IPS = randomIps(100_000, 2);

function mapping(candidates: readonly Candidate[], seed = 1): string[] {
  const selector = ipHash(candidates, { random: mulberry32(seed) });
  return IPS.map((key) => candidates[selector.pick({ key })]!.address);
}

Deno.test("ipHash() splits 100,000 distinct client IPs by weight within 1 point", () => {
  for (const weights of [[5, 1, 1], [1, 2, 3, 4], [0.25, 1, 0.5], [1, 1, 1, 1, 1]]) {
    const selector = ipHash(makeCandidates(weights), { random: mulberry32(1) });
    const shares = measureShares(selector, weights.length, IPS.length, (i) => ({ key: IPS[i] }));
    assert.ok(maxShareError(shares, weightShares(weights)) < 0.01, `${weights}: ${shares}`);
  }
});

Deno.test("ipHash() keeps each client IP on one backend, across rebuilds of the same set", () => {
  const candidates = makeCandidates([1, 2, 3]);
  const selector = ipHash(candidates, { random: mulberry32(1) });
  for (const key of IPS.slice(0, 1000)) {
    const first = selector.pick({ key });
    for (let i = 0; i < 3; i++) assert.equal(selector.pick({ key }), first);
  }
  const reordered = makeCandidates([...candidates].reverse().map((c) => ({ ...c })));
  assert.deepEqual(mapping(reordered, 42), mapping(candidates));
});

Deno.test("ipHash() hashes an IPv4-mapped IPv6 address like the IPv4 address", () => {
  const selector = ipHash(makeCandidates([1, 1, 1, 1, 1, 1, 1]), { random: mulberry32(1) });
  for (const ip of IPS.slice(0, 2000)) {
    assert.equal(selector.pick({ key: `::ffff:${ip}` }), selector.pick({ key: ip }));
    assert.equal(selector.pick({ key: `::FFFF:${ip}` }), selector.pick({ key: ip }));
  }
});

Deno.test("ipKeyStart() skips only a genuine ::ffff: IPv4 prefix", () => {
  assert.equal(ipKeyStart("::ffff:192.0.2.1"), 7);
  assert.equal(ipKeyStart("::FfFf:10.0.0.1"), 7);
  assert.equal(ipKeyStart("192.0.2.1"), 0);
  assert.equal(ipKeyStart("::ffff:abcd:1234"), 0);
  assert.equal(ipKeyStart("2001:db8::1"), 0);
  assert.equal(ipKeyStart("::1"), 0);
  assert.equal(ipKeyStart(":;ffff:1.2.3.4"), 0);
  assert.equal(ipKeyStart(""), 0);
});

Deno.test("ipHash() moves only an unusable backend's clients, and restores them on recovery", () => {
  const healthy = makeCandidates([1, 2, 1, 1]);
  const before = mapping(healthy);
  const down = healthy.map((c, i) => (i === 1 ? { ...c, usable: false } : c));
  const during = mapping(down);
  const gone = healthy[1]!.address;
  const spread = new Set<string>();
  for (let k = 0; k < IPS.length; k++) {
    if (before[k] !== gone) assert.equal(during[k], before[k]);
    else spread.add(during[k]!);
  }
  assert.equal(spread.size, 3);
  assert.deepEqual(mapping(healthy), before);
});

Deno.test("ipHash() sends a retry elsewhere, the same way every time", () => {
  const selector = ipHash(makeCandidates([1, 1, 1]), { random: mulberry32(1) });
  for (const key of IPS.slice(0, 500)) {
    const first = selector.pick({ key });
    const accept = (i: number) => i !== first;
    const retry = selector.pick({ key, accept });
    assert.notEqual(retry, first);
    assert.equal(selector.pick({ key, accept }), retry);
  }
});

Deno.test("ipHash() without a client IP picks at random in proportion to weight", () => {
  const weights = [1, 2, 3, 4];
  const selector = ipHash(makeCandidates(weights), { random: mulberry32(4) });
  const shares = measureShares(selector, weights.length, 100_000);
  assert.ok(maxShareError(shares, weightShares(weights)) < 0.01, `shares ${shares}`);
});

Deno.test("buildSlotArray() lays members out contiguously by largest remainder", () => {
  assert.deepEqual(Array.from(buildSlotArray([1, 1, 1], [7, 8, 9], 10)), [
    7,
    7,
    7,
    7,
    8,
    8,
    8,
    9,
    9,
    9,
  ]);
  assert.deepEqual(Array.from(buildSlotArray([0.25, 0.5, 0.25], [0, 1, 2], 8)), [
    0,
    0,
    1,
    1,
    1,
    1,
    2,
    2,
  ]);
  const counts = [0, 0, 0];
  for (const v of buildSlotArray([1, 2, 4], [0, 1, 2], IP_HASH_MIN_SLOTS)) counts[v]!++;
  assert.deepEqual(counts, [585, 1170, 2341]);
  assert.equal(buildSlotArray([], [], 4).length, 4);
});
