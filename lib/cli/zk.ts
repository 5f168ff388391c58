/**
 * Turns the shared `--zk*` flags into store connect options, so every role
 * reads credentials the same way: `--zk-auth`, else `--zk-auth-file`, else
 * the `SWITCHYARD_ZK_AUTH` environment variable.
 *
 * @module
 */
import fs from "node:fs";
import type { Logger } from "../log.ts";
import { connectStore } from "../store/mod.ts";
import type { ConnectOptions, CoordinationStore } from "../store/types.ts";
import type { FlagValues } from "./flags.ts";
import { FlagError } from "./flags.ts";

/** Connect options from parsed flags; throws {@link FlagError} on a usage mistake. */
export function zkConnectOptions(
  flags: FlagValues,
  env: (name: string) => string | undefined,
): ConnectOptions {
  const connectionString = flags.zk;
  if (typeof connectionString !== "string" || connectionString === "") {
    throw new FlagError("--zk is required");
  }
  let digest: string | undefined;
  if (typeof flags["zk-auth"] === "string") digest = flags["zk-auth"];
  else if (typeof flags["zk-auth-file"] === "string") {
    try {
      digest = fs.readFileSync(flags["zk-auth-file"], "utf8").trim();
    } catch (e) {
      throw new FlagError(`--zk-auth-file: ${(e as Error).message}`);
    }
  } else digest = env("SWITCHYARD_ZK_AUTH");
  if (digest !== undefined && !/^[^:]+:.+$/.test(digest)) {
    throw new FlagError("ZooKeeper credentials must be USER:PASSWORD");
  }
  const timeout = Number(flags["zk-session-timeout"] ?? 10);
  if (!(timeout >= 1 && timeout <= 600)) {
    throw new FlagError("--zk-session-timeout must be 1-600 seconds");
  }
  return {
    connectionString,
    sessionTimeoutMs: timeout * 1000,
    ...(digest !== undefined ? { digest } : {}),
  };
}

/**
 * Connects to ZooKeeper, retrying with backoff (0.5 s doubling to 5 s) until
 * it answers or `stopped()` says to give up (then null). A proxy serves its
 * last good config meanwhile; each failure is logged with `context`.
 */
export async function connectWithBackoff(
  connect: ConnectOptions,
  log: Logger,
  stopped: () => boolean,
  context: Record<string, unknown> = {},
): Promise<CoordinationStore | null> {
  for (let attempt = 0; !stopped(); attempt++) {
    try {
      return await connectStore({ ...connect, connectTimeoutMs: 5000 });
    } catch (e) {
      log.warn("cannot reach ZooKeeper; serving the last good config", {
        error: String(e),
        ...context,
      });
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
  return null;
}
