/**
 * Several certificate sources as one, in order: the proxy's file pairs (`--tls-cert`/`--tls-key`)
 * first, then its ZooKeeper certificates (`--tls-cert-zk`), so the first pair of all is the
 * default certificate. A read fails as soon as one source's does (the listener refuses the change
 * as a whole and keeps its last good set); a change in any source is a change.
 *
 * @module
 */
import type { CertificateSource, PairInput, PairsRead } from "./certificate_source.ts";

/**
 * The pairs of `sources`, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChainedCertificateSource } from "./chained_certificate_source.ts";
 * const one = (label: string) => ({
 *   description: label,
 *   read: () =>
 *     Promise.resolve({
 *       ok: true as const,
 *       pairs: [{ label, certOrigin: label, keyOrigin: label, certPem: "", keyPem: "" }],
 *     }),
 *   watch: () => () => {},
 * });
 * const both = new ChainedCertificateSource([one("files"), one("zookeeper")]);
 * assert.equal(both.description, "files+zookeeper");
 * const read = await both.read();
 * assert.deepEqual(read.ok && read.pairs.map((p) => p.label), ["files", "zookeeper"]);
 * ```
 */
export class ChainedCertificateSource implements CertificateSource {
  /** The sources' descriptions joined by `+` (e.g. `files+zookeeper`). */
  readonly description: string;
  readonly #sources: readonly CertificateSource[];

  constructor(sources: readonly CertificateSource[]) {
    this.#sources = sources;
    this.description = sources.map((s) => s.description).join("+");
  }

  async read(): Promise<PairsRead> {
    const pairs: PairInput[] = [];
    for (const source of this.#sources) {
      const read = await source.read();
      if (!read.ok) return read;
      pairs.push(...read.pairs);
    }
    return { ok: true, pairs };
  }

  watch(onChange: () => void): () => void {
    const stops = this.#sources.map((s) => s.watch(onChange));
    return () => {
      for (const stop of stops) stop();
    };
  }
}
