/**
 * The autoscaler's loop: every interval, read the fleet (the registrations), sample it
 * (Prometheus or direct scrapes), ask the pure core ({@link decide}) and, when it says grow or
 * shrink, act through the provider. Evaluations never overlap; only the acting leader (one
 * autoscaler per group, elected in ZooKeeper) evaluates; a failed action is logged and counted,
 * and what it would have launched or removed is no longer counted as pending, but the cooldown
 * it started stays (a failing cloud API is not hammered).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { decide, type Decision, INITIAL_STATE, type Sample, type ScaleState } from "./decide.ts";
import type { FleetMember } from "./fleet.ts";
import type { MetricsSource } from "./metrics_source.ts";
import type { Policy } from "./policy.ts";
import type { Provider } from "./provider.ts";

/** What the loop reports as it goes (metrics). */
export interface AutoscalerHooks {
  onDecision?(decision: Decision, registered: number): void;
  onAction?(decision: Decision, ok: boolean): void;
  onSampleError?(error: unknown): void;
}

/** Options of {@link Autoscaler}. */
export interface AutoscalerOptions {
  readonly group: string;
  readonly policy: Policy;
  /** The group's registered proxies; null while not known yet (watches not complete). */
  readonly fleet: () => readonly FleetMember[] | null;
  readonly source: MetricsSource;
  readonly provider: Provider;
  readonly now: () => number;
  readonly log: Logger;
  /** Decide, but never act. */
  readonly dryRun?: boolean;
  /** Whether this process may act (leader); default always. */
  readonly acting?: () => boolean;
  readonly hooks?: AutoscalerHooks;
  /** Decisions kept for `/status` (actions and changes of reason). Default 50. */
  readonly historySize?: number;
}

/** A decision as `/status` shows it. */
export interface DecisionRecord {
  readonly at: string;
  readonly action: string;
  readonly reason: string;
  readonly detail: string;
  readonly current: number;
  readonly desired: number;
  readonly utilization: number | null;
  readonly remove: readonly string[];
  /** For actions: `ok`, `failed: ...`, or `dry-run`. */
  readonly result?: string;
}

function record(d: Decision, result?: string): DecisionRecord {
  return {
    at: new Date(d.at).toISOString(),
    action: d.action,
    reason: d.reason,
    detail: d.detail,
    current: d.current,
    desired: d.desired,
    utilization: d.utilization === null ? null : Math.round(d.utilization * 1000) / 1000,
    remove: d.remove,
    ...(result === undefined ? {} : { result }),
  };
}

/**
 * Runs the decision loop of one group.
 *
 * @example
 * ```ts ignore
 * const a = new Autoscaler({ group, policy, fleet: () => members, source, provider,
 *   now: Date.now, log });
 * a.start(5000);
 * ```
 */
export class Autoscaler {
  readonly #o: AutoscalerOptions;
  #state: ScaleState = INITIAL_STATE;
  #last: Decision | null = null;
  #lastSamples: readonly Sample[] = [];
  #history: DecisionRecord[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> | null = null;
  #stopped = false;
  #wasActing = false;
  evaluations = 0;

  constructor(options: AutoscalerOptions) {
    this.#o = options;
  }

