/**
 * The TLS protocol settings of every TLS listener: TLS 1.2 and 1.3 only, and
 * for TLS 1.2 only ECDHE key exchange with AEAD ciphers (AES-GCM,
 * ChaCha20-Poly1305), in the server's order (Mozilla's "intermediate"
 * profile without the DHE suites). TLS 1.3's suites are all AEAD and left to
 * the library's defaults.
 *
 * @module
 */

/** The lowest protocol version a client may use. */
export const MIN_TLS_VERSION = "TLSv1.2";

/** TLS 1.2 cipher suites, most preferred first (OpenSSL names). */
export const TLS12_CIPHERS: readonly string[] = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
];

/**
 * How long a client has to complete the TLS handshake after connecting
 * (the request-head timeout only starts once the handshake is done): a client
 * that connects and never speaks is closed after this.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** What ALPN offers, in the server's order of preference: HTTP/2, then HTTP/1.1. */
export const ALPN_PROTOCOLS: readonly string[] = ["h2", "http/1.1"];

/** How a TLS listener treats client certificates (`--tls-client-auth`). */
export type ClientAuth = "none" | "optional" | "require";

/**
 * A client certificate's subject as one header-safe line: `CN=client1, O=Acme`
 * from the `X509Certificate.subject` form (`CN=client1\nO=Acme`); any
 * character outside printable ASCII becomes `?`, so the value can never end
 * or split a header line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { subjectLine } from "./protocol_policy.ts";
 * assert.equal(subjectLine("CN=client1\nO=Acme"), "CN=client1, O=Acme");
 * assert.equal(subjectLine("CN=a\r\nx: y"), "CN=a?, x: y");
 * ```
 */
export function subjectLine(subject: string): string {
  return subject.split("\n").join(", ").replace(/[^\x20-\x7e]/g, "?");
}
