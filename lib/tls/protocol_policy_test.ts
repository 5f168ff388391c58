import assert from "node:assert/strict";
import { subjectLine, TLS12_CIPHERS } from "./protocol_policy.ts";

Deno.test("subjectLine joins RDNs and makes the value header-safe", () => {
  const cases: Array<[string, string]> = [
    ["CN=client1", "CN=client1"],
    ["CN=client1\nO=Acme\nC=DE", "CN=client1, O=Acme, C=DE"],
    ["CN=bad\r\ninjected: yes", "CN=bad?, injected: yes"],
    ["CN=caf\u00e9", "CN=caf?"],
    ["", ""],
  ];
  for (const [input, want] of cases) assert.equal(subjectLine(input), want, JSON.stringify(input));
});

Deno.test("TLS 1.2 suites are ECDHE with AEAD ciphers only", () => {
  for (const c of TLS12_CIPHERS) {
    assert.match(c, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM|CHACHA20-POLY1305)/);
  }
});
