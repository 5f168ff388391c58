/**
 * A certificate chain and its private key, checked before anything serves
 * them: both parse as PEM, the key belongs to the chain's first (leaf)
 * certificate, and the names the leaf covers (for SNI) and its expiry are
 * read out.
 *
 * Shared by the proxy (certificate files and znodes, reloaded on change) and
 * the control plane (certificates written through the admin API), so both
 * refuse the same pairs with the same reasons. The private key is only
 * parsed here, never returned, logged or put into a reason.
 *
 * Pure computation over `node:crypto`, which Deno and Bun both implement: no
 * I/O and no clock (the caller compares `notAfterMs` with its own).
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** What a valid pair's leaf certificate says. */
export interface CertificateFacts {
  /** The leaf's subject, e.g. `CN=shop.example.com`. */
  readonly subject: string;
  /** The leaf's issuer. */
  readonly issuer: string;
  /**
   * The DNS names the leaf covers, lower-cased: its subjectAltName DNS
   * entries, or its subject CN when it has none. Wildcards stay as
   * `*.example.com`.
   */
  readonly names: readonly string[];
  /** The leaf's notBefore, in ms since the epoch. */
  readonly notBeforeMs: number;
  /** The leaf's notAfter, in ms since the epoch. */
  readonly notAfterMs: number;
  /** SHA-256 fingerprint of the leaf, `AA:BB:...`. */
  readonly fingerprint256: string;
  /** How many certificates the chain holds (leaf first). */
  readonly chainLength: number;
}

/** The verdict on a pair: the facts, or the field at fault and why. */
export type CertificatePairCheck =
  | { readonly ok: true; readonly facts: CertificateFacts }
  | { readonly ok: false; readonly field: "cert" | "key"; readonly reason: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks a PEM certificate chain (leaf first) and its PEM private key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCertificatePair } from "./certificate_pair.ts";
 * const check = checkCertificatePair("not a certificate", "not a key");
 * assert.equal(check.ok, false);
 * if (!check.ok) assert.equal(check.field, "cert");
 * ```
 */
export function checkCertificatePair(certPem: string, keyPem: string): CertificatePairCheck {
  const blocks = certPem.match(PEM_CERT);
  if (blocks === null) {
    return {
      ok: false,
      field: "cert",
      reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) found",
    };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]);
    for (const block of blocks.slice(1)) new X509Certificate(block);
  } catch (e) {
    return { ok: false, field: "cert", reason: `certificate does not parse: ${message(e)}` };
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    // the parser's message may quote the input: say only that it failed
    return { ok: false, field: "key", reason: "private key does not parse as PEM" };
  }
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    return {
      ok: false,
      field: "key",
      reason: `private key does not match the certificate (${leaf.subject.replaceAll("\n", ", ")})`,
    };
  }
  return {
    ok: true,
    facts: {
      subject: leaf.subject.replaceAll("\n", ", "),
      issuer: leaf.issuer.replaceAll("\n", ", "),
      names: certificateNames(leaf.subjectAltName, leaf.subject),
      notBeforeMs: Date.parse(leaf.validFrom),
      notAfterMs: Date.parse(leaf.validTo),
      fingerprint256: leaf.fingerprint256,
      chainLength: blocks.length,
    },
  };
}

/**
 * The DNS names a certificate covers: its subjectAltName `DNS:` entries
 * (`"DNS:a.example.com, DNS:*.b.example.com, IP Address:1.2.3.4"`), or its
 * subject's CN when there are none, lower-cased and de-duplicated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { certificateNames } from "./certificate_pair.ts";
 * assert.deepEqual(
 *   certificateNames("DNS:Shop.example.com, IP Address:10.0.0.1, DNS:*.api.example.com", "CN=x"),
 *   ["shop.example.com", "*.api.example.com"],
 * );
 * assert.deepEqual(certificateNames(undefined, "O=Acme\nCN=legacy.example.com"), ["legacy.example.com"]);
 * ```
 */
export function certificateNames(subjectAltName: string | undefined, subject: string): string[] {
  const names: string[] = [];
  if (subjectAltName) {
    for (const part of subjectAltName.split(",")) {
      const entry = part.trim();
      if (entry.startsWith("DNS:")) names.push(entry.slice(4).toLowerCase());
    }
  }
  if (names.length === 0) {
    for (const line of subject.split(/[\n,]/)) {
      const entry = line.trim();
      if (entry.startsWith("CN=")) names.push(entry.slice(3).toLowerCase());
    }
  }
  return [...new Set(names)];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
