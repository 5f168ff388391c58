/**
 * ZkCertificateSourceAdapter's answers over the in-memory store (the real ZooKeeper, the ACLs and
 * the proxy process are in tests/tls/zookeeper_certificates_test.ts).
 */
import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { certPath } from "../store/layout.ts";
import { createMemoryStore } from "../store/mod.ts";
import { selfSignedCertificate } from "../../tests/support/tls.ts";
import { waitUntil } from "../../tests/support/processes.ts";
import { ZkCertificateSourceAdapter } from "./zk_certificate_source_adapter.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

const adapter = (names: string[], firstAnswerMs = 10_000) =>
  new ZkCertificateSourceAdapter({
    names,
    log: silentLogger,
    resyncMs: 60_000,
    firstAnswerMs,
    debounceMs: 20,
  });

Deno.test("ZkCertificateSourceAdapter: pairs in flag order labelled by znode; a problem fails the read naming flag, name and field; a good pair after it reads again; a deletion fails it", async () => {
  const store = await createMemoryStore();
  const shop = selfSignedCertificate("shop.example.com", "DNS:shop.example.com");
  const api = selfSignedCertificate("api.example.com", "DNS:api.example.com");
  const certs = adapter(["shop", "api"]);
  try {
    await store.create(certPath("api"), enc(api), { parents: true });
    await store.create(certPath("shop"), enc(shop), { parents: true });
    let changes = 0;
    const stop = certs.watch(() => changes++);
    certs.use(store);
    const first = await certs.read();
    assert.ok(first.ok, JSON.stringify(first));
    assert.deepEqual(first.pairs.map((p) => [p.label, p.certOrigin, p.keyOrigin, p.source]), [
      [
        certPath("shop"),
        "--tls-cert-zk shop: /switchyard/certs/shop cert",
        "--tls-cert-zk shop: /switchyard/certs/shop key",
        "zookeeper",
      ],
      [
        certPath("api"),
        "--tls-cert-zk api: /switchyard/certs/api cert",
        "--tls-cert-zk api: /switchyard/certs/api key",
        "zookeeper",
      ],
    ]);
    assert.equal(first.pairs[0]!.certPem, shop.cert);

    // a mismatched pair: the read fails naming the flag, the name and the field, never the key
    const before = changes;
    await store.set(certPath("shop"), enc({ cert: shop.cert, key: api.key }));
    await waitUntil("told about the bad pair", () => Promise.resolve(changes > before));
    const bad = await certs.read();
    assert.equal(bad.ok, false);
    assert.match(
      !bad.ok ? bad.reason : "",
      /^--tls-cert-zk shop: \/switchyard\/certs\/shop key: private key does not match the certificate .*\(version 1\)$/,
    );
    assert.ok(!(!bad.ok && bad.reason.includes("PRIVATE KEY")));

    // positive control: a good pair afterwards reads again
    const after = changes;
    await store.set(certPath("shop"), enc(api));
    await waitUntil("told about the good pair", () => Promise.resolve(changes > after));
    const good = await certs.read();
    assert.ok(good.ok, JSON.stringify(good));
    assert.equal(good.pairs[0]!.certPem, api.cert);

    // a deleted node fails the read too (the listener keeps its last good set)
    const deleted = changes;
    await store.delete(certPath("shop"));
    await waitUntil("told about the deletion", () => Promise.resolve(changes > deleted));
    assert.deepEqual(await certs.read(), {
      ok: false,
      reason: "--tls-cert-zk shop: /switchyard/certs/shop does not exist",
    });
    stop();
  } finally {
    certs.stop();
    await store.close();
  }
});

Deno.test("ZkCertificateSourceAdapter: a missing certificate fails the first read naming it; no store answers within the bound", async () => {
  const store = await createMemoryStore();
  const missing = adapter(["shop"]);
  const unanswered = adapter(["shop"], 200);
  try {
    missing.use(store);
    const r = await missing.read();
    assert.deepEqual(r, {
      ok: false,
      reason: "--tls-cert-zk shop: /switchyard/certs/shop does not exist",
    });
    const started = Date.now();
    const u = await unanswered.read(); // never given a store
    assert.deepEqual(u, {
      ok: false,
      reason:
        "--tls-cert-zk shop: no answer from ZooKeeper about /switchyard/certs/shop within 0.2 s",
    });
    assert.ok(Date.now() - started >= 150);
  } finally {
    missing.stop();
    unanswered.stop();
    await store.close();
  }
});
