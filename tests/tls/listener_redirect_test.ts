/**
 * TLS on a `--listener` proxy under both runtimes: the routes are the same on
 * both listeners, and a first route matching `scheme: "http"` redirects plain
 * requests to HTTPS (308) while HTTPS requests fall through to the group,
 * which sees `X-Forwarded-Proto: https`; HSTS only on the TLS answers.
 */
import assert from "node:assert/strict";
import { freePort, RUNTIMES, startBackends, tempDir } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { curl, curlHttps, makeCa, makeCert } from "../support/tls.ts";

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `--listener with TLS (${runtime}): the scheme route sends http to https, https falls through`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("tls-listener");
      const ca = makeCa(dir);
      const cert = makeCert(dir, "shop", "/CN=shop.test", ["shop.test"], ca);
      const [b1] = await startBackends(1);
      const tlsPort = await freePort();
      const proxy = await startProxy(runtime, {
        groups: { web: { backend_servers: [b1!.address] } },
        listeners: {
          public: {
            routes: [
              {
                name: "to-https",
                match: { scheme: "http" },
                redirect: { scheme: "https", status: 308 },
              },
              { name: "web", match: { host: "shop.test" }, forward: { group: "web" } },
            ],
          },
        },
      }, [
        ...["--listener", "public", "--no-health-checks", "--hsts", "max-age=600"],
        ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--tls-cert", cert.cert, "--tls-key", cert.key],
      ]);
      try {
        const plain = curl(["-H", "host: shop.test", `${proxy.url}/_echo?x=1`]);
        assert.equal(plain.status, 308, `${plain.stderr}\n${proxy.process.log}`);
        assert.match(plain.headers, /^location: https:\/\/shop\.test\/_echo\?x=1\r?$/im);
        assert.doesNotMatch(plain.headers, /strict-transport-security/i);
        const secure = curlHttps("shop.test", tlsPort, "/_echo?x=1", ca.cert);
        assert.equal(secure.status, 200, secure.stderr);
        const echo = JSON.parse(secure.body) as { headers: Record<string, string> };
        assert.equal(echo.headers["x-forwarded-proto"], "https");
        assert.match(secure.headers, /^strict-transport-security: max-age=600\r?$/im);
        // the proxy's own answers on TLS carry HSTS too (a 404: no route for this host)
        const none = curlHttps("shop.test", tlsPort, "/x", ca.cert, ["-H", "host: other.test"]);
        assert.equal(none.status, 404, none.stderr);
        assert.match(none.headers, /^strict-transport-security: max-age=600\r?$/im);
        const status = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/status`)).json();
        assert.equal(status.tls_listen, `127.0.0.1:${tlsPort}`);
        assert.equal(status.tls.certificates[0].name, "shop.test");
        const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
        assert.match(
          metrics,
          /^switchyard_tls_handshakes_total\{result="ok",version="TLSv1\.3"\} [1-9]/m,
        );
        assert.match(
          metrics,
          /^switchyard_route_requests_total\{listener="public",route="to-https",class="3xx"\} 1$/m,
        );
        console.log(`checked (${runtime}): 308 to https on plain, 200 with https on TLS`);
      } finally {
        await proxy.process.stop();
        await b1!.process.stop();
      }
    },
  });
}
