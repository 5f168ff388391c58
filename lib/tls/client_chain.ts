/**
 * Verification of a client certificate chain against the CAs of
 * `--tls-client-ca`, done by the proxy itself rather than by the TLS stack:
 * Deno's `node:tls` server does not verify client certificates against `ca`
 * (every one comes back `UNABLE_TO_VERIFY_LEAF_SIGNATURE`), so both runtimes
 * ask for a certificate without rejecting, and this decides. Each link must
 * be issued by the next (name and signature), be within its validity, and
 * the walk must end at a trusted CA within a few steps.
 *
 * Pure: certificates in, the clock passed in.
 *
 * @module
 */
import type { X509Certificate } from "node:crypto";

/** Longest chain walked (leaf, intermediates, CA). */
const MAX_DEPTH = 6;

/** The verdict on a client's chain. */
export type ChainCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Verifies `chain` (leaf first, then whatever intermediates the client sent)
 * against the `trusted` CA certificates at `nowMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyClientChain } from "./client_chain.ts";
 * assert.deepEqual(verifyClientChain([], [], 0), { ok: false, reason: "no client certificate" });
 * ```
 */
export function verifyClientChain(
  chain: readonly X509Certificate[],
  trusted: readonly X509Certificate[],
  nowMs: number,
): ChainCheck {
  let cert = chain[0];
  if (cert === undefined) return { ok: false, reason: "no client certificate" };
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const valid = within(cert, nowMs);
    if (valid !== null) return { ok: false, reason: `${cert.subject.split("\n")[0]} ${valid}` };
    for (const ca of trusted) {
      if (issuedBy(cert, ca)) {
        const caValid = within(ca, nowMs);
        return caValid === null ? { ok: true } : { ok: false, reason: `CA ${caValid}` };
      }
    }
    const next = chain.find((c) => c !== cert && c.ca && issuedBy(cert!, c));
    if (next === undefined) return { ok: false, reason: "not issued by a trusted CA" };
    cert = next;
  }
  return { ok: false, reason: "chain too long" };
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function within(cert: X509Certificate, nowMs: number): string | null {
  if (nowMs < Date.parse(cert.validFrom)) return "is not valid yet";
  if (nowMs > Date.parse(cert.validTo)) return "has expired";
  return null;
}
