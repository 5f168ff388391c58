/**
 * Certificates stored in ZooKeeper (`--tls-cert-zk NAME`, `/switchyard/certs/<name>`) as a
 * {@link CertificateSource} for the proxy's TLS listener. {@link ZkCertificateSource} follows the
 * nodes (re-armed watches, resync, each value checked); this adapter keeps, per name, the last
 * usable pair and whether the latest news was a problem, and answers `read()` from that:
 *
 * - before every name has had its first answer, `read()` waits for it (bounded: the proxy's
 *   start waits for its certificates as a bad file pair would stop it);
 * - a name whose latest news is a problem (missing node, invalid JSON, a mismatched pair written
 *   around the admin API, no read permission) makes the read fail naming the flag, the name and
 *   the field, so the listener refuses the change and keeps serving its last good set, all or
 *   nothing as with files;
 * - otherwise the pairs, in flag order, labelled by their znode.
 *
 * `watch()` is told (debounced, so names changing together make one reload) after each delivery
 * or problem. The key goes to the TLS stack only: reasons carry names and fields, never content.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import {
  type ZkCertificate,
  type ZkCertificateProblem,
  ZkCertificateSource,
} from "../source/zk_certificate_source.ts";
import { certPath } from "../store/layout.ts";
import type { CoordinationStore } from "../store/types.ts";
import type { CertificateSource, PairInput, PairsRead } from "./certificate_source.ts";

/** Options of {@link ZkCertificateSourceAdapter}. */
export interface ZkCertificateSourceAdapterOptions {
  /** The certificates, in flag order (`--tls-cert-zk NAME`). */
  readonly names: readonly string[];
  readonly log: Logger;
  /** Slow periodic re-read of each node (ms, `--resync-seconds`). */
  readonly resyncMs: number;
  /** How long a read waits for the first answer about every name (ms). */
  readonly firstAnswerMs: number;
  /** Quiet time after a change before the listener is told (ms). */
  readonly debounceMs?: number;
}

/** What is known about one name. */
interface NameState {
  /** The last usable pair, or null before the first. */
  certificate: ZkCertificate | null;
  /** The latest news when it was a problem; cleared by the next usable pair. */
  problem: ZkCertificateProblem | null;
}

/**
 * Certificates in ZooKeeper for the TLS listener.
 *
 * @example
 * ```ts ignore
 * const certs = new ZkCertificateSourceAdapter({ names: ["shop"], log, resyncMs: 30_000, firstAnswerMs: 30_000 });
 * certs.use(store); // once the session is up
 * const tls = new TlsTermination({ source: certs, log, registry });
 * await tls.load(); // waits for the first answer about "shop"
 * ```
 */
export class ZkCertificateSourceAdapter implements CertificateSource {
  readonly description = "zookeeper";
  readonly #o: ZkCertificateSourceAdapterOptions;
  readonly #states = new Map<string, NameState>();
  readonly #listeners = new Set<() => void>();
  #source: ZkCertificateSource | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  /** Resolves once every name has had an answer (a pair or a problem). */
  readonly #answered: Promise<void>;
  #allAnswered: () => void = () => {};

  constructor(options: ZkCertificateSourceAdapterOptions) {
    this.#o = options;
    this.#answered = new Promise((resolve) => (this.#allAnswered = resolve));
    if (options.names.length === 0) this.#allAnswered();
  }

  /**
   * Starts following the certificates over `store` (the proxy's session, authenticated as the
   * proxy identity). A second call is ignored.
   */
  use(store: CoordinationStore): void {
    if (this.#source !== null || this.#stopped) return;
    this.#source = new ZkCertificateSource({
      store,
      names: this.#o.names,
      log: this.#o.log,
      resyncMs: this.#o.resyncMs,
      onCertificate: (certificate) => this.#news(certificate.name, certificate, null),
      onProblem: (problem) => this.#news(problem.name, null, problem),
    });
    this.#source.start();
  }

  async read(): Promise<PairsRead> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#o.firstAnswerMs);
    });
    await Promise.race([this.#answered, timeout]);
    clearTimeout(timer);
    const pairs: PairInput[] = [];
    for (const name of this.#o.names) {
      const state = this.#states.get(name);
      if (state === undefined) {
        return {
          ok: false,
          reason: `--tls-cert-zk ${name}: no answer from ZooKeeper about ${certPath(name)} ` +
            `within ${this.#o.firstAnswerMs / 1000} s`,
        };
      }
      if (state.problem !== null || state.certificate === null) {
        const p = state.problem!;
        const where = p.field === "" ? "" : `${certPath(name)} ${p.field}: `;
        const version = /^\d+$/.test(p.version) ? ` (version ${p.version})` : "";
        return { ok: false, reason: `--tls-cert-zk ${name}: ${where}${p.reason}${version}` };
      }
      const c = state.certificate;
      pairs.push({
        label: certPath(name),
        certOrigin: `--tls-cert-zk ${name}: ${certPath(name)} cert`,
        keyOrigin: `--tls-cert-zk ${name}: ${certPath(name)} key`,
        certPem: c.cert,
        keyPem: c.key,
        source: "zookeeper",
      });
    }
    return { ok: true, pairs };
  }

  watch(onChange: () => void): () => void {
    this.#listeners.add(onChange);
    return () => {
      this.#listeners.delete(onChange);
      this.stop();
    };
  }

  /** Stops following the nodes (nothing is read or told afterwards). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#source?.stop();
  }

  #news(name: string, certificate: ZkCertificate | null, problem: ZkCertificateProblem | null) {
    if (this.#stopped) return;
    const state = this.#states.get(name);
    if (state === undefined) {
      this.#states.set(name, { certificate, problem });
      if (this.#o.names.every((n) => this.#states.has(n))) this.#allAnswered();
    } else {
      if (certificate !== null) state.certificate = certificate;
      state.problem = problem;
    }
    if (this.#listeners.size === 0) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      for (const listener of this.#listeners) listener();
    }, this.#o.debounceMs ?? 100);
  }
}
