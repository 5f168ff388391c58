/**
 * Test support: start roles as real processes under Deno or Bun, wait for
 * them, stop them, and keep their logs for failure messages.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import {
  REPO_ROOT,
  roleCommand,
  type Runtime,
  runtimeBinary,
} from "../../lib/runtime/role_command.ts";

/** Both runtimes, for tests that run under each. */
export const RUNTIMES: readonly Runtime[] = ["deno", "bun"];

/** Ports {@link freePort} has handed out in this process. */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 (bind to 0, read, release), never one this process was given
 * before: the kernel may offer a just-released port again, and two callers asking in a row
 * (a listen port and an admin port, two backends) must not get the same one.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const port = await ephemeralPort();
    if (!handedOut.has(port) || attempt >= 50) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * A free port whose `port + offset` is free too, for a process that listens on both (a proxy and
 * its admin listener at a fixed offset): `freePort` alone says nothing of the second one, which an
 * earlier test's process or an outgoing connection's local port may hold.
 */
export async function freePortPair(offset: number): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const port = await freePort();
    if (await bindable(port + offset) || attempt >= 50) {
      handedOut.add(port + offset);
      return port;
    }
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns true, or throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      lastError = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ""}`,
  );
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A role running as a child process. */
export class RoleProcess {
  readonly exited: Promise<number | null>;
  #log = "";

  /**
   * @param processGroup the child leads a process group of its own (started
   *   with `processGroup: true`): {@link signalGroup} reaches it and everything
   *   it started, and {@link stop} kills whatever is left in the group once the child exits (a
   *   role whose wrapper was killed first).
   */
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly processGroup = false,
  ) {
    child.stdout?.on("data", (d: Uint8Array) => (this.#log += new TextDecoder().decode(d)));
    child.stderr?.on("data", (d: Uint8Array) => (this.#log += new TextDecoder().decode(d)));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  /** Everything the process printed so far. */
  get log(): string {
    return this.#log;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Sends a signal without waiting (SIGSTOP/SIGCONT to freeze and thaw the
   * process). Uses `process.kill`: Deno's `ChildProcess.kill` refuses SIGCONT
   * on a stopped child.
   */
  signal(signal: NodeJS.Signals): void {
    if (this.child.pid !== undefined) process.kill(this.child.pid, signal);
  }

  /**
   * Sends a signal to the child's whole process group, as a terminal's Ctrl-C
   * or systemd's `KillMode=control-group` does (needs `processGroup: true`).
   */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.processGroup) throw new Error(`${this.name} does not lead a process group`);
    if (this.child.pid !== undefined) process.kill(-this.child.pid, signal);
  }

  /** Sends a signal and waits for exit (SIGKILL after `graceMs`). Returns the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.signal(signal);
    // process.kill: Deno's ChildProcess.kill ignores a second signal to a signalled child
    const timer = setTimeout(() => {
      if (this.running) this.signal("SIGKILL");
    }, graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    // whatever a group leader killed before its child left behind (a wrapper's role)
    this.#killGroup();
    return code;
  }

  #killGroup(): void {
    if (!this.processGroup || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // the group is empty
    }
  }
}

/** Options of {@link startRole}. */
export interface StartOptions {
  /** Resolves once the role is ready (e.g. an HTTP endpoint answers). */
  readonly ready?: () => Promise<boolean>;
  readonly timeoutMs?: number;
  /** Run this script instead of `roles/<role>.ts` (e.g. a bundle in dist/). */
  readonly script?: string;
  readonly env?: Record<string, string>;
  /**
   * Start the role the way the README tells users to: through the package
   * script (`deno task run:<role> ...`, `bun run roles <role> ...`), so a
   * wrapper process sits between the test and the role.
   */
  readonly viaPackageScript?: boolean;
  /** Make the child the leader of a new process group (`setsid`), see {@link RoleProcess.signalGroup}. */
  readonly processGroup?: boolean;
}

/**
 * The command line of a role started through its package script, from the
 * repository root: `deno task run:<role> FLAGS` or `bun run roles <role> FLAGS`.
 */
export function packageScriptCommand(
  runtime: Runtime,
  role: string,
  flags: readonly string[],
): { command: string; args: string[] } {
  const args = runtime === "deno"
    ? ["task", `run:${role}`, ...flags]
    : ["run", "roles", role, ...flags];
  return { command: runtimeBinary(runtime), args };
}

/** The process group of a running process, from /proc (Linux). */
export function processGroupOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[2]);
}

/** Starts `roles/<role>.ts` under `runtime` and waits until `ready`. */
export async function startRole(
  runtime: Runtime,
  role: string,
  flags: readonly string[],
  options: StartOptions = {},
): Promise<RoleProcess> {
  const { command, args } = options.viaPackageScript
    ? packageScriptCommand(runtime, role, flags)
    : roleCommand(runtime, role, flags, options.script);
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
    // the package scripts name paths relative to the repository root
    cwd: options.viaPackageScript ? REPO_ROOT : undefined,
    detached: options.processGroup ?? false,
  });
  const proc = new RoleProcess(`${role}@${runtime}`, child, options.processGroup ?? false);
  if (options.ready) {
    try {
      await waitUntil(`${proc.name} to be ready`, async () => {
        if (!proc.running) throw new Error(`exited early with ${child.exitCode}:\n${proc.log}`);
        return await options.ready!();
      }, options.timeoutMs ?? 30_000);
    } catch (e) {
      await proc.stop("SIGKILL");
      throw new Error(`${(e as Error).message}\n--- ${proc.name} log ---\n${proc.log}`);
    }
  }
  return proc;
}

/** True when an HTTP GET of `url` answers with a 2xx. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

/** A started sample backend. */
export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly process: RoleProcess;
}

/** Starts `n` sample backends (roles/backend.ts) named b1..bn. */
export async function startBackends(n: number, runtime: Runtime = "bun"): Promise<Backend[]> {
  const out: Backend[] = [];
  for (let i = 1; i <= n; i++) {
    const port = await freePort();
    const name = `b${i}`;
    const p = await startRole(
      runtime,
      "backend",
      ["--listen", `127.0.0.1:${port}`, "--name", name],
      {
        ready: () => httpOk(`http://127.0.0.1:${port}/health`),
      },
    );
    out.push({ name, port, address: `127.0.0.1:${port}`, process: p });
  }
  return out;
}

/** A fresh temporary directory for one test. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `switchyard-${prefix}-`));
}

/** Stops every process given, ignoring ones already gone. */
export async function stopAll(
  procs: readonly (RoleProcess | { process: RoleProcess })[],
): Promise<void> {
  await Promise.all(procs.map((p) => ("process" in p ? p.process : p).stop()));
}
