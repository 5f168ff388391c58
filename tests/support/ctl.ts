/**
 * Runs the `ctl` role as a child process for control-plane tests.
 *
 * Asynchronous on purpose: a `spawnSync` would block the test's event loop for as long as ctl
 * runs, starving the test's own sockets (ZooKeeper sessions, admin streams) of their pings.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { roleCommand, type Runtime } from "../../lib/runtime/role_command.ts";

/** What a finished ctl run printed, and its exit status (null when killed by the timeout). */
export interface CtlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ctl <args>` under `runtime`, killed after `timeoutMs`. */
export function ctl(runtime: Runtime, args: string[], timeoutMs = 90_000): Promise<CtlResult> {
  const { command, args: argv } = roleCommand(runtime, "ctl", args);
  return new Promise((resolve) => {
    execFile(
      command,
      argv,
      { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ status: code, stdout, stderr });
      },
    );
  });
}
