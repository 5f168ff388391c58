import assert from "node:assert/strict";
import { type AccessLogFields, accessLogLine, sampled } from "./access_log.ts";

const BASE: AccessLogFields = {
  timeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
  route: "api",
  group: "api-v2",
  backend: "10.0.0.1:8080",
  method: "GET",
  path: "/users/7?x=1",
  status: 200,
  durationMs: 12.3456789,
  upstreamMs: 10,
  bytes: 512,
  requestId: "0123456789abcdef-1",
  client: "192.0.2.7",
};

Deno.test("accessLogLine() is one JSON line with every field, in order", () => {
  const line = accessLogLine(BASE);
  assert.ok(!line.includes("\n"));
  assert.deepEqual(Object.entries(JSON.parse(line)), [
    ["time", "2024-01-02T03:04:05.678Z"],
    ["route", "api"],
    ["group", "api-v2"],
    ["backend", "10.0.0.1:8080"],
    ["method", "GET"],
    ["path", "/users/7?x=1"],
    ["status", 200],
    ["duration_ms", 12.346],
    ["upstream_ms", 10],
    ["bytes", 512],
    ["request_id", "0123456789abcdef-1"],
    ["client", "192.0.2.7"],
  ]);
});

/** [what, overrides, field, expected parsed value]. */
const CASES: [string, Partial<AccessLogFields>, string, unknown][] = [
  ["no route matched", { route: null }, "route", null],
  ["no group (a redirect)", { group: null }, "group", null],
  ["no backend reached", { backend: null }, "backend", null],
  ["no upstream time", { upstreamMs: null }, "upstream_ms", null],
  ["a NaN duration", { durationMs: NaN }, "duration_ms", null],
  ["quotes and backslashes in the path are escaped", { path: '/a"b\\c' }, "path", '/a"b\\c'],
  ["control characters are escaped", { path: "/a\u0001\n" }, "path", "/a\u0001\n"],
  ["obs-text bytes survive", { path: "/caf\xe9" }, "path", "/caf\xe9"],
  ["a 429", { status: 429, group: null }, "status", 429],
  ["zero bytes", { bytes: 0 }, "bytes", 0],
  ["sub-microsecond durations rounded", { durationMs: 0.0004 }, "duration_ms", 0],
];

for (const [what, overrides, field, expected] of CASES) {
  Deno.test(`accessLogLine(): ${what}`, () => {
    const line = accessLogLine({ ...BASE, ...overrides });
    assert.ok(!line.includes("\n"));
    assert.equal(JSON.parse(line)[field], expected);
  });
}

/** [rate, r, expected]. */
const SAMPLES: [number, number, boolean][] = [
  [0, 0, false],
  [1, 0, true],
  [1, 0.999999, true],
  [0.1, 0.0999, true],
  [0.1, 0.1, false],
];

for (const [rate, r, expected] of SAMPLES) {
  Deno.test(`sampled(${rate}, ${r}) is ${expected}`, () => {
    assert.equal(sampled(rate, r), expected);
  });
}
