/**
 * `deno task build`: bundles every role with esbuild into one file under
 * `dist/` (`dist/proxy.js`, ..., plus `dist/roles.js`, the dispatcher). Each
 * bundle runs under Bun (`bun dist/proxy.js ...`) and Deno
 * (`deno run -A dist/proxy.js ...`) without node_modules. Then the
 * single-file executable `dist/bin/switchyard` (every role as a subcommand),
 * compiled by Bun (see deploy/executable.ts); `--deno-compile` also builds
 * `dist/bin/switchyard-deno`, which needs the network (`deno compile`
 * downloads its runtime), and `--no-executable` skips the executable.
 *
 * @module
 */
import * as esbuild from "esbuild";
import process from "node:process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeConsoleBundle } from "../lib/admin/console/bundle.ts";
import { ROLE_NAMES } from "../roles/registry.ts";
import { compileWithBun, compileWithDeno } from "./executable.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "dist");

/**
 * Bundles one entry to `dist/<name>.js`. Role modules start themselves only
 * when they are the main module; inside a bundle every module shares the
 * bundle's `import.meta`, so that check is compiled out and the bundle's own
 * entry code (`contents`) starts the role.
 */
async function bundle(contents: string, name: string): Promise<string> {
  const outfile = path.join(outdir, `${name}.js`);
  await esbuild.build({
    stdin: { contents, resolveDir: root, sourcefile: `${name}-entry.ts`, loader: "ts" },
    define: { "import.meta.main": "false" },
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    minifySyntax: true,
    sourcemap: "linked",
    legalComments: "none",
    // etcd3 loads its .proto files from its package directory at run time, so it cannot be
    // inlined: the dns bundle imports it from node_modules (installed by `npm ci`).
    external: ["etcd3"],
    logLevel: "warning",
    // CommonJS dependencies call require() for node builtins; give them one in ESM.
    banner: {
      js: 'import { createRequire as __swyCreateRequire } from "node:module";\n' +
        "const require = __swyCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

const built: string[] = [];
for (const role of ROLE_NAMES) {
  const entry = `import { main } from "./roles/${role}.ts";\n` +
    `import { args } from "./lib/runtime/process.ts";\nawait main(args());\n`;
  built.push(await bundle(entry, role));
}
built.push(await bundle('import "./roles/main.ts";\n', "roles"));
// the admin console's browser script (the admin role also rebuilds it when stale)
built.push(...await writeConsoleBundle(esbuild, outdir));
await esbuild.stop();
const argv = process.argv.slice(2);
if (!argv.includes("--no-executable")) built.push(await compileWithBun());
if (argv.includes("--deno-compile")) built.push(compileWithDeno());
for (const f of built) process.stdout.write(`built ${path.relative(root, f)}\n`);
