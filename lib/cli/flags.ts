/**
 * One flag parser for every role, so they all take the same style of flags:
 * `--name value` or `--name=value`, booleans as `--name` / `--no-name`,
 * unknown flags are an error, `--help` prints the table.
 *
 * @module
 */

/** The declaration of one flag. */
export interface FlagSpec {
  readonly name: string;
  readonly type: "string" | "number" | "boolean";
  readonly help: string;
  /** Default value (shown in help); undefined means "not set". */
  readonly default?: string | number | boolean;
  /** Placeholder shown in help, e.g. HOST:PORT. */
  readonly value?: string;
  /** A string flag that may be given several times: its value is every one, in order. */
  readonly repeatable?: boolean;
}

/** Parsed flag values by name (a repeatable flag's: a list). */
export type FlagValues = Record<string, string | number | boolean | readonly string[] | undefined>;

/** A usage error, with a message meant for the user. */
export class FlagError extends Error {}

/**
 * Parses argv against the specs. Throws {@link FlagError} on any mistake.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * const v = parseFlags(["--listen=127.0.0.1:8080", "--verbose"], [
 *   { name: "listen", type: "string", help: "where", default: "127.0.0.1:80" },
 *   { name: "verbose", type: "boolean", help: "more logs", default: false },
 * ]);
 * console.log(v.listen, v.verbose); // 127.0.0.1:8080 true
 * ```
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): FlagValues {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: FlagValues = {};
  for (const s of specs) out[s.name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      out.help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new FlagError(`unexpected argument "${arg}"`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = byName.get(name);
    if (!spec && name.startsWith("no-") && value === undefined) {
      const positive = byName.get(name.slice(3));
      if (positive?.type === "boolean") {
        out[positive.name] = false;
        continue;
      }
    }
    if (!spec) throw new FlagError(`unknown flag --${name}`);
    if (spec.type === "boolean") {
      if (value === undefined) out[name] = true;
      else if (value === "true" || value === "false") out[name] = value === "true";
      else throw new FlagError(`--${name} takes true or false, not "${value}"`);
      continue;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new FlagError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ""}`);
      }
      value = next;
      i++;
    }
    if (spec.type === "number") {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) {
        throw new FlagError(`--${name} must be a number, not "${value}"`);
      }
      out[name] = n;
    } else if (spec.repeatable) {
      const prior = out[name];
      out[name] = Array.isArray(prior) ? [...prior, value] : [value];
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Formats the flag table for `--help` and the roles listing. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `--${s.name}${s.type === "boolean" ? "" : ` ${s.value ?? s.type.toUpperCase()}`}${
      s.repeatable ? " ..." : ""
    }`;
    const def = s.default === undefined ? "" : ` (default: ${s.default})`;
    return [left, `${s.help}${def}`] as const;
  });
  const width = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`).join("\n");
}

/**
 * Parses `HOST:PORT` for listen flags (port 0 = any free port). An IPv6 host
 * is written in brackets (`[::1]:8080`) and returned without them.
 */
export function parseListen(flag: string, value: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Za-z.%]*:[0-9A-Za-z.%:]*\]|[^:[\]\s]+):(\d{1,5})$/.exec(value);
  if (!m) throw new FlagError(`--${flag} must be HOST:PORT, not "${value}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new FlagError(`--${flag}: port ${port} is outside 0-65535`);
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}
