/**
 * The embedded active health checker: probes every target (one per backend of
 * the group's current config) at its interval (with jitter) and feeds the
 * results into a {@link HealthSink} (the group state, which flips backends
 * through the shared pure state machine). Used by the proxy when no
 * orchestrator is present.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { nextProbeAt } from "./state_machine.ts";
import type { ProbeResult, ProbeTarget } from "./probe.ts";
import type { HealthTarget } from "./targets.ts";

export type { HealthTarget } from "./targets.ts";

/**
 * Where probe results go. `GroupState` is one: it folds them through the
 * health state machine.
 */
export interface HealthSink {
  /** Folds one probe result in; returns true when the backend flipped. */
  observeProbe(address: string, ok: boolean, error: string | null): boolean;
}

/** The timer functions the checker schedules probes with (injectable for tests). */
export interface CheckerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const GLOBAL_TIMERS: CheckerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Spread of probe times around the interval (±10%). */
const JITTER = 0.1;

interface Target {
  readonly address: string;
  key: string;
  probe: ProbeTarget;
  intervalMs: number;
  timer: unknown;
  running: boolean;
}

/** Options of a {@link HealthChecker}. */
export interface HealthCheckerOptions {
  readonly sink: HealthSink;
  readonly probe: (target: ProbeTarget) => Promise<ProbeResult>;
  readonly log: Logger;
  readonly random: () => number;
  /** Monotonic ms. */
  readonly now: () => number;
  /** Default: the global `setTimeout`/`clearTimeout`. */
  readonly timers?: CheckerTimers;
}

/**
 * Keeps one probe loop per target in sync with the group's config.
 *
 * @example
 * ```ts
 * import { HealthChecker } from "./checker.ts";
 * import { silentLogger } from "../log.ts";
 * const seen: string[] = [];
 * const checker = new HealthChecker({
 *   sink: { observeProbe: (address, ok) => (seen.push(`${address} ${ok}`), false) },
 *   probe: () => Promise.resolve({ ok: true, error: null, status: 200 }),
 *   log: silentLogger, random: () => 0, now: () => performance.now(),
 * });
 * checker.sync([{ address: "10.0.0.1:80", intervalMs: 10_000, probe: {
 *   host: "10.0.0.1", port: 80, type: "tcp", path: "/", expectedStatus: 200, timeoutMs: 1000 } }]);
 * await new Promise((r) => setTimeout(r, 20));
 * checker.stop();
 * console.log(seen); // ["10.0.0.1:80 true"]
 * ```
 */
export class HealthChecker {
  readonly #targets = new Map<string, Target>();
  readonly #o: HealthCheckerOptions;
  readonly #timers: CheckerTimers;
  #stopped = false;

  constructor(options: HealthCheckerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? GLOBAL_TIMERS;
  }

  /**
   * Reconciles probe loops with the targets (see `healthTargets()`): new ones
   * start, removed ones stop, changed settings reschedule soon, unchanged ones
   * keep their schedule.
   */
  sync(targets: readonly HealthTarget[]): void {
    if (this.#stopped) return;
    const seen = new Set<string>();
    for (const { address, probe, intervalMs } of targets) {
      seen.add(address);
      const key = JSON.stringify([probe, intervalMs]);
      const existing = this.#targets.get(address);
      if (existing) {
        if (existing.key !== key) {
          existing.key = key;
          existing.probe = probe;
          existing.intervalMs = intervalMs;
          this.#schedule(existing, this.#o.random() * Math.min(intervalMs, 1000));
        }
        continue;
      }
      const t: Target = { address, key, probe, intervalMs, timer: null, running: false };
      this.#targets.set(address, t);
      // first probe soon, spread so a large group does not probe all at once
      this.#schedule(t, this.#o.random() * Math.min(intervalMs, 1000));
    }
    for (const [address, t] of this.#targets) {
      if (!seen.has(address)) {
        if (t.timer !== null) this.#timers.clearTimeout(t.timer);
        this.#targets.delete(address);
      }
    }
  }

  #schedule(t: Target, delayMs: number): void {
    if (t.timer !== null) this.#timers.clearTimeout(t.timer);
    t.timer = this.#timers.setTimeout(() => this.#run(t), Math.max(0, delayMs));
  }

  async #run(t: Target): Promise<void> {
    t.timer = null;
    if (this.#stopped || this.#targets.get(t.address) !== t || t.running) return;
    t.running = true;
    const started = this.#o.now();
    let result: ProbeResult;
    try {
      result = await this.#o.probe(t.probe);
    } catch (e) {
      result = { ok: false, error: String(e), status: null };
    }
    t.running = false;
    if (this.#stopped || this.#targets.get(t.address) !== t) return;
    const flipped = this.#o.sink.observeProbe(t.address, result.ok, result.error);
    if (flipped) {
      this.#o.log.info(result.ok ? "backend healthy" : "backend unhealthy", {
        backend: t.address,
        error: result.error,
      });
    }
    const next = nextProbeAt(started, t.intervalMs, JITTER, this.#o.random) - this.#o.now();
    this.#schedule(t, next);
  }

  /** Stops every probe loop. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#targets.values()) {
      if (t.timer !== null) this.#timers.clearTimeout(t.timer);
    }
    this.#targets.clear();
  }
}
