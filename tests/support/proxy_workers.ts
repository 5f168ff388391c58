/**
 * Test support: the proxy role with `--workers` (until `roles/proxy.ts` has
 * the flag). Takes the proxy's flags plus `--workers N`, supervises N
 * workers via `lib/proxy/workers.ts`, and runs the proxy role in each.
 *
 * @module
 */
import { parseFlags } from "../../lib/cli/flags.ts";
import { roleLogger } from "../../lib/cli/role.ts";
import { superviseWorkers, WORKERS_FLAG } from "../../lib/proxy/workers.ts";
import { args } from "../../lib/runtime/process.ts";
import { main, PROXY_FLAGS } from "../../roles/proxy.ts";

const argv = args();
const flags = parseFlags(argv, [...PROXY_FLAGS, WORKERS_FLAG]);
const log = roleLogger("proxy", "supervisor", String(flags["log-level"] ?? "info"));
if (!(await superviseWorkers(flags, log))) {
  // a worker (or a single process): the proxy role without --workers
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--workers") i++;
    else if (!argv[i]!.startsWith("--workers=")) rest.push(argv[i]!);
  }
  await main(rest);
}
