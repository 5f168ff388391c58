import assert from "node:assert/strict";
import { selfSignedCertificate } from "../../tests/support/tls.ts";
import {
  certificateFields,
  checkCertificateValue,
  checkStoredCertificate,
  daysLeft,
  encodeStoredCertificate,
  validityProblem,
} from "./stored_certificate.ts";

const a = selfSignedCertificate("a.example.com", "DNS:a.example.com,DNS:*.a.example.com");
const b = selfSignedCertificate("b.example.com", "DNS:b.example.com");
const expired = selfSignedCertificate("old.example.com", "DNS:old.example.com", -1);

Deno.test("certificateFields: an object with string cert and key, nothing else", () => {
  const cases: Array<[string, unknown, string | null, RegExp | null]> = [
    ["a pair", { cert: "c", key: "k" }, null, null],
    ["not an object", "x", "", /must be an object/],
    ["an array", [], "", /must be an object/],
    ["null", null, "", /must be an object/],
    ["no cert", { key: "k" }, "cert", /PEM certificate chain string/],
    ["cert not a string", { cert: 1, key: "k" }, "cert", /PEM certificate chain string/],
    ["no key", { cert: "c" }, "key", /PEM private key string/],
    ["an extra field", { cert: "c", key: "k", note: "x" }, "note", /unknown field/],
  ];
  for (const [what, value, field, reason] of cases) {
    const r = certificateFields(value);
    if (field === null) assert.ok(r.ok, what);
    else {
      assert.ok(!r.ok, what);
      assert.equal(r.field, field, what);
      assert.match(r.reason, reason!, what);
    }
  }
});

Deno.test("checkStoredCertificate: a good node gives the pair and its facts; bad ones the field and a reason without key material", () => {
  const good = checkStoredCertificate(new TextDecoder().decode(encodeStoredCertificate(a)));
  assert.ok(good.ok);
  assert.equal(good.cert, a.cert);
  assert.equal(good.key, a.key);
  assert.deepEqual(good.facts.names, ["a.example.com", "*.a.example.com"]);

  const keyBody = a.key.split("\n")[1]!;
  const cases: Array<[string, string, string, RegExp]> = [
    ["not JSON (quoting the key)", `{"cert": "${a.key}`, "", /^the node is not valid JSON$/],
    ["JSON but not an object", "[1]", "", /must be an object/],
    [
      "the key of another certificate",
      JSON.stringify({ cert: a.cert, key: b.key }),
      "key",
      /does not match/,
    ],
    [
      "a key that is not PEM",
      JSON.stringify({ cert: a.cert, key: keyBody }),
      "key",
      /does not parse/,
    ],
    ["no certificate", JSON.stringify({ cert: a.key, key: a.key }), "cert", /no PEM certificate/],
  ];
  for (const [what, text, field, reason] of cases) {
    const r = checkStoredCertificate(text);
    assert.ok(!r.ok, what);
    assert.equal(r.field, field, what);
    assert.match(r.reason, reason, what);
    assert.ok(!r.reason.includes(keyBody.slice(0, 16)), `${what}: the reason quotes the key`);
  }
  // an expired pair is still a pair: whether to write or serve it is the caller's decision
  assert.ok(checkCertificateValue(expired).ok);
});

Deno.test("validityProblem: expired, not yet valid, or valid at the given time", () => {
  const facts = { notBeforeMs: Date.UTC(2026, 0, 1), notAfterMs: Date.UTC(2026, 3, 1) };
  const cases: Array<[string, number, RegExp | null]> = [
    ["within", Date.UTC(2026, 1, 1), null],
    ["at notAfter", facts.notAfterMs, /expired at 2026-04-01T00:00:00.000Z \(notAfter\)/],
    ["after", Date.UTC(2027, 0, 1), /expired at 2026-04-01T00:00:00.000Z/],
    ["before notBefore", Date.UTC(2025, 0, 1), /not valid before 2026-01-01T00:00:00.000Z/],
  ];
  for (const [what, now, want] of cases) {
    const got = validityProblem(facts, now);
    if (want === null) assert.equal(got, null, what);
    else assert.match(got ?? "", want, what);
  }
  const check = checkCertificateValue(expired);
  assert.ok(check.ok);
  assert.match(validityProblem(check.facts, Date.now()) ?? "", /expired at/);
});

Deno.test("daysLeft: whole days, rounded down, negative once expired", () => {
  const day = 86_400_000;
  const cases: Array<[number, number, number]> = [
    [30 * day, 0, 30],
    [30 * day - 1, 0, 29],
    [0, 0, 0],
    [0, 1, -1],
    [0, 2 * day, -2],
  ];
  for (const [notAfter, now, want] of cases) assert.equal(daysLeft(notAfter, now), want);
});
