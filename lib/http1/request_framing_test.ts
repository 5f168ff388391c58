import assert from "node:assert/strict";
import { requestFraming } from "./request_framing.ts";

/** [name, chunked, contentLength, declared contentLength, declared chunked] */
const CASES: [string, boolean, number, number, boolean][] = [
  ["a chunked body stays chunked", true, -1, -1, true],
  ["a Content-Length is passed on", false, 5, 5, false],
  ["a large Content-Length is passed on", false, 1e12, 1e12, false],
  ["Content-Length: 0 is passed on", false, 0, 0, false],
  ["no body declares nothing", false, -1, -1, false],
];

for (const [name, chunked, contentLength, wantLength, wantChunked] of CASES) {
  Deno.test(`requestFraming(): ${name}`, () => {
    assert.deepEqual(
      { ...requestFraming({ chunked, contentLength }) },
      { contentLength: wantLength, chunked: wantChunked },
    );
  });
}

Deno.test("requestFraming() shares its constants", () => {
  const none = { chunked: false, contentLength: -1 };
  assert.equal(requestFraming(none), requestFraming(none));
  assert.equal(
    requestFraming({ chunked: false, contentLength: 0 }),
    requestFraming({ chunked: false, contentLength: 0 }),
  );
});
