/**
 * Test support for the autoscaler role: the role as a process, and the parts of its `/status`
 * the tests read.
 *
 * @module
 */
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { freePort, httpOk, type RoleProcess, startRole } from "./processes.ts";

/** The autoscaler role under test. */
export interface AutoscalerUnderTest {
  readonly process: RoleProcess;
  readonly adminPort: number;
  status(): Promise<AutoscalerStatusDoc>;
  metrics(): Promise<string>;
}

/** The parts of the autoscaler's `/status` tests read. */
export interface AutoscalerStatusDoc {
  id: string;
  source: { kind: string } | null;
  fleet: { id: string; address: string; admin: string | null }[] | null;
  election: { acting: boolean } | null;
  provider: {
    instances?: { id: string; pid: number; state: string; listen: string }[];
    recent_exits?: { id: string; code: number | null; signal: string | null }[];
  } | null;
  autoscaler: {
    /** Evaluations made so far. */
    evaluations: number;
    last: {
      action: string;
      reason: string;
      detail: string;
      current: number;
      desired: number;
      utilization: number | null;
      /** Instances with a fresh sample. */
      sampled: number;
    } | null;
    samples: { id: string; at: number; values: Record<string, number | null> }[];
    history: DecisionEntry[];
  } | null;
  file_sd: { complete: boolean; targets: Record<string, number> } | null;
}

/** Starts `roles/autoscaler.ts` with `flags` (an admin port is added); ready on `/healthz`. */
export async function startAutoscaler(
  runtime: Runtime,
  flags: readonly string[],
  env: Record<string, string> = {},
): Promise<AutoscalerUnderTest> {
  const adminPort = await freePort();
  const base = `http://127.0.0.1:${adminPort}`;
  const proc = await startRole(
    runtime,
    "autoscaler",
    [...flags, "--admin-listen", `127.0.0.1:${adminPort}`],
    { ready: () => httpOk(`${base}/healthz`), env, timeoutMs: 60_000 },
  );
  const get = (p: string) => fetch(`${base}${p}`, { signal: AbortSignal.timeout(10_000) });
  return {
    process: proc,
    adminPort,
    status: async () => await (await get("/status")).json(),
    metrics: async () => await (await get("/metrics")).text(),
  };
}

/** One entry of the autoscaler's decision history. */
export interface DecisionEntry {
  at: string;
  action: string;
  reason: string;
  detail: string;
  current: number;
  desired: number;
  remove: string[];
  result?: string;
}
