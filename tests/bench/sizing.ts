/**
 * Sizing figures for docs/operations.md, measured on this machine:
 * `deno run -A tests/bench/sizing.ts [--connections N] [--seconds S]`.
 *
 * For a proxy under Bun and under Deno (`--config`, one Bun sample backend):
 * resident memory idle, then with N idle keep-alive client connections open
 * (each made one request), giving memory per connection; then wrk at 50
 * connections for S seconds, giving requests/s and the proxy's CPU time per
 * 10,000 requests/s (from /proc/<pid>/stat: utime + stime). Prints a table.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import process from "node:process";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { sleep, startBackends, stopAll } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const CONNECTIONS = opt("connections", 2000);
const SECONDS = opt("seconds", 10);
const TICKS = 100; // USER_HZ on Linux

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Opens `n` keep-alive connections, each completing one request; returns them. */
async function openIdle(port: number, n: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.once("data", () => resolve());
      s.write("GET / HTTP/1.1\r\nhost: sizing\r\n\r\n");
    });
    socks.push(s);
  }
  return socks;
}

async function measure(runtime: Runtime, backend: string) {
  const proxy = await startProxy(runtime, {
    g: { backend_servers: [backend], limits: { idle_timeout_seconds: 600 } },
  }, ["--no-health-checks"]);
  const pid = proxy.process.child.pid!;
  try {
    await fetch(proxy.url).then((r) => r.text());
    await sleep(2000);
    const idle = rssMiB(pid);
    const socks = await openIdle(proxy.port, CONNECTIONS);
    await sleep(3000);
    const loaded = rssMiB(pid);
    for (const s of socks) s.destroy();
    await sleep(2000);
    const cpu0 = cpuSeconds(pid);
    const wrk = spawnSync(
      "wrk",
      ["-t1", "-c50", `-d${SECONDS}s`, "--latency", proxy.url + "/"],
      { encoding: "utf8" },
    );
    const cpu = cpuSeconds(pid) - cpu0;
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout)?.[1] ?? NaN);
    const coresPer10k = cpu / SECONDS / (rps / 10_000);
    return {
      runtime,
      idle_mib: idle.toFixed(0),
      with_conns_mib: loaded.toFixed(0),
      kib_per_conn: ((loaded - idle) * 1024 / CONNECTIONS).toFixed(1),
      rps: rps.toFixed(0),
      cores_per_10k_rps: coresPer10k.toFixed(2),
    };
  } finally {
    await proxy.process.stop();
  }
}

const backends = await startBackends(1);
try {
  const rows = [];
  for (const runtime of ["bun", "deno"] as const) {
    rows.push(await measure(runtime, backends[0]!.address));
  }
  const cols = Object.keys(rows[0]!);
  process.stdout.write(`connections: ${CONNECTIONS}, wrk: 50 connections x ${SECONDS} s\n`);
  process.stdout.write(`| ${cols.join(" | ")} |\n|${cols.map(() => " --- |").join("")}\n`);
  for (const r of rows) {
    process.stdout.write(`| ${Object.values(r).join(" | ")} |\n`);
  }
} finally {
  await stopAll(backends);
}
