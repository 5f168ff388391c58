/**
 * Single-file executables: `dist/bin/switchyard`, one binary holding every
 * role (`switchyard proxy ...`, `switchyard orchestrator ...`, `switchyard ctl ...`),
 * built from the roles dispatcher (`roles/main.ts`).
 *
 * - Bun's compiler (`Bun.build` with `compile`) embeds the local Bun
 *   (node_modules/bun), so it works offline; it is what `npm run build` produces.
 * - `deno compile` downloads a `denort` runtime from dl.deno.land on first use
 *   (or takes `DENORT_BIN`), so it cannot work offline; it is built only on
 *   request (`deploy/build.ts --deno-compile`), into `dist/bin/switchyard-deno`.
 *
 * Used by `deploy/build.ts` and by the smoke test (tests/packaging/executable_test.ts).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { consoleBundleStale, writeConsoleBundle } from "../lib/admin/console/bundle.ts";
import { REPO_ROOT, runtimeBinary } from "../lib/runtime/role_command.ts";

/** Where the Bun-compiled executable goes. */
export const EXECUTABLE: string = path.join(REPO_ROOT, "dist", "bin", "switchyard");
/** Where the Deno-compiled executable goes (only with `--deno-compile`). */
export const DENO_EXECUTABLE: string = path.join(REPO_ROOT, "dist", "bin", "switchyard-deno");

/** The dispatcher every executable starts in. */
const ENTRY = path.join(REPO_ROOT, "roles", "main.ts");

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) {
    throw new Error(
      `${path.basename(command)} ${args.join(" ")} failed (status ${r.status}):\n` +
        `${r.stderr || r.error?.message || ""}`,
    );
  }
}

/**
 * Compiles `dist/bin/switchyard` with the local Bun (offline), through
 * deploy/bun_compile.ts. The dns role's etcd3 client stays external in the
 * esbuild bundles; Bun embeds it here, with its protocol inlined
 * (deploy/etcd_protos.ts). The admin console's browser script is embedded as
 * an asset (`dist/console.js`, built first when missing or stale), where the
 * admin role looks for it inside an executable (lib/admin/console/bundle.ts).
 *
 * @returns the executable's path
 */
export async function compileWithBun(outfile: string = EXECUTABLE): Promise<string> {
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const outdir = path.join(REPO_ROOT, "dist");
  if (consoleBundleStale(outdir)) {
    const esbuild = await import("esbuild");
    try {
      await writeConsoleBundle(esbuild, outdir);
    } finally {
      await esbuild.stop();
    }
  }
  // written beside, then renamed: a running copy or a concurrent reader never sees half a file
  const partial = `${outfile}.${process.pid}.partial`;
  try {
    run(runtimeBinary("bun"), [
      path.join(REPO_ROOT, "deploy", "bun_compile.ts"),
      ENTRY,
      partial,
      path.join("dist", "console.js"),
    ]);
    fs.renameSync(partial, outfile);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  return outfile;
}

/**
 * Compiles `dist/bin/switchyard-deno` with `deno compile`. Needs dl.deno.land
 * (or `DENORT_BIN` pointing at a denort binary of the same Deno version).
 *
 * @returns the executable's path
 */
export function compileWithDeno(outfile: string = DENO_EXECUTABLE): string {
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  run(runtimeBinary("deno"), ["compile", "-A", "--output", outfile, ENTRY]);
  return outfile;
}
