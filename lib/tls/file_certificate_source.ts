/**
 * Certificate/key pairs from files (`--tls-cert FILE --tls-key FILE`,
 * repeatable, paired in order). Each file is watched as the config file is
 * (its directory watched, since tools replace files by renaming, plus a slow
 * poll that catches what the watcher misses, see lib/source/file.ts); changes
 * are debounced so a certificate and its key written one after the other make
 * one reload.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { FileConfigSource } from "../source/file.ts";
import type { CertificateSource, PairInput, PairsRead } from "./certificate_source.ts";

/** One `--tls-cert` / `--tls-key` pair of file names. */
export interface PairFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Timings of a {@link FileCertificateSource}. */
export interface FileCertificateTimings {
  /** How long after a change the files are read (a cert and its key land together). */
  readonly debounceMs: number;
  /** How often the files are compared with what was read, whatever the watcher says. */
  readonly pollMs: number;
}

const DEFAULT_TIMINGS: FileCertificateTimings = { debounceMs: 250, pollMs: 2_000 };

/**
 * Pairs from files.
 *
 * @example
 * ```ts ignore
 * const source = new FileCertificateSource([{ certFile: "a.crt", keyFile: "a.key" }], log);
 * const read = await source.read();
 * ```
 */
export class FileCertificateSource implements CertificateSource {
  readonly description = "files";
  readonly #files: readonly { pair: PairFiles; cert: FileConfigSource; key: FileConfigSource }[];

  constructor(
    pairs: readonly PairFiles[],
    private readonly log: Logger,
    private readonly timings: FileCertificateTimings = DEFAULT_TIMINGS,
  ) {
    // the inner watchers only raise a flag: this source debounces and reads both files
    const inner = { debounceMs: 15, pollMs: timings.pollMs };
    this.#files = pairs.map((pair) => ({
      pair,
      cert: new FileConfigSource(pair.certFile, log, inner),
      key: new FileConfigSource(pair.keyFile, log, inner),
    }));
  }

  read(): Promise<PairsRead> {
    const pairs: PairInput[] = [];
    for (const { pair, cert, key } of this.#files) {
      const c = cert.read();
      if (c.text === null) {
        return Promise.resolve({
          ok: false,
          reason: `--tls-cert ${pair.certFile}: cannot read: ${c.error}`,
        });
      }
      const k = key.read();
      // the reader's error names the file and the system error, never content
      if (k.text === null) {
        return Promise.resolve({
          ok: false,
          reason: `--tls-key ${pair.keyFile}: cannot read: ${k.error}`,
        });
      }
      pairs.push({
        label: pair.certFile,
        certOrigin: `--tls-cert ${pair.certFile}`,
        keyOrigin: `--tls-key ${pair.keyFile}`,
        certPem: c.text,
        keyPem: k.text,
      });
    }
    return Promise.resolve({ ok: true, pairs });
  }

  watch(onChange: () => void): () => void {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const changed = () => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        onChange();
      }, this.timings.debounceMs);
    };
    const stops = this.#files.flatMap(({ cert, key }) => [
      cert.watch(changed),
      key.watch(changed),
    ]);
    this.log.debug("watching certificate files", { files: this.#files.length * 2 });
    return () => {
      if (timer !== null) clearTimeout(timer);
      for (const stop of stops) stop();
    };
  }
}
