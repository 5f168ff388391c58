/**
 * Multi-process mode: `--workers N` runs N proxy processes that all listen on
 * the same port with `SO_REUSEPORT` (the kernel spreads new connections over
 * them), each with its own event loop, config watch and health checks.
 *
 * The process started by the user becomes a small supervisor: it starts the
 * workers (the same runtime, script and flags, minus `--workers`), forwards
 * SIGTERM/SIGINT to them, restarts a worker that dies on its own, and exits
 * once they have all drained: 0 when every worker exited 0. Worker `i`
 * serves its admin endpoints on the admin port + `i` (port 0 stays 0), so
 * each one's `/metrics` can be scraped. A worker whose supervisor disappears
 * (even by SIGKILL) notices its stdin closing and shuts down gracefully.
 *
 * `node:net`'s `listen({ reusePort: true })` works under Deno 2.9 and Bun 1.4
 * on Linux; nothing runtime-specific is needed.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import type { FlagSpec, FlagValues } from "../cli/flags.ts";
import { parseListen } from "../cli/flags.ts";
import type { Logger } from "../log.ts";
import { runtimeName } from "../runtime/serve.ts";
import { selfArgs } from "../runtime/self_command.ts";

/** The `--workers` flag, for the proxy role's flag list. */
export const WORKERS_FLAG: FlagSpec = {
  name: "workers",
  type: "number",
  value: "N",
  help: "run N proxy processes on the listen port (SO_REUSEPORT); worker i's admin port is " +
    "--admin-listen's port + i",
  default: 1,
};

/** Environment variable that marks a worker process (its index). */
export const WORKER_ENV = "SWITCHYARD_WORKER";

/** Most workers one supervisor starts. */
export const MAX_WORKERS = 256;

/** A worker exiting with an error code this soon after its start is a start-up failure: give up. */
const STARTUP_FAILURE_MS = 5_000;
/** Delay before a crashed worker is started again. */
const RESTART_DELAY_MS = 1_000;

/** This process's worker index when a supervisor started it, else null. */
export function workerIndex(): number | null {
  const v = process.env[WORKER_ENV];
  if (v === undefined || !/^\d+$/.test(v)) return null;
  return Number(v);
}

/** True in a worker process (its proxy listener must set `reusePort`). */
export function inWorkerProcess(): boolean {
  return workerIndex() !== null;
}

/**
 * The command line of worker `index`: this process's runtime, script and
 * flags, without `--workers`, with the admin port moved by `index` and the
 * `--id` (when given) suffixed with `-w<index>`.
 *
 * @example
 * ```ts
 * import { workerArgs } from "./workers.ts";
 * const a = workerArgs(["roles/proxy.ts", "--workers", "2", "--admin-listen", "127.0.0.1:9090"],
 *   1, "127.0.0.1:9090");
 * console.log(a.join(" ")); // roles/proxy.ts --admin-listen 127.0.0.1:9091
 * ```
 */
export function workerArgs(
  argv: readonly string[],
  index: number,
  adminListen: string,
): string[] {
  const out: string[] = [];
  let id: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const takesNext = (name: string) => a === `--${name}` && i + 1 < argv.length;
    if (a.startsWith("--workers=") || a.startsWith("--admin-listen=")) continue;
    if (takesNext("workers") || takesNext("admin-listen")) {
      i++;
      continue;
    }
    if (a.startsWith("--id=")) {
      id = a.slice(5);
      continue;
    }
    if (takesNext("id")) {
      id = argv[++i]!;
      continue;
    }
    out.push(a);
  }
  const admin = parseListen("admin-listen", adminListen);
  const port = admin.port === 0 ? 0 : admin.port + index;
  const host = admin.host.includes(":") ? `[${admin.host}]` : admin.host;
  out.push("--admin-listen", `${host}:${port}`);
  if (id !== null) out.push("--id", `${id}-w${index}`);
  return out;
}

/**
 * In a worker: exits gracefully (as on SIGTERM) when the supervisor goes
 * away, which closes the worker's stdin.
 */
let watching = false;

function watchSupervisor(log: Logger): void {
  if (watching) return;
  watching = true;
  const stdin = process.stdin;
  const gone = () => {
    log.warn("supervisor gone; shutting down");
    process.kill(process.pid, "SIGTERM");
  };
  stdin.on("end", gone);
  stdin.on("error", gone);
  stdin.resume();
}

/**
 * Call first thing in the proxy role with its parsed flags. Returns false
 * when this process should serve (one worker, or this is a worker); runs as
 * the supervisor otherwise and never returns (it exits when the workers are
 * done). Exits with status 2 on a bad `--workers` value or a `--listen`
 * port of 0 with more than one worker.
 *
 * @example
 * ```ts ignore
 * const flags = parseRoleFlags("proxy", SUMMARY, argv, PROXY_FLAGS);
 * if (await superviseWorkers(flags, log)) return;
 * ```
 */
