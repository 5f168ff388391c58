/**
 * Certificate reloads on a `--group` proxy under both runtimes: a new pair
 * written over the files serves new handshakes while an established
 * keep-alive connection keeps working; a mismatched pair is refused (logged,
 * in /status, counted) and the last good one keeps serving, until a good pair
 * arrives (the positive control). At start, a bad pair or an unreadable file
 * is an error naming the flag and file, and inconsistent flags a usage error.
 * No private key appears in a log, /status or an error.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { roleCommand } from "../../lib/runtime/role_command.ts";
import { freePort, RUNTIMES, startBackends, tempDir, waitUntil } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import {
  type CertFiles,
  fingerprintOf,
  keptConnection,
  makeCa,
  makeCert,
  sClient,
} from "../support/tls.ts";

/** Replaces `to` with `from`'s content as deploy tools do (write aside, rename over). */
function replaceFile(from: string, to: string): void {
  fs.copyFileSync(from, `${to}.tmp`);
  fs.renameSync(`${to}.tmp`, to);
}

interface TlsStatus {
  tls: {
    certificates: { name: string; fingerprint256: string }[];
    reloads_ok: number;
    reloads_failed: number;
    last_refused: { origin: string; reason: string } | null;
  };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `certificate reload (${runtime}): new handshakes get the new pair, open connections ` +
      "stay; a mismatched pair is refused and the last good one serves",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("tls-reload");
      const ca = makeCa(dir);
      const v1 = makeCert(dir, "v1", "/CN=v1", ["shop.test"], ca);
      const v2 = makeCert(dir, "v2", "/CN=v2", ["shop.test"], ca);
      const v3 = makeCert(dir, "v3", "/CN=v3", ["shop.test"], ca);
      const live: CertFiles = { cert: path.join(dir, "live.crt"), key: path.join(dir, "live.key") };
      fs.copyFileSync(v1.cert, live.cert);
      fs.copyFileSync(v1.key, live.key);
      const [b1] = await startBackends(1);
      const tlsPort = await freePort();
      const proxy = await startProxy(runtime, { g: { backend_servers: [b1!.address] } }, [
        ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--no-health-checks"],
        ...["--tls-cert", live.cert, "--tls-key", live.key],
      ]);
      const status = async () =>
        (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/status`)).json()) as TlsStatus;
      const served = () => sClient(tlsPort, ["-servername", "shop.test"]).fingerprint;
      try {
        const kept = await keptConnection(tlsPort, "shop.test");
        assert.equal(kept.fingerprint, fingerprintOf(v1.cert));
        assert.match(await kept.get("/hello", "shop.test"), /^HTTP\/1.1 200 /);

        // a new pair: key first, then certificate (as a deploy might); new handshakes get it
        replaceFile(v2.key, live.key);
        replaceFile(v2.cert, live.cert);
        await waitUntil(
          "the new certificate served",
          () => Promise.resolve(served() === fingerprintOf(v2.cert)),
          30_000,
        );
        // the connection made before the reload still answers, on its old certificate
        assert.match(await kept.get("/hello", "shop.test"), /^HTTP\/1.1 200 /);
        kept.close();
        assert.ok((await status()).tls.reloads_ok >= 1);

        // a key that does not belong to the certificate: refused, v2 keeps serving
        const failedBefore = (await status()).tls.reloads_failed;
        replaceFile(v3.key, live.key);
        await waitUntil(
          "the mismatched pair refused",
          async () => (await status()).tls.reloads_failed > failedBefore,
          30_000,
        );
        const refused = (await status()).tls.last_refused!;
        assert.equal(refused.origin, `--tls-key ${live.key}`);
        assert.match(refused.reason, /does not match the certificate/);
        assert.equal(served(), fingerprintOf(v2.cert));
        // positive control: the matching certificate arrives and is served
        replaceFile(v3.cert, live.cert);
        await waitUntil(
          "the good pair served",
          () => Promise.resolve(served() === fingerprintOf(v3.cert)),
          30_000,
        );

        const s = await status();
        assert.equal(s.tls.certificates[0]!.fingerprint256, fingerprintOf(v3.cert));
        const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
        assert.match(metrics, /^switchyard_tls_certificate_reloads_total\{result="ok"\} [2-9]$/m);
        assert.match(
          metrics,
          /^switchyard_tls_certificate_reloads_total\{result="failed"\} [1-9]/m,
        );
        const everything = JSON.stringify(s) + proxy.process.log + metrics;
        assert.doesNotMatch(everything, /PRIVATE KEY/);
        for (const f of [v1.key, v2.key, v3.key]) {
          const body = fs.readFileSync(f, "utf8").split("\n")[1]!;
          assert.ok(!everything.includes(body), "key material leaked");
        }
        assert.match(
          proxy.process.log,
          /TLS certificates refused; the last good ones keep serving/,
        );
        console.log(
          `checked (${runtime}): reload served, kept connection answered, mismatch refused`,
        );
      } finally {
        await proxy.process.stop();
        await b1!.process.stop();
      }
    },
  });

  Deno.test(`TLS start-up errors name the flag and file (${runtime})`, async () => {
    const dir = tempDir("tls-start");
    const ca = makeCa(dir);
    const a = makeCert(dir, "a", "/CN=a", ["a.test"], ca);
    const b = makeCert(dir, "b", "/CN=b", ["b.test"], ca);
    const config = path.join(dir, "lb.json");
    fs.writeFileSync(config, JSON.stringify({ g: { backend_servers: ["127.0.0.1:1"] } }));
    const port = await freePort();
    const run = (flags: string[]) => {
      const { command, args } = roleCommand(runtime, "proxy", [
        ...["--config", config, "--listen", `127.0.0.1:${port}`],
        ...["--admin-listen", "127.0.0.1:0", ...flags],
      ]);
      return spawnSync(command, args, { encoding: "utf8", timeout: 60_000 });
    };
    const tlsAt = ["--tls-listen", `127.0.0.1:${port}`];
    const cases: Array<[string[], number, RegExp]> = [
      [
        [...tlsAt, "--tls-cert", a.cert, "--tls-key", b.key],
        1,
        /--tls-key \S+b\.key: private key does not match/,
      ],
      [
        [...tlsAt, "--tls-cert", b.key, "--tls-key", b.key],
        1,
        /--tls-cert \S+b\.key: no PEM certificate/,
      ],
      [
        [...tlsAt, "--tls-cert", `${dir}/none.crt`, "--tls-key", a.key],
        1,
        /--tls-cert \S+none\.crt: cannot read/,
      ],
      [[...tlsAt, "--tls-cert", a.cert], 2, /--tls-cert and --tls-key are paired in order/],
      [["--tls-cert", a.cert, "--tls-key", a.key], 2, /--tls-cert needs --tls-listen/],
      [
        [...tlsAt, "--tls-cert", a.cert, "--tls-key", a.key, "--hsts", "preload"],
        2,
        /--hsts needs a max-age/,
      ],
    ];
    for (const [flags, code, message] of cases) {
      const r = run(flags);
      assert.equal(r.status, code, `${flags.join(" ")}\n${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /PRIVATE KEY/);
    }
  });
}
