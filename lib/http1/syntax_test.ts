import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import {
  BAD_VALUE_CHAR,
  DIGITS,
  headError,
  HOP_BY_HOP,
  listTokens,
  parseContentLength,
  REASONS,
  TARGET,
  targetFault,
  TOKEN,
  transferCodingError,
  trimOws,
} from "./syntax.ts";

/** tchar per RFC 9110 §5.6.2, spelled out independently of the regex under test. */
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

const chr = (c: number) => String.fromCharCode(c);

Deno.test("TOKEN accepts exactly the 77 tchar bytes, alone or repeated, and nothing else", () => {
  let accepted = 0;
  for (let c = 0; c < 256; c++) {
    const expected = TCHARS.includes(chr(c));
    assert.equal(TOKEN.test(chr(c)), expected, `byte 0x${c.toString(16)}`);
    assert.equal(TOKEN.test(`a${chr(c)}b`), expected, `byte 0x${c.toString(16)} inside a name`);
    if (expected) accepted++;
  }
  assert.equal(accepted, 77);
  assert.equal(TOKEN.test(""), false);
  assert.equal(TOKEN.test("Content-Length"), true);
  assert.equal(TOKEN.test("Content-Length "), false);
});

Deno.test("BAD_VALUE_CHAR flags every control byte except HTAB, and DEL, but not SP, VCHAR or obs-text", () => {
  for (let c = 0; c < 256; c++) {
    const bad = (c < 0x20 && c !== 0x09) || c === 0x7f;
    assert.equal(BAD_VALUE_CHAR.test(`a${chr(c)}b`), bad, `byte 0x${c.toString(16)}`);
  }
  assert.equal(BAD_VALUE_CHAR.test("\r"), true);
  assert.equal(BAD_VALUE_CHAR.test("\n"), true);
  assert.equal(BAD_VALUE_CHAR.test("\0"), true);
  assert.equal(BAD_VALUE_CHAR.test(""), false);
});

Deno.test("TARGET accepts visible ASCII except '#' only, and never an empty target", () => {
  let accepted = 0;
  for (let c = 0; c < 256; c++) {
    // RFC 9112 §3.2: no fragment, and no obs-text (bytes >= 0x80), controls, SP or DEL
    const ok = c >= 0x21 && c <= 0x7e && c !== 0x23;
    assert.equal(TARGET.test(`/${chr(c)}`), ok, `byte 0x${c.toString(16)}`);
    assert.equal(TARGET.test(`/a${chr(c)}b?c`), ok, `byte 0x${c.toString(16)} inside`);
    if (ok) accepted++;
  }
  assert.equal(accepted, 93);
  assert.equal(TARGET.test(""), false);
  assert.equal(TARGET.test("/a b"), false);
  assert.equal(TARGET.test("/a?b=c&d=%20"), true);
  assert.equal(TARGET.test("/pope?q=1#narf"), false);
  assert.equal(TARGET.test("/\xce\xb4\xc2\xb6/pope"), false);
});

Deno.test("targetFault() names why a request-target is refused, or returns null", () => {
  const cases: [string, RegExp | null][] = [
    ["/a/b?c=1&d=%20", null],
    ["*", null],
    ["http://a.example:8080/p?q", null],
    ["/p?q=1#narf", /fragment/],
    ["#", /fragment/],
    ["/\xce\xb4\xc2\xb6/pope?q=1#narf", /non-ASCII/],
    ["/caf\xe9", /non-ASCII/],
    ["/\x80", /non-ASCII/],
    ["/\xff", /non-ASCII/],
    ["/a\x00b", /control/],
    ["/a\tb", /control/],
    ["/a\x1fb", /control/],
    ["/a\x7fb", /control/],
    ["/a b", /control/],
    ["", /empty/],
  ];
  for (const [target, want] of cases) {
    const got = targetFault(target);
    if (want === null) assert.equal(got, null, JSON.stringify(target));
    else {
      assert.notEqual(got, null, JSON.stringify(target));
      assert.match(got!, want, JSON.stringify(target));
    }
    // the reason and the regex agree
    assert.equal(got === null, TARGET.test(target), JSON.stringify(target));
  }
  // and they agree on every single byte
  for (let c = 0; c < 256; c++) {
    assert.equal(
      targetFault(`/${chr(c)}`) === null,
      TARGET.test(`/${chr(c)}`),
      `0x${c.toString(16)}`,
    );
  }
});

Deno.test("DIGITS accepts one or more ASCII digits and nothing else", () => {
  for (const s of ["0", "5", "0123456789", "000"]) assert.equal(DIGITS.test(s), true, s);
  for (const s of ["", " 5", "5 ", "+5", "-5", "0x5", "5.0", "1e3", "\u0665", "５"]) {
    assert.equal(DIGITS.test(s), false, JSON.stringify(s));
  }
});

