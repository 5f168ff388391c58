/**
 * Publishes a proxy's load in its ZooKeeper registration: connections,
 * in-flight requests and CPU, sampled every 5 s and rewritten only when they
 * moved (by a tenth, or every 30 s), so a quiet fleet writes almost nothing.
 * The autoscaler and the console read it.
 *
 * @module
 */
import process from "node:process";

/** What a proxy reports of itself at each sample. */
export interface LoadSample {
  readonly connections: number;
  readonly inflight: number;
}

/** Samples a proxy's load and calls `publish` when it moved. */
export class LoadReporter {
  #last: Record<string, number> = { connections: 0, inflight: 0, cpu_percent: 0 };
  #written = 0;
  #cpu = process.cpuUsage();
  #at = performance.now();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(readonly sample: () => LoadSample, readonly publish: () => void) {
    this.#timer = setInterval(() => this.#sample(), 5000);
  }

  /** The last sample, as published. */
  current(): Record<string, number> {
    return this.#last;
  }

  #sample(): void {
    const now = performance.now();
    const cpu = process.cpuUsage(this.#cpu);
    const busy = (cpu.user + cpu.system) / 1000 / Math.max(1, now - this.#at);
    this.#cpu = process.cpuUsage();
    this.#at = now;
    const s = this.sample();
    const next: Record<string, number> = {
      connections: s.connections,
      inflight: s.inflight,
      cpu_percent: Math.round(busy * 1000) / 10,
    };
    const prev = this.#last;
    const moved = (k: string) => Math.abs(next[k]! - prev[k]!) > Math.max(1, 0.1 * prev[k]!);
    const stale = now - this.#written > 30_000;
    this.#last = next;
    if (stale || moved("connections") || moved("inflight") || moved("cpu_percent")) {
      this.#written = now;
      this.publish();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
