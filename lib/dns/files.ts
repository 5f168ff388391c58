/**
 * The dns role's file edges: writing the generated Corefile (atomically, and only when its text
 * changed, so CoreDNS's `reload` plugin reloads only for a real change) and following the
 * regions file (`--regions-file`), re-read when its size or modification time changes.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";

/**
 * Writes `text` to `file` when the file's content differs: to a temporary file beside it, then
 * renamed over it (CoreDNS never reads half a Corefile). Returns true when it wrote.
 */
export function writeFileIfChanged(file: string, text: string): boolean {
  try {
    if (fs.readFileSync(file, "utf8") === text) return false;
  } catch {
    // absent or unreadable: write it
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
  return true;
}

/** A followed file: its text when it changes. */
export interface FileFollower {
  stop(): void;
}

/**
 * Calls `onText` with the file's text whenever its size or mtime changes (polled every
 * `intervalMs`), and `onError` when it cannot be read (once per distinct error). The first read
 * is the caller's: this only reports changes after the stat taken now.
 */
export function followFile(
  file: string,
  intervalMs: number,
  onText: (text: string) => void,
  onError: (error: Error) => void,
): FileFollower {
  const key = () => {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  };
  let last = "";
  try {
    last = key();
  } catch {
    last = "missing";
  }
  let lastError = "";
  const timer = setInterval(() => {
    let now: string;
    try {
      now = key();
    } catch (e) {
      now = "missing";
      if (String(e) !== lastError) {
        lastError = String(e);
        onError(e as Error);
      }
    }
    if (now === last || now === "missing") {
      last = now;
      return;
    }
    last = now;
    lastError = "";
    try {
      onText(fs.readFileSync(file, "utf8"));
    } catch (e) {
      onError(e as Error);
    }
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}
