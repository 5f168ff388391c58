import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyClientChain } from "./client_chain.ts";

/** Makes a certificate with openssl, signed by `ca` (self-signed when null). */
function make(dir: string, name: string, ca: string | null, isCa: boolean): string {
  const key = join(dir, `${name}.key`), cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, isCa ? "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\n" : "\n");
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  if (ca === null) {
    execFileSync("openssl", [
      ...["req", "-x509", ...newKey, "-keyout", key, "-out", cert, "-days", "30"],
      ...["-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE"],
    ], { stdio: "ignore" });
  } else {
    const csr = join(dir, `${name}.csr`);
    execFileSync("openssl", [
      "req",
      "-new",
      ...newKey,
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${name}`,
    ], {
      stdio: "ignore",
    });
    execFileSync("openssl", [
      ...["x509", "-req", "-in", csr, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial"],
      ...["-out", cert, "-days", "30", "-extfile", ext],
    ], { stdio: "ignore" });
  }
  return join(dir, name);
}

Deno.test("verifyClientChain: issued by a trusted CA (directly or through an intermediate), in validity", () => {
  const dir = mkdtempSync(join(tmpdir(), "swy-chain-"));
  try {
    const root = make(dir, "root", null, true);
    const other = make(dir, "other", null, true);
    const inter = make(dir, "inter", root, true);
    const leaf = make(dir, "leaf", root, false);
    const deep = make(dir, "deep", inter, false);
    const stranger = make(dir, "stranger", other, false);
    const x = (base: string) => new X509Certificate(readFileSync(`${base}.crt`));
    const now = Date.now();
    const day = 86_400_000;
    const cases: Array<[string, X509Certificate[], X509Certificate[], number, string | null]> = [
      ["leaf issued by the CA", [x(leaf)], [x(root)], now, null],
      ["one of several CAs", [x(leaf)], [x(other), x(root)], now, null],
      ["through an intermediate the client sent", [x(deep), x(inter)], [x(root)], now, null],
      ["intermediate missing", [x(deep)], [x(root)], now, "not issued by a trusted CA"],
      ["another CA's leaf", [x(stranger)], [x(root)], now, "not issued by a trusted CA"],
      ["a leaf posing as intermediate", [x(stranger), x(leaf)], [x(root)], now, "not issued"],
      ["the CA itself is not a client", [x(other)], [x(root)], now, "not issued by a trusted CA"],
      ["expired", [x(leaf)], [x(root)], now + 60 * day, "has expired"],
      ["not yet valid", [x(leaf)], [x(root)], now - 2 * day, "is not valid yet"],
      ["no certificate", [], [x(root)], now, "no client certificate"],
    ];
    for (const [what, chain, trusted, at, want] of cases) {
      const r = verifyClientChain(chain, trusted, at);
      if (want === null) assert.deepEqual(r, { ok: true }, what);
      else {
        assert.equal(r.ok, false, what);
        if (!r.ok) assert.match(r.reason, new RegExp(want), what);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
