import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { RequestIdGenerator, validRequestId, validTraceparent } from "./request_id.ts";

const ID_CASES: [string, string | null | undefined, boolean][] = [
  ["a UUID", "0f8fad5b-d9cb-469f-a165-70867728950e", true],
  ["one character", "a", true],
  ["every safe symbol", "A-z_0.9:@/+=", true],
  ["200 characters", "x".repeat(200), true],
  ["201 characters", "x".repeat(201), false],
  ["empty", "", false],
  ["absent (null)", null, false],
  ["absent (undefined)", undefined, false],
  ["a space", "a b", false],
  ["a quote (would break JSON logs by hand)", 'a"b', false],
  ["a comma (a list of ids)", "a,b", false],
  ["a semicolon", "a;b", false],
  ["non-ASCII", "caf\u00e9", false],
  ["a control character", "a\x01", false],
  ["obs-text byte", "a\xff", false],
];

for (const [what, value, ok] of ID_CASES) {
  Deno.test(`validRequestId() ${ok ? "keeps" : "replaces"} ${what}`, () => {
    assert.equal(validRequestId(value), ok);
  });
}

Deno.test("RequestIdGenerator.next() gives 100,000 distinct, valid ids", () => {
  const ids = new RequestIdGenerator(mulberry32(1));
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const id = ids.next();
    assert.ok(validRequestId(id), id);
    seen.add(id);
  }
  assert.equal(seen.size, 100_000);
});

Deno.test("RequestIdGenerator: the prefix comes from random, once; the counter counts in hex", () => {
  let calls = 0;
  const ids = new RequestIdGenerator(() => (calls++ === 0 ? 0.5 : 0.25));
  assert.equal(ids.next(), "8000000040000000-1");
  for (let i = 2; i < 16; i++) ids.next();
  assert.equal(ids.next(), "8000000040000000-10");
  assert.equal(calls, 2);
});

Deno.test("RequestIdGenerator: two generators with different random sources differ", () => {
  const a = new RequestIdGenerator(mulberry32(1)).next();
  const b = new RequestIdGenerator(mulberry32(2)).next();
  assert.notEqual(a, b);
  assert.match(a, /^[0-9a-f]{16}-1$/);
});

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

const TRACE_CASES: [string, string | null, boolean][] = [
  ["version 00, sampled", `00-${TRACE}-${PARENT}-01`, true],
  ["version 00, not sampled", `00-${TRACE}-${PARENT}-00`, true],
  ["version 00 with unknown flags", `00-${TRACE}-${PARENT}-ff`, true],
  ["absent", null, false],
  ["empty", "", false],
  ["version 00 with extra fields", `00-${TRACE}-${PARENT}-01-x`, false],
  ["version 00, one character short", `00-${TRACE}-${PARENT}-0`, false],
  ["version ff (forbidden)", `ff-${TRACE}-${PARENT}-01`, false],
  ["an all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`, false],
  ["an all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`, false],
  ["upper-case hex", `00-${TRACE.toUpperCase()}-${PARENT}-01`, false],
  ["upper-case version", `0A-${TRACE}-${PARENT}-01`, false],
  ["non-hex in the trace id", `00-${TRACE.slice(0, 31)}g-${PARENT}-01`, false],
  ["non-hex in the flags", `00-${TRACE}-${PARENT}-0g`, false],
  ["a wrong separator", `00_${TRACE}-${PARENT}-01`, false],
  ["a short trace id", `00-${TRACE.slice(1)}-${PARENT}-01x`, false],
  ["a future version, 55 characters", `cc-${TRACE}-${PARENT}-01`, true],
  ["a future version with more fields", `cc-${TRACE}-${PARENT}-01-what-the-future`, true],
  ["a future version, flags not followed by a dash", `cc-${TRACE}-${PARENT}-01x`, false],
  ["a future version, all-zero trace id", `cc-${"0".repeat(32)}-${PARENT}-01`, false],
];

for (const [what, value, ok] of TRACE_CASES) {
  Deno.test(`validTraceparent() ${ok ? "accepts" : "rejects"} ${what}`, () => {
    assert.equal(validTraceparent(value), ok);
  });
}
