/**
 * The proxy's TLS flags (`--tls-listen`, `--tls-cert`, `--tls-key`,
 * `--tls-cert-zk`, `--tls-client-ca`, `--tls-client-auth`, `--hsts`) read into one plan, with
 * a usage error naming the flag for any inconsistency. Pure: the files are
 * read later, by the certificate source.
 *
 * @module
 */
import { FlagError, type FlagValues, parseListen } from "../cli/flags.ts";
import { GROUP_NAME } from "../config/schema.ts";
import type { PairFiles } from "./file_certificate_source.ts";
import type { ClientAuth } from "./protocol_policy.ts";

/** What the TLS flags ask for. */
export interface TlsPlan {
  readonly listen: { readonly host: string; readonly port: number };
  /**
   * Certificate/key files, paired in order. The files come first, then {@link zkCertificates}:
   * the first of all is the default certificate.
   */
  readonly pairs: readonly PairFiles[];
  /** Certificates in ZooKeeper (`--tls-cert-zk NAME`, `/switchyard/certs/<name>`), in flag order. */
  readonly zkCertificates: readonly string[];
  readonly clientCaFile: string | null;
  readonly clientAuth: ClientAuth;
  /** The `Strict-Transport-Security` value, or null. */
  readonly hsts: string | null;
}

const DEPENDENT = [
  "tls-cert",
  "tls-key",
  "tls-cert-zk",
  "tls-client-ca",
  "tls-client-auth",
  "hsts",
] as const;

/**
 * Reads the TLS flags: null when TLS is not asked for. Throws
 * {@link FlagError} naming the flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsPlan } from "./tls_flags.ts";
 * const plan = tlsPlan({
 *   "tls-listen": "0.0.0.0:8443",
 *   "tls-cert": ["shop.crt"],
 *   "tls-key": ["shop.key"],
 * });
 * assert.deepEqual(plan?.pairs, [{ certFile: "shop.crt", keyFile: "shop.key" }]);
 * assert.equal(tlsPlan({}), null);
 * ```
 */
export function tlsPlan(flags: FlagValues): TlsPlan | null {
  if (flags["tls-listen"] === undefined) {
    const stray = DEPENDENT.find((name) => flags[name] !== undefined);
    if (stray !== undefined) throw new FlagError(`--${stray} needs --tls-listen HOST:PORT`);
    return null;
  }
  const listen = parseListen("tls-listen", String(flags["tls-listen"]));
  const certs = list(flags["tls-cert"]);
  const keys = list(flags["tls-key"]);
  const zkCertificates = list(flags["tls-cert-zk"]);
  if (certs.length === 0 && keys.length === 0 && zkCertificates.length === 0) {
    throw new FlagError(
      "--tls-listen needs --tls-cert FILE and --tls-key FILE, or --tls-cert-zk NAME",
    );
  }
  if (zkCertificates.length > 0 && flags.zk === undefined) {
    throw new FlagError(
      "--tls-cert-zk needs --zk HOST:PORT (the certificates are read from there)",
    );
  }
  for (const name of zkCertificates) {
    if (!GROUP_NAME.test(name)) {
      throw new FlagError(
        `--tls-cert-zk ${JSON.stringify(name)}: a certificate name is 1-128 of A-Z a-z 0-9 . _ - ` +
          "and starts with a letter or digit",
      );
    }
  }
  if (certs.length !== keys.length) {
    throw new FlagError(
      `--tls-cert and --tls-key are paired in order: got ${certs.length} --tls-cert and ` +
        `${keys.length} --tls-key`,
    );
  }
  const clientCaFile = flags["tls-client-ca"] === undefined ? null : String(flags["tls-client-ca"]);
  let clientAuth: ClientAuth = "none";
  const auth = flags["tls-client-auth"];
  if (auth !== undefined) {
    if (auth !== "optional" && auth !== "require") {
      throw new FlagError(`--tls-client-auth must be optional or require, not "${auth}"`);
    }
    if (clientCaFile === null) throw new FlagError("--tls-client-auth needs --tls-client-ca FILE");
    clientAuth = auth;
  } else if (clientCaFile !== null) clientAuth = "require";
  return {
    listen,
    pairs: certs.map((certFile, i) => ({ certFile, keyFile: keys[i]! })),
    zkCertificates: [...new Set(zkCertificates)],
    clientCaFile,
    clientAuth,
    hsts: flags.hsts === undefined ? null : hstsValue(String(flags.hsts)),
  };
}

/**
 * Checks a `Strict-Transport-Security` value (RFC 6797 §6.1): printable
 * ASCII (it goes into a header line as is) with a `max-age` directive.
 */
export function hstsValue(value: string): string {
  const v = value.trim();
  if (!/^[\x20-\x7e]+$/.test(v)) {
    throw new FlagError(
      "--hsts must be printable ASCII (e.g. max-age=31536000; includeSubDomains)",
    );
  }
  if (!/(^|;)\s*max-age\s*=\s*"?\d+"?\s*(;|$)/i.test(v)) {
    throw new FlagError(`--hsts needs a max-age directive (e.g. max-age=31536000), not "${v}"`);
  }
  return v;
}

function list(v: FlagValues[string]): readonly string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [String(v)];
}
