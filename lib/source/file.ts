/**
 * The embedded default config source: a JSON file (group name -> blob) that
 * is watched for edits. The directory is watched (editors replace files by
 * renaming), changes are debounced briefly, and a slow stat poll catches
 * anything the watcher misses.
 *
 * @module
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../log.ts";

/** One read of the file. */
export interface FileRead {
  /** The file's text, or null when it could not be read. */
  readonly text: string | null;
  /** Why it could not be read. */
  readonly error: string | null;
}

/** A short content hash used as the config version of a blob. */
export function contentVersion(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/**
 * Watches a config file.
 *
 * @example
 * ```ts ignore
 * const source = new FileConfigSource("lb.json", log);
 * const stop = source.watch((read) => console.log(read.text));
 * ```
 */
export class FileConfigSource {
  readonly path: string;
  #lastText: string | null = null;

  constructor(
    file: string,
    readonly log: Logger,
    readonly options = { debounceMs: 15, pollMs: 1000 },
  ) {
    this.path = path.resolve(file);
  }

  /** Reads the file now. */
  read(): FileRead {
    try {
      return { text: fs.readFileSync(this.path, "utf8"), error: null };
    } catch (e) {
      return { text: null, error: (e as Error).message };
    }
  }

  /**
   * Calls `onChange` whenever the file's text changes (not for the current
   * text, which the caller reads first with {@link read}). Returns a stop
   * function.
   */
  watch(onChange: (read: FileRead) => void): () => void {
    this.#lastText = this.read().text;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const check = () => {
      timer = null;
      const r = this.read();
      if (r.text === null) {
        // A rename-replace leaves a brief window with no file: the poll retries.
        return;
      }
      if (r.text === this.#lastText) return;
      this.#lastText = r.text;
      onChange(r);
    };
    const schedule = () => {
      if (timer === null) timer = setTimeout(check, this.options.debounceMs);
    };
    const dir = path.dirname(this.path);
    const base = path.basename(this.path);
    let watcher: fs.FSWatcher | null = null;
    try {
      watcher = fs.watch(dir, (_event, name) => {
        if (name === null || String(name) === base) schedule();
      });
      watcher.on("error", (e) => this.log.warn("config watch error", { error: String(e) }));
    } catch (e) {
      this.log.warn("cannot watch config directory; polling only", { error: String(e) });
    }
    const poll = setInterval(check, this.options.pollMs);
    return () => {
      if (timer !== null) clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    };
  }
}
