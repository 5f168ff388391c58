import assert from "node:assert/strict";
import { checkCertificatePair } from "./certificate_pair.ts";
import { selfSignedCertificate } from "../../tests/support/tls.ts";

Deno.test("checkCertificatePair: facts of a good pair; the field and reason of bad ones; no key material in a reason", () => {
  {
    const a = selfSignedCertificate(
      "a.example.com",
      "DNS:a.example.com,DNS:*.a.example.com,IP:127.0.0.1",
    );
    const b = selfSignedCertificate("b.example.com", "DNS:b.example.com");
    const good = checkCertificatePair(a.cert, a.key);
    assert.ok(good.ok);
    assert.deepEqual(good.facts.names, ["a.example.com", "*.a.example.com"]);
    assert.equal(good.facts.subject, "CN=a.example.com");
    assert.equal(good.facts.chainLength, 1);
    const days = (good.facts.notAfterMs - good.facts.notBeforeMs) / 86_400_000;
    assert.ok(days > 29 && days < 31, `validity ${days} days`);
    assert.match(good.facts.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    const cases: Array<[string, string, string, "cert" | "key", RegExp]> = [
      ["not PEM", "hello", a.key, "cert", /no PEM certificate/],
      [
        "corrupt certificate",
        a.cert.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!"),
        a.key,
        "cert",
        /does not parse/,
      ],
      ["not a key", a.cert, "hello", "key", /does not parse/],
      [
        "another certificate's key",
        a.cert,
        b.key,
        "key",
        /does not match the certificate \(CN=a\.example\.com\)/,
      ],
      ["key and cert swapped", a.key, a.cert, "cert", /no PEM certificate/],
    ];
    for (const [what, cert, key, field, reason] of cases) {
      const check = checkCertificatePair(cert, key);
      assert.equal(check.ok, false, what);
      if (check.ok) continue;
      assert.equal(check.field, field, what);
      assert.match(check.reason, reason, what);
      assert.ok(!check.reason.includes("PRIVATE KEY"), `${what}: the reason quotes no key`);
      assert.ok(!check.reason.includes(b.key.split("\n")[1] ?? "?"), `${what}: no key material`);
    }
    // a chain: leaf then issuer; the leaf decides
    const chain = checkCertificatePair(a.cert + b.cert, a.key);
    assert.ok(chain.ok);
    assert.equal(chain.facts.chainLength, 2);
    assert.equal(chain.facts.subject, "CN=a.example.com");
  }
});
