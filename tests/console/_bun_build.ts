/**
 * Run by `admin_role_test.ts` under Bun: builds the console bundle in-process with esbuild's JS
 * API, as the admin role does at start-up, and prints what it got as one JSON line.
 */
import * as esbuild from "esbuild";
import { buildConsoleBundle } from "../../lib/admin/console/bundle.ts";

const started = Date.now();
try {
  const { js, inputs } = await buildConsoleBundle(esbuild);
  const text = new TextDecoder().decode(js);
  console.log(JSON.stringify({
    runtime: typeof (globalThis as { Bun?: unknown }).Bun === "object" ? "bun" : "other",
    bytes: js.length,
    inputs: inputs.length,
    hasSchema: text.includes("must be an integer from 1 to"),
    hasDiff: inputs.includes("lib/admin/diff.ts"),
    ms: Date.now() - started,
  }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e) }));
} finally {
  await esbuild.stop();
}
