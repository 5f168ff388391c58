/**
 * The autoscaling decision core: from the fleet, recent per-proxy samples, the policy, the
 * previous state and the time, decide whether the proxy fleet grows, shrinks or holds, and say
 * why. Pure and synchronous (the clock is an argument); the caller keeps the returned state and
 * passes it back next time.
 *
 * What keeps it from flapping:
 * - **Hysteresis in level**: nothing happens while the fleet's utilization is between the
 *   scale-in and scale-out thresholds; actions aim at `target_utilization`, which lies strictly
 *   between them, and a scale-in is only made as deep as keeps the projected utilization at or
 *   under the target.
 * - **Hysteresis in time**: a condition must hold on every evaluation for `after_seconds`; one
 *   evaluation on the other side (or without enough samples) restarts its clock.
 * - **Cooldowns**: scale-out waits `scale_out.cooldown_seconds` after the last scale-out;
 *   scale-in waits `scale_in.cooldown_seconds` after the last action of either kind.
 * - **Pending work**: instances being launched count toward the fleet until they register (or
 *   `pending_timeout_seconds` passes), instances being removed are out of it at once; no
 *   metric-driven action is taken on top of a launch still in progress, and no scale-in on top of
 *   a removal still in progress.
 * - **Step limits** and **min/max** bound every action; `min`/`max` themselves are enforced
 *   without waiting (they are the operator's floor and ceiling, not a reaction to load).
 *
 * Samples older than `sample_max_age_seconds` (or from the future by more than that) are
 * ignored, and so are instances without one; when fewer than `min_sample_coverage` of the
 * registered instances have a fresh sample, nothing metric-driven happens.
 *
 * @module
 */
import type { CapacityMetric, Policy } from "./policy.ts";
import { CAPACITY_METRICS } from "./policy.ts";

/** A registered instance, as the core needs it. */
export interface InstanceView {
  /** Stable id (the registration's id). */
  readonly id: string;
  /** Whether the provider may remove it (e.g. the local provider only removes what it started). */
  readonly removable: boolean;
}

/** One proxy's recent measurements; a metric is null when unknown (e.g. no request lately). */
export interface Sample {
  readonly id: string;
  /** When it was measured (ms, same clock as `now`). */
  readonly at: number;
  readonly values: { readonly [K in CapacityMetric]?: number | null };
}

/** What the core remembers between evaluations (start from {@link INITIAL_STATE}). */
export interface ScaleState {
  /** Since when the fleet has been above the scale-out threshold, unbroken. */
  readonly aboveSince: number | null;
  /** Since when the fleet has been below the scale-in threshold, unbroken. */
  readonly belowSince: number | null;
  readonly lastScaleOutAt: number | null;
  readonly lastScaleInAt: number | null;
  /** A launch in progress: the fleet counts as `to` until that many are registered or `until`. */
  readonly pendingGrow: { readonly to: number; readonly until: number } | null;
  /** Instances being removed: out of the fleet until they are gone from it, or `until`. */
  readonly removing: readonly { readonly id: string; readonly until: number }[];
}

/** The state before any evaluation. */
export const INITIAL_STATE: ScaleState = {
  aboveSince: null,
  belowSince: null,
  lastScaleOutAt: null,
  lastScaleInAt: null,
  pendingGrow: null,
  removing: [],
};

/** What to do. */
export type Action = "grow" | "shrink" | "hold";

/** Why; a bounded set (a metric label). */
export const REASONS = [
  "below_min",
  "above_max",
  "scale_out",
  "scale_in",
  "in_band",
  "sustaining_out",
  "sustaining_in",
  "cooldown_out",
  "cooldown_in",
  "at_max",
  "at_min",
  "insufficient_samples",
  "pending",
  "nothing_removable",
  "would_overload",
] as const;

/** One of {@link REASONS}. */
export type Reason = typeof REASONS[number];

/** One instance's load as the core saw it. */
export interface InstanceLoad {
  readonly id: string;
  /** Largest value/capacity over the policy's metrics; null without a fresh sample. */
  readonly utilization: number | null;
  /** The metric that gave it. */
  readonly metric: CapacityMetric | null;
  readonly removable: boolean;
}

/** The outcome of one evaluation. */
export interface Decision {
  readonly at: number;
  readonly action: Action;
  readonly reason: Reason;
  /** A sentence for people (logs, `/status`). */
  readonly detail: string;
  /** Instances counted now: registered and not being removed, plus launches pending. */
  readonly current: number;
  /** The fleet size this decision aims at (`current` when holding). */
  readonly desired: number;
  /** The fleet's utilization, null when it could not be measured. */
  readonly utilization: number | null;
  /** Instances with a fresh sample. */
  readonly sampled: number;
  /** Shrink: the instances to remove (least loaded first); else empty. */
  readonly remove: readonly string[];
  readonly loads: readonly InstanceLoad[];
}

/** Input of {@link decide}. */
export interface DecideInput {
  readonly now: number;
  readonly policy: Policy;
  /** The registered instances (the fleet as discovery sees it). */
  readonly instances: readonly InstanceView[];
  /** Recent samples, at most one per instance (others are ignored). */
  readonly samples: readonly Sample[];
  readonly state: ScaleState;
}

