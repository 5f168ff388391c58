/**
 * The embedded active health checker: probes every backend of the group's
 * current config at `health_check_frequency_seconds` (with jitter) and feeds
 * the results into the group state, which flips backends through the shared
 * pure state machine. Used by the proxy when no orchestrator is present.
 *
 * @module
 */
import type { GroupState } from "../group/group_state.ts";
import type { GroupSnapshot } from "../group/snapshot.ts";
import type { Logger } from "../log.ts";
import { nextProbeAt } from "./state_machine.ts";
import type { ProbeResult, ProbeTarget } from "./probe.ts";

/** Spread of probe times around the interval (±10%). */
const JITTER = 0.1;

interface Target {
  readonly address: string;
  key: string;
  probe: ProbeTarget;
  intervalMs: number;
  timer: ReturnType<typeof setTimeout> | null;
  running: boolean;
}

/** Options of a {@link HealthChecker}. */
export interface HealthCheckerOptions {
  readonly state: GroupState;
  readonly probe: (target: ProbeTarget) => Promise<ProbeResult>;
  readonly log: Logger;
  readonly random: () => number;
  /** Monotonic ms. */
  readonly now: () => number;
}

/**
 * Keeps one probe loop per backend in sync with the group's snapshots.
 *
 * @example
 * ```ts ignore
 * const checker = new HealthChecker({ state, probe, log, random: Math.random, now: () => performance.now() });
 * checker.sync(state.snapshot!);
 * ```
 */
export class HealthChecker {
  readonly #targets = new Map<string, Target>();
  readonly #o: HealthCheckerOptions;
  #stopped = false;

  constructor(options: HealthCheckerOptions) {
    this.#o = options;
  }

  /** Reconciles probe loops with a snapshot's backends and health settings. */
  sync(snap: GroupSnapshot): void {
    if (this.#stopped) return;
    const c = snap.config;
    const seen = new Set<string>();
    for (const b of snap.backends) {
      seen.add(b.address);
      const probe: ProbeTarget = {
        host: b.host,
        port: b.port,
        type: c.health_check_type,
        path: c.health_endpoint,
        expectedStatus: c.health_endpoint_expected_code,
        timeoutMs: c.health_check_timeout_seconds * 1000,
      };
      const intervalMs = c.health_check_frequency_seconds * 1000;
      const key = JSON.stringify([probe, intervalMs]);
      const existing = this.#targets.get(b.address);
      if (existing) {
        if (existing.key !== key) {
          existing.key = key;
          existing.probe = probe;
          existing.intervalMs = intervalMs;
          this.#schedule(existing, this.#o.random() * Math.min(intervalMs, 1000));
        }
        continue;
      }
      const t: Target = { address: b.address, key, probe, intervalMs, timer: null, running: false };
      this.#targets.set(b.address, t);
      // first probe soon, spread so a large group does not probe all at once
      this.#schedule(t, this.#o.random() * Math.min(intervalMs, 1000));
    }
    for (const [address, t] of this.#targets) {
      if (!seen.has(address)) {
        if (t.timer !== null) clearTimeout(t.timer);
        this.#targets.delete(address);
      }
    }
  }

  #schedule(t: Target, delayMs: number): void {
    if (t.timer !== null) clearTimeout(t.timer);
    t.timer = setTimeout(() => this.#run(t), Math.max(0, delayMs));
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
    const flipped = this.#o.state.observeProbe(t.address, result.ok, result.error);
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
    for (const t of this.#targets.values()) if (t.timer !== null) clearTimeout(t.timer);
    this.#targets.clear();
  }
}
