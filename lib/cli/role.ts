/**
 * What every role entry module shares: flag parsing with `--help`, a logger
 * from `--log-level`, and turning usage errors into a clear message and exit
 * status 2 (config errors exit 1).
 *
 * @module
 */
import { createLogger, type Logger, parseLogLevel } from "../log.ts";
import { ListenError } from "../runtime/listen.ts";
import { exit, writeErr, writeOut } from "../runtime/process.ts";
import { FlagError, type FlagSpec, type FlagValues, formatFlags, parseFlags } from "./flags.ts";

/** A role: its name, what it does, its flags and its entry point. */
export interface RoleDefinition {
  readonly name: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  main(argv: readonly string[]): Promise<void>;
}

/** Flags every role takes. */
export const COMMON_FLAGS: readonly FlagSpec[] = [
  { name: "id", type: "string", value: "NAME", help: "instance name (default: role-host-pid)" },
  {
    name: "log-level",
    type: "string",
    value: "LEVEL",
    help: "debug, info, warn or error",
    default: "info",
  },
];

/**
 * Flags of every role that talks to ZooKeeper, with the role's default session timeout: the
 * session timeout is how long the cluster takes to notice that a process died, so a role whose
 * failover matters more than riding out long pauses (the orchestrator) picks a shorter one.
 */
export function zkFlags(sessionTimeoutSeconds = 10): readonly FlagSpec[] {
  return [
    {
      name: "zk",
      type: "string",
      value: "HOST:PORT[,HOST:PORT...][/CHROOT]",
      help: 'ZooKeeper ensemble ("memory" = in-process store, for tests and demos)',
    },
    {
      name: "zk-auth",
      type: "string",
      value: "USER:PASSWORD",
      help: "ZooKeeper digest credentials (or env SWITCHYARD_ZK_AUTH, or --zk-auth-file)",
    },
    {
      name: "zk-auth-file",
      type: "string",
      value: "FILE",
      help: "file holding USER:PASSWORD for ZooKeeper",
    },
    {
      name: "zk-session-timeout",
      type: "number",
      value: "SECONDS",
      help: "ZooKeeper session timeout",
      default: sessionTimeoutSeconds,
    },
  ];
}

/** Flags of every role that talks to ZooKeeper (10 s sessions). */
export const ZK_FLAGS: readonly FlagSpec[] = zkFlags();

/** Parses argv for a role; prints help and exits on `--help`, exits 2 on a usage error. */
export function parseRoleFlags(
  role: string,
  summary: string,
  argv: readonly string[],
  specs: readonly FlagSpec[],
): FlagValues {
  let values: FlagValues;
  try {
    values = parseFlags(argv, specs);
  } catch (e) {
    if (e instanceof FlagError) usageError(role, specs, e.message);
    throw e;
  }
  if (values.help) {
    writeOut(`${role}: ${summary}\n\nFlags:\n${formatFlags(specs)}`);
    exit(0);
  }
  return values;
}

/** Prints a usage error and exits with status 2. */
export function usageError(role: string, specs: readonly FlagSpec[], message: string): never {
  writeErr(`${role}: ${message}\n\nFlags:\n${formatFlags(specs)}`);
  exit(2);
}

/** Reports a start-up failure (`<role>: <message>` on stderr) and exits 1. */
export function fatal(role: string, message: string): never {
  writeErr(`${role}: ${message}`);
  exit(1);
}

/**
 * Opens a role's listener(s), or exits 1 at once with `<role>: listen
 * <host:port>: <reason>` on stderr (e.g. `proxy: listen 127.0.0.1:8080:
 * address already in use`): a process that cannot take its port must say
 * which one and why, and must not linger half-started.
 *
 * @example
 * ```ts ignore
 * const admin = await listenOrExit("dns", () =>
 *   serve(app.fetch, { hostname: "127.0.0.1", port: 9390 }));
 * ```
 */
export async function listenOrExit<T>(role: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    fatal(role, e instanceof ListenError ? e.message : `cannot listen: ${String(e)}`);
  }
}

/** A JSON-lines logger on stderr at the flag's level. */
export function roleLogger(role: string, id: string, level: string): Logger {
  const parsed = parseLogLevel(level);
  if (!parsed) {
    writeErr(`${role}: --log-level must be debug, info, warn or error`);
    exit(2);
  }
  return createLogger({ level: parsed, write: writeErr, now: Date.now, fields: { role, id } });
}
