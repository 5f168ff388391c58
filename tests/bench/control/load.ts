/**
 * How busy the machine was while a control-plane figure was measured: the
 * whole machine's busy cores, and the part of it that was not ours. "Ours" is
 * this process and every descendant (the roles, backends, clients it
 * started), plus the shared infrastructure daemons the parts start through
 * the deploy scripts (ZooKeeper's JVM, etcd, CoreDNS, keepalived), which are
 * not our children. Processes that start and end inside the window are not
 * seen (ours or not); the machine total still counts them.
 *
 * @module
 */
import os from "node:os";
import { coreBusy, type CoreTimes, coreTimes, descendants, ticksPerSecond } from "../procs.ts";
import { processTicks, round } from "../system.ts";

/** Daemons started through the deploy scripts (not our children), counted as ours. */
const INFRA = new Set(["java", "etcd", "coredns", "keepalived"]);

/** The load over one window. */
export interface WindowLoad {
  readonly seconds: number;
  /** Cores busy on the whole machine (every process and the kernel). */
  readonly machine_busy_cores: number;
  /** Cores used by other people's processes (not ours, not the infrastructure daemons). */
  readonly others_cores: number;
  /** The busiest of those: `pid name` and cores. */
  readonly others_top: readonly { readonly process: string; readonly cores: number }[];
  readonly loadavg_end: number;
}

interface Snapshot {
  readonly at: number;
  readonly cores: CoreTimes[];
  readonly procs: Map<number, { ticks: number; name: string }>;
  readonly ours: Set<number>;
}

function snapshot(): Snapshot {
  return {
    at: performance.now(),
    cores: coreTimes(),
    procs: processTicks(),
    ours: new Set([Deno.pid, ...descendants(Deno.pid)]),
  };
}

/** A measurement window: `end()` returns the load since it started. */
export class LoadWindow {
  readonly #start = snapshot();

  end(): WindowLoad {
    const end = snapshot();
    const seconds = Math.max(0.001, (end.at - this.#start.at) / 1000);
    const tps = ticksPerSecond();
    const busy = coreBusy(this.#start.cores, end.cores).reduce((a, b) => a + b, 0);
    let others = 0;
    const top: { process: string; cores: number }[] = [];
    for (const [pid, a] of end.procs) {
      if (end.ours.has(pid) || this.#start.ours.has(pid) || INFRA.has(a.name)) continue;
      const b = this.#start.procs.get(pid);
      if (b === undefined) continue;
      const cores = (a.ticks - b.ticks) / tps / seconds;
      others += cores;
      if (cores >= 0.02) top.push({ process: `${pid} ${a.name}`, cores: round(cores, 2) });
    }
    top.sort((x, y) => y.cores - x.cores);
    return {
      seconds: round(seconds, 2),
      machine_busy_cores: round(busy, 2),
      others_cores: round(others, 2),
      others_top: top.slice(0, 4),
      loadavg_end: round(os.loadavg()[0]!, 2),
    };
  }
}

/** The flag for a window in which others used more than `maxCores`, or none. */
export function busyFlags(load: WindowLoad, maxCores: number): string[] {
  if (load.others_cores <= maxCores) return [];
  const who = load.others_top.map((t) => `${t.process} ${t.cores}`).join(", ");
  return [
    `machine busy: other processes used ${load.others_cores} cores meanwhile` +
    (who ? ` (${who})` : ""),
  ];
}
