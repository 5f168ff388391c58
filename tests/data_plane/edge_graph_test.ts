/**
 * `createLoadBalancer({ transport: "fetch" })` must load on a runtime without
 * node:net (Deno Deploy, Cloudflare Workers): nothing mod.ts imports
 * statically may import node:net; the socket transport (HTTP/1.1 client,
 * node:net pools, TCP probe) is reached only through a dynamic `import()`,
 * taken when the socket transport is chosen.
 *
 * esbuild bundles mod.ts as an edge bundler would (platform neutral, node
 * builtins and packages external, dynamic imports split into chunks of their
 * own); the metafile says which chunks the entry loads statically and what
 * each imports.
 */
import assert from "node:assert/strict";
import path from "node:path";
import * as esbuild from "esbuild";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";

type Outputs = esbuild.Metafile["outputs"];

/** The node builtins reachable from `start` by static imports only (or by any, with `dynamic`). */
function builtinsFrom(outputs: Outputs, start: string, dynamic: boolean): Set<string> {
  const found = new Set<string>();
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of outputs[file]?.imports ?? []) {
      if (imp.kind !== "import-statement" && !(dynamic && imp.kind === "dynamic-import")) continue;
      if (imp.external) {
        if (imp.path.startsWith("node:")) found.add(imp.path);
      } else todo.push(imp.path);
    }
  }
  return found;
}

Deno.test({
  name:
    "edge module graph: mod.ts loads no node:net statically; the socket transport only dynamically",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    try {
      const result = await esbuild.build({
        entryPoints: [path.join(REPO_ROOT, "mod.ts")],
        absWorkingDir: REPO_ROOT,
        bundle: true,
        splitting: true,
        format: "esm",
        platform: "neutral",
        packages: "external",
        external: ["node:*"],
        outdir: "/edge-graph", // nothing is written
        write: false,
        metafile: true,
        logLevel: "silent",
      });
      const outputs = result.metafile.outputs;
      const entry = Object.keys(outputs).find((f) => outputs[f]!.entryPoint === "mod.ts");
      assert.ok(entry, Object.keys(outputs).join(", "));
      const staticBuiltins = builtinsFrom(outputs, entry, false);
      assert.ok(
        !staticBuiltins.has("node:net"),
        `mod.ts imports node:net statically: ${[...staticBuiltins]}`,
      );
      // positive control: the walk finds node:net where it is, behind the dynamic import
      assert.ok(
        builtinsFrom(outputs, entry, true).has("node:net"),
        "the socket transport (node:net) is reachable through a dynamic import",
      );
    } finally {
      await esbuild.stop();
    }
  },
});
