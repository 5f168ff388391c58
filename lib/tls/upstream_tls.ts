/**
 * Upstream TLS: a group's loaded `tls` settings (upstream_tls_load.ts loads
 * them when the config is applied) and the `node:tls` connect options per
 * backend. Pure and import-free, so the runtime core (which also runs where
 * there are no sockets) can hold them.
 *
 * Verification is the TLS stack's own (`rejectUnauthorized`, `ca`,
 * `servername`): tested under Deno and Bun, both check the chain against `ca`
 * and the name against `servername` (or the IP connected to), unlike Deno's
 * `node:tls` server side for client certificates (lib/tls/client_chain.ts).
 *
 * @module
 */
import type { GroupConfig } from "../config/schema.ts";

/** A group's `tls` settings as written (after schema validation). */
export type UpstreamTlsConfig = NonNullable<GroupConfig["tls"]>;

/** A group's upstream TLS, ready to connect with: the CA bundle is loaded. */
export interface UpstreamTls {
  /** The configured `server_name`, or undefined (each backend's host name is used). */
  readonly serverName: string | undefined;
  /** The CA bundle (PEM), or undefined for the runtime's default CA store. */
  readonly ca: string | undefined;
  readonly verify: boolean;
  /**
   * Identity of these settings (name, CA content, verify): pools made with
   * another key are not reused.
   */
  readonly key: string;
}

/** The `node:tls` connect options towards one backend. */
export interface TlsConnectOptions {
  /** SNI and the name checked; undefined: no SNI, the certificate is checked against the IP. */
  readonly servername: string | undefined;
  readonly ca: string | undefined;
  readonly rejectUnauthorized: boolean;
  readonly ALPNProtocols: string[];
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** HTTP/1.1 is what our client speaks upstream. */
const ALPN: string[] = ["http/1.1"];

/**
 * The name sent as SNI and checked against the certificate: the configured
 * `server_name`, else the backend's host when it is a name; none for an IP
 * (SNI carries no IP; the certificate is then checked against the IP).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamServerName } from "./upstream_tls.ts";
 * assert.equal(upstreamServerName(undefined, "api.internal"), "api.internal");
 * assert.equal(upstreamServerName(undefined, "10.0.0.1"), undefined);
 * assert.equal(upstreamServerName("api.internal", "10.0.0.1"), "api.internal");
 * ```
 */
export function upstreamServerName(
  serverName: string | undefined,
  host: string,
): string | undefined {
  if (serverName !== undefined) return serverName;
  return IPV4.test(host) || host.includes(":") ? undefined : host;
}

/**
 * The `node:tls` connect options for one backend (computed once per pool or
 * probe target, never per request).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsConnectOptions } from "./upstream_tls.ts";
 * const o = tlsConnectOptions({ serverName: undefined, ca: undefined, verify: true, key: "" }, "b.test");
 * assert.equal(o.servername, "b.test");
 * assert.equal(o.rejectUnauthorized, true);
 * assert.deepEqual(o.ALPNProtocols, ["http/1.1"]);
 * ```
 */
export function tlsConnectOptions(tls: UpstreamTls, host: string): TlsConnectOptions {
  return {
    servername: upstreamServerName(tls.serverName, host),
    ca: tls.ca,
    rejectUnauthorized: tls.verify,
    ALPNProtocols: ALPN,
  };
}

/**
 * Why a TLS connection failed, for the log and the probe's error: the
 * stack's code (e.g. `ERR_TLS_CERT_ALTNAME_INVALID`,
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`) and its message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsFailure } from "./upstream_tls.ts";
 * const e = Object.assign(new Error("unable to verify the first certificate"), {
 *   code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
 * });
 * assert.equal(
 *   tlsFailure(e),
 *   "TLS: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate",
 * );
 * assert.equal(tlsFailure(new Error("socket hang up")), "TLS: socket hang up");
 * ```
 */
export function tlsFailure(e: Error & { code?: string }): string {
  return `TLS: ${e.code ? `${e.code}: ` : ""}${e.message}`;
}
