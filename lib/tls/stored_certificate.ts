/**
 * A certificate as ZooKeeper keeps it (`/switchyard/certs/<name>`):
 * `{"cert": "<PEM chain, leaf first>", "key": "<PEM private key>"}`, and the
 * checks the admin role (on write) and the proxies (on read) both make:
 * the shape, the pair ({@linkcode checkCertificatePair}), and, for a write,
 * the expiry against a clock the caller passes.
 *
 * A reason never quotes the text it was given: the node holds a private key,
 * and reasons end up in logs, API answers and `/status`.
 *
 * Pure: no I/O, no clock.
 *
 * @module
 */
import { type CertificateFacts, checkCertificatePair } from "./certificate_pair.ts";

/** The stored pair. */
export interface CertificatePem {
  /** PEM certificate chain, leaf first. */
  readonly cert: string;
  /** PEM private key of the leaf. */
  readonly key: string;
}

/** What is wrong: the field (`cert`, `key`, or `""` for the whole value) and why. */
export interface CertificateProblem {
  readonly ok: false;
  readonly field: string;
  readonly reason: string;
}

/** A usable pair and what its leaf says. */
export interface CheckedCertificate extends CertificatePem {
  readonly ok: true;
  readonly facts: CertificateFacts;
}

const encoder = new TextEncoder();

/**
 * The pair in a value (a parsed node, an API body): an object with string `cert` and `key`,
 * nothing else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { certificateFields } from "./stored_certificate.ts";
 * const r = certificateFields({ cert: "x" });
 * assert.deepEqual(r, { ok: false, field: "key", reason: "must be a PEM private key string" });
 * ```
 */
export function certificateFields(
  value: unknown,
): { ok: true; value: CertificatePem } | CertificateProblem {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, field: "", reason: 'must be an object {"cert": "...", "key": "..."}' };
  }
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (k !== "cert" && k !== "key") {
      return { ok: false, field: k, reason: 'unknown field (only "cert" and "key")' };
    }
  }
  if (typeof v.cert !== "string") {
    return { ok: false, field: "cert", reason: "must be a PEM certificate chain string" };
  }
  if (typeof v.key !== "string") {
    return { ok: false, field: "key", reason: "must be a PEM private key string" };
  }
  return { ok: true, value: { cert: v.cert, key: v.key } };
}

/**
 * Checks a value's pair: its shape, then the pair itself.
 *
 * @param value a parsed node or API body
 * @returns the pair with its facts, or the field and reason
 */
export function checkCertificateValue(value: unknown): CheckedCertificate | CertificateProblem {
  const fields = certificateFields(value);
  if (!fields.ok) return fields;
  const { cert, key } = fields.value;
  const pair = checkCertificatePair(cert, key);
  if (!pair.ok) return { ok: false, field: pair.field, reason: pair.reason };
  return { ok: true, cert, key, facts: pair.facts };
}

/**
 * Checks a stored node's text (as the proxies read it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkStoredCertificate } from "./stored_certificate.ts";
 * const r = checkStoredCertificate('{"cert": "-----BEGIN PRIVATE KEY-----');
 * assert.equal(r.ok, false);
 * // the reason never quotes the node's text
 * if (!r.ok) assert.equal(r.reason, "the node is not valid JSON");
 * ```
 */
export function checkStoredCertificate(text: string): CheckedCertificate | CertificateProblem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message may quote the text, i.e. the key
    return { ok: false, field: "", reason: "the node is not valid JSON" };
  }
  return checkCertificateValue(value);
}

/**
 * Why a certificate must not be written now: expired (notAfter passed) or not yet valid; null
 * when it is valid at `nowMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validityProblem } from "./stored_certificate.ts";
 * const facts = { notBeforeMs: 0, notAfterMs: Date.UTC(2025, 0, 1) };
 * assert.equal(
 *   validityProblem(facts, Date.UTC(2026, 0, 1)),
 *   "the certificate expired at 2025-01-01T00:00:00.000Z (notAfter)",
 * );
 * ```
 */
export function validityProblem(
  facts: Pick<CertificateFacts, "notBeforeMs" | "notAfterMs">,
  nowMs: number,
): string | null {
  if (!(facts.notAfterMs > nowMs)) {
    return `the certificate expired at ${new Date(facts.notAfterMs).toISOString()} (notAfter)`;
  }
  if (facts.notBeforeMs > nowMs) {
    return `the certificate is not valid before ${
      new Date(facts.notBeforeMs).toISOString()
    } (notBefore)`;
  }
  return null;
}

/** The node's bytes: compact JSON `{cert, key}`. */
export function encodeStoredCertificate(pair: CertificatePem): Uint8Array {
  return encoder.encode(JSON.stringify({ cert: pair.cert, key: pair.key }));
}

/**
 * Whole days from `nowMs` until `notAfterMs` (negative once expired), rounded down: what an
 * operator reads as "days left".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { daysLeft } from "./stored_certificate.ts";
 * assert.equal(daysLeft(10.5 * 86_400_000, 0), 10);
 * assert.equal(daysLeft(0, 86_400_000), -1);
 * ```
 */
export function daysLeft(notAfterMs: number, nowMs: number): number {
  return Math.floor((notAfterMs - nowMs) / 86_400_000);
}
