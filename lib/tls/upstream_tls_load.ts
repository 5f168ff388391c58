/**
 * Loading a group's upstream `tls` settings when the proxy applies its
 * config: the CA file is read then, once (not per connection). An unreadable
 * file, or one without a valid PEM certificate, rejects the config with the
 * field named (`tls.ca_file`), and the last good config keeps serving.
 *
 * {@link loadUpstreamTls} takes the file read injected (pure, table-tested);
 * {@link loadUpstreamTlsFromDisk} and {@link probeTlsFromDisk} wire it to
 * `fs.readFileSync` for the proxy's group runtime and the orchestrator's
 * workers. The certificates are parsed with `node:crypto`.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import type { ConfigIssue } from "../config/schema.ts";
import type { UpstreamTls, UpstreamTlsConfig } from "./upstream_tls.ts";

/** Loading the settings: the result (null: plain TCP), or the issues rejecting the config. */
export type UpstreamTlsLoad =
  | { readonly ok: true; readonly tls: UpstreamTls | null }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Reads a file as text (throws with a `code` on failure, as `fs.readFileSync`). */
export type ReadTextFile = (path: string) => string;

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Loads a group's `tls` settings: null when absent or not enabled (plain
 * TCP), else the settings with the CA bundle read through `readFile`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadUpstreamTls } from "./upstream_tls_load.ts";
 * const missing = () => {
 *   throw Object.assign(new Error("no such file"), { code: "ENOENT" });
 * };
 * assert.deepEqual(loadUpstreamTls("g", undefined, missing), { ok: true, tls: null });
 * const r = loadUpstreamTls("g", { enabled: true, verify: true, ca_file: "/x" }, missing);
 * assert.ok(!r.ok);
 * assert.deepEqual(r.issues, [{ group: "g", field: "tls.ca_file", reason: "cannot read /x: ENOENT" }]);
 * ```
 */
export function loadUpstreamTls(
  group: string,
  config: UpstreamTlsConfig | undefined,
  readFile: ReadTextFile,
): UpstreamTlsLoad {
  if (config === undefined || !config.enabled) return { ok: true, tls: null };
  let ca: string | undefined;
  if (config.ca_file !== undefined) {
    const file = config.ca_file;
    const fail = (reason: string): UpstreamTlsLoad => ({
      ok: false,
      issues: [{ group, field: "tls.ca_file", reason }],
    });
    try {
      ca = readFile(file);
    } catch (e) {
      const err = e as Error & { code?: string };
      return fail(`cannot read ${file}: ${err.code ?? err.message}`);
    }
    const pems = ca.match(PEM_CERT);
    if (pems === null) return fail(`no PEM certificate in ${file}`);
    for (const [i, pem] of pems.entries()) {
      try {
        new X509Certificate(pem);
      } catch (e) {
        return fail(`certificate ${i + 1} in ${file} is invalid: ${(e as Error).message}`);
      }
    }
  }
  const serverName = config.server_name?.toLowerCase();
  return {
    ok: true,
    tls: {
      serverName,
      ca,
      verify: config.verify,
      key: JSON.stringify([serverName ?? null, ca ?? null, config.verify]),
    },
  };
}

const readText: ReadTextFile = (path) => fs.readFileSync(path, "utf8");

/**
 * {@link loadUpstreamTls} reading the CA file from disk (the proxy's loader).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadUpstreamTlsFromDisk } from "./upstream_tls_load.ts";
 * const r = loadUpstreamTlsFromDisk("g", { enabled: true, verify: true, ca_file: "/nonexistent.pem" });
 * assert.ok(!r.ok);
 * assert.equal(r.issues[0]!.reason, "cannot read /nonexistent.pem: ENOENT");
 * ```
 */
export function loadUpstreamTlsFromDisk(
  group: string,
  config: UpstreamTlsConfig | undefined,
): UpstreamTlsLoad {
  return loadUpstreamTls(group, config, readText);
}

/**
 * A group's upstream TLS for health probes, the CA file read from disk, or
 * why it is unusable (`tls.ca_file: cannot read ...`): the orchestrator's
 * workers fail the probe with that reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeTlsFromDisk } from "./upstream_tls_load.ts";
 * assert.equal(
 *   probeTlsFromDisk({ enabled: true, verify: true, ca_file: "/nonexistent.pem" }),
 *   "tls.ca_file: cannot read /nonexistent.pem: ENOENT",
 * );
 * ```
 */
export function probeTlsFromDisk(config: UpstreamTlsConfig): UpstreamTls | string {
  const r = loadUpstreamTls("", config, readText);
  if (!r.ok) return r.issues.map((i) => `${i.field}: ${i.reason}`).join("; ");
  return r.tls ?? "tls is not enabled";
}