/**
 * One instance's utilization: the largest `value / capacity` over the policy's metrics that
 * the sample has (finite, non-negative); null when it has none.
 */
export function utilizationOf(
  sample: Sample,
  capacity: Policy["capacity"],
): { value: number; metric: CapacityMetric } | null {
  let best: { value: number; metric: CapacityMetric } | null = null;
  for (const metric of CAPACITY_METRICS) {
    const cap = capacity[metric];
    const v = sample.values[metric];
    if (cap === undefined || v === null || v === undefined || !Number.isFinite(v) || v < 0) {
      continue;
    }
    const u = v / cap;
    if (best === null || u > best.value) best = { value: u, metric };
  }
  return best;
}

const fmt = (u: number) => (Math.round(u * 1000) / 1000).toString();
const secs = (ms: number) => `${(Math.round(ms / 100) / 10).toFixed(1)} s`;

/**
 * Decides grow, shrink or hold.
 *
 * @param input the fleet, samples, policy, previous state and the time
 * @returns the decision and the state to pass next time
 *
 * @example
 * ```ts
 * import { decide, INITIAL_STATE } from "./decide.ts";
 * import { validatePolicy } from "./policy.ts";
 * const r = validatePolicy({
 *   min: 1, max: 3, capacity: { connections: 40 }, target_utilization: 0.5,
 *   scale_out: { threshold: 0.8, after_seconds: 0, cooldown_seconds: 10, max_step: 2 },
 *   scale_in: { threshold: 0.25, after_seconds: 4, cooldown_seconds: 8, max_step: 1 },
 * });
 * if (!r.ok) throw new Error(r.issues.join("; "));
 * const { decision } = decide({
 *   now: 1000,
 *   policy: r.policy,
 *   instances: [{ id: "p1", removable: true }],
 *   samples: [{ id: "p1", at: 1000, values: { connections: 60 } }],
 *   state: INITIAL_STATE,
 * });
 * console.log(decision.action, decision.desired, decision.reason); // grow 3 scale_out
 * ```
 */
