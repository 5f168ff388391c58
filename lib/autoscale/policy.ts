/**
 * The autoscaling policy: what the decision core ({@link decide} in `decide.ts`) is told to
 * aim for, as an operator writes it in JSON (`autoscaler --policy FILE`), validated with zod.
 *
 * ```json
 * {
 *   "min": 1,
 *   "max": 3,
 *   "capacity": { "connections": 40 },
 *   "target_utilization": 0.5,
 *   "scale_out": { "threshold": 0.8, "after_seconds": 2, "cooldown_seconds": 10, "max_step": 2 },
 *   "scale_in": { "threshold": 0.25, "after_seconds": 4, "cooldown_seconds": 8, "max_step": 1 }
 * }
 * ```
 *
 * A proxy's utilization is the largest of `value / capacity` over the metrics named in
 * `capacity` (1.0 = at capacity); the fleet's is their mean (or max, `aggregate`). Scale-out
 * needs the fleet above `scale_out.threshold` continuously for `after_seconds`, scale-in below
 * `scale_in.threshold` for its own `after_seconds`; between the two thresholds nothing happens
 * (hysteresis). Every action aims at `target_utilization`, which must lie strictly between the
 * thresholds, so that the fleet an action leaves behind does not trigger the opposite one.
 *
 * @module
 */
import { z } from "zod";

/** The per-proxy metrics a policy can scale on. */
export const CAPACITY_METRICS = ["connections", "cpu_percent", "p99_seconds", "rps"] as const;

/** One of {@link CAPACITY_METRICS}. */
export type CapacityMetric = typeof CAPACITY_METRICS[number];

const positive = z.number().finite().positive();
const seconds = z.number().finite().min(0).max(86_400);
const ratio = z.number().finite().positive().max(100);

const directionSchema = z.strictObject({
  /** Fleet utilization that starts the clock (scale-out: above it; scale-in: below it). */
  threshold: ratio,
  /** How long the condition must hold, unbroken, before acting. */
  after_seconds: seconds,
  /** After an action, how long before this direction may act again. */
  cooldown_seconds: seconds,
  /** Most instances added (or removed) by one action. */
  max_step: z.number().int().min(1).max(1000),
});

/** The policy's JSON shape (zod), with defaults. */
export const policySchema = z.strictObject({
  /** Fewest instances: below it the fleet grows at once, whatever the load. */
  min: z.number().int().min(0).max(1000),
  /** Most instances: scale-out stops here; above it (e.g. static proxies) the fleet shrinks. */
  max: z.number().int().min(1).max(1000),
  /** What one proxy can take: the value of each metric at utilization 1.0 (at least one). */
  capacity: z.strictObject({
    connections: positive.optional(),
    cpu_percent: positive.optional(),
    p99_seconds: positive.optional(),
    rps: positive.optional(),
  }),
  /** Where an action aims: utilization after scaling. */
  target_utilization: ratio,
  scale_out: directionSchema,
  scale_in: directionSchema,
  /** How the proxies' utilizations combine: `mean` (default) or `max` (the hottest). */
  aggregate: z.enum(["mean", "max"]).default("mean"),
  /** Samples older than this are ignored (the proxy counts as unsampled). */
  sample_max_age_seconds: z.number().finite().positive().max(3600).default(15),
  /** Share of the registered proxies that must have a fresh sample to decide anything. */
  min_sample_coverage: z.number().finite().positive().max(1).default(0.5),
  /**
   * How long instances being launched count toward the fleet before they register (and
   * instances being removed stay out of it while they drain), at most.
   */
  pending_timeout_seconds: z.number().finite().positive().max(3600).default(120),
}).superRefine((p, ctx) => {
  if (p.max < p.min) ctx.addIssue({ code: "custom", path: ["max"], message: "must be >= min" });
  if (Object.values(p.capacity).every((v) => v === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["capacity"],
      message: `name at least one of ${CAPACITY_METRICS.join(", ")}`,
    });
  }
  if (!(p.scale_in.threshold < p.target_utilization)) {
    ctx.addIssue({
      code: "custom",
      path: ["scale_in", "threshold"],
      message: "must be below target_utilization",
    });
  }
  if (!(p.target_utilization < p.scale_out.threshold)) {
    ctx.addIssue({
      code: "custom",
      path: ["scale_out", "threshold"],
      message: "must be above target_utilization",
    });
  }
});

/** A validated policy (defaults filled in). */
export type Policy = z.output<typeof policySchema>;

/** A policy as written (defaults optional). */
export type PolicyInput = z.input<typeof policySchema>;

/** The outcome of {@link parsePolicy}: the policy, or every problem with its path. */
export type ParsedPolicy =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly issues: readonly string[] };

/**
 * Validates a policy object.
 *
 * @example
 * ```ts
 * import { validatePolicy } from "./policy.ts";
 * const r = validatePolicy({
 *   min: 1, max: 3, capacity: { connections: 40 }, target_utilization: 0.5,
 *   scale_out: { threshold: 0.8, after_seconds: 2, cooldown_seconds: 10, max_step: 2 },
 *   scale_in: { threshold: 0.25, after_seconds: 4, cooldown_seconds: 8, max_step: 1 },
 * });
 * console.log(r.ok && r.policy.aggregate); // "mean"
 * ```
 */
export function validatePolicy(input: unknown): ParsedPolicy {
  const r = policySchema.safeParse(input);
  if (r.success) return { ok: true, policy: r.data };
  return {
    ok: false,
    issues: r.error.issues.map((i) =>
      `${i.path.length ? i.path.join(".") : "(policy)"}: ${i.message}`
    ),
  };
}

/** Parses and validates a policy file's text. */
export function parsePolicy(text: string): ParsedPolicy {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, issues: [`invalid JSON: ${(e as Error).message}`] };
  }
  return validatePolicy(value);
}
