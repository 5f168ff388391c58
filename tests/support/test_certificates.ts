/**
 * Certificates for tests, made with the real openssl (as operators make them): a self-signed EC
 * pair valid for `days` from now, or already expired with `days: -1`.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A PEM certificate and its PEM private key. */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
}

/**
 * A self-signed P-256 certificate for `cn` with the given subjectAltName (e.g.
 * `DNS:a.example.com,DNS:*.a.example.com`), valid from now for `days` (negative: expired).
 */
export function selfSignedCertificate(cn: string, san: string, days = 30): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "swy-testcert-"));
  try {
    const key = join(dir, "k.pem"), csr = join(dir, "r.csr"), cert = join(dir, "c.pem");
    const ext = join(dir, "ext.cnf");
    execFileSync("openssl", [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${cn}`,
    ], { stdio: "ignore" });
    Deno.writeTextFileSync(ext, `subjectAltName=${san}\n`);
    // `x509 -req` takes a negative -days (notAfter before now), which `req -x509` refuses
    execFileSync("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-signkey",
      key,
      "-days",
      String(days),
      "-extfile",
      ext,
      "-out",
      cert,
    ], { stdio: "ignore" });
    return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
