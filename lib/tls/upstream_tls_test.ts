import assert from "node:assert/strict";
import {
  tlsConnectOptions,
  tlsFailure,
  upstreamServerName,
  type UpstreamTls,
} from "./upstream_tls.ts";

Deno.test("upstreamServerName() is server_name, else the backend's host name, none for an IP", () => {
  const table: [string | undefined, string, string | undefined][] = [
    [undefined, "api.internal", "api.internal"],
    [undefined, "localhost", "localhost"],
    [undefined, "10.0.0.1", undefined],
    [undefined, "::1", undefined],
    [undefined, "2001:db8::7", undefined],
    ["api.internal", "10.0.0.1", "api.internal"],
    ["api.internal", "other.internal", "api.internal"],
  ];
  for (const [serverName, host, want] of table) {
    assert.equal(upstreamServerName(serverName, host), want, `${serverName} ${host}`);
  }
});

Deno.test("tlsConnectOptions() carries the CA, verify and ALPN http/1.1 per backend", () => {
  const tls: UpstreamTls = { serverName: undefined, ca: "PEM", verify: false, key: "k" };
  assert.deepEqual(tlsConnectOptions(tls, "10.0.0.1"), {
    servername: undefined,
    ca: "PEM",
    rejectUnauthorized: false,
    ALPNProtocols: ["http/1.1"],
  });
  assert.equal(tlsConnectOptions(tls, "b.test").servername, "b.test");
  assert.equal(tlsConnectOptions({ ...tls, verify: true }, "b.test").rejectUnauthorized, true);
});

Deno.test("tlsFailure() names the TLS stack's code and reason", () => {
  const table: [Error & { code?: string }, string][] = [
    [
      Object.assign(new Error("Hostname/IP does not match"), {
        code: "ERR_TLS_CERT_ALTNAME_INVALID",
      }),
      "TLS: ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match",
    ],
    [new Error("socket hang up"), "TLS: socket hang up"],
  ];
  for (const [e, want] of table) assert.equal(tlsFailure(e), want);
});
