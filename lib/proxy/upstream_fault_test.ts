import assert from "node:assert/strict";
import { Fault, faultAnswer } from "./upstream_fault.ts";

/** [fault, status, cause, body, backendFailure, retryable, extra] */
const CASES: [
  Fault,
  number,
  string,
  string,
  boolean,
  boolean,
  Record<string, string> | undefined,
][] = [
  [Fault.NoBackend, 503, "no_backend", "no healthy backend\n", false, false, {
    "retry-after": "1",
  }],
  [
    Fault.AllBackendsFailed,
    502,
    "connect_failed",
    "all backends failed\n",
    false,
    false,
    undefined,
  ],
  [Fault.ConnectFailed, 502, "connect_failed", "bad gateway\n", true, true, undefined],
  [Fault.ConnectionLost, 502, "upstream_reset", "bad gateway\n", true, true, undefined],
  [Fault.BadResponse, 502, "bad_response", "bad gateway\n", true, false, undefined],
  [Fault.ResponseTimeout, 504, "timeout", "gateway timeout\n", true, false, undefined],
  [Fault.BodyTooLarge, 413, "limit", "request body too large\n", false, false, undefined],
  [Fault.BadRequestBody, 400, "bad_request", "bad request body\n", false, false, undefined],
  [Fault.BodyTimeout, 408, "timeout", "request body timeout\n", false, false, undefined],
];

for (const [fault, status, cause, body, backendFailure, retryable, extra] of CASES) {
  Deno.test(`faultAnswer(${Fault[fault]}): ${status} ${cause}`, () => {
    assert.deepEqual({ ...faultAnswer(fault) }, {
      status,
      cause,
      body,
      backendFailure,
      retryable,
      extra,
    });
  });
}

Deno.test("faultAnswer() covers every fault", () => {
  const faults = Object.values(Fault).filter((v) => typeof v === "number");
  assert.equal(faults.length, CASES.length);
  for (const f of faults) assert.ok(faultAnswer(f as Fault));
});

Deno.test("faultAnswer() answers are frozen, shared constants", () => {
  assert.equal(faultAnswer(Fault.BadResponse), faultAnswer(Fault.BadResponse));
  assert.ok(Object.isFrozen(faultAnswer(Fault.NoBackend)));
  assert.ok(Object.isFrozen(faultAnswer(Fault.NoBackend).extra));
});
