import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { withFieldsAfterStatusLine } from "./status_line_fields.ts";

const HSTS = "strict-transport-security: max-age=60\r\n";

Deno.test("withFieldsAfterStatusLine() inserts after the status line, for text and bytes", () => {
  const text = "HTTP/1.1 308 Permanent Redirect\r\nlocation: https://a/\r\n\r\nbody";
  const want = `HTTP/1.1 308 Permanent Redirect\r\n${HSTS}location: https://a/\r\n\r\nbody`;
  const cases: Array<[string, string | Uint8Array, string]> = [
    ["text", text, want],
    ["bytes", new TextEncoder().encode(text), want],
    ["bytes inside a larger buffer", Buffer.from(`xx${text}`).subarray(2), want],
    ["no status line", "garbage", "garbage"],
  ];
  for (const [what, input, expected] of cases) {
    const out = withFieldsAfterStatusLine(input, HSTS);
    assert.equal(
      typeof out === "string" ? out : Buffer.from(out).toString("latin1"),
      expected,
      what,
    );
  }
  assert.equal(withFieldsAfterStatusLine(text, ""), text);
});