Deno.test("HOP_BY_HOP holds exactly the lower-case connection-specific field names", () => {
  assert.deepEqual([...HOP_BY_HOP].sort(), [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
  ]);
  for (const n of HOP_BY_HOP) assert.equal(n, n.toLowerCase());
  assert.equal(HOP_BY_HOP.has("Connection"), false, "callers must lower-case first");
});

Deno.test("listTokens() splits on commas, trims SP and HTAB, lower-cases and drops empty items", () => {
  assert.deepEqual(listTokens("close"), ["close"]);
  assert.deepEqual(listTokens("Keep-Alive, Upgrade"), ["keep-alive", "upgrade"]);
  assert.deepEqual(listTokens(" \tA ,\tb\t,c "), ["a", "b", "c"]);
  assert.deepEqual(listTokens(",, ,a,,"), ["a"]);
  assert.deepEqual(listTokens(""), []);
  assert.deepEqual(listTokens(" , \t, "), []);
});

Deno.test("listTokens() does not trim NBSP (obs-text 0xA0) or other non-OWS whitespace", () => {
  // In a latin1-decoded head the byte 0xA0 is U+00A0, which String.prototype.trim() removes.
  assert.deepEqual(listTokens("chunked\xa0"), ["chunked\xa0"]);
  assert.deepEqual(listTokens("\xa0chunked"), ["\xa0chunked"]);
  assert.deepEqual(listTokens("chunked\v"), ["chunked\v"]);
  assert.deepEqual(listTokens("chunked\f"), ["chunked\f"]);
  assert.deepEqual(listTokens("chunked\u3000"), ["chunked\u3000"]);
});

Deno.test("trimOws() trims SP and HTAB from both ends only", () => {
  assert.equal(trimOws("  a b \t"), "a b");
  assert.equal(trimOws("\t\t"), "");
  assert.equal(trimOws(""), "");
  assert.equal(trimOws("a"), "a");
  assert.equal(trimOws(" \xa0a\xa0 "), "\xa0a\xa0");
  assert.equal(trimOws("\ra\r"), "\ra\r");
  assert.equal(trimOws("\na"), "\na");
});

Deno.test("trimOws() returns the very same string when there is nothing to trim", () => {
  const s = "no-whitespace-here";
  assert.equal(trimOws(s), s);
});

Deno.test("trimOws() agrees with a regex reference on random strings of SP, HTAB and other bytes", () => {
  const random = mulberry32(7);
  const alphabet = [" ", "\t", "a", "\r", "\n", "\xa0", "\v"];
  for (let n = 0; n < 2000; n++) {
    let s = "";
    const len = Math.floor(random() * 8);
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(random() * alphabet.length)];
    assert.equal(trimOws(s), s.replace(/^[ \t]+|[ \t]+$/g, ""), JSON.stringify(s));
  }
});

Deno.test("headError() builds a tagged error with its status and reason", () => {
  assert.deepEqual(headError(431, "too many"), { error: true, status: 431, reason: "too many" });
  assert.equal("error" in headError(400, "x"), true);
});

Deno.test("REASONS has a phrase for every status the proxy generates itself", () => {
  for (const s of [100, 400, 408, 413, 414, 417, 429, 431, 500, 501, 502, 503, 504, 505]) {
    assert.equal(typeof REASONS[s], "string", `${s}`);
    assert.equal(BAD_VALUE_CHAR.test(REASONS[s]!), false);
  }
  assert.equal(REASONS[431], "Request Header Fields Too Large");
  assert.equal(REASONS[505], "HTTP Version Not Supported");
});

Deno.test("parseContentLength() returns -1 when there is no value at all", () => {
  assert.equal(parseContentLength([]), -1);
});

Deno.test("parseContentLength() parses a single decimal value with optional whitespace", () => {
  assert.equal(parseContentLength(["0"]), 0);
  assert.equal(parseContentLength(["42"]), 42);
  assert.equal(parseContentLength([" 42\t"]), 42);
  assert.equal(parseContentLength(["007"]), 7);
  assert.equal(parseContentLength(["999999999999999"]), 999999999999999);
  assert.equal(parseContentLength(["000000000000000"]), 0);
});

Deno.test("parseContentLength() accepts identical repeats in a list or in several fields", () => {
  assert.equal(parseContentLength(["5, 5"]), 5);
  assert.equal(parseContentLength(["5,5,5"]), 5);
  assert.equal(parseContentLength(["5", "5"]), 5);
  assert.equal(parseContentLength(["5", " 5 ", "5 ,5"]), 5);
  assert.equal(parseContentLength(["0", "0"]), 0);
});

