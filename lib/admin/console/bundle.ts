/**
 * The console's browser script: `client/main.ts` (with the zod schema and
 * the diff it shares with the server) bundled by esbuild into one file,
 * `dist/console.js`, plus `dist/console.meta.json` listing its inputs so a
 * stale bundle is noticed. Built by `deno task build` and, when missing or
 * stale, by the admin role at start-up, in-process (esbuild's JS API works
 * under Deno and Bun); nobody has to run a build by hand.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import process from "node:process";
import type { Logger } from "../../log.ts";

/** The subset of esbuild's API used here (pass the `esbuild` module). */
export interface EsbuildApi {
  build(options: Record<string, unknown>): Promise<{
    outputFiles?: { path: string; contents: Uint8Array }[];
    metafile?: { inputs: Record<string, unknown> };
  }>;
  stop?(): void | Promise<void>;
}

/** Directory of this module (lib/admin/console in the sources; dist/ inside a role bundle). */
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The browser entry, when the sources are present. */
const ENTRY = path.join(HERE, "client", "main.ts");
/** The repository root, when running from the sources. */
const ROOT = path.resolve(HERE, "..", "..", "..");

/** File names of the bundle and its input list. */
export const BUNDLE_FILE = "console.js";
export const META_FILE = "console.meta.json";

/** The bundle in memory, ready to serve. */
export interface ConsoleBundle {
  readonly js: Uint8Array;
  readonly gzip: Uint8Array;
  readonly etag: string;
  /** `dist` (read from disk) or `built` (built now). */
  readonly origin: "dist" | "built";
}

/**
 * Builds the bundle in memory.
 *
 * @param esbuild the esbuild module
 * @returns the script and its inputs (paths relative to the repository root)
 */
export async function buildConsoleBundle(
  esbuild: EsbuildApi,
): Promise<{ js: Uint8Array; inputs: string[] }> {
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    outfile: path.join(ROOT, "dist", BUNDLE_FILE),
    format: "esm",
    platform: "browser",
    target: ["chrome115", "firefox115", "safari16"],
    minify: true,
    legalComments: "none",
    charset: "utf8",
    metafile: true,
    logLevel: "warning",
  });
  const out = result.outputFiles?.find((f) => f.path.endsWith(".js"));
  if (!out) throw new Error("esbuild produced no script");
  return { js: out.contents, inputs: Object.keys(result.metafile?.inputs ?? {}).sort() };
}

/** Writes a file atomically (temp file + rename), so a concurrent reader never sees half. */
function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Builds and writes `dist/console.js` and `dist/console.meta.json`: what
 * `deno task build` calls (it stops esbuild itself afterwards).
 *
 * @param esbuild the esbuild module
 * @param outdir usually `<repo>/dist`
 * @returns the files written
 */
export async function writeConsoleBundle(esbuild: EsbuildApi, outdir: string): Promise<string[]> {
  const { js, inputs } = await buildConsoleBundle(esbuild);
  fs.mkdirSync(outdir, { recursive: true });
  const jsFile = path.join(outdir, BUNDLE_FILE);
  const metaFile = path.join(outdir, META_FILE);
  writeAtomic(jsFile, js);
  writeAtomic(metaFile, JSON.stringify({ inputs }, null, 2) + "\n");
  return [jsFile, metaFile];
}

const mtime = (file: string): number | null => {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
};

/**
 * Whether `<outdir>/console.js` is missing or older than any of its inputs.
 * Inputs that are absent (a deployment without sources) do not make it stale.
 */
export function consoleBundleStale(outdir: string): boolean {
  const built = mtime(path.join(outdir, BUNDLE_FILE));
  if (built === null) return true;
  if (!fs.existsSync(ENTRY)) return false;
  let inputs: unknown;
  try {
    inputs = JSON.parse(fs.readFileSync(path.join(outdir, META_FILE), "utf8")).inputs;
  } catch {
    return true;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return true;
  for (const rel of inputs) {
    if (typeof rel !== "string") return true;
    const m = mtime(path.resolve(ROOT, rel));
    if (m !== null && m > built) return true;
  }
  return false;
}

function ready(js: Uint8Array, origin: ConsoleBundle["origin"]): ConsoleBundle {
  const etag = `"${createHash("sha256").update(js).digest("base64url").slice(0, 22)}"`;
  return { js, gzip: gzipSync(js), etag, origin };
}

/**
 * The bundle to serve: `dist/console.js` when it is fresh, else built now
 * (and written back to `dist/` for the next start, best effort). Inside a
 * role bundle (no sources), the `console.js` next to it.
 *
 * @param log where to say what happened
 * @param importEsbuild loads esbuild (a test may pass a stub)
 */
export async function loadConsoleBundle(
  log: Logger,
  importEsbuild: () => Promise<EsbuildApi> = defaultImportEsbuild,
): Promise<ConsoleBundle> {
  if (!fs.existsSync(ENTRY)) {
    // running from a role bundle: the console bundle sits beside it
    // (inside a single-file executable, the embedded asset `dist/console.js` beside it)
    for (const dir of [HERE, path.join(HERE, "dist"), path.join(ROOT, "dist")]) {
      const file = path.join(dir, BUNDLE_FILE);
      if (fs.existsSync(file)) return ready(fs.readFileSync(file), "dist");
    }
    throw new Error(`no ${BUNDLE_FILE} beside the role bundle: run \`deno task build\``);
  }
  const outdir = path.join(ROOT, "dist");
  const jsFile = path.join(outdir, BUNDLE_FILE);
  if (!consoleBundleStale(outdir)) return ready(fs.readFileSync(jsFile), "dist");
  let esbuild: EsbuildApi;
  try {
    esbuild = await importEsbuild();
  } catch (e) {
    if (fs.existsSync(jsFile)) {
      log.warn("console bundle may be stale and esbuild is unavailable; serving it anyway", {
        file: jsFile,
        error: String(e),
      });
      return ready(fs.readFileSync(jsFile), "dist");
    }
    throw new Error(`cannot build the console (esbuild unavailable: ${(e as Error).message})`);
  }
  const started = Date.now();
  try {
    const { js, inputs } = await buildConsoleBundle(esbuild);
    try {
      fs.mkdirSync(outdir, { recursive: true });
      writeAtomic(jsFile, js);
      writeAtomic(
        path.join(outdir, META_FILE),
        JSON.stringify({ inputs }, null, 2) + "\n",
      );
    } catch (e) {
      log.warn("cannot write the console bundle to dist/ (serving it from memory)", {
        error: String(e),
      });
    }
    log.info("console bundle built", { ms: Date.now() - started, bytes: js.length });
    return ready(js, "built");
  } finally {
    await esbuild.stop?.();
  }
}

/** esbuild, loaded only when a build is needed (the specifier is hidden from role bundlers). */
async function defaultImportEsbuild(): Promise<EsbuildApi> {
  const specifier = ["es", "build"].join("");
  return await import(specifier) as EsbuildApi;
}
