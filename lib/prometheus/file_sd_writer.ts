/**
 * The file_sd writer: follows the fleet's registrations in ZooKeeper (proxies and every other
 * role's instances) and keeps Prometheus's target files (`<dir>/<role>.json`) up to date. Files
 * are written atomically (a temporary file renamed over the old one, which Prometheus's file
 * watch picks up) and only when their content changes; nothing is written until every watch has
 * delivered its first state, so a restart never publishes a fleet with live members missing.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import type { Logger } from "../log.ts";
import { INSTANCES_ROOT } from "../source/instance_registry.ts";
import { TreeWatcher } from "../source/tree_watch.ts";
import { PROXIES_ROOT } from "../store/layout.ts";
import type { CoordinationStore } from "../store/types.ts";
import { instanceTarget, proxyTarget, renderTargetFiles, type ScrapeTarget } from "./file_sd.ts";

/** Options of {@link FileSdWriter}. */
export interface FileSdWriterOptions {
  readonly store: CoordinationStore;
  /** Where the `<role>.json` files go (created when missing). */
  readonly dir: string;
  readonly log: Logger;
  /** Coalesces bursts of registration changes (ms, default 50). */
  readonly debounceMs?: number;
  /** Called after each file written. */
  readonly onWrite?: (role: string, targets: number) => void;
}

/** What `/status` shows of the writer. */
export interface FileSdStatus {
  readonly dir: string;
  readonly complete: boolean;
  readonly targets: Readonly<Record<string, number>>;
  readonly writes: number;
  readonly last_write: string | null;
  readonly last_error: string | null;
}

/**
 * Writes Prometheus target files from the registrations.
 *
 * @example
 * ```ts ignore
 * const w = new FileSdWriter({ store, dir: ".state/prometheus/targets", log });
 * w.start();
 * ```
 */
export class FileSdWriter {
  readonly #o: FileSdWriterOptions;
  readonly #proxies: TreeWatcher;
  readonly #instances: TreeWatcher;
  readonly #written = new Map<string, string>();
  #counts: Record<string, number> = {};
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writes = 0;
  #lastWrite: number | null = null;
  #lastError: string | null = null;
  #stopped = false;

  constructor(options: FileSdWriterOptions) {
    this.#o = options;
    const onChange = () => this.#schedule();
    const onError = (e: unknown) =>
      options.log.debug("registration watch error", { error: String(e) });
    this.#proxies = new TreeWatcher({
      store: options.store,
      root: PROXIES_ROOT,
      parents: null,
      onChange,
      onError,
    });
    this.#instances = new TreeWatcher({
      store: options.store,
      root: INSTANCES_ROOT,
      parents: null,
      onChange,
      onError,
    });
  }

  /** Starts following the registrations. */
  start(): void {
    fs.mkdirSync(this.#o.dir, { recursive: true });
    this.#proxies.start();
    this.#instances.start();
  }

  /** True once both trees have delivered their first state. */
  complete(): boolean {
    return this.#proxies.complete() && this.#instances.complete();
  }

  /** The targets as of now. */
  targets(): ScrapeTarget[] {
    const out: ScrapeTarget[] = [];
    for (const e of this.#proxies.entries()) {
      const t = proxyTarget(e.parent, e.name, e.node.data);
      if (t) out.push(t);
    }
    for (const e of this.#instances.entries()) {
      const t = instanceTarget(e.parent, e.name, e.node.data);
      if (t) out.push(t);
    }
    return out;
  }

  /** Facts for `/status`. */
  status(): FileSdStatus {
    return {
      dir: this.#o.dir,
      complete: this.complete(),
      targets: { ...this.#counts },
      writes: this.#writes,
      last_write: this.#lastWrite === null ? null : new Date(this.#lastWrite).toISOString(),
      last_error: this.#lastError,
    };
  }

  /** Writes the files now if anything changed (normally driven by the watches). */
  flush(): void {
    if (this.#stopped || !this.complete()) return;
    const targets = this.targets();
    const files = renderTargetFiles(targets);
    const counts: Record<string, number> = {};
    for (const [role, text] of files) {
      counts[role] = (JSON.parse(text) as unknown[]).length;
      if (this.#written.get(role) === text) continue;
      const file = path.join(this.#o.dir, `${role}.json`);
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, file);
        this.#written.set(role, text);
        this.#writes++;
        this.#lastWrite = Date.now();
        this.#lastError = null;
        this.#o.onWrite?.(role, counts[role]!);
        this.#o.log.info("targets written", { file, targets: counts[role] });
      } catch (e) {
        this.#lastError = `${file}: ${(e as Error).message}`;
        this.#o.log.warn("cannot write targets", { file, error: String(e) });
        fs.rmSync(tmp, { force: true });
      }
    }
    this.#counts = counts;
  }

  /** Stops following (the files stay as they are). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#proxies.stop();
    this.#instances.stop();
  }

  #schedule(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#o.debounceMs ?? 50);
  }
}
