/**
 * Process-level edges shared by every role: argv, exit, shutdown signals and
 * the process's own CPU/memory figures. Built on `node:process`, which Deno
 * and Bun both provide.
 *
 * @module
 */
import process from "node:process";
import { Counter, Gauge, type Registry } from "../metrics/registry.ts";
import { ShutdownSignals } from "./shutdown_signals.ts";

/** Command-line arguments after the script name. */
export function args(): string[] {
  return process.argv.slice(2);
}

/** Exits with `code` after flushing stdio. */
export function exit(code: number): never {
  process.exit(code);
}

/** Writes a line to stderr. */
export function writeErr(line: string): void {
  process.stderr.write(line + "\n");
}

/** Writes a line to stdout. */
export function writeOut(line: string): void {
  process.stdout.write(line + "\n");
}

/** Process environment variable, or undefined. */
export function env(name: string): string | undefined {
  return process.env[name];
}

/**
 * Runs `stop` once on the first SIGTERM or SIGINT and exits 0 when it is done
 * (1 if it throws). Copies of that first signal arriving within
 * `SIGNAL_COPY_WINDOW_MS` are ignored: when a whole process group is signalled
 * (Ctrl-C, systemd), a wrapper such as `deno task` or `bun run` forwards the
 * same signal to this process a moment later, and that must not cut the drain
 * short. A signal after the window exits at once with status 1 (an operator
 * who presses Ctrl-C again means it). See `shutdown_signals.ts`.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<void> | void): void {
  const signals = new ShutdownSignals();
  const handler = (signal: string) => {
    const action = signals.receive(performance.now());
    if (action === "copy") return;
    if (action === "force") {
      writeErr(`${signal} again while stopping: exiting at once`);
      process.exit(1);
    }
    Promise.resolve(stop(signal)).then(
      () => process.exit(0),
      (e) => {
        writeErr(`shutdown failed: ${e}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
}

/**
 * Adds the standard process metrics (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_start_time_seconds`) to a registry.
 */
export function addProcessMetrics(registry: Registry, startedAtMs: number): void {
  const cpu = new Counter("process_cpu_seconds_total", "User and system CPU time spent (seconds).");
  const cpuChild = cpu.labels();
  registry.add({
    name: cpu.name,
    render(out) {
      const u = process.cpuUsage();
      cpuChild.value = (u.user + u.system) / 1e6;
      cpu.render(out);
    },
  });
  registry.add(
    new Gauge(
      "process_resident_memory_bytes",
      "Resident memory size (bytes).",
      [],
      (g) => g.labels().set(process.memoryUsage().rss),
    ),
  );
  registry.add(
    new Gauge(
      "process_start_time_seconds",
      "Start time of the process since the Unix epoch (seconds).",
      [],
      (g) => g.labels().set(startedAtMs / 1000),
    ),
  );
}
