/**
 * Client certificates (mTLS) on a TLS listener under both runtimes: with
 * `--tls-client-auth require` a client without a certificate is refused in the
 * handshake and one with a certificate from the CA gets through with its
 * subject in `X-Client-Cert-Subject`; with `optional` both get through, and
 * only a verified certificate's subject goes upstream. A client's own
 * `X-Client-Cert-Subject` never reaches the backend.
 */
import assert from "node:assert/strict";
import { freePort, RUNTIMES, startBackends, tempDir } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { curlHttps, makeCa, makeCert } from "../support/tls.ts";

type Echo = { headers: Record<string, string> };

for (const runtime of RUNTIMES) {
  for (const mode of ["require", "optional"] as const) {
    Deno.test({
      name: `mTLS ${mode} (${runtime}): the verified subject goes upstream, a spoofed one never`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const dir = tempDir("mtls");
        const ca = makeCa(dir);
        const clientCa = makeCa(dir, "client-ca");
        const otherCa = makeCa(dir, "other-ca");
        const server = makeCert(dir, "server", "/CN=shop.test", ["shop.test"], ca);
        const client = makeCert(dir, "client", "/CN=client1/O=Acme", [], clientCa);
        const stranger = makeCert(dir, "stranger", "/CN=stranger", [], otherCa);
        const [b1] = await startBackends(1);
        const tlsPort = await freePort();
        const proxy = await startProxy(runtime, { g: { backend_servers: [b1!.address] } }, [
          ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--no-health-checks"],
          ...["--tls-cert", server.cert, "--tls-key", server.key],
          ...["--tls-client-ca", clientCa.cert, "--tls-client-auth", mode],
        ]);
        const spoof = ["-H", "x-client-cert-subject: CN=admin"];
        try {
          const withCert = curlHttps("shop.test", tlsPort, "/_echo", ca.cert, [
            ...spoof,
            ...["--cert", client.cert, "--key", client.key],
          ]);
          assert.equal(withCert.status, 200, `${withCert.stderr}\n${proxy.process.log}`);
          const subject = (JSON.parse(withCert.body) as Echo).headers["x-client-cert-subject"];
          assert.equal(subject, "CN=client1, O=Acme");

          const without = curlHttps("shop.test", tlsPort, "/_echo", ca.cert, spoof);
          const foreign = curlHttps("shop.test", tlsPort, "/_echo", ca.cert, [
            ...spoof,
            ...["--cert", stranger.cert, "--key", stranger.key],
          ]);
          if (mode === "require") {
            assert.notEqual(without.code, 0, "no client certificate must be refused");
            assert.equal(without.status, 0);
            assert.notEqual(foreign.code, 0, "a certificate from another CA must be refused");
          } else {
            for (const r of [without, foreign]) {
              assert.equal(r.status, 200, r.stderr);
              assert.equal(
                (JSON.parse(r.body) as Echo).headers["x-client-cert-subject"],
                undefined,
              );
            }
          }
          console.log(`checked (${runtime}, ${mode}): subject upstream, spoofed header dropped`);
        } finally {
          await proxy.process.stop();
          await b1!.process.stop();
        }
      },
    });
  }
}
