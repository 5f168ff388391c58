/**
 * A checked, ordered set of certificate/key pairs: every pair passes
 * {@link checkCertificatePair} or the whole set is refused with the first bad
 * pair's origin and reason (so a reload is all or nothing and the last good
 * set keeps serving). Pure: what a pair becomes for the TLS stack (a secure
 * context) is left to the caller.
 *
 * @module
 */
import { type CertificateFacts, checkCertificatePair } from "./certificate_pair.ts";
import type { PairInput } from "./certificate_source.ts";

/** A pair that passed its check, with what its leaf says. */
export interface CheckedPair {
  readonly input: PairInput;
  readonly facts: CertificateFacts;
  /**
   * The pair's name in metrics and `/status`: the leaf's first DNS name, or
   * its label when it has none.
   */
  readonly name: string;
}

/** The verdict on a set. */
export type PairsCheck =
  | { readonly ok: true; readonly pairs: readonly CheckedPair[] }
  | {
    readonly ok: false;
    /** Where the bad part came from, e.g. `--tls-key /etc/tls/shop.key`. */
    readonly origin: string;
    readonly reason: string;
  };

/**
 * Checks every pair, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPairs } from "./certificate_set.ts";
 * const r = checkPairs([
 *   { label: "a", certOrigin: "--tls-cert a.crt", keyOrigin: "--tls-key a.key", certPem: "x", keyPem: "y" },
 * ]);
 * assert.equal(r.ok, false);
 * if (!r.ok) assert.equal(r.origin, "--tls-cert a.crt");
 * ```
 */
export function checkPairs(inputs: readonly PairInput[]): PairsCheck {
  if (inputs.length === 0) {
    return { ok: false, origin: "certificates", reason: "no certificate/key pair" };
  }
  const pairs: CheckedPair[] = [];
  for (const input of inputs) {
    const check = checkCertificatePair(input.certPem, input.keyPem);
    if (!check.ok) {
      return {
        ok: false,
        origin: check.field === "cert" ? input.certOrigin : input.keyOrigin,
        reason: check.reason,
      };
    }
    pairs.push({ input, facts: check.facts, name: check.facts.names[0] ?? input.label });
  }
  return { ok: true, pairs };
}

/**
 * True when two checked sets serve the same certificates (same leaves, same
 * order), so a reload that changed nothing visible is not counted as one.
 */
export function sameCertificates(a: readonly CheckedPair[], b: readonly CheckedPair[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (x.facts.fingerprint256 !== y.facts.fingerprint256) return false;
    if (x.input.keyPem !== y.input.keyPem) return false;
  }
  return true;
}
