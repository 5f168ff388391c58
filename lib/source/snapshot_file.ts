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
