import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import {
  fieldValue,
  type HeadLimits,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./head.ts";
import { BAD_VALUE_CHAR, type HeadError, TARGET, TOKEN } from "./syntax.ts";

const LIMITS: HeadLimits = { maxHeaderCount: 100, maxUriLength: 8192 };
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Joins a start line and field lines the way the proxy hands a head over: no final CRLFCRLF. */
const head = (...lines: string[]) => lines.join("\r\n");

function req(text: string, limits: HeadLimits = LIMITS): RequestHead {
  const h = parseRequestHead(text, limits);
  if ("error" in h) {
    assert.fail(
      `expected a request head, got ${h.status} "${h.reason}" for ${JSON.stringify(text)}`,
    );
  }
  return h;
}

function reqError(text: string, limits: HeadLimits = LIMITS): HeadError {
  const h = parseRequestHead(text, limits);
  if (!("error" in h)) assert.fail(`expected an error for ${JSON.stringify(text)}`);
  return h;
}

function refuses(text: string, status: number, reason?: RegExp, limits: HeadLimits = LIMITS) {
  const e = reqError(text, limits);
  assert.equal(e.status, status, `${JSON.stringify(text)}: ${e.reason}`);
  if (reason) assert.match(e.reason, reason);
}

function res(text: string, max = 100): ResponseHead {
  const h = parseResponseHead(text, max);
  if ("error" in h) {
    assert.fail(
      `expected a response head, got ${h.status} "${h.reason}" for ${JSON.stringify(text)}`,
    );
  }
  return h;
}

function resRefuses(text: string, reason?: RegExp, max = 100) {
  const h = parseResponseHead(text, max);
  if (!("error" in h)) assert.fail(`expected an error for ${JSON.stringify(text)}`);
  assert.equal(h.status, 502, `${JSON.stringify(text)}: ${h.reason}`);
  if (reason) assert.match(h.reason, reason);
}

// ------------------------------------------------------------ request line

Deno.test("parseRequestHead() parses the request line and keeps the fields in order", () => {
  const h = req(head("GET /a/b?c=1&d HTTP/1.1", "Host: example.com", "X-One:  1 ", "x-two:\t2"));
  assert.equal(h.method, "GET");
  assert.equal(h.target, "/a/b?c=1&d");
  assert.equal(h.minor, 1);
  assert.equal(h.host, "example.com");
  assert.deepEqual(h.names, ["Host", "X-One", "x-two"]);
  assert.deepEqual(h.lower, ["host", "x-one", "x-two"]);
  assert.deepEqual(h.values, ["example.com", "1", "2"]);
  assert.equal(h.contentLength, -1);
  assert.equal(h.chunked, false);
  assert.equal(h.keepAlive, true);
  assert.equal(h.upgrade, null);
  assert.equal(h.expectContinue, false);
  assert.equal(h.teTrailers, false);
  assert.deepEqual(h.connectionTokens, []);
});

Deno.test("parseRequestHead() accepts HTTP/1.0 without Host and without any field", () => {
  const h = req("GET / HTTP/1.0");
  assert.equal(h.minor, 0);
  assert.equal(h.host, null);
  assert.equal(h.keepAlive, false);
  assert.deepEqual(h.names, []);
});

Deno.test("parseRequestHead() accepts any token as the method, case preserved", () => {
  for (const m of ["GET", "get", "PATCH", "PROPFIND", "M-SEARCH", "X!#$%&'*+-.^_`|~9"]) {
    assert.equal(req(head(`${m} / HTTP/1.1`, "Host: a")).method, m);
  }
});

Deno.test("parseRequestHead() refuses a method with any non-tchar byte", () => {
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    if (TCHARS.includes(ch) || ch === " ") continue;
    refuses(head(`GE${ch}T / HTTP/1.1`, "Host: a"), 400, undefined);
  }
});

Deno.test("parseRequestHead() refuses a malformed request line with 400", () => {
  for (
    const line of [
      "",
      "GET",
      "GET /",
      "GET / ",
      " GET / HTTP/1.1",
      "GET  / HTTP/1.1",
      "GET /  HTTP/1.1",
      "GET / HTTP/1.1 ",
      "GET /a b HTTP/1.1",
      "GET\t/\tHTTP/1.1",
      "GET /\tHTTP/1.1",
      "GET / HTTP/1.1\r",
      "GET / HTTP/1.1\n",
      "GET\x00/ HTTP/1.1",
    ]
  ) {
    refuses(head(line, "Host: a"), 400);
  }
});

Deno.test("parseRequestHead() refuses a bare LF ending the request line", () => {
  refuses("GET / HTTP/1.1\nHost: a", 400);
  refuses("GET / HTTP/1.1\nHost: a\r\nX: y", 400);
});

Deno.test("parseRequestHead() answers 505 for a well-formed version other than 1.0 and 1.1", () => {
  for (const v of ["HTTP/0.9", "HTTP/1.2", "HTTP/1.9", "HTTP/2.0", "HTTP/3.0", "HTTP/9.9"]) {
    refuses(head(`GET / ${v}`, "Host: a"), 505, /unsupported/);
  }
});

Deno.test("parseRequestHead() refuses a malformed version with 400", () => {
  for (
    const v of [
      "HTTP/1",
      "HTTP/11",
      "HTTP/1.10",
      "HTTP/1.1.1",
      "http/1.1",
      "Http/1.1",
      "HTTPS/1.1",
      "HTTP/a.b",
      "HTTP/1.x",
      "HTTP/ 1.1",
      "HTTP/１.1",
      "1.1",
    ]
  ) {
    refuses(head(`GET / ${v}`, "Host: a"), 400, /version/);
  }
});

Deno.test("parseRequestHead() answers 414 for a target longer than maxUriLength and accepts one at the limit", () => {
  const limits = { maxHeaderCount: 100, maxUriLength: 20 };
  const atLimit = "/" + "a".repeat(19);
  assert.equal(req(head(`GET ${atLimit} HTTP/1.1`, "Host: a"), limits).target, atLimit);
  refuses(head(`GET ${atLimit}b HTTP/1.1`, "Host: a"), 414, /too long/, limits);
  // the length is checked before anything else about the target
  refuses(head(`GET ${atLimit}\x7f HTTP/1.1`, "Host: a"), 414, undefined, limits);
});

Deno.test("parseRequestHead() refuses a target with a control byte or DEL", () => {
  for (let c = 0; c < 0x21; c++) {
    if (c === 0x20) continue; // a space splits the line differently, covered elsewhere
    refuses(head(`GET /a${String.fromCharCode(c)}b HTTP/1.1`, "Host: a"), 400);
  }
  refuses(head("GET /a\x7fb HTTP/1.1", "Host: a"), 400, /request-target/);
});

