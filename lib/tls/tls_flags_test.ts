import assert from "node:assert/strict";
import { FlagError, type FlagValues } from "../cli/flags.ts";
import { hstsValue, tlsPlan } from "./tls_flags.ts";

const base: FlagValues = {
  "tls-listen": "127.0.0.1:8443",
  "tls-cert": ["a.crt"],
  "tls-key": ["a.key"],
};

Deno.test("tlsPlan: pairs in order, client auth, HSTS", () => {
  const plan = tlsPlan({
    ...base,
    "tls-cert": ["a.crt", "b.crt"],
    "tls-key": ["a.key", "b.key"],
    "tls-client-ca": "ca.crt",
    "tls-client-auth": "optional",
    hsts: " max-age=31536000; includeSubDomains ",
  });
  assert.deepEqual(plan, {
    listen: { host: "127.0.0.1", port: 8443 },
    pairs: [{ certFile: "a.crt", keyFile: "a.key" }, { certFile: "b.crt", keyFile: "b.key" }],
    zkCertificates: [],
    clientCaFile: "ca.crt",
    clientAuth: "optional",
    hsts: "max-age=31536000; includeSubDomains",
  });
  assert.equal(tlsPlan({ ...base, "tls-client-ca": "ca.crt" })?.clientAuth, "require");
  assert.equal(tlsPlan(base)?.clientAuth, "none");
  assert.equal(tlsPlan({}), null);
});

Deno.test("tlsPlan: --tls-cert-zk (with --zk) alone or after the file pairs, in flag order, once each", () => {
  const zk = { zk: "127.0.0.1:2181" };
  const alone = tlsPlan({ "tls-listen": "127.0.0.1:8443", ...zk, "tls-cert-zk": ["shop"] });
  assert.deepEqual(alone?.pairs, []);
  assert.deepEqual(alone?.zkCertificates, ["shop"]);
  const both = tlsPlan({ ...base, ...zk, "tls-cert-zk": ["shop", "api", "shop"] });
  assert.deepEqual(both?.pairs, [{ certFile: "a.crt", keyFile: "a.key" }]);
  assert.deepEqual(both?.zkCertificates, ["shop", "api"]);
  assert.deepEqual(tlsPlan({ ...base, ...zk })?.zkCertificates, []);
});

Deno.test("tlsPlan: each inconsistency is a usage error naming the flag", () => {
  const cases: Array<[FlagValues, RegExp]> = [
    [{ "tls-cert": ["a.crt"] }, /^--tls-cert needs --tls-listen HOST:PORT$/],
    [{ hsts: "max-age=1" }, /^--hsts needs --tls-listen/],
    [{ "tls-client-auth": "require" }, /^--tls-client-auth needs --tls-listen/],
    [{ "tls-listen": "8443" }, /^--tls-listen must be HOST:PORT/],
    [
      { "tls-listen": "127.0.0.1:8443" },
      /^--tls-listen needs --tls-cert FILE and --tls-key FILE, or --tls-cert-zk NAME$/,
    ],
    [{ "tls-cert-zk": ["shop"] }, /^--tls-cert-zk needs --tls-listen HOST:PORT$/],
    [
      { "tls-listen": "127.0.0.1:8443", "tls-cert-zk": ["shop"] },
      /^--tls-cert-zk needs --zk HOST:PORT/,
    ],
    [
      { "tls-listen": "127.0.0.1:8443", zk: "127.0.0.1:2181", "tls-cert-zk": ["a/b"] },
      /^--tls-cert-zk "a\/b": a certificate name is 1-128 of/,
    ],
    [
      {
        "tls-listen": "127.0.0.1:8443",
        zk: "127.0.0.1:2181",
        "tls-cert-zk": ["shop"],
        "tls-key": ["a.key"],
      },
      /got 0 --tls-cert and 1 --tls-key/,
    ],
    [{ ...base, "tls-key": undefined }, /got 1 --tls-cert and 0 --tls-key/],
    [{ ...base, "tls-key": ["a.key", "b.key"] }, /got 1 --tls-cert and 2 --tls-key/],
    [{ ...base, "tls-client-auth": "maybe" }, /^--tls-client-auth must be optional or require/],
    [{ ...base, "tls-client-auth": "require" }, /^--tls-client-auth needs --tls-client-ca FILE$/],
    [{ ...base, hsts: "includeSubDomains" }, /^--hsts needs a max-age directive/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => tlsPlan(flags), (e: unknown) => {
      assert.ok(e instanceof FlagError);
      assert.match(e.message, message);
      return true;
    }, JSON.stringify(flags));
  }
});

Deno.test("hstsValue: max-age is required and the value must be header-safe", () => {
  assert.equal(
    hstsValue("max-age=63072000; includeSubDomains; preload"),
    "max-age=63072000; includeSubDomains; preload",
  );
  assert.equal(hstsValue('includeSubDomains; max-age="0"'), 'includeSubDomains; max-age="0"');
  assert.throws(() => hstsValue("max-age=1\r\nx: y"), /printable ASCII/);
  assert.throws(() => hstsValue("max-age=abc"), /max-age directive/);
  assert.throws(() => hstsValue("max-ages=1"), /max-age directive/);
});
