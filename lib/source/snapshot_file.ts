/**
 * The local snapshot of the last good config (static stability): written
 * atomically after every apply (write to a temporary file, then rename), and
 * read at start when ZooKeeper cannot be reached, so a proxy restarted during
 * an outage serves what it served before.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import type { Logger } from "../log.ts";

/** What the snapshot file holds. */
export interface LocalSnapshot {
  readonly group: string;
  /** Config version as the source named it (e.g. the znode version). */
  readonly version: string;
  /** The config blob, exactly as read from the source. */
  readonly blob: unknown;
  /** Backends the orchestrator held unhealthy when the snapshot was written. */
  readonly unhealthy: readonly string[];
  readonly writtenAt: string;
}

/**
 * Writes the snapshot atomically: readers see the old file or the new one,
 * never a partial one. A failed write leaves no temporary file behind.
 */
export function writeSnapshot(file: string, snapshot: LocalSnapshot): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      // writeFileSync on a descriptor loops until every byte is written (writeSync may not)
      fs.writeFileSync(fd, JSON.stringify(snapshot, null, 2) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to clean up
    }
    throw e;
  }
}

/** Reads a snapshot; null when missing or unreadable (the reason is returned too). */
export function readSnapshot(
  file: string,
  group: string,
): { snapshot: LocalSnapshot | null; error: string | null } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return { snapshot: null, error: (e as Error).message };
  }
  try {
    const s = JSON.parse(text) as LocalSnapshot;
    if (
      typeof s !== "object" || s === null || Array.isArray(s) || s.group !== group ||
      typeof s.version !== "string" || !Object.hasOwn(s, "blob")
    ) {
      return { snapshot: null, error: `${file} is not a snapshot of group ${group}` };
    }
    const unhealthy = Array.isArray(s.unhealthy)
      ? s.unhealthy.filter((a): a is string => typeof a === "string")
      : [];
    return { snapshot: { ...s, unhealthy }, error: null };
  } catch (e) {
    return { snapshot: null, error: `${file}: ${(e as Error).message}` };
  }
}

/**
 * Keeps the snapshot file current: rewritten after every applied config and
 * every health change, once a config has been applied (never before: an
 * empty snapshot would replace a good one). A failed write is logged; the
 * proxy goes on serving.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import os from "node:os";
 * import path from "node:path";
 * import { silentLogger } from "../log.ts";
 * import { readSnapshot, SnapshotRecorder } from "./snapshot_file.ts";
 * const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "snap-")), "g.json");
 * const recorder = new SnapshotRecorder(file, "g", silentLogger);
 * recorder.recordUnhealthy(new Set(["10.0.0.1:80"])); // no config yet: nothing written
 * recorder.recordConfig("7", { backend_servers: ["10.0.0.1:80"] });
 * console.log(readSnapshot(file, "g").snapshot?.unhealthy); // ["10.0.0.1:80"]
 * ```
 */
export class SnapshotRecorder {
  #version: string | null = null;
  #blob: unknown = undefined;
  #unhealthy: ReadonlySet<string> = new Set();

  constructor(
    readonly file: string | null,
    readonly group: string,
    readonly log: Logger,
  ) {}

  /** A config was applied: it and its version are what the file holds from now on. */
  recordConfig(version: string, blob: unknown): void {
    this.#version = version;
    this.#blob = blob;
    this.#write();
  }

  /** The orchestrator's unhealthy set changed. */
  recordUnhealthy(unhealthy: ReadonlySet<string>): void {
    this.#unhealthy = unhealthy;
    this.#write();
  }

  #write(): void {
    const file = this.file;
    if (!file || this.#blob === undefined || this.#version === null) return;
    try {
      writeSnapshot(file, {
        group: this.group,
        version: this.#version,
        blob: this.#blob,
        unhealthy: [...this.#unhealthy],
        writtenAt: new Date().toISOString(),
      });
    } catch (e) {
      this.log.warn("cannot write the local snapshot", { file, error: String(e) });
    }
  }
}
