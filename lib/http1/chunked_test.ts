import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import {
  CHUNK_END,
  ChunkedDecoder,
  chunkHeader,
  LAST_CHUNK_BYTES,
  lastChunkWithTrailers,
} from "./chunked.ts";

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** latin1: one byte per char, so any byte value can be written in a test string. */
function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

interface Outcome {
  kind: "done" | "error" | "incomplete";
  /** Body bytes handed out, as latin1. */
  body: string;
  /** Bytes consumed over all pushes (-1 after an error). */
  consumed: number;
  trailers: string;
}

/**
 * Feeds `input` cut at `cuts` (ascending offsets). Each piece is pushed as
 * `push(input.subarray(0, end), start)`, which exercises `start` and proves the
 * decoder never reads past the end it is given. Checks the per-push contract.
 */
function feed(input: Uint8Array, cuts: readonly number[]): Outcome & { decoder: ChunkedDecoder } {
  const d = new ChunkedDecoder();
  let body = "";
  let consumed = 0;
  const onData = (b: Uint8Array) => {
    assert.ok(b.length > 0, "onData never gets an empty view");
    assert.equal(b.buffer, input.buffer, "body bytes are views into the input, not copies");
    body += latin1(b);
  };
  const bounds = [0, ...cuts, input.length];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const start = bounds[k]!;
    const end = bounds[k + 1]!;
    const used = d.push(input.subarray(0, end), start, onData);
    if (used === -1) {
      assert.equal(typeof d.error, "string");
      assert.equal(d.done, false);
      // an error is final: nothing more is consumed or emitted
      assert.equal(d.push(input, end, () => assert.fail("data after an error")), -1);
      assert.equal(d.push(bytes("0\r\n\r\n"), 0, () => assert.fail("data after an error")), -1);
      return { kind: "error", body, consumed: -1, trailers: "", decoder: d };
    }
    assert.ok(used >= 0 && used <= end - start);
    consumed += used;
    if (d.done) {
      // bytes after the terminator are left alone, now and later
      assert.equal(d.push(input, start + used, () => assert.fail("data after done")), 0);
      return { kind: "done", body, consumed, trailers: d.trailers, decoder: d };
    }
    assert.equal(used, end - start, "a decoder that is not done consumes everything it is given");
  }
  assert.equal(d.error, null);
  return { kind: "incomplete", body, consumed, trailers: "", decoder: d };
}

function decodeAll(s: string): Outcome & { decoder: ChunkedDecoder } {
  return feed(bytes(s), []);
}

function assertDone(s: string, body: string, trailers = "", consumed = s.length) {
  for (const cuts of [[], [...Array(s.length).keys()].slice(1)]) {
    const o = feed(bytes(s), cuts);
    assert.equal(o.kind, "done", `${JSON.stringify(s)}: ${o.decoder.error}`);
    assert.equal(o.body, body);
    assert.equal(o.trailers, trailers);
    assert.equal(o.consumed, consumed);
    assert.equal(o.decoder.bodyBytes, body.length);
  }
}

function assertError(s: string, reason?: RegExp) {
  for (const cuts of [[], [...Array(s.length).keys()].slice(1)]) {
    const o = feed(bytes(s), cuts);
    assert.equal(o.kind, "error", `${JSON.stringify(s)} was ${o.kind}`);
    if (reason) assert.match(o.decoder.error!, reason);
  }
}

function assertIncomplete(s: string) {
  const o = decodeAll(s);
  assert.equal(o.kind, "incomplete", `${JSON.stringify(s)}: ${o.decoder.error}`);
  assert.equal(o.consumed, s.length);
}

// ------------------------------------------------------------ valid framing

Deno.test("ChunkedDecoder decodes a single chunk and stops at the terminator", () => {
  assertDone("3\r\nabc\r\n0\r\n\r\n", "abc");
});

