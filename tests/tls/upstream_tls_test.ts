/**
 * Upstream TLS on real proxy processes, under both runtimes, against real
 * HTTPS backends whose certificates openssl made: requests reach a backend
 * verified against `ca_file` with the SNI `server_name` (over pooled
 * keep-alive connections); a certificate for another name or from another CA
 * gets 502 with the reason in the log, and works with `verify: false`; a
 * failed handshake retries on another backend and ejects the failing one; an
 * unreadable `ca_file` is rejected with the field named while the last good
 * config keeps serving; health probes go over TLS (a TLS backend healthy, a
 * plain-HTTP one unhealthy, and the other way round without TLS).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startHttpsBackend } from "../support/https_backend.ts";
import { RUNTIMES, startBackends, stopAll, tempDir, waitUntil } from "../support/processes.ts";
import { type ProxyUnderTest, startProxy } from "../support/proxy.ts";
import { makeCa, makeCert } from "../support/tls.ts";

/** GET through the proxy: status and body. */
async function get(proxy: ProxyUnderTest): Promise<[number, string]> {
  const r = await fetch(`${proxy.url}/x`, { signal: AbortSignal.timeout(20_000) });
  return [r.status, await r.text()];
}

/** Writes a group config and waits until the proxy applied it (or rejected it). */
async function apply(
  proxy: ProxyUnderTest,
  blob: Record<string, unknown>,
  outcome: "applied" | "rejected" = "applied",
): Promise<void> {
  const before = await proxy.status();
  proxy.writeConfig({ g: blob });
  await waitUntil(`config ${outcome}`, async () => {
    const s = await proxy.status();
    return outcome === "applied"
      ? s.config!.applied_total > before.config!.applied_total
      : s.rejected_total > before.rejected_total;
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `upstream TLS (${runtime}): verified against ca_file with SNI, pooled; wrong name or ` +
      "CA is a 502 with the reason, verify:false works, retries eject the failing backend, " +
      "a bad ca_file is rejected and the last good config keeps serving",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("uptls");
      const ca = makeCa(dir);
      const other = makeCa(dir, "other-ca");
      const good = await startHttpsBackend(
        makeCert(dir, "good", "/CN=backend.test", ["backend.test"], ca),
      );
      const wrongName = await startHttpsBackend(
        makeCert(dir, "wrong", "/CN=else.test", ["else.test"], ca),
      );
      const otherCa = await startHttpsBackend(
        makeCert(dir, "oc", "/CN=backend.test", ["backend.test"], other),
      );
      const tls = { enabled: true, server_name: "backend.test", ca_file: ca.cert };
      const proxy = await startProxy(runtime, {
        g: { backend_servers: [good.address], tls },
      }, ["--no-health-checks"]);
      try {
        for (let i = 0; i < 5; i++) {
          assert.deepEqual(await get(proxy), [200, "sni=backend.test"], proxy.process.log);
        }
        assert.equal(good.requests(), 5);
        assert.ok(good.servernames.every((n) => n === "backend.test"), `${good.servernames}`);
        assert.ok(
          good.servernames.length <= 2,
          `5 sequential requests reuse pooled TLS connections (${good.servernames.length} opened)`,
        );
        console.log(`checked (${runtime}): verified HTTPS backend, SNI backend.test, keep-alive`);

        // verification failures: 502, the reason logged, and no request reaches the backend
        const failures: [typeof good, RegExp][] = [
          [wrongName, /ERR_TLS_CERT_ALTNAME_INVALID/],
          [otherCa, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/],
        ];
        for (const [backend, reason] of failures) {
          await apply(proxy, { backend_servers: [backend.address], tls });
          const [status] = await get(proxy);
          assert.equal(status, 502, proxy.process.log);
          await waitUntil("the reason in the log", () => reason.test(proxy.process.log));
          assert.match(
            proxy.process.log,
            new RegExp(`upstream attempt failed.*${backend.address}.*TLS: `),
          );
          assert.equal(backend.requests(), 0, "nothing sent over an unverified connection");
        }
        // verify off: the same backends answer (positive control)
        await apply(proxy, {
          backend_servers: [wrongName.address, otherCa.address],
          tls: { ...tls, verify: false },
        });
        for (let i = 0; i < 2; i++) {
          assert.deepEqual(await get(proxy), [200, "sni=backend.test"], proxy.process.log);
        }
        assert.equal(wrongName.requests() + otherCa.requests(), 2);
        console.log(
          `checked (${runtime}): wrong name and wrong CA 502 with reason; verify:false ok`,
        );

        // a failed handshake is a connect failure: retried on another backend, and counted
        // for outlier detection (one failure ejects here)
        await apply(proxy, {
          backend_servers: [good.address, wrongName.address],
          tls,
          outlier_detection: { consecutive_failures: 1, base_ejection_seconds: 600 },
        });
        for (let i = 0; i < 6; i++) {
          assert.deepEqual(await get(proxy), [200, "sni=backend.test"], proxy.process.log);
        }
        const ejected = (await proxy.status()).backends.find((b) =>
          b.address === wrongName.address
        );
        assert.equal(ejected?.usable, false, "the backend failing TLS is ejected");
        assert.equal(
          (await proxy.status()).backends.find((b) => b.address === good.address)?.usable,
          true,
        );
        console.log(`checked (${runtime}): TLS failure retried elsewhere and ejected`);

        // an unusable ca_file rejects the config, field named; the last good keeps serving
        const notPem = path.join(dir, "not-a-ca.pem");
        fs.writeFileSync(notPem, "hello\n");
        const bad: [string, RegExp][] = [
          [
            path.join(dir, "missing.pem"),
            /tls\.ca_file: cannot read \S*missing\.pem: ENOENT/,
          ],
          [notPem, /tls\.ca_file: no PEM certificate in \S*not-a-ca\.pem/],
        ];
        for (const [file, reason] of bad) {
          await apply(proxy, {
            backend_servers: [otherCa.address],
            tls: { ...tls, ca_file: file },
          }, "rejected");
          const s = await proxy.status();
          assert.match(s.last_rejected!.reason, reason);
          assert.deepEqual(
            s.backends.map((b) => b.address).sort(),
            [
              good.address,
              wrongName.address,
            ].sort(),
          );
          assert.deepEqual(await get(proxy), [200, "sni=backend.test"]);
        }
        assert.match(proxy.process.log, /config rejected.*tls\.ca_file/);
        console.log(`checked (${runtime}): bad ca_file rejected with the field, last good serves`);
      } finally {
        await proxy.process.stop();
        await Promise.all([good.close(), wrongName.close(), otherCa.close()]);
      }
    },
  });

  Deno.test({
    name: `upstream TLS (${runtime}): health probes go over TLS: a TLS backend healthy and a ` +
      "plain-HTTP one unhealthy, the other way round without tls",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("uptls-health");
      const ca = makeCa(dir);
      const secure = await startHttpsBackend(
        makeCert(dir, "good", "/CN=backend.test", ["backend.test"], ca),
      );
      const [plain] = await startBackends(1);
      const base = {
        backend_servers: [secure.address, plain!.address],
        health_check_frequency_seconds: 0.2,
        healthy_threshold: 1,
        unhealthy_threshold: 1,
      };
      const proxy = await startProxy(runtime, { g: base });
      const healthOf = async () => {
        const s = await proxy.status();
        return Object.fromEntries(s.backends.map((b) => [b.address, b.health]));
      };
      const expect = (secureHealth: string, plainHealth: string) => async () => {
        const h = await healthOf();
        return h[secure.address] === secureHealth && h[plain!.address] === plainHealth;
      };
      try {
        // without tls: the plain backend passes, the TLS one fails its plain probe
        await waitUntil(
          "plain probes: TLS backend unhealthy, plain healthy",
          expect("unhealthy", "healthy"),
          30_000,
        );
        await apply(proxy, {
          ...base,
          tls: { enabled: true, server_name: "backend.test", ca_file: ca.cert },
        });
        await waitUntil(
          "TLS probes: TLS backend healthy, plain unhealthy",
          expect("healthy", "unhealthy"),
          30_000,
        );
        assert.ok(secure.servernames.includes("backend.test"));
        assert.deepEqual(await get(proxy), [200, "sni=backend.test"], proxy.process.log);
        console.log(`checked (${runtime}): health probes over TLS`);
      } finally {
        await proxy.process.stop();
        await stopAll([plain!]);
        await secure.close();
      }
    },
  });
}