Deno.test("parseContentLength() refuses differing values, even when numerically equal", () => {
  for (
    const values of [
      ["5", "6"],
      ["5, 6"],
      ["5", "5, 6"],
      ["5", "05"],
      ["0", "00"],
      ["6, 5, 5"],
    ]
  ) {
    assert.equal(parseContentLength(values), -2, JSON.stringify(values));
  }
});

Deno.test("parseContentLength() refuses malformed values", () => {
  for (
    const v of [
      "",
      " ",
      "+5",
      "-1",
      "0x5",
      "5.0",
      "1e3",
      "5 5",
      "5;",
      "5,",
      ",5",
      "5,,5",
      "five",
      "\u0665",
      "5\xa0",
      "5\v",
      "1000000000000000", // 16 digits
      "0000000000000005", // 16 digits, even with leading zeros
      "99999999999999999999",
    ]
  ) {
    assert.equal(parseContentLength([v]), -2, JSON.stringify(v));
    assert.equal(parseContentLength(["5", v]), -2, `after a good value: ${JSON.stringify(v)}`);
  }
});

Deno.test("parseContentLength() agrees with a reference on random value lists", () => {
  const random = mulberry32(20240601);
  const pieces = ["0", "5", "05", "12", " ", "\t", ",", "x", "-", "123456789012345", ""];
  const pick = () => pieces[Math.floor(random() * pieces.length)]!;
  for (let n = 0; n < 5000; n++) {
    const values: string[] = [];
    const count = Math.floor(random() * 3);
    for (let i = 0; i < count; i++) {
      let v = "";
      const parts = 1 + Math.floor(random() * 4);
      for (let j = 0; j < parts; j++) v += pick();
      values.push(v);
    }
    // reference: every comma-separated element, OWS-trimmed, is 1-15 digits and all are the same string
    const items = values.flatMap((v) => v.split(",")).map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ""));
    let expected: number;
    if (items.length === 0) expected = -1;
    else if (items.some((s) => !/^[0-9]{1,15}$/.test(s))) expected = -2;
    else if (new Set(items).size > 1) expected = -2;
    else expected = Number(items[0]);
    assert.equal(parseContentLength(values), expected, JSON.stringify(values));
  }
});

Deno.test("transferCodingError() accepts exactly one final chunked and nothing else", () => {
  for (
    const values of [
      ["chunked"],
      ["Chunked"],
      [" CHUNKED\t"],
      [", chunked,"],
      ["chunked", ""],
    ]
  ) {
    assert.equal(transferCodingError(values), null, JSON.stringify(values));
  }
});

Deno.test("transferCodingError() answers 400 for malformed or ambiguous framing and 501 for an unimplemented coding", () => {
  const cases: [readonly string[], number, RegExp][] = [
    // RFC 9112 §6.3: chunked not last (or absent) leaves the length unknown: 400
    [[""], 400, /empty/],
    [[" , "], 400, /empty/],
    [["gzip"], 400, /chunked/],
    [["identity"], 400, /chunked/],
    [["chunked, gzip"], 400, /chunked/],
    [["deflate, chunked, gzip"], 400, /chunked/],
    [["xchunked"], 400, /chunked/],
    [["chunkedx"], 400, /chunked/],
    [["chunk"], 400, /chunked/],
    [["chunked", "gzip"], 400, /chunked/],
    // chunked applied twice (RFC 9112 §6.1 forbids it)
    [["chunked, chunked"], 400, /more than once/],
    [["chunked", "chunked"], 400, /more than once/],
    [["chunked, gzip, chunked"], 400, /more than once/],
    // anything that is not a plain token list
    [["chunked;q=1"], 400, /malformed/],
    [["chunked ;x"], 400, /malformed/],
    [["gzip;level=1, chunked"], 400, /malformed/],
    [['"chunked"'], 400, /malformed/],
    [["chunked\xa0"], 400, /malformed/],
    [["\xa0chunked"], 400, /malformed/],
    [["ch unked"], 400, /malformed/],
    [["gzip chunked"], 400, /malformed/],
    [["g@zip, chunked"], 400, /malformed/],
    // RFC 9112 §6.1: well-formed, framed by a final chunked, but a coding we do not implement: 501
    [["deflate, chunked"], 501, /deflate/],
    [["gzip, chunked"], 501, /gzip/],
    [["GZIP, Chunked"], 501, /gzip/],
    [["x-custom,chunked"], 501, /x-custom/],
    [["gzip, deflate, chunked"], 501, /gzip, deflate/],
    [["gzip", "chunked"], 501, /gzip/],
    [["gzip, , chunked"], 501, /gzip/],
  ];
  for (const [values, status, reason] of cases) {
    const e = transferCodingError(values);
    assert.notEqual(e, null, JSON.stringify(values));
    assert.equal(e!.status, status, `${JSON.stringify(values)}: ${e!.reason}`);
    assert.match(e!.reason, reason, JSON.stringify(values));
  }
});
