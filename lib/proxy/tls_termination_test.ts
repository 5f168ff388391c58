import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../log.ts";
import { Registry } from "../metrics/registry.ts";
import type { CertificateSource, PairInput, PairsRead } from "../tls/certificate_source.ts";
import { TlsSetupError, TlsTermination } from "./tls_termination.ts";

/** A self-signed EC pair for `name`, made by openssl. */
function pair(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`), cert = join(dir, `${name}.crt`);
  execFileSync("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", key, "-out", cert, "-days", "30", "-subj", `/CN=${name}`],
    ...["-addext", `subjectAltName=DNS:${name}`],
  ], { stdio: "ignore" });
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

/** A source whose pairs the test sets, as a ZooKeeper source would deliver them. */
class MemorySource implements CertificateSource {
  readonly description = "memory";
  pairs: PairInput[] = [];
  read(): Promise<PairsRead> {
    return Promise.resolve({ ok: true, pairs: this.pairs });
  }
  watch(): () => void {
    return () => {};
  }
}

function input(label: string, p: { cert: string; key: string }): PairInput {
  return {
    label,
    certOrigin: `cert ${label}`,
    keyOrigin: `key ${label}`,
    certPem: p.cert,
    keyPem: p.key,
  };
}

Deno.test("TlsTermination: a bad set is refused whole, counted and shown; the last good one serves", async () => {
  const dir = mkdtempSync(join(tmpdir(), "swy-tlsterm-"));
  try {
    const a = pair(dir, "a.test"), b = pair(dir, "b.test");
    const source = new MemorySource();
    const registry = new Registry();
    const t = new TlsTermination({ source, log: silentLogger, registry, wallNow: () => 0 });

    source.pairs = [input("a", { cert: a.cert, key: b.key })];
    await assert.rejects(t.load(), (e: unknown) => {
      assert.ok(e instanceof TlsSetupError);
      assert.match(e.message, /^key a: private key does not match/);
      return true;
    });

    source.pairs = [input("a", a), input("b", b)];
    await t.load();
    const names = () => (t.status().certificates as { name: string }[]).map((c) => c.name);
    assert.deepEqual(names(), ["a.test", "b.test"]);

    // the second pair is bad: nothing of the set is taken, not even the good first pair
    const c = pair(dir, "c.test");
    source.pairs = [input("c", c), input("b", { cert: b.cert, key: a.key })];
    await t.reload();
    assert.deepEqual(names(), ["a.test", "b.test"]);
    const s = t.status();
    assert.deepEqual(s.last_refused, {
      origin: "key b",
      reason: "private key does not match the certificate (CN=b.test)",
      at: new Date(0).toISOString(),
    });
    assert.equal(s.reloads_failed, 1);

    // unchanged content is no reload; a changed one is
    source.pairs = [input("a", a), input("b", b)];
    await t.reload();
    assert.equal(t.status().reloads_ok, 0);
    source.pairs = [input("c", c)];
    await t.reload();
    assert.deepEqual(names(), ["c.test"]);
    const text = registry.render();
    assert.match(text, /^switchyard_tls_certificate_reloads_total\{result="ok"\} 1$/m);
    assert.match(text, /^switchyard_tls_certificate_reloads_total\{result="failed"\} 1$/m);
    // the expiry of each served certificate only: a.test and b.test are gone
    assert.match(
      text,
      /^switchyard_tls_certificate_expiry_timestamp_seconds\{name="c\.test"\} \d+$/m,
    );
    assert.doesNotMatch(text, /name="a\.test"/);
    assert.match(text, /^switchyard_tls_handshakes_total\{result="failed",version="none"\} 0$/m);
    assert.doesNotMatch(JSON.stringify(t.status()) + text, /PRIVATE KEY/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("TlsTermination: client authentication needs a CA", () => {
  assert.throws(
    () =>
      new TlsTermination({
        source: new MemorySource(),
        log: silentLogger,
        registry: new Registry(),
        clientAuth: "require",
      }),
    /--tls-client-auth needs --tls-client-ca FILE/,
  );
});
