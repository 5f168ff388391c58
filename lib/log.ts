/**
 * A tiny structured logger, passed to whatever needs to log (never global).
 *
 * Lines are JSON objects (`ts`, `level`, `msg`, fields) so that operators can
 * grep them and machines can parse them.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The logging interface every component takes. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds these fields to every line. */
  with(fields: Record<string, unknown>): Logger;
}

/**
 * A logger writing JSON lines through `write`: `ts` (ISO 8601), `level`, `msg`,
 * then the logger's fields and the call's fields (the call's win). Lines below
 * `level` are dropped. Fields named `ts`, `level` or `msg` are ignored.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const log = createLogger({ level: "info", write: (line) => console.error(line), now: Date.now });
 * log.with({ role: "proxy" }).info("listening", { port: 8080 });
 * ```
 */
export function createLogger(options: {
  level: LogLevel;
  write: (line: string) => void;
  now: () => number;
  fields?: Record<string, unknown>;
}): Logger {
  const min = ORDER[options.level];
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const ts = new Date(options.now()).toISOString();
    const line: Record<string, unknown> = { ts, level, msg, ...base, ...fields };
    // ts, level and msg stay first and cannot be overwritten by a field of the same name
    line.ts = ts;
    line.level = level;
    line.msg = msg;
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      text = JSON.stringify({ ts: line.ts, level, msg, note: "unserializable fields" });
    }
    options.write(text);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, library use without logging). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with() {
    return silentLogger;
  },
};

/** Parses a level name, or returns null. */
export function parseLogLevel(value: string): LogLevel | null {
  return Object.hasOwn(ORDER, value) ? value as LogLevel : null;
}