export function superviseWorkers(flags: FlagValues, log: Logger): Promise<boolean> {
  const n = Number(flags.workers ?? 1);
  if (inWorkerProcess()) {
    watchSupervisor(log);
    return Promise.resolve(false);
  }
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    return usage(`--workers must be an integer from 1 to ${MAX_WORKERS}, not ${flags.workers}`);
  }
  if (n === 1) return Promise.resolve(false);
  let listenPort: number;
  try {
    listenPort = parseListen("listen", String(flags.listen)).port;
    parseListen("admin-listen", String(flags["admin-listen"]));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (listenPort === 0) return usage("--workers > 1 needs a fixed --listen port (not 0)");
  const supervisor = new Supervisor(n, String(flags["admin-listen"]), log);
  supervisor.start();
  return new Promise<boolean>(() => {}); // the supervisor exits the process
}

function usage(message: string): Promise<boolean> {
  process.stderr.write(`proxy: ${message}\n`);
  process.exit(2);
}

/** Starts, watches and stops the worker processes. */
class Supervisor {
  readonly #workers: (ChildProcess | null)[];
  readonly #startedAt: number[];
  readonly #codes: (number | null)[];
  #stopping = false;
  #failed = false;
  readonly #command: string;

  constructor(
    readonly count: number,
    readonly adminListen: string,
    readonly log: Logger,
  ) {
    this.#workers = new Array(count).fill(null);
    this.#startedAt = new Array(count).fill(0);
    this.#codes = new Array(count).fill(null);
    this.#command = process.execPath;
  }

  start(): void {
    for (let i = 0; i < this.count; i++) this.#spawn(i);
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        this.log.info("stopping workers", { signal, workers: this.count });
        this.#stopping = true;
      }
      // every signal is forwarded: a worker takes one that comes within a moment of its first
      // for a copy of it (the group's and a wrapper's, see shutdown_signals.ts) and keeps
      // draining, and stops at once on a later one
      this.#signalAll(signal);
      this.#maybeExit();
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    this.log.info("supervising workers", {
      workers: this.count,
      pids: this.#workers.map((w) => w?.pid),
    });
  }

  #spawn(i: number): void {
    // the same script (or single-file executable) and flags, see self_command.ts
    const args = workerArgs(selfArgs(process.argv, runtimeName()), i, this.adminListen);
    const child = spawn(this.#command, args, {
      // own process group: a terminal's Ctrl-C reaches the supervisor, which forwards it once
      detached: true,
      stdio: ["pipe", "inherit", "inherit"],
      env: { ...process.env, [WORKER_ENV]: String(i) },
    });
    this.#workers[i] = child;
    this.#startedAt[i] = Date.now();
    this.#codes[i] = null;
    child.on(
      "error",
      (e) => this.log.error("worker failed to start", { worker: i, error: String(e) }),
    );
    child.on("exit", (code, signal) => this.#exited(i, child, code, signal));
  }

  #exited(i: number, child: ChildProcess, code: number | null, signal: string | null): void {
    if (this.#workers[i] !== child) return;
    this.#workers[i] = null;
    this.#codes[i] = code ?? 128;
    if (this.#stopping) {
      this.log.info("worker stopped", { worker: i, code, signal });
      this.#maybeExit();
      return;
    }
    // exiting with an error soon after the start (bad config, port taken) would only repeat
    const early = Date.now() - this.#startedAt[i]! < STARTUP_FAILURE_MS;
    if (early && code !== null && code !== 0) {
      this.log.error("worker failed at start-up; stopping", { worker: i, code, signal });
      this.#failed = true;
      this.#stopping = true;
      this.#signalAll("SIGTERM");
      this.#maybeExit();
      return;
    }
    this.log.warn("worker exited; restarting it", { worker: i, code, signal });
    setTimeout(() => {
      if (!this.#stopping) this.#spawn(i);
      else this.#maybeExit();
    }, RESTART_DELAY_MS);
  }

  #signalAll(signal: NodeJS.Signals): void {
    for (const w of this.#workers) {
      if (w?.pid !== undefined) {
        try {
          // by pid: Deno's ChildProcess.kill() would misreport the worker's exit code
          process.kill(w.pid, signal);
        } catch {
          // already gone
        }
      }
    }
  }

  #maybeExit(): void {
    if (this.#workers.some((w) => w !== null)) return;
    const ok = !this.#failed && this.#codes.every((c) => c === 0);
    this.log.info("all workers stopped", { codes: this.#codes });
    process.exit(ok ? 0 : 1);
  }
}