  /** Evaluates every `intervalMs` (the first at once) until {@link stop}. */
  start(intervalMs: number): void {
    const loop = async () => {
      if (this.#stopped) return;
      this.#running = this.evaluate().catch((e) =>
        this.#o.log.error("evaluation failed", { error: String(e) })
      );
      await this.#running;
      this.#running = null;
      if (!this.#stopped) this.#timer = setTimeout(loop, intervalMs);
    };
    loop();
  }

  /** Stops the loop and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }

  /**
   * One evaluation: returns the decision, or null when it did not decide (not the leader, or
   * the fleet is not known yet).
   */
  async evaluate(): Promise<Decision | null> {
    const acting = this.#o.acting?.() ?? true;
    if (!acting) {
      if (this.#wasActing) this.#o.log.info("not the acting autoscaler: standing by");
      this.#wasActing = false;
      return null;
    }
    if (!this.#wasActing) {
      // a new leadership starts without memory of windows, pending work or cooldowns
      this.#state = INITIAL_STATE;
      this.#wasActing = true;
    }
    const fleet = this.#o.fleet();
    if (fleet === null) return null;
    let samples: Sample[] = [];
    try {
      samples = await this.#o.source.sample(fleet);
    } catch (e) {
      this.#o.hooks?.onSampleError?.(e);
      this.#o.log.warn("cannot sample the fleet", {
        source: this.#o.source.kind,
        error: String(e),
      });
    }
    this.#lastSamples = samples;
    const provider = this.#o.provider;
    const previous = this.#state;
    const { decision, state } = decide({
      now: this.#o.now(),
      policy: this.#o.policy,
      instances: fleet.map((m) => ({ id: m.id, removable: provider.removable(m) })),
      samples,
      state: previous,
    });
    this.#state = state;
    this.evaluations++;
    this.#o.hooks?.onDecision?.(decision, fleet.length);
    const changed = this.#last === null || this.#last.reason !== decision.reason ||
      this.#last.action !== decision.action;
    this.#last = decision;
    if (decision.action === "hold") {
      if (changed) {
        this.#remember(record(decision));
        this.#o.log.debug("holding", { reason: decision.reason, detail: decision.detail });
      }
      return decision;
    }
    const fields = {
      group: this.#o.group,
      action: decision.action,
      reason: decision.reason,
      from: decision.current,
      to: decision.desired,
      remove: decision.remove,
      detail: decision.detail,
    };
    if (this.#o.dryRun) {
      this.#o.log.info("would scale (dry run)", fields);
      this.#remember(record(decision, "dry-run"));
      return decision;
    }
    this.#o.log.info("scaling", fields);
    const byId = new Map(fleet.map((m) => [m.id, m]));
    try {
      await provider.apply({
        group: this.#o.group,
        decision,
        fleet,
        add: decision.action === "grow" ? decision.desired - decision.current : 0,
        remove: decision.remove.map((id) => byId.get(id)!),
      });
      this.#o.hooks?.onAction?.(decision, true);
      this.#remember(record(decision, "ok"));
    } catch (e) {
      this.#o.hooks?.onAction?.(decision, false);
      this.#remember(record(decision, `failed: ${(e as Error).message}`));
      this.#o.log.warn("scaling failed", { ...fields, error: String(e) });
      // nothing (or not everything) is under way: do not count it as pending; keep the cooldown
      this.#state = {
        ...this.#state,
        pendingGrow: decision.action === "grow" ? previous.pendingGrow : this.#state.pendingGrow,
        removing: decision.action === "shrink" ? previous.removing : this.#state.removing,
      };
    }
    return decision;
  }

  /** The last decision (null before the first). */
  get last(): Decision | null {
    return this.#last;
  }

  /** Facts for `/status`. */
  status(): Record<string, unknown> {
    const d = this.#last;
    const s = this.#state;
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      group: this.#o.group,
      acting: this.#o.acting?.() ?? true,
      dry_run: this.#o.dryRun ?? false,
      evaluations: this.evaluations,
      last: d === null ? null : { ...record(d), sampled: d.sampled, loads: d.loads },
      samples: this.#lastSamples,
      state: {
        above_since: iso(s.aboveSince),
        below_since: iso(s.belowSince),
        last_scale_out: iso(s.lastScaleOutAt),
        last_scale_in: iso(s.lastScaleInAt),
        pending_grow: s.pendingGrow && { to: s.pendingGrow.to, until: iso(s.pendingGrow.until) },
        removing: s.removing.map((r) => ({ id: r.id, until: iso(r.until) })),
      },
      history: this.#history,
    };
  }

  #remember(r: DecisionRecord): void {
    this.#history.push(r);
    const max = this.#o.historySize ?? 50;
    if (this.#history.length > max) this.#history.splice(0, this.#history.length - max);
  }
}
