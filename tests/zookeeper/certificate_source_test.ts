/**
 * ZkCertificateSource against the real ZooKeeper, in a tree made by the zk-init bootstrap: a
 * session with the proxy identity follows `/switchyard/certs/<name>` as the admin identity
 * writes it; an invalid pair or a node that is not JSON is reported and the last good pair stays
 * (a valid write afterwards is delivered: the positive control); a missing or deleted node is
 * reported; the watch survives a session expiry; a session without the proxy identity is told it
 * may not read. No key in any log line or problem.
 */
import assert from "node:assert/strict";
import { bootstrapTree } from "../../lib/admin/bootstrap.ts";
import { CertificateRepo } from "../../lib/admin/certificate_repo.ts";
import { createLogger } from "../../lib/log.ts";
import { digestAcl } from "../../lib/store/acl.ts";
import { certPath } from "../../lib/store/layout.ts";
import {
  type ZkCertificate,
  type ZkCertificateProblem,
  ZkCertificateSource,
} from "../../lib/source/zk_certificate_source.ts";
import { zkSandbox } from "../support/control_plane.ts";
import { waitUntil } from "../support/processes.ts";
import { selfSignedCertificate } from "../support/tls.ts";
import { expireAndWait } from "../support/zk_harness.ts";

const OPS = "ops:ops-secret";
const ADMIN = "admin:admin-secret";
const PROXY = "proxy:proxy-secret";
const enc = new TextEncoder();

Deno.test({
  name: "ZkCertificateSource follows certificates in ZooKeeper with the proxy identity: updates, " +
    "invalid ones refused keeping the last good, deletions reported, watches kept across expiry",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const zk = await zkSandbox("single");
    const sources: ZkCertificateSource[] = [];
    try {
      const a = selfSignedCertificate("shop.example.com", "DNS:shop.example.com");
      const b = selfSignedCertificate(
        "shop.example.com",
        "DNS:shop.example.com,DNS:www.shop.example.com",
      );
      const c = selfSignedCertificate("api.example.com", "DNS:api.example.com");
      const keyLines = [a, b, c].map((x) => x.key.split("\n")[1]!);
      await bootstrapTree(await zk.session({ digest: OPS }), {
        operator: OPS,
        admin: ADMIN,
        orchestrator: "orch:orch-secret",
        proxy: PROXY,
      });
      const adminStore = await zk.session({ digest: ADMIN });
      const certs = new CertificateRepo(adminStore, { writerAcl: [digestAcl(ADMIN)] });
      await certs.put("shop", a, undefined);

      const lines: string[] = [];
      const log = createLogger({ level: "debug", write: (l) => lines.push(l), now: Date.now });
      const proxyStore = await zk.session({ digest: PROXY, sessionTimeoutMs: 4000 });
      const delivered: ZkCertificate[] = [];
      const problems: ZkCertificateProblem[] = [];
      const source = new ZkCertificateSource({
        store: proxyStore,
        names: ["shop", "api"],
        log,
        resyncMs: 600_000, // the watches do the work; the safety net does not run in this test
        onCertificate: (x) => delivered.push(x),
        onProblem: (p) => problems.push(p),
      });
      sources.push(source);
      source.start();

      const deliveredAt = (name: string, version: string) =>
        waitUntil(
          `${name} version ${version} delivered`,
          () => Promise.resolve(delivered.some((x) => x.name === name && x.version === version)),
          20_000,
        );
      const problemAt = (name: string, version: string) =>
        waitUntil(
          `a problem with ${name} version ${version}`,
          () => Promise.resolve(problems.some((p) => p.name === name && p.version === version)),
          20_000,
        );

      // the first read: shop is delivered with its facts, api does not exist
      await deliveredAt("shop", "0");
      const first = delivered.find((x) => x.name === "shop")!;
      assert.equal(first.cert, a.cert);
      assert.equal(first.key, a.key);
      assert.deepEqual(first.facts.names, ["shop.example.com"]);
      await problemAt("api", "absent");
      assert.match(
        problems.find((p) => p.name === "api")!.reason,
        /\/switchyard\/certs\/api does not exist/,
      );

      // an update is seen
      await certs.put("shop", b, 0);
      await deliveredAt("shop", "1");
      assert.deepEqual(source.current("shop")!.facts.names, [
        "shop.example.com",
        "www.shop.example.com",
      ]);

      // a mismatched pair written around the API: reported, the last good stays
      await adminStore.set(
        certPath("shop"),
        enc.encode(JSON.stringify({ cert: a.cert, key: c.key })),
        1,
      );
      await problemAt("shop", "2");
      const mismatch = problems.find((p) => p.name === "shop" && p.version === "2")!;
      assert.equal(mismatch.field, "key");
      assert.match(mismatch.reason, /does not match/);
      // a node that is not JSON (and quotes the key): reported without its text
      await adminStore.set(certPath("shop"), enc.encode(`{"key": "${c.key}`), 2);
      await problemAt("shop", "3");
      assert.equal(problems.find((p) => p.version === "3")!.reason, "the node is not valid JSON");
      assert.equal(source.current("shop")!.version, "1");
      assert.equal(delivered.filter((x) => x.name === "shop").length, 2);
      // positive control: the next valid write is delivered
      await adminStore.set(certPath("shop"), enc.encode(JSON.stringify(a)), 3);
      await deliveredAt("shop", "4");
      assert.equal(source.current("shop")!.cert, a.cert);

      // a new certificate appears
      await certs.put("api", c, undefined);
      await deliveredAt("api", "0");

      // a deletion is reported; what was delivered stays the current one
      await certs.remove("shop", 4);
      await waitUntil(
        "shop reported absent again",
        () =>
          Promise.resolve(
            problems.filter((p) => p.name === "shop" && p.version === "absent").length === 1,
          ),
        20_000,
      );
      assert.equal(source.current("shop")!.version, "4");

      // after a session expiry the watches are set again on the new session
      await expireAndWait(proxyStore, zk.hosts);
      await certs.put("api", a, 0);
      await deliveredAt("api", "1");
      await certs.put("shop", b, undefined);
      await deliveredAt("shop", "0");

      // a session without the proxy identity is told it may not read
      const strangerProblems: ZkCertificateProblem[] = [];
      const stranger = new ZkCertificateSource({
        store: await zk.session(),
        names: ["api"],
        log,
        resyncMs: 600_000,
        onCertificate: () => assert.fail("an anonymous session read a certificate"),
        onProblem: (p) => strangerProblems.push(p),
      });
      sources.push(stranger);
      stranger.start();
      await waitUntil("the refusal", () => Promise.resolve(strangerProblems.length > 0), 20_000);
      assert.match(strangerProblems[0]!.reason, /not allowed to read \/switchyard\/certs\/api/);

      for (const line of lines) {
        for (const k of keyLines) assert.ok(!line.includes(k), `a log line carries a key: ${line}`);
        assert.ok(!line.includes("PRIVATE KEY"), line);
      }
      for (const p of [...problems, ...strangerProblems]) {
        assert.ok(!p.reason.includes("PRIVATE KEY"), p.reason);
      }
      assert.ok(
        lines.some((l) => l.includes('"msg":"certificate refused; the last good one stays"')),
      );
    } finally {
      for (const s of sources) await s.stop();
      await zk.close();
    }
  },
});
