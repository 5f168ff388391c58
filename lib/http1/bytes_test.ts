import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mulberry32 } from "../balancer/hash.ts";
import { findHeadEnd, latin1With } from "./bytes.ts";

const b = (s: string) => Buffer.from(s, "latin1");

Deno.test("findHeadEnd() finds the first CRLFCRLF and ignores lone LFs and CRs", () => {
  assert.equal(findHeadEnd(b("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody")), 23);
  assert.equal(findHeadEnd(b("\r\n\r\n")), 0);
  assert.equal(findHeadEnd(b("a\n\nb\r\n\r\n")), 4);
  assert.equal(findHeadEnd(b("a\r\n\nb\r\r\n\r\n")), 6);
  assert.equal(findHeadEnd(b("GET / HTTP/1.1\r\nHost: a\r\n")), -1);
  assert.equal(findHeadEnd(b("")), -1);
  assert.equal(findHeadEnd(b("\r\n\r")), -1);
});

Deno.test("findHeadEnd() agrees with Buffer.indexOf on random byte strings", () => {
  const rnd = mulberry32(42);
  const alphabet = [13, 10, 65, 32];
  for (let n = 0; n < 5000; n++) {
    const len = Math.floor(rnd() * 40);
    const bytes = Buffer.alloc(len);
    for (let i = 0; i < len; i++) bytes[i] = alphabet[Math.floor(rnd() * alphabet.length)]!;
    assert.equal(findHeadEnd(bytes), bytes.indexOf("\r\n\r\n"), JSON.stringify([...bytes]));
  }
});

Deno.test("latin1With() writes one byte per character, then the body prefix", () => {
  assert.deepEqual([...latin1With("h\xe9", null, 0)], [104, 0xe9]);
  assert.equal(latin1With("HEAD\r\n", b("body"), 2).toString("latin1"), "HEAD\r\nbo");
  assert.equal(latin1With("x", b("body"), 4).toString("latin1"), "xbody");
  assert.equal(latin1With("", b("ab"), 2).toString("latin1"), "ab");
});

Deno.test("latin1With() keeps obs-text as single bytes even with a body after it", () => {
  const out = latin1With("v: caf\xe9\xff\r\n", b("XY"), 2);
  assert.deepEqual([...out], [...b("v: caf\xe9\xff\r\n"), 88, 89]);
});