Deno.test("ChunkedDecoder decodes several chunks, hex sizes in either case, with leading zeros", () => {
  assertDone(
    "1\r\na\r\nA\r\n0123456789\r\nf\r\nabcdefghijklmno\r\n0\r\n\r\n",
    "a0123456789abcdefghijklmno",
  );
  assertDone("a\r\n0123456789\r\n0\r\n\r\n", "0123456789");
  assertDone("0003\r\nabc\r\n000\r\n\r\n", "abc");
  assertDone("000000000003\r\nabc\r\n0000000000000\r\n\r\n", "abc"); // 12 and 13 digits
});

Deno.test("ChunkedDecoder decodes an empty body", () => {
  assertDone("0\r\n\r\n", "");
});

Deno.test("ChunkedDecoder passes CR, LF and any byte inside chunk data through untouched", () => {
  const data = "\r\n0\r\n\r\n\x00\xff";
  assertDone(`${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`, data);
});

Deno.test("ChunkedDecoder returns the exact consumed count and leaves the next message alone", () => {
  const msg = "3\r\nabc\r\n0\r\n\r\n";
  assertDone(msg + "GET / HTTP/1.1\r\n\r\n", "abc", "", msg.length);
  assertDone(msg + "0\r\n\r\n", "abc", "", msg.length);
  const withTrailers = "3\r\nabc\r\n0\r\nX: 1\r\n\r\n";
  assertDone(withTrailers + "\r\n\r\n", "abc", "X: 1\r\n", withTrailers.length);
});

Deno.test("ChunkedDecoder honours a start offset and counts consumption from it", () => {
  const d = new ChunkedDecoder();
  const parts: string[] = [];
  const input = bytes("JUNK3\r\nabc\r\n0\r\n\r\nNEXT");
  assert.equal(d.push(input, 4, (b) => parts.push(latin1(b))), 13);
  assert.equal(d.done, true);
  assert.deepEqual(parts, ["abc"]);
});

Deno.test("ChunkedDecoder consumes nothing once done and nothing from an empty push", () => {
  const d = new ChunkedDecoder();
  assert.equal(d.push(new Uint8Array(0), 0, () => {}), 0);
  assert.equal(d.push(bytes("0\r\n\r\n"), 0, () => {}), 5);
  assert.equal(d.push(bytes("3\r\nabc\r\n"), 0, () => assert.fail()), 0);
  assert.equal(d.done, true);
});

Deno.test("ChunkedDecoder hands out a chunk split across pushes as several views", () => {
  const d = new ChunkedDecoder();
  const parts: string[] = [];
  d.push(bytes("a\r\n01234"), 0, (b) => parts.push(latin1(b)));
  d.push(bytes("56789\r\n0\r\n\r\n"), 0, (b) => parts.push(latin1(b)));
  assert.deepEqual(parts, ["01234", "56789"]);
  assert.equal(d.bodyBytes, 10);
  assert.equal(d.done, true);
});

Deno.test("ChunkedDecoder accepts a 13-digit chunk size and streams its data as it comes", () => {
  const d = new ChunkedDecoder();
  assert.equal(d.push(bytes("fffffffffffff\r\nabc"), 0, () => {}), 18);
  assert.equal(d.error, null);
  assert.equal(d.done, false);
  assert.equal(d.bodyBytes, 3);
});

Deno.test("ChunkedDecoder accepts chunk extensions per RFC 9112 and ignores them", () => {
  for (
    const ext of [
      ";a",
      ";a=b",
      ";a=b;c=d",
      ";a;b;c",
      ' ;a = "b c"',
      "\t;\ta\t=\tb",
      ';a=""',
      ';a="x\\"y\\\\z"',
      ';a="\\\t\\ \\\xe9"',
      ';a="caf\xe9\t!#[]~"',
      ";name=" + TCHARS,
      ";" + TCHARS,
      ';a="b";c=d ;e',
    ]
  ) {
    assertDone(`3${ext}\r\nabc\r\n0${ext}\r\n\r\n`, "abc");
  }
});