Deno.test("parseRequestHead() refuses a fragment or a byte outside visible ASCII in every target form", () => {
  // RFC 9112 §3.2: no target form has a fragment or obs-text; HAProxy answers 400 too
  const forms: [string, (bad: string) => string][] = [
    ["origin", (b) => `GET /a${b}b?q=1 HTTP/1.1`],
    ["origin, in the query", (b) => `GET /a?q=1${b} HTTP/1.1`],
    ["absolute", (b) => `GET http://h.example/a${b}b HTTP/1.1`],
    ["absolute, in the authority", (b) => `GET http://h.example${b}/ HTTP/1.1`],
    ["asterisk", (b) => `OPTIONS *${b} HTTP/1.1`],
    // CONNECT is 501 in every form, but a malformed target is a 400 first
    ["authority (CONNECT)", (b) => `CONNECT h.example:443${b} HTTP/1.1`],
  ];
  const bad = ["#", "#narf", "\x80", "\xa0", "\xe9", "\xff", "\x7f", "\x00", "\x01", "\t", "\x1f"];
  for (let c = 0x80; c <= 0xff; c += 0x11) bad.push(String.fromCharCode(c));
  for (const [form, line] of forms) {
    for (const b of bad) {
      const text = head(line(b), "Host: h.example");
      const e = reqError(text);
      assert.equal(e.status, 400, `${form} ${JSON.stringify(b)}: ${e.status} ${e.reason}`);
      assert.match(e.reason, /request-target/, `${form} ${JSON.stringify(b)}`);
    }
  }
  // the corpus case from issue 12: UTF-8 bytes read as latin1, and a fragment
  refuses(
    head("GET /\xce\xb4\xc2\xb6/pope?q=1#narf HTTP/1.1", "Host: a"),
    400,
    /non-ASCII/,
  );
  refuses(head("GET /pope?q=1#narf HTTP/1.1", "Host: a"), 400, /fragment/);
  refuses(head("GET http://a/p#f HTTP/1.1", "Host: a"), 400, /fragment/);
  refuses(head("GET /caf\xe9 HTTP/1.1", "Host: a"), 400, /non-ASCII/);
});

Deno.test("parseRequestHead() accepts every other visible ASCII byte in a target, as browsers send them", () => {
  // RFC 3986's pchar, "/" and "?", plus the bytes browsers leave unencoded in a query
  // ([ ] | ^ ` { } \ " < >), which HAProxy and nginx accept too; the proxy never decodes the target
  for (
    const t of [
      "/a-._~!$&'()*+,;=:@/b",
      "/%20%zz%?x=/?y",
      "/p?a[]=1&b={x}|^`\\",
      '/"<>',
      "/?",
      "/a?b?c",
    ]
  ) {
    assert.equal(req(head(`GET ${t} HTTP/1.1`, "Host: a")).target, t);
  }
  for (let c = 0x21; c <= 0x7e; c++) {
    if (c === 0x23) continue;
    const t = `/a${String.fromCharCode(c)}b`;
    assert.equal(req(head(`GET ${t} HTTP/1.1`, "Host: a")).target, t);
  }
});

// ------------------------------------------------------------ field lines

Deno.test("parseRequestHead() refuses obs-fold (a line starting with SP or HTAB) with 400", () => {
  refuses(head("GET / HTTP/1.1", "Host: a", "X-A: 1", " continued"), 400, /folding/);
  refuses(head("GET / HTTP/1.1", "Host: a", "X-A: 1", "\tcontinued"), 400, /folding/);
  // whitespace between the request line and the first field
  refuses(head("GET / HTTP/1.1", " Host: a"), 400, /folding/);
  refuses(head("GET / HTTP/1.1", "\tHost: a"), 400, /folding/);
  // a folded Transfer-Encoding, the classic smuggling shape
  refuses(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:", " chunked"), 400, /folding/);
});

Deno.test("parseRequestHead() refuses whitespace between a field name and the colon", () => {
  for (const ws of [" ", "\t", "  ", " \t"]) {
    refuses(head("GET / HTTP/1.1", `Host${ws}: a`), 400, /header name/);
    refuses(head("POST / HTTP/1.1", "Host: a", `Content-Length${ws}: 5`), 400, /header name/);
    refuses(
      head("POST / HTTP/1.1", "Host: a", `Transfer-Encoding${ws}: chunked`),
      400,
      /header name/,
    );
  }
});

Deno.test("parseRequestHead() refuses a field line without a colon or with an empty name", () => {
  refuses(head("GET / HTTP/1.1", "Host: a", "NoColonHere"), 400, /colon/);
  refuses(head("GET / HTTP/1.1", "Host: a", ": value"), 400, /empty header name/);
  refuses(head("GET / HTTP/1.1", "Host: a", ":"), 400, /empty header name/);
});

Deno.test("parseRequestHead() refuses an empty line inside the head", () => {
  refuses("GET / HTTP/1.1\r\nHost: a\r\n\r\nX: y", 400);
  refuses("GET / HTTP/1.1\r\n\r\n", 400);
});

Deno.test("parseRequestHead() refuses every non-tchar byte in a field name", () => {
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    if (TCHARS.includes(ch) || ch === ":") continue;
    refuses(head("GET / HTTP/1.1", "Host: a", `X${ch}Y: v`), 400, undefined);
    refuses(head("GET / HTTP/1.1", "Host: a", `XY${ch}: v`), 400, undefined);
  }
});

Deno.test("parseRequestHead() refuses CR, LF, NUL, other controls and DEL in a field value", () => {
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    const text = head("GET / HTTP/1.1", "Host: a", `X-V: a${ch}b`);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) refuses(text, 400, /invalid character in X-V/);
    else assert.equal(fieldValue(req(text), "x-v"), `a${ch}b`, `byte 0x${c.toString(16)}`);
  }
  // at the ends, where trimming must not hide them
  refuses(head("GET / HTTP/1.1", "Host: a", "X-V: a\r"), 400);
  refuses(head("GET / HTTP/1.1", "Host: a", "X-V: \na"), 400);
  refuses(head("GET / HTTP/1.1", "Host: a", "X-V: a\x00"), 400);
  refuses(head("GET / HTTP/1.1", "Host: a\r", "X-V: a"), 400);
});

Deno.test("parseRequestHead() trims only SP and HTAB around a value and keeps inner whitespace", () => {
  const h = req(
    head("GET / HTTP/1.1", "Host: a", "X-A: \t a  b \t", "X-B:", "X-C:   ", "X-D:\xa0x\xa0"),
  );
  assert.deepEqual(h.values, ["a", "a  b", "", "", "\xa0x\xa0"]);
});

Deno.test("parseRequestHead() answers 431 past maxHeaderCount fields and accepts exactly the limit", () => {
  const limits = { maxHeaderCount: 3, maxUriLength: 100 };
  assert.equal(req(head("GET / HTTP/1.1", "Host: a", "X-1: 1", "X-2: 2"), limits).names.length, 3);
  refuses(head("GET / HTTP/1.1", "Host: a", "X-1: 1", "X-2: 2", "X-3: 3"), 431, /too many/, limits);
  refuses(head("GET / HTTP/1.1", "Host: a"), 431, undefined, {
    maxHeaderCount: 0,
    maxUriLength: 9,
  });
});

// ------------------------------------------------------------ framing

Deno.test("parseRequestHead() reads Content-Length, with OWS and identical repeats", () => {
  assert.equal(req(head("POST / HTTP/1.1", "Host: a", "Content-Length: 5")).contentLength, 5);
  assert.equal(req(head("POST / HTTP/1.1", "Host: a", "content-length:0")).contentLength, 0);
  assert.equal(req(head("POST / HTTP/1.1", "Host: a", "Content-Length: \t7 ")).contentLength, 7);
  assert.equal(req(head("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5")).contentLength, 5);
  assert.equal(
    req(head("POST / HTTP/1.1", "Content-Length: 5", "Host: a", "CONTENT-LENGTH: 5")).contentLength,
    5,
  );
  assert.equal(req(head("POST / HTTP/1.0", "Content-Length: 3")).contentLength, 3);
});

