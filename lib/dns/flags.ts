/**
 * Flag helpers of the dns role that the shared parser (`lib/cli/flags.ts`) does not cover:
 * a repeatable flag, and CoreDNS's listen addresses.
 *
 * Pure: no I/O, no runtime globals.
 *
 * @module
 */

/**
 * Folds every occurrence of `--NAME VALUE` / `--NAME=VALUE` into one `--NAME v1,v2` at the end
 * (the shared parser keeps only the last value of a flag).
 *
 * @example
 * ```ts
 * import { foldRepeated } from "./flags.ts";
 * foldRepeated(["--group", "a", "--ttl", "5", "--group=b,c"], "group");
 * // ["--ttl", "5", "--group", "a,b,c"]
 * ```
 */
export function foldRepeated(argv: readonly string[], name: string): string[] {
  const values: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === `--${name}` && next !== undefined && !next.startsWith("--")) {
      values.push(next);
      i++;
    } else if (arg.startsWith(`--${name}=`)) {
      values.push(arg.slice(name.length + 3));
    } else {
      rest.push(arg);
    }
  }
  return values.length === 0 ? rest : [...rest, `--${name}`, values.join(",")];
}

/** Where CoreDNS listens: one port, and the addresses to bind (none: every address). */
export interface CoreDnsListen {
  readonly port: number;
  readonly bind: readonly string[] | null;
}

/**
 * Parses `HOST:PORT[,HOST:PORT...]` (one port for all; IPv6 in brackets). `0.0.0.0`, `::` or
 * `*` as the only host means every address (no `bind` line).
 *
 * @example
 * ```ts
 * import { parseCoreDnsListen } from "./flags.ts";
 * parseCoreDnsListen("0.0.0.0:53"); // { port: 53, bind: null }
 * parseCoreDnsListen("198.18.0.11:53,198.18.0.53:53"); // { port: 53, bind: [...both] }
 * ```
 */
export function parseCoreDnsListen(text: string): CoreDnsListen {
  let port: number | undefined;
  const hosts: string[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(item);
    const p = Number(m?.[3]);
    if (!m || p < 1 || p > 65535) throw new Error(`"${item}" must be HOST:PORT (port 1-65535)`);
    if (port !== undefined && p !== port) throw new Error("use one port for every address");
    port = p;
    hosts.push(m[1] ?? m[2]!);
  }
  if (port === undefined) throw new Error("give at least one HOST:PORT");
  const wildcard = (h: string) => h === "0.0.0.0" || h === "::" || h === "*";
  if (hosts.some(wildcard)) {
    if (hosts.length > 1) throw new Error("a wildcard address must be the only one");
    return { port, bind: null };
  }
  return { port, bind: hosts };
}