Deno.test("ChunkedDecoder accepts an extension of exactly 4096 bytes and refuses 4097", () => {
  const ok = ";" + "a".repeat(4095);
  assertDone(`3${ok}\r\nabc\r\n0\r\n\r\n`, "abc");
  assertError(`3${ok}a\r\nabc\r\n0\r\n\r\n`, /extension too long/);
  assertError(`0;a=${'"' + "x".repeat(5000)}`, /extension too long/);
});

Deno.test("ChunkedDecoder reads trailer fields, validated and kept raw", () => {
  assertDone("0\r\nX-Sum: abc\r\n\r\n", "", "X-Sum: abc\r\n");
  assertDone(
    "3\r\nabc\r\n0\r\nA: 1\r\nb-2:  two \t\r\nC:\r\n\r\n",
    "abc",
    "A: 1\r\nb-2:  two \t\r\nC:\r\n",
  );
  assertDone("0\r\nX: caf\xe9\r\n\r\n", "", "X: caf\xe9\r\n");
});

Deno.test("ChunkedDecoder accepts a trailer section of up to 16384 bytes and refuses more", () => {
  const line = (n: number) => `X: ${"v".repeat(n - 5)}\r\n`; // n bytes with its CRLF
  const fits = line(16382); // + the final CRLF = 16384
  assertDone(`0\r\n${fits}\r\n`, "", fits);
  assertError(`0\r\n${line(16383)}\r\n`, /trailer section too large/);
});

Deno.test("ChunkedDecoder reports an unfinished body as neither done nor failed", () => {
  for (
    const s of [
      "",
      "3",
      "3\r",
      "3\r\nab",
      "3\r\nabc",
      "3\r\nabc\r",
      "3\r\nabc\r\n",
      "3\r\nabc\r\n0",
      "3\r\nabc\r\n0\r\n",
      "3\r\nabc\r\n0\r\n\r",
      "0\r\nX: 1\r\n",
      "0\r\nX: 1\r\n\r",
      "3;",
      "3 ",
      "3;a",
      "3;a ",
      "3;a=",
      '3;a="',
      '3;a="\\',
      '3;a="b"',
    ]
  ) {
    assertIncomplete(s);
  }
});

// ------------------------------------------------------------ refusals

Deno.test("ChunkedDecoder refuses a chunk-size line that is not 1*HEXDIG", () => {
  for (
    const line of [
      "\r\n",
      "x\r\n",
      "-1\r\n",
      "+1\r\n",
      "0x3\r\n",
      " 3\r\n",
      "\t3\r\n",
      ";a\r\n",
      "g\r\n",
      "3.0\r\n",
      "\xb3\r\n",
    ]
  ) {
    assertError(`${line}abc\r\n0\r\n\r\n`, /chunk size|extension/);
  }
});

Deno.test("ChunkedDecoder refuses a chunk size of more than 13 hex digits, even leading zeros", () => {
  assertError("10000000000000\r\n", /too large/);
  assertError("00000000000003\r\nabc\r\n0\r\n\r\n", /too large/);
  assertError("ffffffffffffffffff\r\n", /too large/);
});

Deno.test("ChunkedDecoder refuses a chunk-size line not ended by CRLF", () => {
  for (
    const line of ["3\n", "3\r\r\n", "3\rx", "3\r3\r\n", "3\n\r", "3;a\n", "3;a=b\n", '3;a="b"\n']
  ) {
    assertError(`${line}abc\r\n0\r\n\r\n`);
  }
  assertError("0\n\r\n");
});

