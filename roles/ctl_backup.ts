/**
 * `ctl export` and `ctl import`: backup and restore of every group and
 * listener as one file, straight from/to ZooKeeper (`--zk`, `--zk-auth` with
 * the admin identity when ACLs are on), see lib/admin/export.ts. Kept apart
 * from roles/ctl.ts, which only dispatches to it.
 *
 * @module
 */
import fs from "node:fs";
import { describeStep, exportCluster, importCluster } from "../lib/admin/export.ts";
import type { FlagSpec, FlagValues } from "../lib/cli/flags.ts";
import { zkConnectOptions } from "../lib/cli/zk.ts";
import { env, writeErr, writeOut } from "../lib/runtime/process.ts";
import { writerOnlyAcl } from "../lib/store/acl.ts";
import { connectStore } from "../lib/store/mod.ts";

/** The flags only these two commands take (the `--zk*` flags are ctl's own). */
export const BACKUP_FLAGS: readonly FlagSpec[] = [
  { name: "dry-run", type: "boolean", help: "import: validate and print the plan, write nothing" },
];

/** Their lines in ctl's usage. */
export const BACKUP_USAGE =
  `  export [FILE|-] --zk HOSTS            every group and listener's routes as one JSON file
                                       (never the TLS certificates: they hold private keys)
  import FILE|- --zk HOSTS [--dry-run]  validate the whole file, then create or replace what
                                       differs (conditioned on versions; deletes nothing)`;

/** A mistake the user can fix; ctl prints it and exits 1. */
export class BackupError extends Error {}

/**
 * Runs `export` or `import`.
 *
 * @param positional the arguments after the command
 */
export async function runBackup(
  command: "export" | "import",
  positional: readonly string[],
  flags: FlagValues,
): Promise<void> {
  const options = zkConnectOptions(flags, env);
  if (command === "import" && positional[0] === undefined) {
    throw new BackupError("import needs FILE|- (a file written by ctl export)");
  }
  let input: unknown;
  if (command === "import") {
    const file = positional[0]!;
    const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
    try {
      input = JSON.parse(text);
    } catch (e) {
      throw new BackupError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  }
  const store = await connectStore(options);
  try {
    if (command === "export") {
      const { document, warnings } = await exportCluster(store, new Date());
      for (const w of warnings) writeErr(`ctl: warning: stored data is invalid: ${w}`);
      const text = JSON.stringify(document, null, 2) + "\n";
      const file = positional[0];
      if (file === undefined || file === "-") writeOut(text.trimEnd());
      else {
        fs.writeFileSync(file, text);
        writeErr(
          `exported ${Object.keys(document.groups).length} groups and ` +
            `${Object.keys(document.listeners).length} listeners to ${file}`,
        );
      }
      return;
    }
    const dryRun = flags["dry-run"] === true;
    const user = options.digest ? String(options.digest).split(":")[0] : "ctl";
    const r = await importCluster(store, input, {
      by: `${user} (ctl import)`,
      dryRun,
      historyLimit: 50,
      acl: options.digest ? writerOnlyAcl(options.digest) : null,
    });
    if (!r.ok) {
      throw new BackupError(
        `import refused, nothing written:\n${r.problems.map((p) => `  ${p}`).join("\n")}`,
      );
    }
    const lines = r.steps.map(describeStep);
    writeOut(
      [...lines, dryRun ? "dry run: nothing written" : `imported (${lines.length} items)`].join(
        "\n",
      ),
    );
  } finally {
    await store.close();
  }
}
