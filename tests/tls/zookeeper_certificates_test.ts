/**
 * TLS certificates stored in ZooKeeper served by the proxy's TLS listener (`--tls-cert-zk`), on
 * the real ZooKeeper under both runtimes, with the tree's ACLs in force (the zk-init bootstrap:
 * the admin identity writes `/switchyard/certs`, only the proxy identity reads it) and the proxy
 * running as the proxy identity: the stored certificate is served (after the file pair, which
 * stays the default); a new pair written through the admin API is used by new handshakes while an
 * open keep-alive connection still answers; a mismatched pair written around the API is refused
 * with the last good still served, and a good pair afterwards is served again. A `--listener`
 * proxy serves a ZooKeeper certificate as its only (default) one. A certificate
 * missing at start is a start-up error naming it; `--tls-cert-zk` without `--zk` a usage error.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { bootstrapTree, certsAcl } from "../../lib/admin/bootstrap.ts";
import { certPath } from "../../lib/store/layout.ts";
import { startAdmin, zkSandbox } from "../support/control_plane.ts";
import {
  freePort,
  httpOk,
  RUNTIMES,
  startBackends,
  startRole,
  stopAll,
  tempDir,
  waitUntil,
} from "../support/processes.ts";
import {
  curlHttps,
  fingerprintOf,
  keptConnection,
  makeCa,
  makeCert,
  sClient,
} from "../support/tls.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const OPS = "ops:ops-secret";
const ADMIN = "admin:admin-secret";
const PROXY = "proxy:proxy-secret";
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const pem = (f: { cert: string; key: string }) => ({
  cert: fs.readFileSync(f.cert, "utf8"),
  key: fs.readFileSync(f.key, "utf8"),
});

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `--tls-cert-zk (${runtime}): the stored certificate is served with the proxy identity; ` +
      "a new pair reaches new handshakes while a keep-alive connection answers; a mismatched " +
      "pair is refused keeping the last good",
    ...E2E,
    async fn() {
      const zk = await zkSandbox("single");
      const [b1] = await startBackends(1);
      const dir = tempDir("tls-zk-certs");
      const procs = [];
      try {
        await bootstrapTree(await zk.session({ digest: OPS }), {
          operator: OPS,
          admin: ADMIN,
          orchestrator: "orch:orch-secret",
          proxy: PROXY,
        });
        const ca = makeCa(dir);
        const file = makeCert(dir, "other", "/CN=other.test", ["other.test"], ca);
        const v1 = makeCert(dir, "shop1", "/CN=shop.test", ["shop.test"], ca);
        const v2 = makeCert(dir, "shop2", "/CN=shop.test", ["shop.test"], ca);
        const v3 = makeCert(dir, "shop3", "/CN=shop.test", ["shop.test"], ca);
        const keyLines = [v1, v2, v3].map((c) => pem(c).key.split("\n")[1]!);
        const adminStore = await zk.session({ digest: ADMIN });
        await adminStore.create("/lb-configs/g", enc({ backend_servers: [b1!.address] }));
        const admin = await startAdmin(runtime, zk.connect, ["--zk-auth", ADMIN]);
        procs.push(admin.process);
        const created = await admin.api("PUT", "/api/certs/shop", pem(v1));
        assert.equal(created.status, 201, JSON.stringify(created.json));

        const [port, adminPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
        const statusUrl = `http://127.0.0.1:${adminPort}/status`;
        const proxy = await startRole(runtime, "proxy", [
          ...["--zk", zk.connect, "--zk-auth", PROXY, "--group", "g", "--no-health-checks"],
          ...["--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`],
          ...["--snapshot-file", path.join(dir, "g.json"), "--resync-seconds", "600"],
          ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--tls-cert-zk", "shop"],
          ...["--tls-cert", file.cert, "--tls-key", file.key],
        ], { ready: () => httpOk(statusUrl) });
        procs.push(proxy);
        const served = () => sClient(tlsPort, ["-servername", "shop.test"]).fingerprint;
        const status = async () => (await (await fetch(statusUrl)).json()).tls;

        // the stored certificate for its name, the file pair (first) for clients without SNI
        assert.equal(served(), fingerprintOf(v1.cert));
        assert.equal(sClient(tlsPort, ["-noservername"]).fingerprint, fingerprintOf(file.cert));
        await waitUntil(
          "HTTPS served from the group's config",
          () => Promise.resolve(curlHttps("shop.test", tlsPort, "/_echo", ca.cert).status === 200),
        );
        const s1 = await status();
        assert.equal(s1.source, "files+zookeeper");
        assert.deepEqual(
          s1.certificates.map((
            c: Record<string, unknown>,
          ) => [c.name, c.source, c.file ?? c.znode, c.default]),
          [
            ["other.test", "file", file.cert, true],
            ["shop.test", "zookeeper", "/switchyard/certs/shop", false],
          ],
        );

        // a new pair through the admin API: new handshakes get it, an open connection still answers
        const kept = await keptConnection(tlsPort, "shop.test");
        assert.equal(kept.fingerprint, fingerprintOf(v1.cert));
        assert.match(await kept.get("/_echo", "shop.test"), /^HTTP\/1\.1 200/);
        const replaced = await admin.api("PUT", "/api/certs/shop", pem(v2), { "if-match": '"0"' });
        assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
        await waitUntil(
          "new handshakes get the new certificate",
          () => Promise.resolve(served() === fingerprintOf(v2.cert)),
          30_000,
        );
        assert.match(await kept.get("/_echo", "shop.test"), /^HTTP\/1\.1 200/);
        kept.close();

        // a mismatched pair written around the API (the admin identity, straight into the node)
        const node = await adminStore.get(certPath("shop"));
        await adminStore.set(
          certPath("shop"),
          enc({ cert: pem(v3).cert, key: pem(v1).key }),
          node!.version,
        );
        await waitUntil("the mismatched pair refused", async () => {
          const refused = (await status()).last_refused;
          return refused !== null && /--tls-cert-zk shop/.test(refused.reason);
        }, 30_000);
        const s2 = await status();
        assert.match(
          s2.last_refused.reason,
          /--tls-cert-zk shop: \/switchyard\/certs\/shop key: private key does not match the certificate/,
        );
        assert.ok(s2.reloads_failed >= 1);
        assert.equal(served(), fingerprintOf(v2.cert), "the last good pair keeps serving");

        // positive control: a good pair afterwards is served
        const fixed = await admin.api("PUT", "/api/certs/shop", pem(v3), {
          "if-match": `"${node!.version + 1}"`,
        });
        assert.equal(fixed.status, 200, JSON.stringify(fixed.json));
        await waitUntil(
          "the good pair after the refused one is served",
          () => Promise.resolve(served() === fingerprintOf(v3.cert)),
          30_000,
        );

        // no key in the proxy's log or /status
        const statusText = await (await fetch(statusUrl)).text();
        for (const text of [proxy.log, statusText]) {
          assert.ok(!text.includes("PRIVATE KEY"));
          for (const k of keyLines) assert.ok(!text.includes(k), "a key line was printed");
        }
      } finally {
        await stopAll(procs);
        await b1!.process.stop();
        await zk.close();
      }
    },
  });

  Deno.test({
    name: `--tls-cert-zk with --zk --listener (${runtime}): the only certificate, from ZooKeeper`,
    ...E2E,
    async fn() {
      const zk = await zkSandbox("single");
      const [b1] = await startBackends(1);
      const dir = tempDir("tls-zk-listener");
      const procs = [];
      try {
        const creds = {
          operator: OPS,
          admin: ADMIN,
          orchestrator: "orch:orch-secret",
          proxy: PROXY,
        };
        await bootstrapTree(await zk.session({ digest: OPS }), creds);
        const ca = makeCa(dir);
        const shop = makeCert(dir, "shop", "/CN=shop.test", ["shop.test"], ca);
        const adminStore = await zk.session({ digest: ADMIN });
        await adminStore.create(certPath("shop"), enc(pem(shop)), { acl: certsAcl(creds) });
        await adminStore.create("/lb-configs/web", enc({ backend_servers: [b1!.address] }));
        await adminStore.create(
          "/lb-routes/public",
          enc({ routes: [{ name: "web", forward: { group: "web" } }] }),
        );
        const [port, adminPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
        const statusUrl = `http://127.0.0.1:${adminPort}/status`;
        procs.push(
          await startRole(runtime, "proxy", [
            ...["--zk", zk.connect, "--zk-auth", PROXY, "--listener", "public"],
            ...["--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`],
            ...["--snapshot-file", path.join(dir, "public.json"), "--no-health-checks"],
            ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--tls-cert-zk", "shop"],
          ], { ready: () => httpOk(statusUrl) }),
        );
        assert.equal(
          sClient(tlsPort, ["-servername", "shop.test"]).fingerprint,
          fingerprintOf(shop.cert),
        );
        assert.equal(sClient(tlsPort, ["-noservername"]).fingerprint, fingerprintOf(shop.cert));
        await waitUntil(
          "HTTPS served through the listener's routes",
          () => Promise.resolve(curlHttps("shop.test", tlsPort, "/_echo", ca.cert).status === 200),
        );
        const tls = (await (await fetch(statusUrl)).json()).tls;
        assert.equal(tls.source, "zookeeper");
        assert.deepEqual(
          tls.certificates.map((c: Record<string, unknown>) => [c.name, c.znode, c.default]),
          [["shop.test", "/switchyard/certs/shop", true]],
        );
      } finally {
        await stopAll(procs);
        await b1!.process.stop();
        await zk.close();
      }
    },
  });

  Deno.test({
    name:
      `--tls-cert-zk (${runtime}): a certificate missing at start, or one the session may not ` +
      "read (no proxy identity), exits 1 naming it; without --zk a usage error (exit 2)",
    ...E2E,
    async fn() {
      const zk = await zkSandbox("single");
      const dir = tempDir("tls-zk-missing");
      try {
        const [port, adminPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
        const listen = [
          ...["--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`],
          ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--tls-cert-zk", "missing"],
        ];
        const missing = await startRole(runtime, "proxy", [
          ...["--zk", zk.connect, "--group", "g", "--snapshot-file", path.join(dir, "g.json")],
          ...listen,
        ]);
        assert.equal(await missing.exited, 1, missing.log);
        assert.match(
          missing.log,
          /--tls-cert-zk missing: \/switchyard\/certs\/missing does not exist/,
        );

        // the ACLs in force: a stored certificate, but the proxy runs without the proxy identity
        const creds = {
          operator: OPS,
          admin: ADMIN,
          orchestrator: "orch:orch-secret",
          proxy: PROXY,
        };
        await bootstrapTree(await zk.session({ digest: OPS }), creds);
        const ca = makeCa(dir);
        const shop = pem(makeCert(dir, "shop", "/CN=shop.test", ["shop.test"], ca));
        const adminStore = await zk.session({ digest: ADMIN });
        await adminStore.create(certPath("shop"), enc(shop), { acl: certsAcl(creds) });
        const anonymous = await startRole(runtime, "proxy", [
          ...["--zk", zk.connect, "--group", "g", "--snapshot-file", path.join(dir, "g.json")],
          ...listen.slice(0, -1),
          "shop",
        ]);
        assert.equal(await anonymous.exited, 1, anonymous.log);
        assert.match(
          anonymous.log,
          /--tls-cert-zk shop: not allowed to read \/switchyard\/certs\/shop: .*proxy identity/,
        );
        assert.ok(!anonymous.log.includes("PRIVATE KEY"));
        const noZk = await startRole(runtime, "proxy", [
          ...["--config", path.join(dir, "none.json")],
          ...listen,
        ]);
        assert.equal(await noZk.exited, 2, noZk.log);
        assert.match(noZk.log, /--tls-cert-zk needs --zk HOST:PORT/);
      } finally {
        await zk.close();
      }
    },
  });
}
