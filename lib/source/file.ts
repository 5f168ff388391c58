/**
 * The embedded default config source: a JSON file (group name -> blob) that
 * is watched for edits. The directory is watched (editors replace files by
 * renaming), changes are debounced briefly, and a slow stat poll catches
 * anything the watcher misses. {@link FileGroupSource} is the
 * {@link ConfigSource} of one group of it; what the text means is
 * `config_file.ts`'s.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../log.ts";
import { chooseGroup, groupUpdate } from "./config_file.ts";
import type { ConfigSource, ConfigUpdate } from "./config_source.ts";
import { type ListenerFileUpdate, listenerFileUpdate } from "./listener_file.ts";

export { contentVersion } from "./config_file.ts";

/** One read of the file. */
export interface FileRead {
  /** The file's text, or null when it could not be read. */
  readonly text: string | null;
  /** Why it could not be read. */
  readonly error: string | null;
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
   * Calls `onChange` whenever the file's text changes from `since` (default:
   * the text now, which the caller reads first with {@link read}; pass the
   * text it read so that an edit made in between is not missed). Returns a
   * stop function.
   */
  watch(onChange: (read: FileRead) => void, since?: string): () => void {
    this.#lastText = since ?? this.read().text;
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

/**
 * A watched file as a stream of updates: the update read at open, then one
 * per edit of the file (`toUpdate` turns its text into an update). The base
 * of the group and the listener sources.
 */
class WatchedFileUpdates<U> {
  readonly description: string;
  readonly #file: FileConfigSource;
  readonly #first: U;
  readonly #firstText: string;
  readonly #toUpdate: (text: string) => U;
  #stopWatch: (() => void) | null = null;

  protected constructor(
    file: FileConfigSource,
    first: U,
    firstText: string,
    toUpdate: (text: string) => U,
  ) {
    this.#file = file;
    this.description = `file:${file.path}`;
    this.#first = first;
    this.#firstText = firstText;
    this.#toUpdate = toUpdate;
  }

  /** Emits the update read at open, then one update per edit. */
  start(consume: (update: U) => unknown): void {
    if (this.#stopWatch !== null) return;
    consume(this.#first);
    this.#stopWatch = this.#file.watch(
      (read) => void consume(this.#toUpdate(read.text!)),
      this.#firstText,
    );
  }

  stop(): Promise<void> {
    this.#stopWatch?.();
    this.#stopWatch = null;
    return Promise.resolve();
  }
}

/**
 * One group of a watched config file, as a {@link ConfigSource}: its first
 * update is the group's config at open, then one update per edit of the file.
 *
 * @example
 * ```ts ignore
 * const opened = FileGroupSource.open("lb.json", undefined, log);
 * if (!opened.ok) throw new Error(opened.message);
 * opened.source.start(deliverTo(instance));
 * ```
 */
export class FileGroupSource extends WatchedFileUpdates<ConfigUpdate> implements ConfigSource {
  private constructor(
    file: FileConfigSource,
    readonly group: string,
    first: ConfigUpdate,
    firstText: string,
  ) {
    super(file, first, firstText, (text) => groupUpdate(text, group));
  }

  /**
   * Reads the file and chooses the group (`requested`, or the file's only
   * group). Fails, with a message naming the file, when the file cannot be
   * read, is invalid, or lacks the group: a proxy cannot start on it.
   */
  static open(
    file: string,
    requested: string | undefined,
    log: Logger,
    options?: { debounceMs: number; pollMs: number },
  ):
    | { readonly ok: true; readonly source: FileGroupSource }
    | { readonly ok: false; readonly message: string } {
    const watched = new FileConfigSource(file, log, options);
    const first = watched.read();
    if (first.text === null) {
      return { ok: false, message: `cannot read ${watched.path}: ${first.error}` };
    }
    const choice = chooseGroup(watched.path, first.text, requested);
    if (!choice.ok) return choice;
    return {
      ok: true,
      source: new FileGroupSource(watched, choice.group, choice.update, first.text),
    };
  }
}

/**
 * One listener of a watched two-section config file (`--listener` with
 * `--config`): its first update is the listener's routes and the file's
 * groups at open, then one update per edit of the file.
 */
export class FileListenerSource extends WatchedFileUpdates<ListenerFileUpdate> {
  private constructor(
    file: FileConfigSource,
    readonly listener: string,
    first: ListenerFileUpdate,
    firstText: string,
  ) {
    super(file, first, firstText, (text) => listenerFileUpdate(text, listener));
  }

  /**
   * Reads the file. Fails, with a message naming the file and field, when it
   * cannot be read or is invalid for the listener: a proxy cannot start on it.
   */
  static open(
    file: string,
    listener: string,
    log: Logger,
    options?: { debounceMs: number; pollMs: number },
  ):
    | { readonly ok: true; readonly source: FileListenerSource }
    | { readonly ok: false; readonly message: string } {
    const watched = new FileConfigSource(file, log, options);
    const first = watched.read();
    if (first.text === null) {
      return { ok: false, message: `cannot read ${watched.path}: ${first.error}` };
    }
    const update = listenerFileUpdate(first.text, listener);
    if ("issues" in update) {
      const lines = update.issues.map((i) =>
        `  listener ${i.listener}${i.field ? `, ${i.field}` : ""}: ${i.reason}`
      );
      return { ok: false, message: `${watched.path}: invalid config\n${lines.join("\n")}` };
    }
    return { ok: true, source: new FileListenerSource(watched, listener, update, first.text) };
  }
}
