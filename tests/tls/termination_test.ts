/**
 * TLS termination on a `--group` proxy, under both runtimes, with
 * certificates made by openssl and the real clients (curl, openssl
 * s_client): HTTPS through to a backend with `X-Forwarded-Proto: https`, HSTS
 * on TLS responses only, a client's `X-Client-Cert-Subject` dropped, SNI
 * (exact, wildcard, default), TLS 1.1 and a weak cipher refused, session
 * resumption, and the TLS metrics.
 */
import assert from "node:assert/strict";
import { curl, curlHttps, fingerprintOf, makeCa, makeCert, sClient } from "../support/tls.ts";
import { freePort, RUNTIMES, startBackends, tempDir } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const HSTS = "max-age=31536000; includeSubDomains";

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `TLS listener (${runtime}): HTTPS to a backend, X-Forwarded-Proto, HSTS on TLS only, SNI, ` +
      "old protocols and weak ciphers refused, resumption, metrics",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("tls");
      const ca = makeCa(dir);
      const fallback = makeCert(dir, "default", "/CN=default.test", ["default.test"], ca);
      const shop = makeCert(dir, "shop", "/CN=shop.test", ["shop.test"], ca);
      const wild = makeCert(dir, "wild", "/CN=wild", ["*.apps.test"], ca);
      const [b1] = await startBackends(1);
      const tlsPort = await freePort();
      const proxy = await startProxy(runtime, { g: { backend_servers: [b1!.address] } }, [
        ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--hsts", HSTS, "--no-health-checks"],
        ...["--tls-cert", fallback.cert, "--tls-key", fallback.key],
        ...["--tls-cert", shop.cert, "--tls-key", shop.key],
        ...["--tls-cert", wild.cert, "--tls-key", wild.key],
      ]);
      try {
        // HTTPS through the proxy, verified against the CA, with the name in the certificate
        const r = curlHttps("shop.test", tlsPort, "/_echo", ca.cert, [
          "-H",
          "x-client-cert-subject: CN=admin",
        ]);
        assert.equal(r.status, 200, `${r.stderr}\n${proxy.process.log}`);
        const echo = JSON.parse(r.body) as { headers: Record<string, string> };
        assert.equal(echo.headers["x-forwarded-proto"], "https");
        assert.equal(echo.headers["x-client-cert-subject"], undefined, "spoofed subject dropped");
        assert.match(r.headers, new RegExp(`^strict-transport-security: ${HSTS}\\r?$`, "im"));
        // plain HTTP: http, no HSTS (RFC 6797 §7.2), the spoofed subject dropped too
        const plain = curl(["-H", "x-client-cert-subject: CN=admin", `${proxy.url}/_echo`]);
        assert.equal(plain.status, 200, plain.stderr);
        const plainEcho = JSON.parse(plain.body) as { headers: Record<string, string> };
        assert.equal(plainEcho.headers["x-forwarded-proto"], "http");
        assert.equal(plainEcho.headers["x-client-cert-subject"], undefined);
        assert.doesNotMatch(plain.headers, /strict-transport-security/i);
        console.log(
          `checked (${runtime}): HTTPS 200, x-forwarded-proto https/http, HSTS on TLS only`,
        );

        // SNI: exact, wildcard (one label), unknown and absent names get the default
        const cases: Array<[string[], string, string]> = [
          [["-servername", "shop.test"], shop.cert, "exact"],
          [["-servername", "SHOP.TEST"], shop.cert, "exact, any case"],
          [["-servername", "cart.apps.test"], wild.cert, "wildcard"],
          [["-servername", "a.b.apps.test"], fallback.cert, "wildcard covers one label"],
          [["-servername", "other.test"], fallback.cert, "unknown name"],
          [["-noservername"], fallback.cert, "no SNI"],
        ];
        for (const [args, cert, what] of cases) {
          const seen = sClient(tlsPort, args);
          assert.equal(seen.fingerprint, fingerprintOf(cert), `${what}\n${seen.output}`);
        }
        console.log(`checked (${runtime}): SNI exact, wildcard, default, no SNI`);

        // TLS 1.2 and 1.3 only; TLS 1.2 with ECDHE + AEAD only
        assert.equal(sClient(tlsPort, ["-tls1_3"]).protocol, "TLSv1.3");
        const t12 = sClient(tlsPort, ["-tls1_2"]);
        assert.equal(t12.protocol, "TLSv1.2");
        assert.match(t12.output, /Cipher is ECDHE-ECDSA-(AES128-GCM|AES256-GCM|CHACHA20)/);
        // The server's order wins under Bun (BoringSSL honours honorCipherOrder). Deno's TLS
        // stack (rustls) ignores it and takes the client's first choice, still only among
        // ECDHE+AEAD suites: a known limit (README), pinned here so a change shows.
        const order = sClient(tlsPort, [
          ...["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"],
        ]);
        const chosen = runtime === "bun"
          ? "ECDHE-ECDSA-AES128-GCM-SHA256"
          : "ECDHE-ECDSA-CHACHA20-POLY1305";
        assert.match(order.output, new RegExp(`Cipher is ${chosen}`), order.output);
        const refused: Array<[string[], string]> = [
          [["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], "TLS 1.1"],
          [["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"], "TLS 1.0"],
          [["-tls1_2", "-cipher", "AES128-SHA"], "RSA key exchange, CBC"],
          [["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"], "ECDHE with CBC"],
          [["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"], "ECDHE with CBC-SHA256"],
        ];
        for (const [args, what] of refused) {
          const seen = sClient(tlsPort, args);
          assert.equal(seen.ok, false, `${what} must be refused\n${seen.output}`);
        }
        console.log(`checked (${runtime}): TLS 1.0/1.1, non-ECDHE and CBC suites refused`);

        // session resumption (TLS 1.2 session tickets)
        const sess = path.join(dir, "session.pem");
        const first = sClient(tlsPort, ["-servername", "shop.test", "-tls1_2", "-sess_out", sess]);
        assert.equal(first.reused, false, first.output);
        const again = sClient(tlsPort, ["-servername", "shop.test", "-tls1_2", "-sess_in", sess]);
        assert.equal(again.reused, true, `not resumed\n${again.output}`);
        // TLS 1.3: the tickets come after the handshake, so the client waits for an answer
        const ask = "GET /hello HTTP/1.1\r\nhost: shop.test\r\nconnection: close\r\n\r\n";
        const sess13 = path.join(dir, "session13.pem");
        const args13 = ["-servername", "shop.test", "-tls1_3", "-ign_eof"];
        const first13 = sClient(tlsPort, [...args13, "-sess_out", sess13], ask);
        assert.equal(first13.reused, false, first13.output);
        const again13 = sClient(tlsPort, [...args13, "-sess_in", sess13], ask);
        assert.equal(again13.reused, true, `TLS 1.3 not resumed\n${again13.output}`);
        console.log(`checked (${runtime}): TLS 1.2 and TLS 1.3 sessions resumed`);

        // a client that connects and never starts the handshake is closed after 10 s
        const silentSince = performance.now();
        const silentFor = await new Promise<number>((resolve, reject) => {
          const socket = net.connect(tlsPort, "127.0.0.1");
          socket.on("error", () => {});
          socket.on("close", () => resolve(performance.now() - silentSince));
          setTimeout(() => reject(new Error("a silent client still open after 40 s")), 40_000);
        });
        assert.ok(silentFor > 8_000, `closed after ${silentFor} ms`);
        console.log(
          `checked (${runtime}): a silent client closed after ${Math.round(silentFor)} ms`,
        );

        const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
        const value = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? NaN);
        assert.ok(
          value(/^switchyard_tls_handshakes_total\{result="ok",version="TLSv1\.3"\} (\d+)/m) >= 1,
        );
        assert.ok(
          value(/^switchyard_tls_handshakes_total\{result="ok",version="TLSv1\.2"\} (\d+)/m) >= 2,
        );
        assert.ok(
          value(/^switchyard_tls_handshakes_total\{result="failed",version="none"\} (\d+)/m) >= 6,
          metrics,
        );
        const notAfter = Math.floor(
          Date.parse(new X509Certificate(fs.readFileSync(shop.cert)).validTo) / 1000,
        );
        assert.equal(
          value(/^switchyard_tls_certificate_expiry_timestamp_seconds\{name="shop\.test"\} (\d+)/m),
          notAfter,
        );
        assert.match(
          metrics,
          /switchyard_tls_certificate_expiry_timestamp_seconds\{name="\*\.apps\.test"\}/,
        );
        assert.match(metrics, /^switchyard_tls_certificate_reloads_total\{result="ok"\} 0$/m);
        console.log(`checked (${runtime}): handshake, expiry and reload metrics`);
      } finally {
        await proxy.process.stop();
        await b1!.process.stop();
      }
    },
  });
}