Deno.test("ChunkedDecoder refuses chunk extensions outside the RFC 9112 grammar", () => {
  for (
    const ext of [
      " ", // BWS with nothing after it
      "\t",
      " x",
      ";", // no name
      "; ",
      ";;a",
      ";=b",
      ";a ", // trailing BWS
      ";a=", // no value
      ";a= ",
      ";a=b ",
      ';a="b" ',
      ";a b",
      ";a=b c",
      ";a=b=c",
      ';a="b"c',
      ';a=b"c"',
      ';a="b', // unterminated
      ';a="b\x01"',
      ';a="b\x7f"',
      ';a="\\\x01"',
      ';a="\\\x7f"',
      ";a\x00",
      ";a\x7f",
      ";\xe9",
      ";a=\xe9",
      ";a\nb",
      ";a\rb",
      ';a="\r\n"',
      ";a=b,c",
      ",a",
      ";a:b",
    ]
  ) {
    assertError(`3${ext}\r\nabc\r\n0\r\n\r\n`, /extension|CRLF|chunk size/);
  }
});

Deno.test("ChunkedDecoder refuses chunk data not followed by CRLF", () => {
  for (
    const s of [
      "3\r\nabcX",
      "3\r\nabc\n",
      "3\r\nabc\rX",
      "3\r\nabc\r\r\n",
      "3\r\nabcd\r\n0\r\n\r\n",
      "3\r\nab\r\n0\r\n\r\n",
    ]
  ) {
    assertError(s, /CRLF/);
  }
});

Deno.test("ChunkedDecoder refuses malformed trailer sections", () => {
  for (
    const t of [
      "\n", // bare LF instead of the final CRLF
      "X: 1\n\r\n",
      "X: 1\r\n\n",
      " X: 1\r\n\r\n", // obs-fold / leading whitespace
      "X: 1\r\n folded\r\n\r\n",
      "X : 1\r\n\r\n",
      ": 1\r\n\r\n",
      "NoColon\r\n\r\n",
      "X\x00: 1\r\n\r\n",
      "X: a\rb\r\n\r\n",
      "X: a\x00\r\n\r\n",
      "X: a\x7f\r\n\r\n",
      "X: a\r\r\n\r\n",
      "\rX: 1\r\n\r\n",
    ]
  ) {
    assertError(`0\r\n${t}`, /trailer/);
  }
});

Deno.test("ChunkedDecoder stays failed after an error, whatever comes next", () => {
  const d = new ChunkedDecoder();
  assert.equal(d.push(bytes("3x"), 0, () => {}), -1);
  const reason = d.error;
  assert.equal(reason, "invalid chunk size");
  // the same bytes that would have been valid framing after the failure point
  assert.equal(
    d.push(bytes("\r\nabc\r\n0\r\n\r\n"), 0, () => assert.fail("data after an error")),
    -1,
  );
  assert.equal(d.error, reason);
  assert.equal(d.done, false);
  assert.equal(d.bodyBytes, 0);
});

Deno.test("ChunkedDecoder keeps body bytes delivered before a later error in the same push", () => {
  const d = new ChunkedDecoder();
  const parts: string[] = [];
  assert.equal(d.push(bytes("3\r\nabcX"), 0, (b) => parts.push(latin1(b))), -1);
  assert.deepEqual(parts, ["abc"]);
  assert.equal(d.bodyBytes, 3);
});

// ------------------------------------------------------------ encoder helpers

Deno.test("chunkHeader() writes the size in lower-case hex followed by CRLF", () => {
  assert.equal(chunkHeader(1), "1\r\n");
  assert.equal(chunkHeader(255), "ff\r\n");
  assert.equal(chunkHeader(4096), "1000\r\n");
  assert.equal(chunkHeader(2 ** 52 - 1), "fffffffffffff\r\n");
  // callers must never frame empty data with it: 0 is the last-chunk
  assert.equal(chunkHeader(0), "0\r\n");
});

Deno.test("CHUNK_END, LAST_CHUNK_BYTES and lastChunkWithTrailers() spell the RFC 9112 framing", () => {
  assert.equal(latin1(CHUNK_END), "\r\n");
  assert.equal(latin1(LAST_CHUNK_BYTES), "0\r\n\r\n");
  assert.equal(lastChunkWithTrailers("X: 1\r\n"), "0\r\nX: 1\r\n\r\n");
  assert.equal(lastChunkWithTrailers(""), "0\r\n\r\n");
});

