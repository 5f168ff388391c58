/**
 * Test support for the proxy's HTTP tests (tests/http/): a proxy process in
 * front of given backend addresses, reading of its metrics and of a
 * process's resident memory.
 *
 * @module
 */
import fs from "node:fs";
import net from "node:net";
import process from "node:process";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import type { RoleProcess } from "./processes.ts";
import { type ProxyUnderTest, startProxy } from "./proxy.ts";

/** Deno.test options for tests that start processes. */
export const E2E = { sanitizeOps: false, sanitizeResources: false } as const;

/** Starts a proxy (no active health checks) for `addresses` with extra group settings. */
export function proxyFor(
  runtime: Runtime,
  addresses: readonly string[],
  extra: Record<string, unknown> = {},
  flags: readonly string[] = [],
): Promise<ProxyUnderTest> {
  return startProxy(runtime, { g: { backend_servers: addresses, ...extra } }, [
    "--no-health-checks",
    "--log-level",
    "error",
    ...flags,
  ]);
}

/**
 * Sends `signal` to a child by pid. (Deno's `ChildProcess.kill()` makes the
 * child's exit look like death by that signal even when it handled the
 * signal and exited 0; `process.kill(pid)` keeps the real exit code.)
 */
export function sendSignal(proc: RoleProcess, signal: NodeJS.Signals = "SIGTERM"): void {
  process.kill(proc.child.pid!, signal);
}

/** The proxy's `/metrics` text. */
export async function metricsText(proxy: ProxyUnderTest): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`, {
    signal: AbortSignal.timeout(10_000),
  });
  return await r.text();
}

/** The value of one sample (exact series text before the value), or null. */
export function sample(text: string, series: string): number | null {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return null;
}

/**
 * The sum of every sample of `name` whose labels include all of `labels`
 * (e.g. all status codes of one cause), or null when there is none.
 */
export function sampleSum(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | null {
  let sum: number | null = null;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    const close = line.indexOf("} ");
    if (close < 0) continue;
    const parts = line.slice(name.length + 1, close).split(",");
    if (wanted.every((w) => parts.includes(w))) sum = (sum ?? 0) + Number(line.slice(close + 2));
  }
  return sum;
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the peak. */
export function watchRss(pid: number, intervalMs = 100): { stop(): number; peak(): number } {
  let peak = 0;
  const take = () => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // the process is gone
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return peak;
    },
    peak: () => peak,
  };
}

/** Mebibytes, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** `n` consecutive free ports on 127.0.0.1 (for worker admin ports); returns the first. */
export async function freePortRange(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await canBind(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}
