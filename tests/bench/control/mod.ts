/**
 * The control-plane half of `deno task bench`: config propagation, health
 * failure detection, orchestrator probe capacity, DNS proxy death and
 * keepalived failover, one after the other. A part whose infrastructure fails
 * to start is recorded (its figures carry the error) and the others still run.
 *
 * @module
 */
import type { ControlContext, ControlFigure, ControlResults } from "./common.ts";
import { detection } from "./detection.ts";
import { dnsDeath } from "./dns.ts";
import { keepalivedFailover } from "./keepalived.ts";
import { orchestratorCapacity } from "./orchestrator.ts";
import { propagation } from "./propagation.ts";

/** The parts, in the order they run. */
export const CONTROL_PARTS = ["propagation", "detection", "orchestrator", "dns", "keepalived"];

/** How much of each part runs. */
export interface ControlSettings {
  readonly propagation_counts: readonly number[];
  readonly propagation_writes: number;
  readonly detection_trials: number;
  readonly detection_interval_s: number;
  readonly detection_fall: number;
  readonly orchestrator_runtimes: readonly ("deno" | "bun")[];
  readonly orchestrator_steady_s: number;
  readonly orchestrator_warmup_s: number;
  readonly dns_trials: number;
  readonly keepalived_cycles: number;
  readonly runtime: "bun" | "deno";
}

/** Settings for a full run, or a quick one. */
export function controlSettings(quick: boolean, trials?: number, writes?: number): ControlSettings {
  return {
    propagation_counts: [1, 5, 20],
    propagation_writes: writes ?? (quick ? 20 : 100),
    detection_trials: trials ?? (quick ? 2 : 5),
    detection_interval_s: 1,
    detection_fall: 3,
    orchestrator_runtimes: quick ? ["bun"] : ["deno", "bun"],
    orchestrator_steady_s: quick ? 10 : 30,
    orchestrator_warmup_s: quick ? 3 : 10,
    dns_trials: trials ?? (quick ? 1 : 3),
    keepalived_cycles: trials ?? (quick ? 1 : 3),
    runtime: "bun",
  };
}

/** Runs the selected parts. */
export async function runControl(
  ctx: ControlContext,
  parts: readonly string[],
  s: ControlSettings,
): Promise<ControlResults> {
  const date = new Date().toISOString();
  const figures: ControlFigure[] = [];
  const problems: string[] = [];
  const guard = async (part: string, fn: () => Promise<ControlFigure[]>) => {
    if (!parts.includes(part)) return;
    ctx.log(`control plane: ${part}`);
    try {
      const fs = await fn();
      figures.push(...fs);
      for (const f of fs) {
        const st = f.stat;
        ctx.log(
          `  ${f.id}: ${
            f.error
              ? `not measured: ${f.error}`
              : `median ${st?.median} ${f.unit}, p99 ${st?.p99}, max ${st?.max}, n ${st?.n}`
          }${f.flags.length > 0 ? `  ⚠ ${f.flags.join("; ")}` : ""}`,
        );
      }
    } catch (e) {
      problems.push(`${part}: ${(e as Error).message.split("\n")[0]}`);
      ctx.log(`control plane ${part} failed: ${(e as Error).stack ?? e}`);
    }
  };
  await guard("propagation", () =>
    propagation(ctx, {
      counts: s.propagation_counts,
      writes: s.propagation_writes,
      runtime: s.runtime,
    }));
  await guard("detection", () =>
    detection(ctx, {
      trials: s.detection_trials,
      runtime: s.runtime,
      intervalS: s.detection_interval_s,
      fall: s.detection_fall,
    }));
  await guard("orchestrator", () =>
    orchestratorCapacity(ctx, {
      runtimes: s.orchestrator_runtimes,
      steadySeconds: s.orchestrator_steady_s,
      warmupSeconds: s.orchestrator_warmup_s,
    }));
  await guard(
    "dns",
    async () => [await dnsDeath(ctx, { trials: s.dns_trials, runtime: s.runtime })],
  );
  await guard("keepalived", () => keepalivedFailover(ctx, { trials: s.keepalived_cycles }));
  return {
    date,
    finished: new Date().toISOString(),
    quick: ctx.quick,
    parts: CONTROL_PARTS.filter((p) => parts.includes(p)),
    settings: { ...s },
    figures,
    problems,
  };
}
