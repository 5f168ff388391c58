/**
 * TLS certificates from ZooKeeper, for the proxy's listener (issue 15): for each name, a watch on
 * `/switchyard/certs/<name>` with the same machinery a group's config uses
 * ({@link ZkConfigWatch}: re-armed after every delivery and reconnection, re-read at once after
 * any (re)connection, and a slow periodic re-read as a safety net). Each change is checked
 * ({@linkcode checkCertificateValue}: shape, parse, the key belongs to the leaf) and then either
 * delivered as a usable pair or reported as a problem (name, version, field, reason); a problem
 * never replaces what was delivered before, so the consumer keeps serving the last good pair,
 * which {@linkcode ZkCertificateSource.current} also answers. A deleted node is reported the same
 * way (version `absent`), once until it exists again.
 *
 * Expiry is not judged here: an expired pair is delivered with its facts (the admin API refuses to
 * store one; what the listener does with one past its notAfter, and the expiry metric, are the
 * listener's). The private key goes to the consumer only: problems and log lines carry the name,
 * version, field and reason, never the node's text.
 *
 * The proxy reads these nodes with the proxy identity (`--zk-auth`), the only one besides the
 * admin's that `ctl zk-init` lets read them.
 *
 * @module
 */
import { GROUP_NAME } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { certPath } from "../store/layout.ts";
import { type CoordinationStore, NoAuthError } from "../store/types.ts";
import type { CertificateFacts } from "../tls/certificate_pair.ts";
import { checkCertificateValue } from "../tls/stored_certificate.ts";
import { type ConfigUpdate, isIssues } from "./config_source.ts";
import { ZkConfigWatch } from "./zk_config_watch.ts";

/** A usable certificate read from ZooKeeper. */
export interface ZkCertificate {
  /** The certificate's name (`/switchyard/certs/<name>`). */
  readonly name: string;
  /** The znode version it was read at. */
  readonly version: string;
  /** PEM chain, leaf first. */
  readonly cert: string;
  /** PEM private key (for the TLS context only: never log it). */
  readonly key: string;
  /** What the leaf says: names for SNI, expiry, fingerprint. */
  readonly facts: CertificateFacts;
}

/** A certificate node that could not be used; the last good pair (if any) stays. */
export interface ZkCertificateProblem {
  readonly name: string;
  /** The znode version, or `absent` when the node does not exist. */
  readonly version: string;
  /** `cert`, `key`, or `""` for the node as a whole. */
  readonly field: string;
  readonly reason: string;
}

/** Options of {@link ZkCertificateSource}. */
export interface ZkCertificateSourceOptions {
  readonly store: CoordinationStore;
  /** The certificates to follow (names under `/switchyard/certs`). */
  readonly names: readonly string[];
  readonly log: Logger;
  /** Slow periodic re-read of each node (ms). */
  readonly resyncMs: number;
  /** A usable pair: the first one of a name, and each change after. */
  readonly onCertificate: (certificate: ZkCertificate) => void;
  /** A node that is missing or does not hold a usable pair. */
  readonly onProblem: (problem: ZkCertificateProblem) => void;
}

/**
 * Follows certificates in ZooKeeper.
 *
 * @example
 * ```ts ignore
 * const source = new ZkCertificateSource({
 *   store, names: ["shop"], log, resyncMs: 30_000,
 *   onCertificate: (c) => tls.replace(c.name, c.cert, c.key, c.facts.names),
 *   onProblem: (p) => log.warn("certificate refused", { ...p }),
 * });
 * source.start();
 * ```
 */
export class ZkCertificateSource {
  readonly #o: ZkCertificateSourceOptions;
  readonly #watches: ZkConfigWatch[] = [];
  readonly #current = new Map<string, ZkCertificate>();
  #started = false;

  /** @throws Error naming the first certificate name that is not a valid name (nothing starts) */
  constructor(options: ZkCertificateSourceOptions) {
    for (const name of options.names) {
      if (!GROUP_NAME.test(name)) {
        throw new Error(
          `certificate name ${JSON.stringify(name)}: must be 1-128 of A-Z a-z 0-9 . _ - ` +
            "and start with a letter or digit",
        );
      }
    }
    this.#o = options;
  }

  /** The last usable pair delivered for `name`, or null before the first. */
  current(name: string): ZkCertificate | null {
    return this.#current.get(name) ?? null;
  }

  /** Starts one watch per name (a name given twice is watched once). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { store, log, resyncMs } = this.#o;
    for (const name of new Set(this.#o.names)) {
      const watch = new ZkConfigWatch({ store, group: name, log, resyncMs, path: certPath(name) });
      this.#watches.push(watch);
      watch.start((update) => this.#consume(name, update));
    }
    this.#checkAccess();
  }

  /** Re-reads every node now (a change a watch missed is delivered). */
  resync(): void {
    for (const w of this.#watches) w.resync();
    this.#checkAccess();
  }

  /**
   * A node this session may not read would stay silent in the watches (they retry quietly), so
   * it is read once here and a refusal reported: the proxy runs without the proxy identity.
   */
  #checkAccess(): void {
    for (const name of new Set(this.#o.names)) {
      this.#o.store.get(certPath(name)).catch((e) => {
        if (!(e instanceof NoAuthError)) return; // disconnected: the watch catches up later
        this.#problem({
          name,
          version: "unknown",
          field: "",
          reason: `not allowed to read ${certPath(name)}: certificates are readable by the ` +
            "proxy identity only (--zk-auth, see ctl zk-init)",
        });
      });
    }
  }

  /** Stops every watch: nothing is delivered afterwards. */
  async stop(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.stop()));
  }

  #consume(name: string, update: ConfigUpdate): boolean {
    const { version } = update;
    if (isIssues(update)) {
      // only "absent" and "invalid JSON" come here; the JSON parser's message may quote the
      // node's text (the key), so it is not repeated
      this.#problem({
        name,
        version,
        field: "",
        reason: version === "absent"
          ? `${certPath(name)} does not exist`
          : "the node is not valid JSON",
      });
      return false;
    }
    const check = checkCertificateValue(update.blob);
    if (!check.ok) {
      this.#problem({ name, version, field: check.field, reason: check.reason });
      return false;
    }
    const certificate: ZkCertificate = {
      name,
      version,
      cert: check.cert,
      key: check.key,
      facts: check.facts,
    };
    this.#current.set(name, certificate);
    this.#o.log.info("certificate loaded", {
      certificate: name,
      version,
      names: check.facts.names,
      not_after: new Date(check.facts.notAfterMs).toISOString(),
      fingerprint256: check.facts.fingerprint256,
    });
    this.#o.onCertificate(certificate);
    return true;
  }

  #problem(problem: ZkCertificateProblem): void {
    this.#o.log.warn("certificate refused; the last good one stays", {
      certificate: problem.name,
      version: problem.version,
      field: problem.field,
      reason: problem.reason,
      serving: this.#current.get(problem.name)?.version ?? null,
    });
    this.#o.onProblem(problem);
  }
}