Deno.test("parseRequestHead() refuses differing Content-Length values", () => {
  refuses(
    head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"),
    400,
    /Content-Length/,
  );
  refuses(head("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 6"), 400, /Content-Length/);
  refuses(head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 05"), 400);
  refuses(head("POST / HTTP/1.1", "Host: a", "Content-Length: 0", "Content-Length: 5"), 400);
});

Deno.test("parseRequestHead() refuses a malformed Content-Length", () => {
  for (
    const v of [
      "",
      "+5",
      "-1",
      "0x10",
      "5.0",
      "1e2",
      "5 5",
      "5,",
      "five",
      "5;",
      "\xa05",
      "1234567890123456",
    ]
  ) {
    refuses(head("POST / HTTP/1.1", "Host: a", `Content-Length: ${v}`), 400, /Content-Length/);
  }
});

Deno.test("parseRequestHead() refuses Content-Length with Transfer-Encoding, in either order and any case", () => {
  refuses(
    head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"),
    400,
    /both/,
  );
  refuses(
    head("POST / HTTP/1.1", "Host: a", "transfer-encoding: chunked", "content-length: 5"),
    400,
    /both/,
  );
  refuses(
    head("POST / HTTP/1.1", "Host: a", "TRANSFER-ENCODING: chunked", "Content-Length: 0"),
    400,
    /both/,
  );
  refuses(head("POST / HTTP/1.0", "Content-Length: 5", "Transfer-Encoding: chunked"), 400);
});

Deno.test("parseRequestHead() accepts Transfer-Encoding: chunked in any letter case", () => {
  for (const v of ["chunked", "Chunked", "CHUNKED", " chunked\t"]) {
    const h = req(head("POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`));
    assert.equal(h.chunked, true);
    assert.equal(h.contentLength, -1);
  }
});

Deno.test("parseRequestHead() ignores empty list elements in Transfer-Encoding", () => {
  assert.equal(
    req(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: , chunked,")).chunked,
    true,
  );
});

Deno.test("parseRequestHead() refuses any Transfer-Encoding other than a single chunked", () => {
  for (
    const v of [
      "",
      "gzip",
      "identity",
      "chunked, gzip",
      "chunked, chunked",
      "chunked;q=1",
      "chunked ;x",
      "xchunked",
      "chunkedx",
      "chunk",
      '"chunked"',
      "chunked\xa0",
      "\xa0chunked",
      "ch unked",
    ]
  ) {
    refuses(
      head("POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`),
      400,
      /Transfer-Encoding/,
    );
  }
  // split over two fields it is still two codings
  refuses(
    head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
    400,
  );
  refuses(
    head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"),
    400,
  );
});

Deno.test("parseRequestHead() answers 501 for a well-formed coding before a final chunked", () => {
  // RFC 9112 §6.1: a transfer coding the server does not implement is 501 (the connection is
  // closed all the same); only a final, single chunked makes the framing known at all
  for (const v of ["deflate, chunked", "gzip, chunked", "x-custom, gzip, Chunked"]) {
    refuses(head("POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`), 501, /coding/);
  }
  refuses(
    head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"),
    501,
  );
  // ...but with Content-Length, or in HTTP/1.0, it is faulty framing: 400
  refuses(
    head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked", "Content-Length: 3"),
    400,
    /Content-Length/,
  );
  refuses(head("POST / HTTP/1.0", "Transfer-Encoding: gzip, chunked"), 400, /HTTP\/1\.0/);
  // a response with it is still a 502 like every other framing fault
  resRefuses(head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"));
});

Deno.test("parseRequestHead() refuses Transfer-Encoding in an HTTP/1.0 request", () => {
  refuses(head("POST / HTTP/1.0", "Transfer-Encoding: chunked"), 400, /HTTP\/1\.0/);
  refuses(head("POST / HTTP/1.0", "Host: a", "Transfer-Encoding: chunked"), 400, /HTTP\/1\.0/);
});

Deno.test("parseRequestHead() treats look-alike names such as Transfer_Encoding as ordinary fields", () => {
  const h = req(
    head("POST / HTTP/1.1", "Host: a", "Transfer_Encoding: chunked", "Content_Length: 5"),
  );
  assert.equal(h.chunked, false);
  assert.equal(h.contentLength, -1);
});

// ------------------------------------------------------------ Host and target forms

Deno.test("parseRequestHead() refuses an HTTP/1.1 request without Host", () => {
  refuses("GET / HTTP/1.1", 400, /missing Host/);
  refuses(head("GET / HTTP/1.1", "X-Host: a"), 400, /missing Host/);
  refuses("GET http://a/ HTTP/1.1", 400, /missing Host/);
});

Deno.test("parseRequestHead() refuses a duplicate Host, whatever the case, values or version", () => {
  refuses(head("GET / HTTP/1.1", "Host: a", "Host: a"), 400, /duplicate Host/);
  refuses(head("GET / HTTP/1.1", "Host: a", "host: b"), 400, /duplicate Host/);
  refuses(head("GET / HTTP/1.1", "HOST: a", "X: y", "Host: a"), 400, /duplicate Host/);
  refuses(head("GET / HTTP/1.0", "Host: a", "Host: b"), 400, /duplicate Host/);
  refuses(head("GET http://a/ HTTP/1.1", "Host: a", "Host: a"), 400, /duplicate Host/);
});

Deno.test("parseRequestHead() accepts host names, IP literals, ports and an empty Host", () => {
  for (
    const v of [
      "example.com",
      "example.com:8080",
      "EXAMPLE.com",
      "127.0.0.1",
      "127.0.0.1:80",
      "[::1]",
      "[::1]:8443",
      "[2001:db8::1]",
      "[::ffff:1.2.3.4]:1",
      "xn--bcher-kva.example",
      "a_b~c",
      "a%41",
      "a:",
      "",
    ]
  ) {
    assert.equal(req(head("GET / HTTP/1.1", `Host: ${v}`)).host, v, v);
  }
});

Deno.test("parseRequestHead() refuses an invalid Host value", () => {
  for (
    const v of [
      "a b",
      "user@a",
      "a/b",
      "a?b",
      "a#b",
      "a:80x",
      "a:b:c",
      "[::1",
      "::1",
      "[::1]x",
      "[fe80::1%eth0]",
      '"a"',
      "a\\b",
      "caf\xe9",
      "a\tb",
    ]
  ) {
    refuses(head("GET / HTTP/1.1", `Host: ${v}`), 400, /Host/);
  }
});

Deno.test("parseRequestHead() takes host and path from an absolute-form target and ignores Host", () => {
  const cases: [string, string, string][] = [
    ["http://b.example/x?y=1", "b.example", "/x?y=1"],
    ["http://b.example", "b.example", "/"],
    ["http://b.example?q", "b.example", "/?q"],
    ["http://b.example/?q", "b.example", "/?q"],
    ["http://b.example:81/p/q", "b.example:81", "/p/q"],
    ["HTTPS://B.example/p", "B.example", "/p"],
    ["hTTp://[::1]:8080/p", "[::1]:8080", "/p"],
    ["https://b.example?x=/y", "b.example", "/?x=/y"],
  ];
  for (const [target, host, path] of cases) {
    const h = req(head(`GET ${target} HTTP/1.1`, "Host: a.example"));
    assert.equal(h.host, host, target);
    assert.equal(h.target, path, target);
  }
});

Deno.test("parseRequestHead() refuses an absolute-form target with userinfo, no or a bad authority", () => {
  for (
    const t of [
      "http://",
      "http:///x",
      "http://?x",
      "http://u@b/",
      "http://u:p@b/",
      "http://[::1/",
      "http://b:8x/",
      'http://"b"/',
    ]
  ) {
    refuses(head(`GET ${t} HTTP/1.1`, "Host: a"), 400, /authority/);
  }
  // a fragment is refused before the authority is even looked at
  refuses(head("GET http://b#frag HTTP/1.1", "Host: a"), 400, /fragment/);
});

Deno.test("parseRequestHead() refuses other schemes, authority-form and relative targets", () => {
  for (const t of ["ftp://a/", "ws://a/", "a:80", "a/b", "?x", "http:/a", "%2F"]) {
    refuses(head(`GET ${t} HTTP/1.1`, "Host: a"), 400, /request-target form/);
  }
});

Deno.test("parseRequestHead() keeps an origin-form path with an empty first segment as a path", () => {
  // absolute-path = 1*( "/" segment ) and a segment may be empty: "//a/b" is a path, not an authority
  const h = req(head("GET //a/b HTTP/1.1", "Host: h"));
  assert.equal(h.target, "//a/b");
  assert.equal(h.host, "h");
});

Deno.test("parseRequestHead() allows the asterisk-form for OPTIONS only", () => {
  assert.equal(req(head("OPTIONS * HTTP/1.1", "Host: a")).target, "*");
  refuses(head("GET * HTTP/1.1", "Host: a"), 400, /asterisk/);
  refuses(head("options * HTTP/1.1", "Host: a"), 400, /asterisk/);
});

Deno.test("parseRequestHead() answers 501 for CONNECT in every target form", () => {
  for (const t of ["a.example:443", "/", "/x", "*", "http://a.example/", "[::1]:443"]) {
    refuses(head(`CONNECT ${t} HTTP/1.1`, "Host: a.example:443"), 501, /CONNECT/);
  }
  refuses("CONNECT a.example:443 HTTP/1.0", 501);
});

Deno.test("parseRequestHead() still answers 400, not 501, for a CONNECT with a smuggling vector", () => {
  refuses(
    head("CONNECT a:443 HTTP/1.1", "Host: a", "Content-Length: 1", "Transfer-Encoding: chunked"),
    400,
  );
  refuses(head("CONNECT a:443 HTTP/1.1", "Host: a", "Host: a"), 400);
  refuses(head("CONNECT a:443 HTTP/1.1", "Host : a"), 400);
});

// ------------------------------------------------------------ Expect, Connection, Upgrade, TE

Deno.test("parseRequestHead() recognizes Expect: 100-continue in any case on HTTP/1.1", () => {
  for (const v of ["100-continue", "100-Continue", "100-CONTINUE", " 100-continue "]) {
    assert.equal(req(head("POST / HTTP/1.1", "Host: a", `Expect: ${v}`)).expectContinue, true);
  }
  assert.equal(req(head("POST / HTTP/1.1", "Host: a")).expectContinue, false);
});

Deno.test("parseRequestHead() answers 417 for an expectation other than 100-continue", () => {
  for (
    const v of ["", "101-continue", "100-continue, foo", "foo", "100-continue;x=1", "100 continue"]
  ) {
    refuses(head("POST / HTTP/1.1", "Host: a", `Expect: ${v}`), 417, /expectation/);
  }
  refuses(head("POST / HTTP/1.1", "Host: a", "Expect: 100-continue", "Expect: foo"), 417);
});

Deno.test("parseRequestHead() ignores Expect in an HTTP/1.0 request", () => {
  assert.equal(req(head("POST / HTTP/1.0", "Expect: 100-continue")).expectContinue, false);
  assert.equal(req(head("POST / HTTP/1.0", "Expect: anything")).expectContinue, false);
});

Deno.test("parseRequestHead() derives keep-alive from the version and the Connection options", () => {
  const ka = (v: string, ...fields: string[]) =>
    req(head(`GET / HTTP/1.${v}`, "Host: a", ...fields)).keepAlive;
  assert.equal(ka("1"), true);
  assert.equal(ka("1", "Connection: close"), false);
  assert.equal(ka("1", "Connection: Close"), false);
  assert.equal(ka("1", "Connection: keep-alive, close"), false);
  assert.equal(ka("1", "Connection: keep-alive", "Connection: close"), false);
  assert.equal(ka("1", "Connection: keep-alive"), true);
  assert.equal(ka("0"), false);
  assert.equal(ka("0", "Connection: keep-alive"), true);
  assert.equal(ka("0", "Connection: Keep-Alive"), true);
  assert.equal(ka("0", "Connection: keep-alive, close"), false);
  assert.equal(ka("0", "Connection: closex, keep-alivex"), false);
});

Deno.test("parseRequestHead() collects Connection options from every Connection field, lower-cased", () => {
  const h = req(
    head("GET / HTTP/1.1", "Connection: Keep-Alive, X-A", "Host: a", "connection: ,x-b,"),
  );
  assert.deepEqual(h.connectionTokens, ["keep-alive", "x-a", "x-b"]);
});

Deno.test("parseRequestHead() reports Upgrade only when Connection lists upgrade", () => {
  const up = (...fields: string[]) => req(head("GET / HTTP/1.1", "Host: a", ...fields)).upgrade;
  assert.equal(up("Connection: Upgrade", "Upgrade: websocket"), "websocket");
  assert.equal(up("Upgrade: websocket", "Connection: keep-alive, upgrade"), "websocket");
  assert.equal(up("Upgrade: websocket"), null);
  assert.equal(up("Connection: upgrade"), null);
  assert.equal(up("Connection: upgrade", "Upgrade: a", "Upgrade: b/2"), "a, b/2");
});

Deno.test("parseRequestHead() ignores Upgrade in an HTTP/1.0 request", () => {
  const h = req(head("GET / HTTP/1.0", "Connection: upgrade", "Upgrade: websocket"));
  assert.equal(h.upgrade, null);
  assert.deepEqual(h.connectionTokens, ["upgrade"]);
});

Deno.test("parseRequestHead() sets teTrailers when any TE field lists trailers", () => {
  const te = (...fields: string[]) => req(head("GET / HTTP/1.1", "Host: a", ...fields)).teTrailers;
  assert.equal(te("TE: trailers"), true);
  assert.equal(te("TE: gzip, Trailers"), true);
  assert.equal(te("TE: trailers", "TE: gzip"), true);
  assert.equal(te("TE: gzip", "TE: trailers"), true);
  assert.equal(te("TE: gzip"), false);
  assert.equal(te("TE: trailersx"), false);
  assert.equal(te(), false);
});

Deno.test("fieldValue() returns the first value of a field by lower-case name, or null", () => {
  const h = req(head("GET / HTTP/1.1", "Host: a", "X-A: 1", "x-a: 2"));
  assert.equal(fieldValue(h, "x-a"), "1");
  assert.equal(fieldValue(h, "host"), "a");
  assert.equal(fieldValue(h, "X-A"), null);
  assert.equal(fieldValue(h, "missing"), null);
});

// ------------------------------------------------------------ responses

Deno.test("parseResponseHead() parses the status line, reason and fields", () => {
  const h = res(head("HTTP/1.1 200 OK", "Content-Length: 3", "X-A:  v "));
  assert.equal(h.status, 200);
  assert.equal(h.reason, "OK");
  assert.equal(h.minor, 1);
  assert.equal(h.contentLength, 3);
  assert.equal(h.chunked, false);
  assert.equal(h.keepAlive, true);
  assert.deepEqual(h.values, ["3", "v"]);
});

Deno.test("parseResponseHead() accepts an empty or missing reason phrase", () => {
  assert.equal(res("HTTP/1.1 204").reason, "");
  assert.equal(res("HTTP/1.1 204 ").reason, "");
  assert.equal(res(head("HTTP/1.1 204", "X: y")).status, 204);
  assert.equal(res("HTTP/1.1 404 Not  Found\t").reason, "Not  Found\t");
  assert.equal(res("HTTP/1.1 200 caf\xe9").reason, "caf\xe9");
});

Deno.test("parseResponseHead() refuses a control byte in the reason phrase", () => {
  for (const c of ["\x00", "\r", "\n", "\x1b", "\x7f"]) {
    resRefuses(`HTTP/1.1 200 O${c}K`, /reason/);
  }
});

Deno.test("parseResponseHead() refuses a malformed status line", () => {
  for (
    const line of [
      "",
      "HTTP/1.1",
      "HTTP/1.1 ",
      "HTTP/1.1 20",
      "HTTP/1.1 20 OK",
      "HTTP/1.1 2000 OK",
      "HTTP/1.1  200 OK",
      "HTTP/1.1\t200 OK",
      "HTTP/1.1 200OK",
      "HTTP/1.1 200\tOK",
      " HTTP/1.1 200 OK",
    ]
  ) {
    resRefuses(line);
  }
});

Deno.test("parseResponseHead() refuses versions other than HTTP/1.0 and HTTP/1.1", () => {
  for (const v of ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTPS/1", "ICY/1.1"]) {
    resRefuses(`${v} 200 OK`);
  }
  assert.equal(res("HTTP/1.0 200 OK").minor, 0);
});

Deno.test("parseResponseHead() accepts status codes 100-599 and refuses the rest", () => {
  for (let s = 0; s < 1000; s += 7) {
    const code = String(s).padStart(3, "0");
    const h = parseResponseHead(`HTTP/1.1 ${code} X`, 10);
    if (s >= 100 && s <= 599) {
      if (s === 101) continue; // needs Upgrade, tested below
      assert.equal("error" in h ? -1 : h.status, s, code);
    } else assert.equal("error" in h, true, code);
  }
  resRefuses("HTTP/1.1 2x0 OK", /status code/);
  resRefuses("HTTP/1.1 -20 OK", /status code/);
});

Deno.test("parseResponseHead() answers 502 for every field-level fault a request gets 400 for", () => {
  const faults = [
    ["X: 1", " folded"],
    ["X : 1"],
    ["X\x00: 1"],
    [": 1"],
    ["NoColon"],
    ["X: a\rb"],
    ["X: a\x00b"],
    ["Content-Length: 5", "Transfer-Encoding: chunked"],
    ["Content-Length: 5", "Content-Length: 6"],
    ["Content-Length: 5, 05"],
    ["Content-Length: -1"],
    ["Transfer-Encoding: gzip"],
    ["Transfer-Encoding: gzip, chunked"],
    ["Transfer-Encoding: chunked, chunked"],
    ["Transfer-Encoding: chunked\xa0"],
  ];
  for (const fields of faults) resRefuses(head("HTTP/1.1 200 OK", ...fields));
});

Deno.test("parseResponseHead() answers 502 past maxHeaderCount fields", () => {
  assert.equal(res(head("HTTP/1.1 200 OK", "A: 1", "B: 2"), 2).names.length, 2);
  resRefuses(head("HTTP/1.1 200 OK", "A: 1", "B: 2", "C: 3"), /too many/, 2);
});

Deno.test("parseResponseHead() refuses Transfer-Encoding in an HTTP/1.0 response", () => {
  resRefuses(head("HTTP/1.0 200 OK", "Transfer-Encoding: chunked"), /HTTP\/1\.0/);
  assert.equal(res(head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")).chunked, true);
});

Deno.test("parseResponseHead() refuses a 101 without Connection: upgrade and Upgrade", () => {
  resRefuses("HTTP/1.1 101 Switching Protocols", /101/);
  resRefuses(head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"), /101/);
  resRefuses(head("HTTP/1.1 101 Switching Protocols", "Connection: upgrade"), /101/);
  const h = res(
    head("HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", "Upgrade: websocket"),
  );
  assert.equal(h.upgrade, "websocket");
});

Deno.test("parseResponseHead() derives keep-alive like a request does", () => {
  assert.equal(res("HTTP/1.1 200 OK").keepAlive, true);
  assert.equal(res(head("HTTP/1.1 200 OK", "Connection: close")).keepAlive, false);
  assert.equal(res("HTTP/1.0 200 OK").keepAlive, false);
  assert.equal(res(head("HTTP/1.0 200 OK", "Connection: keep-alive")).keepAlive, true);
});

Deno.test("parseResponseHead() accepts identical repeated Content-Length values", () => {
  assert.equal(
    res(head("HTTP/1.1 200 OK", "Content-Length: 4", "content-length: 4")).contentLength,
    4,
  );
  assert.equal(res(head("HTTP/1.1 200 OK", "Content-Length: 4, 4")).contentLength, 4);
});

// ------------------------------------------------------------ generated heads

type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)]!;
function shuffle<T>(r: Random, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = int(r, i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
const randomCase = (r: Random, s: string) =>
  [...s].map((c) => (r() < 0.5 ? c.toLowerCase() : c.toUpperCase())).join("");
const ows = (r: Random) => pick(r, ["", "", " ", "\t", "  ", " \t "]);
const trim = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, "");
const tokens = (s: string) =>
  s.split(",").map(trim).filter((t) => t !== "").map((t) => t.toLowerCase());

const HOSTS = ["example.com", "a.example:8080", "127.0.0.1", "[::1]:9000", "x_y.internal", ""];
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "X-CUSTOM"];
const CUSTOM = [
  "Accept",
  "User-Agent",
  "Cookie",
  "X-Forwarded-For",
  "Forwarded",
  "Proxy-Authorization",
  "Keep-Alive",
  "Trailer",
  "X-Request-Id",
  "Content-Type",
  "Transfer_Encoding",
  "X-Hop",
];
const VALUE_CHARS = 'abcXYZ019 \t"(),;=/\\:@?\xe9\xa0-_.~';

interface Field {
  name: string;
  /** Raw value as written, OWS included. */
  raw: string;
}

interface Gen {
  method: string;
  target: string;
  minor: 0 | 1;
  fields: Field[];
}

function randomValue(r: Random): string {
  let v = "";
  const n = int(r, 12);
  for (let i = 0; i < n; i++) v += VALUE_CHARS[int(r, VALUE_CHARS.length)];
  return v;
}

/** A request that is valid by construction. */
function genRequest(r: Random, opts: { minor?: 0 | 1; noFraming?: boolean } = {}): Gen {
  const minor = opts.minor ?? (r() < 0.8 ? 1 : 0);
  let method = pick(r, METHODS);
  let target: string;
  const form = r();
  if (form < 0.7) {
    target = "/" + randomCase(r, "path").slice(0, int(r, 5)) + (r() < 0.3 ? "?q=1&r" : "");
  } else if (form < 0.9) {
    target = `${pick(r, ["http", "https", "HTTP"])}://${pick(r, HOSTS.filter((h) => h))}${
      pick(r, ["", "/", "/x/y", "?q", "/p?q=/"])
    }`;
  } else {
    method = "OPTIONS";
    target = "*";
  }
  const fields: Field[] = [];
  const add = (name: string, value: string) =>
    fields.push({ name: randomCase(r, name), raw: `${ows(r)}${value}${ows(r)}` });
  if (minor === 1 || r() < 0.5) add("Host", pick(r, HOSTS));
  if (!opts.noFraming) {
    const f = r();
    if (f < 0.35) {
      const n = String(int(r, 100000));
      const reps = 1 + int(r, 3);
      for (let i = 0; i < reps; i++) add("Content-Length", r() < 0.2 ? `${n}, ${n}` : n);
    } else if (f < 0.6 && minor === 1) {
      add("Transfer-Encoding", randomCase(r, "chunked"));
    }
  }
  const connFields = r() < 0.5 ? 1 + int(r, 2) : 0;
  for (let i = 0; i < connFields; i++) {
    const ts = shuffle(r, ["close", "keep-alive", "upgrade", "x-hop"]).slice(0, 1 + int(r, 2));
    add("Connection", ts.map((t) => randomCase(r, t)).join(pick(r, [",", ", ", " ,\t"])));
  }
  if (r() < 0.3) add("Upgrade", pick(r, ["websocket", "h2c", "foo/2"]));
  if (minor === 1 && r() < 0.2) add("Expect", randomCase(r, "100-continue"));
  const teFields = r() < 0.25 ? 1 + int(r, 2) : 0;
  for (let i = 0; i < teFields; i++) {
    add("TE", pick(r, ["trailers", "gzip", "deflate, trailers", "x;q=0.5"]));
  }
  const custom = int(r, 7);
  for (let i = 0; i < custom; i++) add(pick(r, CUSTOM), randomValue(r));
  return { method, target, minor, fields: shuffle(r, fields) };
}

const serialize = (g: Gen) =>
  [`${g.method} ${g.target} HTTP/1.${g.minor}`, ...g.fields.map((f) => `${f.name}:${f.raw}`)].join(
    "\r\n",
  );

/** What the parser must report for a valid generated request, computed from the field list alone. */
function model(g: Gen) {
  const lower = g.fields.map((f) => f.name.toLowerCase());
  const values = g.fields.map((f) => trim(f.raw));
  const all = (n: string) => values.filter((_, i) => lower[i] === n);
  const connectionTokens = all("connection").flatMap(tokens);
  const cl = all("content-length").flatMap((v) => v.split(",").map(trim));
  const upgrades = all("upgrade");
  let host: string | null = all("host")[0] ?? null;
  let target = g.target;
  const abs = /^(https?):\/\/([^/?]*)(.*)$/i.exec(g.target);
  if (abs) {
    host = abs[2]!;
    target = abs[3] === "" ? "/" : abs[3]!.startsWith("?") ? `/${abs[3]}` : abs[3]!;
  }
  return {
    method: g.method,
    target,
    minor: g.minor,
    names: g.fields.map((f) => f.name),
    lower,
    values,
    host,
    contentLength: cl.length > 0 ? Number(cl[0]) : -1,
    chunked: all("transfer-encoding").length > 0,
    connectionTokens,
    keepAlive: !connectionTokens.includes("close") &&
      (g.minor === 1 || connectionTokens.includes("keep-alive")),
    upgrade: g.minor === 1 && connectionTokens.includes("upgrade") && upgrades.length > 0
      ? upgrades.join(", ")
      : null,
    expectContinue: g.minor === 1 && all("expect").length > 0,
    teTrailers: all("te").some((v) => tokens(v).includes("trailers")),
  };
}

Deno.test("parseRequestHead() matches a model on 5000 generated valid heads, in every field order", () => {
  const r = mulberry32(0x5eed);
  for (let n = 0; n < 5000; n++) {
    const g = genRequest(r);
    const text = serialize(g);
    const h = req(text);
    assert.deepEqual({ ...h }, model(g), JSON.stringify(text));
    // another order of the same fields: the same facts, the fields in the new order
    const g2 = { ...g, fields: shuffle(r, [...g.fields]) };
    const h2 = req(serialize(g2));
    assert.deepEqual({ ...h2 }, model(g2));
    for (
      const k of [
        "host",
        "target",
        "contentLength",
        "chunked",
        "keepAlive",
        "expectContinue",
        "teTrailers",
      ] as const
    ) {
      assert.equal(h2[k], h[k], k);
    }
  }
});

interface Fault {
  name: string;
  status: number;
  minor?: 0 | 1;
  apply(g: Gen, r: Random, limits: { maxHeaderCount: number; maxUriLength: number }): void;
}

const insertAt = (r: Random, g: Gen, f: Field) =>
  g.fields.splice(int(r, g.fields.length + 1), 0, f);
const dropFraming = (g: Gen) => {
  g.fields = g.fields.filter((f) => !/^(content-length|transfer-encoding)$/i.test(f.name));
};
const NON_TCHAR = [...Array(256).keys()].map((c) => String.fromCharCode(c)).filter((c) =>
  !TCHARS.includes(c) && c !== ":"
);
const BAD_VALUE = [...Array(256).keys()].map((c) => String.fromCharCode(c)).filter((c) =>
  BAD_VALUE_CHAR.test(c)
);

const FAULTS: Fault[] = [
  {
    name: "obs-fold",
    status: 400,
    apply: (g, r) => insertAt(r, g, { name: pick(r, [" ", "\t"]) + "folded", raw: " x" }),
  },
  {
    name: "whitespace before the colon",
    status: 400,
    apply: (g, r) => {
      insertAt(r, g, { name: "X-Pad", raw: "1" });
      const f = pick(r, g.fields);
      f.name += pick(r, [" ", "\t"]);
    },
  },
  {
    name: "a non-tchar byte in a name",
    status: 400,
    apply: (g, r) => {
      insertAt(r, g, { name: "X-Pad", raw: "1" });
      const f = pick(r, g.fields);
      const at = int(r, f.name.length + 1);
      f.name = f.name.slice(0, at) + pick(r, NON_TCHAR) + f.name.slice(at);
    },
  },
  {
    name: "a control byte in a value",
    status: 400,
    apply: (g, r) => {
      insertAt(r, g, { name: "X-Pad", raw: "1" });
      const f = pick(r, g.fields);
      const at = int(r, f.raw.length + 1);
      f.raw = f.raw.slice(0, at) + pick(r, BAD_VALUE) + f.raw.slice(at);
    },
  },
  {
    name: "a line without a colon",
    status: 400,
    apply: (g, r) => insertAt(r, g, { name: "Just text", raw: "" }),
  },
  {
    name: "an empty field name",
    status: 400,
    apply: (g, r) => insertAt(r, g, { name: "", raw: " v" }),
  },
  {
    name: "a malformed Content-Length",
    status: 400,
    apply: (g, r) => {
      dropFraming(g);
      insertAt(r, g, {
        name: "Content-Length",
        raw: pick(r, ["", "-1", "+1", "0x1", "1.0", "1,", "1 1", "a"]),
      });
    },
  },
  {
    name: "differing Content-Length values",
    status: 400,
    apply: (g, r) => {
      dropFraming(g);
      const [a, b] = pick(r, [["1", "2"], ["1", "01"], ["10", "1"]]);
      if (r() < 0.5) insertAt(r, g, { name: "Content-Length", raw: `${a}, ${b}` });
      else {
        insertAt(r, g, { name: "Content-Length", raw: a! });
        insertAt(r, g, { name: randomCase(r, "content-length"), raw: b! });
      }
    },
  },
  {
    name: "Content-Length with Transfer-Encoding",
    status: 400,
    apply: (g, r) => {
      dropFraming(g);
      insertAt(r, g, { name: randomCase(r, "Content-Length"), raw: String(int(r, 100)) });
      insertAt(r, g, { name: randomCase(r, "Transfer-Encoding"), raw: "chunked" });
    },
  },
  {
    name: "a Transfer-Encoding other than a single chunked",
    status: 400,
    minor: 1,
    apply: (g, r) => {
      dropFraming(g);
      insertAt(r, g, {
        name: "Transfer-Encoding",
        raw: pick(r, [
          "gzip",
          "chunked, gzip",
          "chunked, chunked",
          "",
          "identity",
          "chunked\xa0",
        ]),
      });
    },
  },
  {
    name: "an unimplemented coding before chunked",
    status: 501,
    minor: 1,
    apply: (g, r) => {
      dropFraming(g);
      insertAt(r, g, {
        name: randomCase(r, "Transfer-Encoding"),
        raw: pick(r, ["gzip, chunked", "deflate, chunked", "x-y,chunked"]),
      });
    },
  },
  {
    name: "a fragment or non-ASCII byte in the target",
    status: 400,
    apply: (g, r) => {
      if (g.target === "*") g.target = "/";
      const at = 1 + int(r, g.target.length);
      g.target = g.target.slice(0, at) + pick(r, ["#", "#f", "\x80", "\xe9", "\xff"]) +
        g.target.slice(at);
    },
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    status: 400,
    minor: 0,
    apply: (g, r) => {
      dropFraming(g);
      insertAt(r, g, { name: "Transfer-Encoding", raw: "chunked" });
    },
  },
  {
    name: "a duplicate Host",
    status: 400,
    apply: (g, r) => {
      if (!g.fields.some((f) => f.name.toLowerCase() === "host")) {
        insertAt(r, g, { name: "Host", raw: "a" });
      }
      insertAt(r, g, { name: randomCase(r, "host"), raw: pick(r, HOSTS) });
    },
  },
  {
    name: "a missing Host",
    status: 400,
    minor: 1,
    apply: (g) => {
      g.fields = g.fields.filter((f) => f.name.toLowerCase() !== "host");
    },
  },
  {
    name: "an invalid Host",
    status: 400,
    apply: (g, r) => {
      g.fields = g.fields.filter((f) => f.name.toLowerCase() !== "host");
      insertAt(r, g, { name: "Host", raw: pick(r, ["a b", "u@a", "a/b", "[::1", "a:b", '"a"']) });
    },
  },
  {
    name: "an unsupported expectation",
    status: 417,
    minor: 1,
    apply: (g, r) =>
      insertAt(r, g, {
        name: randomCase(r, "expect"),
        raw: pick(r, ["foo", "", "100-continue, x"]),
      }),
  },
  {
    name: "too many fields",
    status: 431,
    apply: (g, r, limits) => {
      insertAt(r, g, { name: "X-Pad", raw: "1" });
      limits.maxHeaderCount = int(r, g.fields.length);
    },
  },
  {
    name: "a target over maxUriLength",
    status: 414,
    apply: (g, r, limits) => {
      limits.maxUriLength = int(r, g.target.length);
    },
  },
  {
    name: "an unsupported version",
    status: 505,
    apply: (g, r) => {
      g.method += ` ${g.target}`;
      g.target = pick(r, ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9"]) + "\u0000"; // marker, replaced below
    },
  },
  {
    name: "CONNECT",
    status: 501,
    apply: (g) => {
      g.method = "CONNECT";
    },
  },
  {
    name: "a bare LF ending a line",
    status: 400,
    apply: (g, r) => insertAt(r, g, { name: "X-Bare", raw: "1\nX-Next: 2" }),
  },
];

/** Serializes, handling the version fault (which rewrites the request line). */
function serializeFault(g: Gen): string {
  if (g.target.endsWith("\u0000")) {
    return [`${g.method} ${g.target.slice(0, -1)}`, ...g.fields.map((f) => `${f.name}:${f.raw}`)]
      .join("\r\n");
  }
  return serialize(g);
}

Deno.test("parseRequestHead() finds each single injected fault wherever it sits among generated fields", () => {
  const r = mulberry32(0xfa017);
  const seen = new Map<string, number>();
  for (let n = 0; n < 8000; n++) {
    const fault = FAULTS[n % FAULTS.length]!;
    const g = genRequest(r, { minor: fault.minor });
    const limits = { ...LIMITS };
    fault.apply(g, r, limits);
    const text = serializeFault(g);
    const h = parseRequestHead(text, limits);
    if (!("error" in h)) assert.fail(`${fault.name} accepted: ${JSON.stringify(text)}`);
    assert.equal(h.status, fault.status, `${fault.name}: ${h.reason} in ${JSON.stringify(text)}`);
    seen.set(fault.name, (seen.get(fault.name) ?? 0) + 1);
  }
  assert.equal(seen.size, FAULTS.length);
});

const SNIPPETS = [
  ":",
  " ",
  "\t",
  "\r",
  "\n",
  "\r\n",
  "\0",
  ",",
  "a",
  "0",
  "\x7f",
  "\xe9",
  "\xa0",
  "/",
  "*",
  "@",
  '"',
  ";",
  "chunked",
  "\r\nContent-Length: 1",
  "\r\nContent-Length: 2",
  "\r\nTransfer-Encoding: chunked",
  "\r\nHost: x",
  "\r\n Host: y",
  "\r\nExpect: 100-continue",
  "\r\nConnection: close",
  "HTTP/1.0",
  "CONNECT",
];

function mutate(r: Random, text: string): string {
  const ops = 1 + int(r, 3);
  for (let k = 0; k < ops; k++) {
    const at = int(r, text.length + 1);
    const op = r();
    if (op < 0.3) text = text.slice(0, at) + pick(r, SNIPPETS) + text.slice(at + 1);
    else if (op < 0.65) text = text.slice(0, at) + pick(r, SNIPPETS) + text.slice(at);
    else if (op < 0.85) text = text.slice(0, at) + text.slice(at + 1 + int(r, 3));
    else {
      const lines = text.split("\r\n");
      const i = int(r, lines.length);
      lines.splice(int(r, lines.length + 1), 0, lines[i]!);
      text = lines.join("\r\n");
    }
  }
  return text;
}

/** Everything an accepted request head guarantees, checked independently of the parser. */
function checkAcceptedRequest(h: RequestHead, text: string, limits: HeadLimits) {
  const ctx = JSON.stringify(text);
  assert.match(h.method, TOKEN, ctx);
  assert.notEqual(h.method, "CONNECT", ctx);
  assert.ok(h.minor === 0 || h.minor === 1, ctx);
  assert.ok(h.target.startsWith("/") || (h.target === "*" && h.method === "OPTIONS"), ctx);
  assert.match(h.target, TARGET, ctx);
  assert.ok(h.names.length <= limits.maxHeaderCount, ctx);
  assert.equal(h.lower.length, h.names.length);
  assert.equal(h.values.length, h.names.length);
  for (let i = 0; i < h.names.length; i++) {
    assert.match(h.names[i]!, TOKEN, ctx);
    assert.equal(h.lower[i], h.names[i]!.toLowerCase());
    assert.equal(BAD_VALUE_CHAR.test(h.values[i]!), false, ctx);
    assert.equal(trim(h.values[i]!), h.values[i], ctx);
  }
  const all = (n: string) => h.values.filter((_, i) => h.lower[i] === n);
  const cl = all("content-length");
  const te = all("transfer-encoding");
  assert.ok(cl.length === 0 || te.length === 0, `CL with TE accepted: ${ctx}`);
  if (te.length > 0) {
    assert.equal(h.minor, 1, ctx);
    assert.deepEqual(tokens(te.join(",")), ["chunked"], ctx);
    assert.equal(h.chunked, true);
  } else assert.equal(h.chunked, false, ctx);
  if (cl.length > 0) {
    const items = cl.flatMap((v) => v.split(",").map(trim));
    assert.equal(new Set(items).size, 1, ctx);
    assert.match(items[0]!, /^[0-9]{1,15}$/, ctx);
    assert.equal(h.contentLength, Number(items[0]));
  } else assert.equal(h.contentLength, -1, ctx);
  const hosts = all("host");
  assert.ok(hosts.length === (h.minor === 1 ? 1 : hosts.length) && hosts.length <= 1, ctx);
  if (h.minor === 1) {
    for (const e of all("expect")) assert.equal(e.toLowerCase(), "100-continue", ctx);
  }
  if (h.minor === 0) assert.equal(h.upgrade, null, ctx);
  // normalizing (trimmed values, one SP after the colon) changes nothing
  const line = text.slice(0, text.indexOf("\r\n") < 0 ? text.length : text.indexOf("\r\n"));
  const again = parseRequestHead(
    [line, ...h.names.map((n, i) => `${n}: ${h.values[i]}`)].join("\r\n"),
    limits,
  );
  assert.deepEqual(again, h, ctx);
}

Deno.test("parseRequestHead() on 20000 mutated heads never throws, refuses with a documented status or returns a consistent head", () => {
  const r = mulberry32(0xbadc0de);
  const statuses = new Map<number, number>();
  let accepted = 0;
  for (let n = 0; n < 20000; n++) {
    const text = mutate(r, serialize(genRequest(r)));
    const h = parseRequestHead(text, LIMITS);
    if ("error" in h) {
      assert.ok([400, 414, 417, 431, 501, 505].includes(h.status), `${h.status} ${h.reason}`);
      assert.equal(typeof h.reason, "string");
      statuses.set(h.status, (statuses.get(h.status) ?? 0) + 1);
    } else {
      accepted++;
      checkAcceptedRequest(h, text, LIMITS);
    }
  }
  // the mutations exercise both outcomes and the main refusal classes
  assert.ok(accepted > 1000, `accepted ${accepted}`);
  for (const s of [400, 417, 505]) assert.ok((statuses.get(s) ?? 0) > 0, `no ${s} seen`);
});

/** A response that is valid by construction. */
function genResponse(r: Random): { text: string; status: number; chunked: boolean; cl: number } {
  const minor = r() < 0.8 ? 1 : 0;
  const status = pick(r, [200, 201, 204, 206, 301, 304, 400, 404, 500, 503]);
  const fields: string[] = [];
  let chunked = false;
  let cl = -1;
  const f = r();
  if (f < 0.4) {
    cl = int(r, 10000);
    const reps = 1 + int(r, 2);
    for (let i = 0; i < reps; i++) {
      fields.push(`${randomCase(r, "content-length")}:${ows(r)}${cl}${ows(r)}`);
    }
  } else if (f < 0.7 && minor === 1) {
    chunked = true;
    fields.push(`${randomCase(r, "transfer-encoding")}: ${randomCase(r, "chunked")}`);
  }
  const custom = int(r, 6);
  for (let i = 0; i < custom; i++) fields.push(`${pick(r, CUSTOM)}:${ows(r)}${randomValue(r)}`);
  if (r() < 0.3) fields.push(`Connection: ${pick(r, ["close", "keep-alive", "x-hop"])}`);
  shuffle(r, fields);
  const reason = pick(r, ["OK", "", "Not Found", "caf\xe9", "A  B\t"]);
  return {
    text: [`HTTP/1.${minor} ${status} ${reason}`, ...fields].join("\r\n"),
    status,
    chunked,
    cl,
  };
}

Deno.test("parseResponseHead() accepts 3000 generated valid responses with the right framing", () => {
  const r = mulberry32(0x7e5);
  for (let n = 0; n < 3000; n++) {
    const g = genResponse(r);
    const h = res(g.text);
    assert.equal(h.status, g.status);
    assert.equal(h.chunked, g.chunked);
    assert.equal(h.contentLength, g.cl);
  }
});

Deno.test("parseResponseHead() on 20000 mutated heads never throws and answers only 502 or a consistent head", () => {
  const r = mulberry32(0xfeed);
  let refused = 0;
  for (let n = 0; n < 20000; n++) {
    const text = mutate(r, genResponse(r).text);
    const h = parseResponseHead(text, 50);
    if ("error" in h) {
      assert.equal(h.status, 502, h.reason);
      refused++;
      continue;
    }
    const ctx = JSON.stringify(text);
    assert.ok(h.status >= 100 && h.status <= 599, ctx);
    assert.equal(BAD_VALUE_CHAR.test(h.reason), false, ctx);
    for (let i = 0; i < h.names.length; i++) {
      assert.match(h.names[i]!, TOKEN, ctx);
      assert.equal(BAD_VALUE_CHAR.test(h.values[i]!), false, ctx);
    }
    const cl = h.values.filter((_, i) => h.lower[i] === "content-length");
    const te = h.values.filter((_, i) => h.lower[i] === "transfer-encoding");
    assert.ok(cl.length === 0 || te.length === 0, ctx);
    if (te.length > 0) assert.ok(h.chunked && h.minor === 1, ctx);
    if (h.status === 101) assert.notEqual(h.upgrade, null, ctx);
  }
  assert.ok(refused > 1000 && refused < 19000, `refused ${refused}`);
});
