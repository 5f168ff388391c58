import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { makeCa, makeCert } from "../../tests/support/tls.ts";
import { tempDir } from "../../tests/support/processes.ts";
import { loadUpstreamTls } from "./upstream_tls_load.ts";

const errno = (code: string) => () => {
  throw Object.assign(new Error(`failed: ${code}`), { code });
};

Deno.test("loadUpstreamTls() rejects an unusable ca_file with the field named", () => {
  const table: [(p: string) => string, RegExp][] = [
    [errno("ENOENT"), /^cannot read \/etc\/ca\.pem: ENOENT$/],
    [errno("EACCES"), /^cannot read \/etc\/ca\.pem: EACCES$/],
    [() => "hello", /^no PEM certificate in \/etc\/ca\.pem$/],
    [
      () => "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      /^certificate 1 in \/etc\/ca\.pem is invalid/,
    ],
  ];
  for (const [read, reason] of table) {
    const r = loadUpstreamTls("g", { enabled: true, verify: true, ca_file: "/etc/ca.pem" }, read);
    assert.ok(!r.ok);
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]!.group, "g");
    assert.equal(r.issues[0]!.field, "tls.ca_file");
    assert.match(r.issues[0]!.reason, reason);
  }
});

Deno.test("loadUpstreamTls() is null when off, reads nothing then, and keys the settings", () => {
  const never = () => assert.fail("read a file for a group without TLS");
  assert.deepEqual(loadUpstreamTls("g", undefined, never), { ok: true, tls: null });
  assert.deepEqual(
    loadUpstreamTls("g", { enabled: false, verify: true, ca_file: "/x" }, never),
    { ok: true, tls: null },
  );
  const noCa = loadUpstreamTls(
    "g",
    { enabled: true, verify: true, server_name: "API.test" },
    never,
  );
  assert.ok(noCa.ok && noCa.tls);
  assert.equal(noCa.tls.ca, undefined, "default CA store");
  assert.equal(noCa.tls.serverName, "api.test");

  const dir = tempDir("uptls-load");
  const ca = makeCa(dir);
  const other = makeCa(dir, "other-ca");
  makeCert(dir, "leaf", "/CN=b.test", ["b.test"], ca);
  const bundle = path.join(dir, "bundle.pem");
  fs.writeFileSync(bundle, fs.readFileSync(ca.cert, "utf8") + fs.readFileSync(other.cert, "utf8"));
  const read = (p: string) => fs.readFileSync(p, "utf8");
  const a = loadUpstreamTls("g", { enabled: true, verify: true, ca_file: ca.cert }, read);
  const b = loadUpstreamTls("g", { enabled: true, verify: true, ca_file: bundle }, read);
  const c = loadUpstreamTls("g", { enabled: true, verify: false, ca_file: ca.cert }, read);
  const a2 = loadUpstreamTls("g", { enabled: true, verify: true, ca_file: ca.cert }, read);
  assert.ok(a.ok && a.tls && b.ok && b.tls && c.ok && c.tls && a2.ok && a2.tls);
  assert.equal(a.tls.ca, fs.readFileSync(ca.cert, "utf8"));
  assert.equal(a.tls.key, a2.tls.key, "same settings, same key");
  assert.notEqual(a.tls.key, b.tls.key, "another CA bundle");
  assert.notEqual(a.tls.key, c.tls.key, "verify off");
  assert.notEqual(a.tls.key, noCa.tls.key);
});
