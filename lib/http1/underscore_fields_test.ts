import assert from "node:assert/strict";
import { upstreamRequestHead } from "./forward.ts";
import { parseRequestHead, type RequestHead } from "./head.ts";
import { dropUnderscoreFields, hasUnderscore } from "./underscore_fields.ts";

const LIMITS = { maxHeaderCount: 100, maxUriLength: 8192 };

function req(...lines: string[]): RequestHead {
  const h = parseRequestHead(lines.join("\r\n"), LIMITS);
  if ("error" in h) assert.fail(`${h.status} ${h.reason}`);
  return h;
}

Deno.test("hasUnderscore() is true for a name with '_' anywhere and false otherwise", () => {
  const cases: [string, boolean][] = [
    ["Transfer_Encoding", true],
    ["CONTENT_LENGTH", true],
    ["_", true],
    ["_x", true],
    ["x_", true],
    ["X-Forwarded-For", false],
    ["Transfer-Encoding", false],
    ["x", false],
    ["a.b~c", false],
  ];
  for (const [name, want] of cases) assert.equal(hasUnderscore(name), want, name);
});

Deno.test("dropUnderscoreFields() returns the very same head when no name has an underscore", () => {
  const h = req("GET / HTTP/1.1", "Host: a", "X-One: 1", "Accept: */*", "X-V: a_b");
  const r = dropUnderscoreFields(h);
  assert.equal(r.head, h);
  assert.deepEqual(r.dropped, []);
});

Deno.test("dropUnderscoreFields() drops every field whose name has an underscore and keeps the rest in order", () => {
  const h = req(
    "POST /p HTTP/1.1",
    "Host: a",
    "Transfer_Encoding: chunked",
    "Content-Length: 3",
    "X-Keep: 1",
    "Content_Length: 99",
    "x_custom: v",
    "_: lone",
    "X-Also: a_b",
    "TRANSFER_encoding: gzip",
  );
  const r = dropUnderscoreFields(h);
  assert.deepEqual(r.dropped, [
    "Transfer_Encoding",
    "Content_Length",
    "x_custom",
    "_",
    "TRANSFER_encoding",
  ]);
  assert.deepEqual(r.head.names, ["Host", "Content-Length", "X-Keep", "X-Also"]);
  assert.deepEqual(r.head.lower, ["host", "content-length", "x-keep", "x-also"]);
  assert.deepEqual(r.head.values, ["a", "3", "1", "a_b"]);
  // the facts parsed from the other fields are unchanged (no framing name has an underscore)
  assert.equal(r.head.contentLength, 3);
  assert.equal(r.head.chunked, false);
  assert.equal(r.head.host, "a");
  assert.equal(r.head.method, "POST");
  assert.equal(r.head.target, "/p");
  assert.equal(r.head.keepAlive, true);
  // the parsed head itself is left as it was
  assert.equal(h.names.length, 9);
});

Deno.test("dropUnderscoreFields() keeps look-alikes out of the head sent upstream", () => {
  const h = req(
    "POST / HTTP/1.1",
    "Host: a",
    "Content-Length: 0",
    "Transfer_Encoding: chunked",
    "Content_Length: 5",
  );
  const ctx = {
    clientIp: "192.0.2.1",
    proto: "http" as const,
    hostRewrite: null,
    backendAddress: "10.0.0.1:80",
  };
  const framing = { contentLength: 0, chunked: false };
  const kept = upstreamRequestHead(h, ctx, framing, false, false);
  assert.match(kept, /\r\nTransfer_Encoding: chunked\r\n/, "the parser alone keeps them");
  const sent = upstreamRequestHead(dropUnderscoreFields(h).head, ctx, framing, false, false);
  assert.doesNotMatch(sent, /_/);
  assert.match(sent, /\r\ncontent-length: 0\r\n/);
});