Deno.test("the encoder helpers produce framing the decoder reads back exactly", () => {
  const r = mulberry32(99);
  for (let n = 0; n < 200; n++) {
    let wire = "";
    let body = "";
    const chunks = Math.floor(r() * 5);
    for (let c = 0; c < chunks; c++) {
      let data = "";
      const len = 1 + Math.floor(r() * 300);
      for (let i = 0; i < len; i++) data += String.fromCharCode(Math.floor(r() * 256));
      wire += chunkHeader(len) + data + latin1(CHUNK_END);
      body += data;
    }
    const trailers = r() < 0.5 ? "X-Check: 1\r\n" : "";
    wire += trailers ? lastChunkWithTrailers(trailers) : latin1(LAST_CHUNK_BYTES);
    assertDone(wire, body, trailers);
  }
});

// ------------------------------------------------------------ property tests

/**
 * Reference decoder: whole-buffer recursive descent written straight from the
 * RFC 9112 §7.1 grammar (plus the decoder's documented limits: 13 size digits,
 * 4096 extension bytes, 16384 trailer bytes). Independent of the state machine.
 */
function reference(s: string): Outcome {
  const n = s.length;
  let p = 0;
  let body = "";
  const incomplete = (): Outcome => ({ kind: "incomplete", body, consumed: n, trailers: "" });
  const error = (): Outcome => ({ kind: "error", body, consumed: -1, trailers: "" });
  const isHex = (c: string | undefined) => c !== undefined && /^[0-9A-Fa-f]$/.test(c);
  const isTchar = (c: string | undefined) => c !== undefined && TCHARS.includes(c);
  const isWs = (c: string | undefined) => c === " " || c === "\t";
  for (;;) {
    let digits = 0;
    let size = 0;
    while (isHex(s[p])) {
      if (++digits > 13) return error();
      size = size * 16 + parseInt(s[p]!, 16);
      p++;
    }
    if (p >= n) return incomplete();
    if (digits === 0) return error();
    const extStart = p;
    const extIncomplete = () => (n - extStart > 4096 ? error() : incomplete());
    for (;;) {
      let ws = 0;
      while (isWs(s[p])) p++, ws++;
      if (p >= n) return extIncomplete();
      if (s[p] === "\r" && ws === 0) break;
      if (s[p] !== ";") return error();
      p++;
      while (isWs(s[p])) p++;
      if (p >= n) return extIncomplete();
      if (!isTchar(s[p])) return error();
      while (isTchar(s[p])) p++;
      const afterName = p;
      while (isWs(s[p])) p++;
      if (p >= n) return extIncomplete();
      if (s[p] !== "=") {
        p = afterName; // no value; the loop head sees this whitespace again
        continue;
      }
      p++;
      while (isWs(s[p])) p++;
      if (p >= n) return extIncomplete();
      if (s[p] === '"') {
        p++;
        for (;;) {
          if (p >= n) return extIncomplete();
          const c = s.charCodeAt(p);
          if (c === 0x22) {
            p++;
            break;
          }
          if (c === 0x5c) {
            p++;
            if (p >= n) return extIncomplete();
            const q = s.charCodeAt(p);
            if (!(q === 0x09 || (q >= 0x20 && q <= 0x7e) || q >= 0x80)) return error();
            p++;
            continue;
          }
          const qdtext = c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b) ||
            (c >= 0x5d && c <= 0x7e) || c >= 0x80;
          if (!qdtext) return error();
          p++;
        }
      } else if (isTchar(s[p])) {
        while (isTchar(s[p])) p++;
      } else return error();
    }
    if (p - extStart > 4096) return error();
    p++; // CR
    if (p >= n) return incomplete();
    if (s[p] !== "\n") return error();
    p++;
    if (size === 0) break;
    const take = Math.min(size, n - p);
    body += s.slice(p, p + take);
    p += take;
    if (take < size) return incomplete();
    if (p >= n) return incomplete();
    if (s[p] !== "\r") return error();
    p++;
    if (p >= n) return incomplete();
    if (s[p] !== "\n") return error();
    p++;
  }
  const start = p;
  for (let j = start; j < n; j++) {
    if (j - start + 1 > 16384) return error();
    if (s[j] !== "\n") continue;
    if (j === start || s[j - 1] !== "\r") return error();
    if (j === start + 1) return { kind: "done", body, consumed: j + 1, trailers: "" };
    if (j - start >= 3 && s.slice(j - 3, j + 1) === "\r\n\r\n") {
      const section = s.slice(start, j - 1);
      for (const line of section.split("\r\n").slice(0, -1)) {
        // deno-lint-ignore no-control-regex -- a field line: token, colon, no CTL but HTAB
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*$/.test(line)) return error();
      }
      return { kind: "done", body, consumed: j + 1, trailers: section };
    }
  }
  return incomplete();
}

