import assert from "node:assert/strict";
import { murmur3 } from "../balancer/hash.ts";
import { readCookie, setCookieLine, stickyChoice, stickyIndex, stickyValue } from "./sticky.ts";

Deno.test("stickyValue() is 16 hex digits, stable, distinct per address, without the address", () => {
  const addresses = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:8080`);
  const values = new Set(addresses.map(stickyValue));
  assert.equal(values.size, 1000);
  for (const a of addresses.slice(0, 10)) {
    const v = stickyValue(a);
    assert.match(v, /^[0-9a-f]{16}$/);
    assert.equal(v, stickyValue(a));
    assert.ok(!v.includes(a));
  }
  // murmur3 with the two fixed seeds: the same in every process and runtime
  assert.equal(stickyValue("hello").slice(0, 8), murmur3("hello").toString(16).padStart(8, "0"));
});

/** [what, Cookie values, name, expected]. */
const COOKIES: [string, readonly string[] | string | null, string, string | null][] = [
  ["one cookie", "sy=abc", "sy", "abc"],
  ["among others", "a=1; sy=abc; b=2", "sy", "abc"],
  ["the first of two", "sy=first; sy=second", "sy", "first"],
  ["the last one", "a=1;sy=abc", "sy", "abc"],
  ["spaces and tabs around", "a=1 ;\t sy = abc \t; b=2", "sy", "abc"],
  ["a quoted value", 'sy="abc"', "sy", "abc"],
  ["an empty value", "sy=; a=1", "sy", ""],
  ["a value with =", "sy=a=b", "sy", "a=b"],
  ["names are case-sensitive", "SY=abc", "sy", null],
  ["a name that only starts the same", "sya=1; xsy=2", "sy", null],
  ["a name as a value", "a=sy", "sy", null],
  ["a cookie without =", "sy; a=1", "sy", null],
  ["absent", "a=1; b=2", "sy", null],
  ["no Cookie field", null, "sy", null],
  ["an empty field", "", "sy", null],
  ["several fields, first match", ["a=1", "sy=x", "sy=y"], "sy", "x"],
  ["several fields, none", ["a=1", "b=2"], "sy", null],
  ["no fields", [], "sy", null],
];

for (const [what, header, name, expected] of COOKIES) {
  Deno.test(`readCookie(): ${what}`, () => {
    assert.equal(readCookie(header, name), expected);
  });
}

/** [name, value, ttl, secure, expected]. */
const LINES: [string, string, number, boolean, string][] = [
  ["sy", "v", 0, false, "sy=v; Path=/; HttpOnly; SameSite=Lax"],
  ["sy", "v", 0, true, "sy=v; Path=/; HttpOnly; SameSite=Lax; Secure"],
  ["sy", "v", 86400, false, "sy=v; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"],
  ["sy", "v", 60, true, "sy=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"],
];

for (const [name, value, ttl, secure, expected] of LINES) {
  Deno.test(`setCookieLine() with ttl ${ttl}, secure ${secure}`, () => {
    const line = setCookieLine(name, value, ttl, secure);
    assert.equal(line, expected);
    // what a browser sends back is read again
    assert.equal(readCookie(line.slice(0, line.indexOf(";")), name), value);
  });
}

const BACKENDS = [
  { address: "10.0.0.1:80", usable: true },
  { address: "10.0.0.2:80", usable: false },
  { address: "10.0.0.3:80", usable: true },
];

/** [what, cookie value, expected index]. */
const CHOICES: [string, string | null, number][] = [
  ["a usable backend is honoured", stickyValue("10.0.0.3:80"), 2],
  ["the first backend", stickyValue("10.0.0.1:80"), 0],
  ["an unusable backend: fall back", stickyValue("10.0.0.2:80"), -1],
  ["a backend no longer in the group: fall back", stickyValue("10.0.0.9:80"), -1],
  ["a forged value: fall back", "not-a-value", -1],
  ["no cookie: fall back", null, -1],
];

for (const [what, value, expected] of CHOICES) {
  Deno.test(`stickyChoice(): ${what}, with and without a precomputed index`, () => {
    assert.equal(stickyChoice(value, BACKENDS), expected);
    assert.equal(stickyChoice(value, BACKENDS, stickyIndex(BACKENDS)), expected);
  });
}

Deno.test("stickyIndex() maps each backend's value to its position", () => {
  const index = stickyIndex(BACKENDS);
  assert.equal(index.size, 3);
  BACKENDS.forEach((b, i) => assert.equal(index.get(stickyValue(b.address)), i));
});
