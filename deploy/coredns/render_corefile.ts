/**
 * Renders a Corefile from a JSON `CorefileSpec` (lib/dns/corefile.ts) to stdout.
 *
 *   deno run --allow-read deploy/coredns/render_corefile.ts SPEC.json > Corefile
 *   bun deploy/coredns/render_corefile.ts SPEC.json > Corefile
 *
 * Exits 1 with the list of problems when the spec is invalid.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { CorefileError, renderCorefile } from "../../lib/dns/corefile.ts";
import type { CorefileSpec } from "../../lib/dns/corefile.ts";

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write("usage: render_corefile.ts SPEC.json|-\n");
  process.exit(2);
}
try {
  const text = readFileSync(path === "-" ? 0 : path, "utf8");
  process.stdout.write(renderCorefile(JSON.parse(text) as CorefileSpec));
} catch (err) {
  process.stderr.write(`${err instanceof CorefileError ? err.message : String(err)}\n`);
  process.exit(1);
}
