/**
 * How to start a role as a child process under Deno or Bun: used by the
 * demo, the local autoscaling provider and the tests. The runtimes come from
 * this checkout's node_modules (installed by `npm ci`).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** A runtime a role can run under. */
export type Runtime = "deno" | "bun";

/**
 * The repository root: the nearest directory above this module with a
 * package.json (two levels up from `lib/runtime/`, one from a bundle in `dist/`).
 */
export const REPO_ROOT: string = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  for (let dir = start;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(start, "..", "..");
    dir = up;
  }
}

/** Path of a runtime binary installed by npm. */
export function runtimeBinary(runtime: Runtime): string {
  return runtime === "deno"
    ? path.join(REPO_ROOT, "node_modules", "deno", "deno")
    : path.join(REPO_ROOT, "node_modules", "bun", "bin", "bun.exe");
}

/**
 * The command line that runs `roles/<role>.ts` (or a bundle such as
 * `dist/proxy.js` when `script` is given) with `flags`.
 *
 * @example
 * ```ts
 * import { roleCommand } from "./role_command.ts";
 * const { command, args } = roleCommand("bun", "backend", ["--listen", "127.0.0.1:9001"]);
 * console.log(command.endsWith("bun.exe"), args[0]?.endsWith("roles/backend.ts")); // true true
 * ```
 */
export function roleCommand(
  runtime: Runtime,
  role: string,
  flags: readonly string[],
  script?: string,
): { command: string; args: string[] } {
  const file = script ?? path.join(REPO_ROOT, "roles", `${role}.ts`);
  const args = runtime === "deno" ? ["run", "-A", file, ...flags] : [file, ...flags];
  return { command: runtimeBinary(runtime), args };
}
