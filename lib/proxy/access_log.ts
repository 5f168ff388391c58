/**
 * The proxy's optional JSON access log (`--access-log FILE|-`): one line per
 * sampled request (`--access-log-sample RATE`), written through a buffer that
 * is flushed every 100 ms or at 64 KiB (a short append to the page cache),
 * so a request never waits for a line of its own.
 * Off by default. The line's format is lib/routing/access_log.ts's.
 *
 * @module
 */
import fs from "node:fs";
import process from "node:process";
import { type AccessLogFields, accessLogLine, sampled } from "../routing/access_log.ts";

/** How often buffered lines are written out. */
const FLUSH_MS = 100;
/** Buffered bytes that trigger a write at once. */
const FLUSH_BYTES = 64 * 1024;

/** Where lines go, and how many requests are logged. */
export class AccessLog {
  #buf: string[] = [];
  #bytes = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  readonly #fd: number | null;
  /** Lines written since start. */
  written = 0;

  /**
   * @param target A file path (appended to) or `-` for standard output.
   * @param rate The share of requests logged, 0 to 1.
   * @param random Uniform random numbers in [0, 1).
   */
  constructor(readonly target: string, readonly rate: number, readonly random = Math.random) {
    this.#fd = target === "-" ? null : fs.openSync(target, "a");
    this.#timer = setInterval(() => this.flush(), FLUSH_MS);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Whether this request is logged (decided once, at its start). */
  sample(): boolean {
    return sampled(this.rate, this.random());
  }

  /** Buffers one line. */
  record(fields: AccessLogFields): void {
    const line = accessLogLine(fields) + "\n";
    this.#buf.push(line);
    this.#bytes += line.length;
    this.written++;
    if (this.#bytes >= FLUSH_BYTES) this.flush();
  }

  /** Writes out what is buffered. */
  flush(): void {
    if (this.#buf.length === 0) return;
    const text = this.#buf.join("");
    this.#buf = [];
    this.#bytes = 0;
    if (this.#fd === null) process.stdout.write(text);
    else fs.writeSync(this.#fd, text);
  }

  /** Flushes and closes the file. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.flush();
    if (this.#fd !== null) {
      try {
        fs.closeSync(this.#fd);
      } catch { /* closed already */ }
    }
  }
}