type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const ws = (r: Random) => pick(r, ["", "", " ", "\t", " \t"]);

function token(r: Random): string {
  let t = "";
  const n = 1 + int(r, 6);
  for (let i = 0; i < n; i++) t += TCHARS[int(r, TCHARS.length)];
  return t;
}

function quoted(r: Random): string {
  const qd = " \t!#[]~az\xe9\xff";
  let q = '"';
  const n = int(r, 6);
  for (let i = 0; i < n; i++) {
    q += r() < 0.2 ? "\\" + pick(r, ['"', "\\", " ", "a", "\xe9", "\t"]) : pick(r, [...qd]);
  }
  return q + '"';
}

/** Zero to three valid extensions, each `BWS ; BWS name [BWS = BWS value]`. */
function extensions(r: Random): string {
  let e = "";
  const n = r() < 0.6 ? 0 : 1 + int(r, 3);
  for (let i = 0; i < n; i++) {
    e += `${ws(r)};${ws(r)}${token(r)}`;
    if (r() < 0.6) e += `${ws(r)}=${ws(r)}${r() < 0.5 ? token(r) : quoted(r)}`;
  }
  return e;
}

function hexSize(r: Random, n: number): string {
  let h = n.toString(16);
  if (r() < 0.5) h = h.toUpperCase();
  if (r() < 0.2) h = "0".repeat(int(r, 13 - h.length + 1)) + h;
  return h;
}

interface Encoded {
  wire: string;
  /** Length of the chunked message itself (without the trailing bytes). */
  length: number;
  body: string;
  trailers: string;
}

function randomBody(r: Random): string {
  const len = pick(r, [0, 1, 2, int(r, 20), int(r, 200), int(r, 3000)]);
  let b = "";
  for (let i = 0; i < len; i++) {
    b += r() < 0.1 ? pick(r, ["\r", "\n", "0", ";"]) : String.fromCharCode(int(r, 256));
  }
  return b;
}

function encode(r: Random, body: string): Encoded {
  let wire = "";
  let pos = 0;
  while (pos < body.length) {
    const size = Math.min(body.length - pos, 1 + int(r, pick(r, [1, 8, 64, 1024])));
    wire += `${hexSize(r, size)}${extensions(r)}\r\n${body.slice(pos, pos + size)}\r\n`;
    pos += size;
  }
  let trailers = "";
  const nt = r() < 0.7 ? 0 : 1 + int(r, 3);
  for (let i = 0; i < nt; i++) {
    trailers += `${token(r)}:${ws(r)}${pick(r, ["", "v", "a b", "caf\xe9", token(r)])}\r\n`;
  }
  wire += `${r() < 0.8 ? "0" : "000"}${extensions(r)}\r\n${trailers}\r\n`;
  const length = wire.length;
  wire += pick(r, [
    "",
    "",
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "0\r\n\r\n",
    "\r\n",
    "x",
    "5\r\nhello\r\n",
  ]);
  return { wire, length, body, trailers };
}

