/**
 * How a process starts another copy of itself (the `--workers` supervisor
 * does): the same executable, with the runtime's own arguments (`run -A` for
 * a Deno script) and the script and user arguments from `argv`.
 *
 * Inside a Bun single-file executable (`bun build --compile`, see
 * deploy/executable.ts) `argv[1]` is the embedded entry's virtual path
 * (`/$bunfs/root/switchyard`), which the executable adds by itself: passing it
 * on would make the copy see it as its first argument (the role name).
 *
 * @module
 */

/** Prefix of the embedded entry's path in a Bun single-file executable. */
const BUN_EMBEDDED = "/$bunfs/";

/**
 * The arguments that start another copy of this process with `execPath`.
 *
 * @param argv `process.argv` of this process
 * @param runtime the runtime this process runs under (`deno`, `bun`, ...)
 * @returns the arguments after the executable
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selfArgs } from "./self_command.ts";
 * // deno run -A roles/proxy.ts --workers 2
 * assert.deepEqual(selfArgs(["deno", "/r/roles/proxy.ts", "--workers", "2"], "deno"),
 *   ["run", "-A", "/r/roles/proxy.ts", "--workers", "2"]);
 * // dist/bin/switchyard proxy --workers 2 (compiled by Bun)
 * assert.deepEqual(selfArgs(["bun", "/$bunfs/root/switchyard", "proxy", "--workers", "2"], "bun"),
 *   ["proxy", "--workers", "2"]);
 * ```
 */
export function selfArgs(argv: readonly string[], runtime: string): string[] {
  if (argv[1]?.startsWith(BUN_EMBEDDED)) return argv.slice(2);
  return runtime === "deno" ? ["run", "-A", ...argv.slice(1)] : argv.slice(1);
}
