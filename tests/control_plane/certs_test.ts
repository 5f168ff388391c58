/**
 * TLS certificates in ZooKeeper through the control plane (issue 15), against the real ZooKeeper
 * and the admin role and `ctl` under Deno and Bun: `ctl zk-init` makes `/switchyard/certs`
 * writable by the admin identity and readable by the proxy identity only; `ctl cert put|show|
 * delete` and `ctl certs` go through the admin API, which refuses a mismatched pair or an expired
 * certificate naming the field; the private key never shows in an answer, `ctl`'s output, the
 * admin role's log or its /status.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NoAuthError } from "../../lib/store/errors.ts";
import { certPath, CERTS_ROOT } from "../../lib/store/layout.ts";
import { ctl } from "../support/ctl.ts";
import { startAdmin, zkSandbox } from "../support/control_plane.ts";
import { RUNTIMES, stopAll, tempDir } from "../support/processes.ts";
import { selfSignedCertificate } from "../support/tls.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const OPS = "ops:ops-secret";
const ADMIN = "admin:admin-secret";
const ORCH = "orchestrator:orch-secret";
const PROXY = "proxy:proxy-secret";
const DNS = "dns:dns-secret";
const SCALER = "scaler:scaler-secret";
const dec = new TextDecoder();

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `certificates through the admin role and ctl (${runtime}): zk-init ACLs (admin writes, ` +
      "only proxies read), put/show/list/delete, bad pairs and expired certificates refused, " +
      "no key in any output",
    ...E2E,
    fn: async () => {
      const zk = await zkSandbox("single");
      const dir = tempDir("certs");
      const procs = [];
      const shop = selfSignedCertificate("shop.example.com", "DNS:shop.example.com");
      const other = selfSignedCertificate("other.example.com", "DNS:other.example.com");
      const expired = selfSignedCertificate("old.example.com", "DNS:old.example.com", -1);
      const keyLines = [shop, other, expired].map((c) => c.key.split("\n")[1]!);
      const files: Record<string, string> = {};
      for (const [n, c] of Object.entries({ shop, other, expired })) {
        files[`${n}.crt`] = path.join(dir, `${n}.crt`);
        files[`${n}.key`] = path.join(dir, `${n}.key`);
        fs.writeFileSync(files[`${n}.crt`]!, c.cert);
        fs.writeFileSync(files[`${n}.key`]!, c.key);
      }
      const outputs: string[] = [];
      const run = async (args: string[]) => {
        const r = await ctl(runtime, args);
        outputs.push(r.stdout, r.stderr);
        return r;
      };
      try {
        const init = await run([
          "zk-init",
          "--zk",
          zk.connect,
          "--zk-auth",
          OPS,
          "--admin-user",
          ADMIN,
          "--orchestrator-user",
          ORCH,
          "--proxy-user",
          PROXY,
          "--dns-user",
          DNS,
          "--autoscaler-user",
          SCALER,
        ]);
        assert.equal(init.status, 0, init.stderr);
        assert.match(init.stdout, /created \/switchyard\/certs\n?/);

        const admin = await startAdmin(runtime, zk.connect, ["--zk-auth", ADMIN]);
        procs.push(admin.process);
        const api = ["--api", admin.url, "--token", admin.token];

        // ctl cert put: checked, stored, answered with metadata
        const put = await run([
          "cert",
          "put",
          "shop",
          "--cert",
          files["shop.crt"]!,
          "--key",
          files["shop.key"]!,
          ...api,
        ]);
        assert.equal(put.status, 0, put.stderr);
        assert.match(
          put.stdout,
          /^shop is now version 0: shop\tversion 0\texpires \S+ \((29|30) days left\)\tshop\.example\.com/,
        );

        // refused: the key of another certificate, an expired certificate; nothing changes
        const mismatched = await run([
          "cert",
          "put",
          "shop",
          "--cert",
          files["shop.crt"]!,
          "--key",
          files["other.key"]!,
          ...api,
        ]);
        assert.equal(mismatched.status, 1);
        assert.match(
          mismatched.stderr,
          /422: invalid certificate\n\s+key: private key does not match the certificate/,
        );
        const old = await run([
          "cert",
          "put",
          "old",
          "--cert",
          files["expired.crt"]!,
          "--key",
          files["expired.key"]!,
          ...api,
        ]);
        assert.equal(old.status, 1);
        assert.match(
          old.stderr,
          /cert: the certificate expired at \d{4}-\d\d-\d\dT\S+ \(notAfter\)/,
        );

        // the ACLs on the real ZooKeeper: only the proxy identity (and the admin) reads a key
        const anonymous = await zk.session();
        const asProxy = await zk.session({ digest: PROXY });
        const asAdmin = await zk.session({ digest: ADMIN });
        const node = await asProxy.get(certPath("shop"));
        assert.deepEqual(JSON.parse(dec.decode(node!.data)), { cert: shop.cert, key: shop.key });
        assert.equal(node!.version, 0, "the refused writes changed nothing");
        assert.notEqual(await asAdmin.get(certPath("shop")), null);
        assert.equal(await asAdmin.exists(certPath("old")), null);
        for (
          const [who, digest] of [["orchestrator", ORCH], ["dns", DNS], ["autoscaler", SCALER]]
        ) {
          const s = await zk.session({ digest });
          await assert.rejects(s.get(certPath("shop")), NoAuthError, who);
          await assert.rejects(s.children(CERTS_ROOT), NoAuthError, who);
        }
        await assert.rejects(anonymous.get(certPath("shop")), NoAuthError);
        await assert.rejects(anonymous.children(CERTS_ROOT), NoAuthError);
        await assert.rejects(asProxy.set(certPath("shop"), node!.data), NoAuthError);
        await assert.rejects(asProxy.create(certPath("evil"), node!.data), NoAuthError);
        await assert.rejects(asProxy.delete(certPath("shop")), NoAuthError);
        assert.deepEqual(await asProxy.children(CERTS_ROOT), ["shop"]);

        // ctl certs / cert show: metadata and the chain, never the key
        const list = await run(["certs", ...api]);
        assert.equal(list.status, 0, list.stderr);
        assert.match(list.stdout, /^shop\tversion 0\texpires .* days left\)\tshop\.example\.com$/m);
        const listJson = await run(["certs", "--json", ...api]);
        assert.equal(listJson.status, 0, listJson.stderr);
        const listed = JSON.parse(listJson.stdout).certs;
        assert.deepEqual(listed.map((c: { name: string }) => c.name), ["shop"]);
        assert.equal(listed[0].subject, "CN=shop.example.com");
        const shown = await run(["cert", "show", "shop", ...api]);
        assert.equal(shown.status, 0, shown.stderr);
        assert.ok(shown.stdout.includes(shop.cert.trim()), shown.stdout);
        assert.match(shown.stdout, /# fingerprint \(SHA-256\) ([0-9A-F]{2}:){31}[0-9A-F]{2}/);

        // ctl export (with the admin identity, which could read them) leaves certificates out
        const exported = await run(["export", "-", "--zk", zk.connect, "--zk-auth", ADMIN]);
        assert.equal(exported.status, 0, exported.stderr);
        assert.deepEqual(Object.keys(JSON.parse(exported.stdout)).sort(), [
          "exported_at",
          "format",
          "format_version",
          "groups",
          "listeners",
        ]);
        assert.match(exported.stdout, /"format": "switchyard-export"/);
        assert.ok(!exported.stdout.includes("BEGIN CERTIFICATE"));

        // replaced (the version read now), then deleted
        const replaced = await run([
          "cert",
          "put",
          "shop",
          "--cert",
          files["other.crt"]!,
          "--key",
          files["other.key"]!,
          ...api,
        ]);
        assert.equal(replaced.status, 0, replaced.stderr);
        assert.match(replaced.stdout, /^shop is now version 1: .*other\.example\.com/);
        const stale = await run([
          "cert",
          "put",
          "shop",
          "--cert",
          files["shop.crt"]!,
          "--key",
          files["shop.key"]!,
          "--version",
          "0",
          ...api,
        ]);
        assert.equal(stale.status, 1);
        assert.match(stale.stderr, /409: .*current version is 1/);
        const del = await run(["cert", "delete", "shop", ...api]);
        assert.equal(del.status, 0, del.stderr);
        assert.match(del.stdout, /deleted shop/);
        assert.equal(await asAdmin.exists(certPath("shop")), null);
        const none = await run(["certs", ...api]);
        assert.equal(none.stdout.trim(), "(no certificates)");

        // the audit log names the certificate and its fingerprint; no key anywhere
        const status = await (await fetch(`${admin.adminUrl}/status`)).text();
        const log = admin.process.log;
        assert.match(log, /"certificate":"shop".*"fingerprint256":"[0-9A-F:]+"/);
        for (const k of keyLines) {
          for (const text of [log, status, ...outputs]) {
            assert.ok(!text.includes(k), "a key line was printed");
          }
        }
        for (const text of [log, status, ...outputs]) assert.ok(!text.includes("PRIVATE KEY"));
      } finally {
        await stopAll(procs);
        await zk.close();
      }
    },
  });
}