export function decide(input: DecideInput): { decision: Decision; state: ScaleState } {
  const { now, policy } = input;
  const maxAge = policy.sample_max_age_seconds * 1000;
  const pendingMs = policy.pending_timeout_seconds * 1000;
  const registered = new Set(input.instances.map((i) => i.id));

  // Pending work: drop what has completed or timed out.
  const removing = input.state.removing.filter((r) => registered.has(r.id) && r.until > now);
  const removingIds = new Set(removing.map((r) => r.id));
  const live = input.instances.filter((i) => !removingIds.has(i.id));
  let pendingGrow = input.state.pendingGrow;
  if (pendingGrow !== null && (pendingGrow.until <= now || live.length >= pendingGrow.to)) {
    pendingGrow = null;
  }
  const current = Math.max(live.length, pendingGrow?.to ?? 0);

  // Loads from fresh samples.
  const byId = new Map<string, Sample>();
  for (const s of input.samples) if (!byId.has(s.id)) byId.set(s.id, s);
  const loads: InstanceLoad[] = live.map((inst) => {
    const s = byId.get(inst.id);
    const fresh = s !== undefined && Math.abs(now - s.at) <= maxAge;
    const u = fresh ? utilizationOf(s, policy.capacity) : null;
    return {
      id: inst.id,
      utilization: u?.value ?? null,
      metric: u?.metric ?? null,
      removable: inst.removable,
    };
  });
  const measured = loads.filter((l) => l.utilization !== null).map((l) => l.utilization!);
  const sampled = measured.length;
  const utilization = sampled === 0
    ? null
    : policy.aggregate === "max"
    ? Math.max(...measured)
    : measured.reduce((a, b) => a + b, 0) / sampled;

  const base = { at: now, current, utilization, sampled, loads };
  let state: ScaleState = { ...input.state, pendingGrow, removing };
  const hold = (reason: Reason, detail: string, patch: Partial<ScaleState> = {}) => ({
    decision: { ...base, action: "hold" as const, reason, detail, desired: current, remove: [] },
    state: { ...state, ...patch },
  });
  const grow = (reason: Reason, to: number, detail: string) => ({
    decision: { ...base, action: "grow" as const, reason, detail, desired: to, remove: [] },
    state: {
      ...state,
      aboveSince: null,
      belowSince: null,
      lastScaleOutAt: now,
      pendingGrow: { to, until: now + pendingMs },
    },
  });
  const victims = (count: number) =>
    loads.filter((l) => l.removable)
      .sort((a, b) =>
        (a.utilization ?? Infinity) - (b.utilization ?? Infinity) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
      )
      .slice(0, count)
      .map((l) => l.id);
  const shrink = (reason: Reason, remove: string[], detail: string) => ({
    decision: {
      ...base,
      action: "shrink" as const,
      reason,
      detail,
      desired: current - remove.length,
      remove,
    },
    state: {
      ...state,
      aboveSince: null,
      belowSince: null,
      lastScaleInAt: now,
      removing: [...removing, ...remove.map((id) => ({ id, until: now + pendingMs }))],
    },
  });

  // The operator's floor and ceiling first: they need no samples.
  if (current < policy.min) {
    return grow("below_min", policy.min, `${current} instances, below min ${policy.min}`);
  }
  if (current > policy.max) {
    const excess = current - policy.max;
    const remove = victims(excess);
    if (remove.length === 0) {
      return hold(
        "nothing_removable",
        `${current} instances, above max ${policy.max}, but none may be removed`,
      );
    }
    return shrink("above_max", remove, `${current} instances, above max ${policy.max}`);
  }

  const coverage = live.length === 0 ? 0 : sampled / live.length;
  if (utilization === null || coverage < policy.min_sample_coverage) {
    return hold(
      "insufficient_samples",
      `${sampled} of ${live.length} instances have a fresh sample (need ${
        fmt(policy.min_sample_coverage * 100)
      }%)`,
      { aboveSince: null, belowSince: null },
    );
  }

  const u = utilization;
  const uText = `utilization ${fmt(u)} (${policy.aggregate} of ${sampled})`;
  if (u > policy.scale_out.threshold) {
    state = { ...state, aboveSince: state.aboveSince ?? now, belowSince: null };
    const heldFor = now - state.aboveSince!;
    if (current >= policy.max) {
      return hold("at_max", `${uText} > ${policy.scale_out.threshold}, at max ${policy.max}`);
    }
    if (heldFor < policy.scale_out.after_seconds * 1000) {
      return hold(
        "sustaining_out",
        `${uText} > ${policy.scale_out.threshold} for ${secs(heldFor)} of ${
          secs(policy.scale_out.after_seconds * 1000)
        }`,
      );
    }
    if (pendingGrow !== null) {
      return hold("pending", `${uText}; waiting for ${current - live.length} launched to register`);
    }
    const last = state.lastScaleOutAt;
    if (last !== null && now - last < policy.scale_out.cooldown_seconds * 1000) {
      return hold(
        "cooldown_out",
        `${uText}; scale-out cooldown, ${
          secs(policy.scale_out.cooldown_seconds * 1000 - (now - last))
        } left`,
      );
    }
    const wanted = Math.ceil((live.length * u) / policy.target_utilization - 1e-9);
    const to = Math.min(
      Math.max(wanted, current + 1),
      current + policy.scale_out.max_step,
      policy.max,
    );
    return grow(
      "scale_out",
      to,
      `${uText} > ${policy.scale_out.threshold} for ${secs(heldFor)}: ${current} -> ${to} ` +
        `(target ${policy.target_utilization} wants ${wanted})`,
    );
  }

  if (u < policy.scale_in.threshold) {
    state = { ...state, belowSince: state.belowSince ?? now, aboveSince: null };
    const heldFor = now - state.belowSince!;
    if (current <= policy.min) {
      return hold("at_min", `${uText} < ${policy.scale_in.threshold}, at min ${policy.min}`);
    }
    if (heldFor < policy.scale_in.after_seconds * 1000) {
      return hold(
        "sustaining_in",
        `${uText} < ${policy.scale_in.threshold} for ${secs(heldFor)} of ${
          secs(policy.scale_in.after_seconds * 1000)
        }`,
      );
    }
    if (pendingGrow !== null || removing.length > 0) {
      return hold(
        "pending",
        `${uText}; waiting for ${
          pendingGrow !== null ? "launched instances to register" : "removed instances to leave"
        }`,
      );
    }
    const last = Math.max(state.lastScaleOutAt ?? -Infinity, state.lastScaleInAt ?? -Infinity);
    if (now - last < policy.scale_in.cooldown_seconds * 1000) {
      return hold(
        "cooldown_in",
        `${uText}; scale-in cooldown, ${
          secs(policy.scale_in.cooldown_seconds * 1000 - (now - last))
        } left`,
      );
    }
    const n = current;
    const removable = loads.filter((l) => l.removable).length;
    if (removable === 0) {
      return hold("nothing_removable", `${uText} < ${policy.scale_in.threshold}; none removable`);
    }
    const limit = Math.min(policy.scale_in.max_step, n - policy.min, removable);
    let k = 0;
    for (let c = limit; c >= 1; c--) {
      const left = n - c;
      const projected = left === 0 ? (u === 0 ? 0 : Infinity) : (u * n) / left;
      if (projected <= policy.target_utilization + 1e-9) {
        k = c;
        break;
      }
    }
    if (k === 0) {
      return hold(
        "would_overload",
        `${uText} < ${policy.scale_in.threshold}, but ${n - 1} instances would run above ` +
          `target ${policy.target_utilization}`,
      );
    }
    const remove = victims(k);
    return shrink(
      "scale_in",
      remove,
      `${uText} < ${policy.scale_in.threshold} for ${secs(heldFor)}: ${n} -> ${n - k} ` +
        `(removing ${remove.join(", ")})`,
    );
  }

  return hold(
    "in_band",
    `${uText} within [${policy.scale_in.threshold}, ${policy.scale_out.threshold}]`,
    { aboveSince: null, belowSince: null },
  );
}
