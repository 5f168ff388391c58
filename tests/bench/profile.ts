/**
 * Reads a V8/JSC `.cpuprofile` (what `deno run --cpu-prof` and
 * `bun --cpu-prof` write) and ranks functions by self time and by total
 * (inclusive) time, so the harness can say where a proxy spends its CPU.
 *
 * @module
 */
import path from "node:path";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** One function's share of a profile. */
export interface ProfileEntry {
  readonly fn: string;
  readonly where: string;
  /** Milliseconds sampled in this function itself. */
  readonly self_ms: number;
  readonly self_pct: number;
  /** Milliseconds in this function and everything it called. */
  readonly total_ms: number;
  readonly total_pct: number;
}

/** A ranked profile. */
export interface ProfileSummary {
  /** Sampled milliseconds, idle excluded. */
  readonly busy_ms: number;
  readonly idle_ms: number;
  readonly bySelf: readonly ProfileEntry[];
  readonly byTotal: readonly ProfileEntry[];
  /** Self time per source area: lib/proxy, lib/http1, node:net (runtime JS), native... */
  readonly byArea: readonly { readonly area: string; readonly ms: number; readonly pct: number }[];
}

function where(cf: CallFrame): string {
  let url = cf.url;
  if (url.startsWith("file://")) url = url.slice(7);
  if (url.startsWith(REPO_ROOT)) url = path.relative(REPO_ROOT, url);
  return url ? `${url}:${cf.lineNumber + 1}` : "(native)";
}

function keyOf(cf: CallFrame): string {
  return `${cf.functionName || "(anonymous)"} ${where(cf)}`;
}

const IDLE = new Set(["(idle)"]);

/** Which part of the system a function belongs to. */
export function areaOf(cf: CallFrame): string {
  const u = cf.url;
  const name = cf.functionName;
  if (name === "(garbage collector)") return "garbage collector";
  if (name === "(program)" || name === "(root)") return "runtime (program)";
  if (!u) return "native / runtime built-ins";
  for (const dir of ["lib/proxy/", "lib/http1/", "lib/group/", "lib/balancer/", "lib/metrics/"]) {
    if (u.includes(dir)) return dir.slice(0, -1);
  }
  if (u.includes(REPO_ROOT)) return "other Switchyard code";
  if (u.startsWith("node:") || u.includes("ext:") || u.includes("/node/")) {
    return "runtime JS (node: compat, streams)";
  }
  return `runtime JS (${u.split("/").slice(0, 3).join("/")})`;
}

/** Ranks a profile's functions. */
export function summarizeProfile(p: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // Bun's profiler takes no samples while the thread sleeps in the event loop: the gap
  // shows up as one long delta. A delta beyond 3x the typical one counts as idle.
  const sorted = [...deltas].sort((a, b) => a - b);
  const cap = 3 * (sorted[sorted.length >> 1] ?? 1000);
  let gapUs = 0;
  for (let i = 0; i < samples.length; i++) {
    // the delta before sample i+1 is the time spent in sample i
    const raw = Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0);
    const dt = Math.min(raw, cap);
    gapUs += raw - dt;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + dt);
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  let idleUs = gapUs;
  let busyUs = 0;
  const self = new Map<string, { cf: CallFrame; us: number }>();
  const total = new Map<string, { cf: CallFrame; us: number }>();
  const area = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    if (IDLE.has(cf.functionName)) {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const k = keyOf(cf);
    const s = self.get(k);
    if (s) s.us += us;
    else self.set(k, { cf, us });
    const a = areaOf(cf);
    area.set(a, (area.get(a) ?? 0) + us);
    // inclusive: credit every distinct function on the stack once
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const key = keyOf(n.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      const t = total.get(key);
      if (t) t.us += us;
      else total.set(key, { cf: n.callFrame, us });
    }
  }
  const entry = (k: string): ProfileEntry => {
    const s = self.get(k)?.us ?? 0;
    const t = total.get(k)?.us ?? s;
    const cf = (self.get(k) ?? total.get(k))!.cf;
    return {
      fn: cf.functionName || "(anonymous)",
      where: where(cf),
      self_ms: Math.round(s / 100) / 10,
      self_pct: busyUs > 0 ? Math.round(s / busyUs * 1000) / 10 : 0,
      total_ms: Math.round(t / 100) / 10,
      total_pct: busyUs > 0 ? Math.round(t / busyUs * 1000) / 10 : 0,
    };
  };
  const skipTotal = new Set(["(root)", "(program)"]);
  return {
    busy_ms: Math.round(busyUs / 1000),
    idle_ms: Math.round(idleUs / 1000),
    bySelf: [...self.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, top).map(([k]) =>
      entry(k)
    ),
    byTotal: [...total.entries()]
      .filter(([, v]) => !skipTotal.has(v.cf.functionName))
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([k]) => entry(k)),
    byArea: [...area.entries()].sort((a, b) => b[1] - a[1]).map(([a, us]) => ({
      area: a,
      ms: Math.round(us / 1000),
      pct: busyUs > 0 ? Math.round(us / busyUs * 1000) / 10 : 0,
    })),
  };
}

/** A Markdown section for one profile. */
export function profileMarkdown(title: string, s: ProfileSummary, note: string): string {
  const out: string[] = [`## ${title}`, "", note, ""];
  out.push(
    `Sampled ${s.busy_ms} ms busy, ${s.idle_ms} ms idle (the event loop waiting).`,
    "",
    "Self time by area:",
    "",
    "| Area | ms | % of busy |",
    "| --- | ---: | ---: |",
  );
  for (const a of s.byArea) out.push(`| ${a.area} | ${a.ms} | ${a.pct}% |`);
  out.push("", "Top functions by self time:", "", "| Function | Where | self % | total % |");
  out.push("| --- | --- | ---: | ---: |");
  for (const e of s.bySelf) {
    out.push(`| \`${e.fn}\` | ${e.where} | ${e.self_pct}% | ${e.total_pct}% |`);
  }
  out.push("", "Top functions by total (inclusive) time:", "", "| Function | Where | total % |");
  out.push("| --- | --- | ---: |");
  for (const e of s.byTotal) out.push(`| \`${e.fn}\` | ${e.where} | ${e.total_pct}% |`);
  out.push("");
  return out.join("\n");
}
