/**
 * The TLS side of the benchmark's targets (issue 15's scenarios, `--part
 * tls`): one certificate made for the run, and the same TLS settings for
 * every target, written into nginx's and HAProxy's configs and Switchyard's
 * flags.
 *
 * The certificate is RSA-2048, signed by a CA made for the run. RSA rather
 * than ECDSA P-256 because of where a full handshake's work falls: with
 * RSA-2048 the server's signature is dozens of times dearer than the
 * client's check of it, so the load generator, which shares one core with
 * the backends, can keep the target's core busy with handshakes; with P-256
 * the client's verification costs about as much as the server's signature
 * and the load side, not the proxy, would set the handshake rate.
 *
 * The settings: TLS 1.2 and 1.3 only; for TLS 1.2 Switchyard's own suites
 * (`lib/tls/protocol_policy.ts`: ECDHE with AES-GCM or ChaCha20-Poly1305) in
 * the server's order; TLS 1.3 suites left to each TLS library's defaults (as
 * Switchyard leaves them); ALPN `h2`, `http/1.1`; session tickets on and no
 * server-side session-ID cache. No scenario resumes a session: the handshake
 * clients never offer one (`s_time -new`) and the others keep their
 * connections, so resumption costs nothing in any figure, but it is set the
 * same way anyway. What each target negotiated with OpenSSL's default client
 * offer (the one wrk and s_time make) is recorded per target.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { MIN_TLS_VERSION, TLS12_CIPHERS } from "../../lib/tls/protocol_policy.ts";
import { makeCa, makeCert } from "../support/tls.ts";

/** The run's certificate, and the name it is for. */
export interface BenchTls {
  /** The CA that signed it (curl's `--cacert`). */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** Certificate then key in one file (HAProxy's `crt`). */
  readonly combined: string;
  /** The name the certificate is for (curl resolves it to 127.0.0.1). */
  readonly host: string;
}

/** The TLS settings every target gets, as the report states them. */
export const TLS_SETTINGS =
  `TLS 1.2 and 1.3 only; TLS 1.2 suites ${
    TLS12_CIPHERS.join(", ")
  } in the server's order (Switchyard's own, lib/tls/protocol_policy.ts); TLS 1.3 suites each ` +
  `library's defaults; ALPN h2, http/1.1; session tickets on, no server-side session-ID cache ` +
  `(no scenario resumes a session); one RSA-2048 certificate signed by a CA made for the run`;

/** Makes the run's CA and RSA-2048 certificate (for `bench.test`) in `dir`. */
export function makeBenchTls(dir: string): BenchTls {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const host = "bench.test";
  const ca = makeCa(dir, "bench-ca");
  const leaf = makeCert(dir, "bench", `/CN=${host}`, [host], ca, 30, "rsa");
  const combined = path.join(dir, "bench-combined.pem");
  fs.writeFileSync(
    combined,
    fs.readFileSync(leaf.cert, "utf8") + fs.readFileSync(leaf.key, "utf8"),
  );
  return { ca: ca.cert, cert: leaf.cert, key: leaf.key, combined, host };
}

/** nginx's `ssl_*` directives for a TLS server block. */
export function nginxTlsDirectives(t: BenchTls): string {
  return `    ssl_certificate ${t.cert};
    ssl_certificate_key ${t.key};
    ssl_protocols ${MIN_TLS_VERSION} TLSv1.3;
    ssl_ciphers ${TLS12_CIPHERS.join(":")};
    ssl_prefer_server_ciphers on;
    ssl_session_tickets on;
    ssl_session_cache off;`;
}

/** HAProxy's `bind` options for the TLS frontend. */
export function haproxyTlsBind(t: BenchTls): string {
  return `ssl crt ${t.combined} alpn h2,http/1.1 ssl-min-ver TLSv1.2 ciphers ${
    TLS12_CIPHERS.join(":")
  }`;
}

/** HAProxy's global TLS lines (no session-ID cache, as the other targets). */
export const HAPROXY_TLS_GLOBAL = "  tune.ssl.cachesize 0";

/** Switchyard's flags for its TLS listener on `port`. */
export function switchyardTlsFlags(t: BenchTls, port: number): string[] {
  return ["--tls-listen", `127.0.0.1:${port}`, "--tls-cert", t.cert, "--tls-key", t.key];
}

/**
 * What a target negotiates with OpenSSL's default client offer (as wrk and
 * s_time make it), e.g. `TLSv1.3 TLS_AES_256_GCM_SHA384, X25519, h2`, or
 * null when the handshake failed.
 */
export function negotiated(port: number): string | null {
  const r = spawnSync("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-alpn",
    "h2,http/1.1",
  ], { input: "", encoding: "utf8", timeout: 20_000 });
  return describeHandshake(r.stdout ?? "");
}

/**
 * The protocol, cipher, key exchange group and ALPN protocol in `openssl
 * s_client`'s output, or null without a completed handshake.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeHandshake } from "./tls_setup.ts";
 * const out = "Server Temp Key: X25519, 253 bits\n---\n" +
 *   "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384\nALPN protocol: h2\n";
 * assert.equal(describeHandshake(out), "TLSv1.3 TLS_AES_256_GCM_SHA384, X25519, ALPN h2");
 * assert.equal(describeHandshake("New, (NONE), Cipher is (NONE)\n"), null);
 * ```
 */
export function describeHandshake(out: string): string | null {
  const m = /^New, (TLSv1\.\d), Cipher is (\S+)/m.exec(out);
  if (!m) return null;
  const group = /^Server Temp Key: ([^,\n]+)/m.exec(out)?.[1];
  const alpn = /^ALPN protocol: (\S+)/m.exec(out)?.[1];
  return [`${m[1]} ${m[2]}`, ...(group ? [group] : []), ...(alpn ? [`ALPN ${alpn}`] : [])]
    .join(", ");
}
