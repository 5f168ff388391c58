import assert from "node:assert/strict";
import { requestFromFields } from "./request_fields.ts";

const BASE: Array<[string, string]> = [
  [":method", "POST"],
  [":scheme", "https"],
  [":authority", "api.example.com"],
  [":path", "/v1/items"],
];

function check(fields: Array<[string, string]>) {
  return requestFromFields(fields.map(([n]) => n), fields.map(([, v]) => v));
}

Deno.test("requestFromFields: malformed requests (RFC 9113 §8) and why", () => {
  const cases: Array<[string, Array<[string, string]>, RegExp | null]> = [
    ["well-formed", [...BASE, ["content-length", "3"], ["te", "trailers"]], null],
    ["no :method", BASE.slice(1), /missing :method/],
    ["no :scheme", [BASE[0]!, BASE[2]!, BASE[3]!], /missing :scheme/],
    ["no :path", BASE.slice(0, 3), /missing :path/],
    ["empty :path", [...BASE.slice(0, 3), [":path", ""]], /empty :path/],
    ["duplicate :path", [...BASE, [":path", "/x"]], /duplicate :path/],
    ["duplicate :method", [[":method", "GET"], ...BASE], /duplicate :method/],
    ["unknown pseudo-header", [...BASE, [":foo", "x"]], /pseudo-header :foo/],
    ["response pseudo-header", [...BASE, [":status", "200"]], /pseudo-header :status/],
    [
      "pseudo after regular",
      [BASE[0]!, ["accept", "*/*"], ...BASE.slice(1)],
      /after a regular field/,
    ],
    ["uppercase name", [...BASE, ["Accept", "*/*"]], /not lowercase/],
    ["name with a space", [...BASE, ["x y", "1"]], /not a token/],
    ["connection", [...BASE, ["connection", "keep-alive"]], /connection-specific field connection/],
    ["transfer-encoding", [...BASE, ["transfer-encoding", "chunked"]], /connection-specific/],
    ["upgrade", [...BASE, ["upgrade", "websocket"]], /connection-specific/],
    ["keep-alive", [...BASE, ["keep-alive", "5"]], /connection-specific/],
    ["proxy-connection", [...BASE, ["proxy-connection", "x"]], /connection-specific/],
    ["te other than trailers", [...BASE, ["te", "gzip"]], /te: gzip/],
    ["CR LF in a value", [...BASE, ["x-a", "1\r\nx-b: 2"]], /control character/],
    ["NUL in a value", [...BASE, ["x-a", "1\u0000"]], /control character/],
    ["leading space in a value", [...BASE, ["x-a", " 1"]], /whitespace/],
    [
      "two content-lengths that differ",
      [...BASE, ["content-length", "1"], ["content-length", "2"]],
      /content-length/,
    ],
    ["content-length not digits", [...BASE, ["content-length", "-1"]], /content-length/],
    [":path not origin form", [...BASE.slice(0, 3), [":path", "http://x/"]], /origin form/],
    [":path with a fragment", [...BASE.slice(0, 3), [":path", "/a#b"]], /fragment/],
    [":path * for GET", [[":method", "GET"], BASE[1]!, BASE[2]!, [":path", "*"]], /OPTIONS/],
    [":path * for OPTIONS", [[":method", "OPTIONS"], BASE[1]!, BASE[2]!, [":path", "*"]], null],
    [
      "CONNECT with :path",
      [[":method", "CONNECT"], [":authority", "x:443"], [":path", "/"]],
      /CONNECT with/,
    ],
    ["CONNECT without :authority", [[":method", "CONNECT"]], /CONNECT without/],
    ["CONNECT", [[":method", "CONNECT"], [":authority", "x:443"]], null],
  ];
  for (const [what, fields, reason] of cases) {
    const r = check(fields);
    if (reason === null) assert.ok(!("malformed" in r), `${what}: ${JSON.stringify(r)}`);
    else {
      assert.ok("malformed" in r, what);
      assert.match(r.malformed, reason, what);
    }
  }
});

Deno.test("requestFromFields: authority from host, cookies joined in place, content-length read", () => {
  const r = check([
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    ["host", "fallback.example.com"],
    ["cookie", "a=1"],
    ["x-mid", "m"],
    ["cookie", "b=2"],
    ["content-length", "0"],
    ["te", "trailers"],
  ]);
  assert.ok(!("malformed" in r));
  assert.equal(r.authority, "fallback.example.com");
  assert.deepEqual(r.names, ["host", "cookie", "x-mid", "content-length", "te"]);
  assert.deepEqual(r.values, ["fallback.example.com", "a=1; b=2", "m", "0", "trailers"]);
  assert.equal(r.contentLength, 0);
  assert.equal(r.teTrailers, true);
  const plain = check(BASE);
  assert.ok(!("malformed" in plain));
  assert.equal(plain.contentLength, -1);
});
