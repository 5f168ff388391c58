/**
 * The control-plane benchmark's shared parts: what a figure is (raw samples,
 * median/p99, what the configuration predicts, the flags its checks raised,
 * or the error that kept it from being measured), what a part needs from the
 * harness, and the emergency cleanup that an interrupted run relies on.
 *
 * @module
 */
import type { RoleProcess } from "../../support/processes.ts";
import { killTree } from "../procs.ts";
import { round } from "../system.ts";
import { busyFlags, type WindowLoad } from "./load.ts";

/** The sections of the control-plane report. */
export type Section = "propagation" | "detection" | "orchestrator" | "dns" | "keepalived";

/** Median, p99 (nearest rank) and range of a figure's samples. */
export interface ControlStat {
  readonly median: number;
  readonly p99: number;
  readonly min: number | null;
  readonly max: number | null;
  /** Samples behind the figure (writes, trials, or probes for a histogram). */
  readonly n: number;
}

/** One control-plane figure. */
export interface ControlFigure {
  readonly id: string;
  readonly section: Section;
  readonly title: string;
  readonly unit: "ms" | "s";
  /** Every sample, in order (empty for figures that come as a histogram summary). */
  readonly samples: readonly number[];
  /** Null when nothing was measured (see `error`). */
  readonly stat: ControlStat | null;
  /** What ran: processes, runtimes, settings. */
  readonly setup: string;
  /** What the configuration predicts (a bound to compare with), if anything. */
  readonly expected: string | null;
  /** Where the figure comes from: measured in this run, or read from an earlier result. */
  readonly source: string;
  /** Why the figure is not clean (empty when it is). */
  readonly flags: readonly string[];
  /** The infrastructure failed and the figure could not be measured. */
  readonly error: string | null;
  /** How busy the machine was while it was measured. */
  readonly load: WindowLoad | null;
  /** Figures that belong with it (per-trial details, counts). */
  readonly extra?: Record<string, unknown>;
}

/** The control plane's part of results.json. */
export interface ControlResults {
  readonly date: string;
  readonly finished: string;
  readonly quick: boolean;
  /** Which parts ran (propagation, detection, orchestrator, dns, keepalived). */
  readonly parts: readonly string[];
  readonly settings: Record<string, unknown>;
  readonly figures: readonly ControlFigure[];
  /** Parts that failed outright, with why. */
  readonly problems: readonly string[];
}

/** What a control-plane part gets from the harness. */
export interface ControlContext {
  readonly quick: boolean;
  /** Progress lines (stderr). */
  log(line: string): void;
  /** Where scratch files go. */
  readonly stateDir: string;
  /** Where the report goes (the orchestrator benchmark writes its own files there). */
  readonly outDir: string;
  /** A figure is flagged when other processes used more than this (cores) meanwhile. */
  readonly maxOthers: number;
  /** Waits (bounded) for the machine to be idle before a part starts. */
  waitIdle(): Promise<void>;
}

/** Nearest-rank percentile of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Median, p99 and range of `samples` (null when there are none). */
export function statOf(samples: readonly number[], digits = 1): ControlStat | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return {
    median: round(median, digits),
    p99: round(percentile(s, 99), digits),
    min: round(s[0]!, digits),
    max: round(s[s.length - 1]!, digits),
    n: s.length,
  };
}

/** What a part says about a figure before it is measured. */
export type FigureBase = Pick<
  ControlFigure,
  "id" | "section" | "title" | "unit" | "setup" | "expected"
>;

/** What a measured figure carries besides its samples. */
export interface Measured {
  /** Decimals of the statistics. */
  readonly digits: number;
  /** The machine's load over the measurement window. */
  readonly load: WindowLoad;
  /** Flag the figure when other processes used more than this (cores). */
  readonly maxOthers: number;
  /** The part's own flags, after the busy-machine ones. */
  readonly flags?: readonly string[];
  readonly extra?: Record<string, unknown>;
}

/** A figure measured in this run: its samples, their statistics and every flag raised. */
export function measuredFigure(
  base: FigureBase,
  samples: readonly number[],
  m: Measured,
): ControlFigure {
  return {
    ...base,
    samples,
    stat: statOf(samples, m.digits),
    source: "measured in this run",
    flags: [...busyFlags(m.load, m.maxOthers), ...(m.flags ?? [])],
    error: null,
    load: m.load,
    ...(m.extra === undefined ? {} : { extra: m.extra }),
  };
}

/** A figure that could not be measured. */
export function failedFigure(base: FigureBase, error: unknown): ControlFigure {
  const text = error instanceof Error ? error.message : String(error);
  return {
    ...base,
    samples: [],
    stat: null,
    source: "not measured",
    flags: [],
    error: text.split("\n").slice(0, 3).join(" ").slice(0, 400),
    load: null,
  };
}

// ------------------------------------------------ cleanup on interruption

const live = new Set<RoleProcess>();
const stops = new Set<() => Promise<unknown>>();

/** Records a role process so an interrupted run kills it. */
export function track<T extends RoleProcess>(p: T): T {
  live.add(p);
  p.exited.then(() => live.delete(p));
  return p;
}

/** Registers a cleanup for an interrupted run; returns its unregistration. */
export function onInterrupt(stop: () => Promise<unknown>): () => void {
  stops.add(stop);
  return () => stops.delete(stop);
}

/** Stops a role process (SIGKILL) and waits for it; ignores one already gone. */
export async function kill(p: RoleProcess | undefined): Promise<void> {
  if (!p) return;
  if (p.running && p.child.pid) killTree(p.child.pid, "SIGKILL");
  await p.exited;
}

/** Stops a role process with SIGTERM (SIGKILL after `graceMs`); ignores one already gone. */
export async function stop(p: RoleProcess | undefined, graceMs = 3_000): Promise<void> {
  if (!p || !p.running) return;
  await p.stop("SIGTERM", graceMs).catch(() => {});
}

/** Interrupted: SIGKILLs every tracked process tree, then runs the registered cleanups. */
export async function interruptCleanup(): Promise<void> {
  for (const p of live) if (p.running && p.child.pid) killTree(p.child.pid, "SIGKILL");
  for (const s of [...stops].reverse()) await s().catch(() => {});
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A GET of a proxy's admin `/status`, parsed. */
export async function statusOf<T = Record<string, unknown>>(adminPort: number): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/status`, {
    signal: AbortSignal.timeout(5_000),
  });
  return await r.json() as T;
}
