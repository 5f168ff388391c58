/**
 * Where a TLS listener's certificate/key pairs come from, as one small
 * interface: certificate files (`--tls-cert`/`--tls-key`, see
 * file_certificate_source.ts) and ZooKeeper certificates (`--tls-cert-zk`,
 * `/switchyard/certs/<name>`, see zk_certificate_source_adapter.ts), files first
 * (chained_certificate_source.ts). The proxy reads the pairs, checks them ({@link checkPairs} in
 * certificate_set.ts) and reloads when the source says something changed.
 *
 * @module
 */

/** One certificate chain (leaf first) and its private key, as the source holds them. */
export interface PairInput {
  /**
   * What names the pair to an operator in logs, `/status` and errors (a file
   * path or a znode name), never its content.
   */
  readonly label: string;
  /** Where the certificate came from (e.g. `--tls-cert /etc/tls/shop.crt`). */
  readonly certOrigin: string;
  /** Where the key came from (e.g. `--tls-key /etc/tls/shop.key`). */
  readonly keyOrigin: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Where the pair is kept, for `/status`: `file` (when absent) or `zookeeper`. */
  readonly source?: "file" | "zookeeper";
}

/** One read of a source: every pair, or why they could not be read. */
export type PairsRead =
  | { readonly ok: true; readonly pairs: readonly PairInput[] }
  | { readonly ok: false; readonly reason: string };

/**
 * A source of certificate/key pairs, in order (the first is the default
 * certificate).
 */
export interface CertificateSource {
  /** Shown in `/status` (e.g. `files`). */
  readonly description: string;
  /** Reads every pair now. */
  read(): Promise<PairsRead>;
  /**
   * Calls `onChange` (debounced by the source) whenever a pair may have
   * changed; the caller then reads again. Returns a stop function.
   */
  watch(onChange: () => void): () => void;
}
