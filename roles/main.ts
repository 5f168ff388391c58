/**
 * The roles dispatcher: `bun run roles <role> [flags]` (or
 * `deno run -A roles/main.ts <role> [flags]`) runs `roles/<role>.ts`; with no
 * role it lists every role and its flags.
 *
 * @module
 */
import { formatFlags } from "../lib/cli/flags.ts";
import { args, exit, writeErr, writeOut } from "../lib/runtime/process.ts";
import { ROLES } from "./registry.ts";

async function listing(): Promise<string> {
  const parts = [
    "usage: roles <role> [flags]   (bun run roles <role> ..., deno task run:<role> ...)",
    "",
  ];
  for (const load of Object.values(ROLES)) {
    const { role } = await load();
    parts.push(`${role.name}: ${role.summary}`, formatFlags(role.flags), "");
  }
  return parts.join("\n");
}

const [name, ...rest] = args();
if (name === undefined || name === "--help" || name === "-h") {
  writeOut(await listing());
  exit(name === undefined ? 2 : 0);
}
const load = ROLES[name];
if (!load) {
  writeErr(`unknown role "${name}"\n\n${await listing()}`);
  exit(2);
}
const { role } = await load();
await role.main(rest);