/** Cut points: none, every byte, or random pieces (empty pieces included). */
function splits(r: Random, n: number): number[][] {
  const everyByte = [...Array(n).keys()].slice(1);
  const random: number[] = [];
  let at = 0;
  while (at < n) {
    at += int(r, pick(r, [1, 3, 17, 200]));
    if (at < n) random.push(at);
  }
  return [[], everyByte, random];
}

Deno.test("ChunkedDecoder decodes 3000 random bodies with random chunk sizes, extensions and trailers, in every split", () => {
  const r = mulberry32(0xc0ffee);
  for (let n = 0; n < 3000; n++) {
    const enc = encode(r, randomBody(r));
    const input = bytes(enc.wire);
    const expected: Outcome = {
      kind: "done",
      body: enc.body,
      consumed: enc.length,
      trailers: enc.trailers,
    };
    assert.deepEqual(
      reference(enc.wire),
      expected,
      "the reference decoder agrees with the encoder",
    );
    for (const cuts of splits(r, input.length)) {
      const { decoder, ...got } = feed(input, cuts);
      assert.deepEqual(
        got,
        expected,
        `${JSON.stringify(enc.wire.slice(0, 200))} cut at ${cuts.length}`,
      );
      assert.equal(decoder.bodyBytes, enc.body.length);
    }
  }
});

const CORRUPT = [
  "\r",
  "\n",
  "\r\n",
  " ",
  "\t",
  ";",
  "=",
  '"',
  "\\",
  "0",
  "1",
  "a",
  "F",
  "g",
  "x",
  ":",
  "\x00",
  "\x7f",
  "\xe9",
  "0\r\n\r\n",
  "\r\n0\r\n",
];

function corrupt(r: Random, s: string): string {
  const ops = 1 + int(r, 2);
  for (let k = 0; k < ops; k++) {
    const at = int(r, s.length + 1);
    const op = r();
    if (op < 0.4) s = s.slice(0, at) + pick(r, CORRUPT) + s.slice(at + 1);
    else if (op < 0.75) s = s.slice(0, at) + pick(r, CORRUPT) + s.slice(at);
    else if (op < 0.9) s = s.slice(0, at) + s.slice(at + 1 + int(r, 2));
    else s = s.slice(0, at) + s.slice(at, at + 1 + int(r, 8)) + s.slice(at);
  }
  return s;
}

Deno.test("ChunkedDecoder on 10000 corrupted streams agrees with the reference decoder in every split", () => {
  // For each corrupted stream and each split (whole, byte by byte, random):
  // - refused (-1) exactly when the reference grammar refuses it, with the same
  //   body bytes handed out before the fault;
  // - done exactly when the reference finds a complete message, with the same
  //   body, trailers and exact consumed count (trailing bytes untouched);
  // - otherwise everything consumed, neither done nor failed, same body so far.
  const r = mulberry32(0xdecade);
  const kinds = { done: 0, error: 0, incomplete: 0 };
  for (let n = 0; n < 10000; n++) {
    const wire = corrupt(r, encode(r, randomBody(r).slice(0, 300)).wire);
    const expected = reference(wire);
    kinds[expected.kind]++;
    const input = bytes(wire);
    for (const cuts of splits(r, input.length)) {
      const { decoder, ...got } = feed(input, cuts);
      assert.deepEqual(got, expected, `${JSON.stringify(wire)} (${decoder.error})`);
      assert.equal(decoder.bodyBytes, got.body.length);
    }
  }
  // the corpus exercises every outcome, refusals most
  assert.ok(kinds.error > 3000, JSON.stringify(kinds));
  assert.ok(kinds.done > 1000, JSON.stringify(kinds));
  assert.ok(kinds.incomplete > 150, JSON.stringify(kinds));
});
