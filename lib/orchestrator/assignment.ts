/**
 * Assignments: what the master tells each worker to probe, as stored (JSON) under
 * `/switchyard/orchestrator/assignments/<worker>`.
 *
 * An assignment names the worker's session: a worker acts only on an assignment made for its
 * current session, so after its session expires (and its targets went to others) it does not
 * resume the old targets from a stale assignment. Probe settings are sent once per group.
 *
 * ```json
 * {"v":1,"worker":"w1","session":"01000000000000a3","master":"w2","term":"c_..-n_0000000007",
 *  "groups":{"g":{"type":"http","path":"/health","expect":200,"interval_ms":1000,
 *   "timeout_ms":2000,"rise":2,"fall":3,"backends":["10.0.0.1:80"]}}}
 * ```
 *
 * A group probed over TLS adds `"tls":{"enabled":true,"server_name":..,"ca_file":..,"verify":..}`
 * (its config's `tls`); groups without it are written as before.
 *
 * Pure: no I/O, no clock.
 *
 * @module
 */
import { assign, byWorker } from "./rendezvous.ts";
import { makeTarget, type ProbeSettings, type Target } from "./targets.ts";

/** One group's part of an assignment. */
export interface AssignedGroup {
  readonly settings: ProbeSettings;
  /** Sorted addresses. */
  readonly backends: readonly string[];
}

/** A worker's assignment. */
export interface Assignment {
  readonly worker: string;
  /** The worker session it was made for (16 hex digits). */
  readonly session: string;
  /** Id of the master that wrote it (informational). */
  readonly master: string;
  /** The master's election node (informational: which term wrote it). */
  readonly term: string;
  /** Group -> settings and addresses, groups sorted by name. */
  readonly groups: ReadonlyMap<string, AssignedGroup>;
}

/** A live worker as the master sees it. */
export interface WorkerInfo {
  readonly id: string;
  /** Session owning its ephemeral node. */
  readonly session: string;
}

/**
 * Splits targets over workers with rendezvous hashing.
 *
 * @param targets every target
 * @param workers live workers
 * @param master the master's id
 * @param term the master's election node
 * @returns worker id -> assignment (every worker gets one, possibly empty)
 */
export function planAssignments(
  targets: readonly Target[],
  workers: readonly WorkerInfo[],
  master: string,
  term: string,
): Map<string, Assignment> {
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const ids = workers.map((w) => w.id);
  const split = byWorker(assign(byKey.keys(), ids), ids);
  const out = new Map<string, Assignment>();
  for (const w of workers) {
    const groups = new Map<string, { settings: ProbeSettings; backends: string[] }>();
    for (const key of split.get(w.id) ?? []) {
      const t = byKey.get(key)!;
      let g = groups.get(t.group);
      if (g === undefined) {
        g = { settings: t.settings, backends: [] };
        groups.set(t.group, g);
      }
      g.backends.push(t.address);
    }
    const sorted = new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const g of sorted.values()) g.backends.sort();
    out.set(w.id, { worker: w.id, session: w.session, master, term, groups: sorted });
  }
  return out;
}

/** The targets of an assignment, sorted by key. */
export function assignmentTargets(a: Assignment): Target[] {
  const out: Target[] = [];
  for (const [group, g] of a.groups) {
    for (const address of g.backends) {
      const t = makeTarget(group, address, g.settings);
      if (t !== undefined) out.push(t);
    }
  }
  return out;
}

/** Number of targets in an assignment. */
export function assignmentSize(a: Assignment): number {
  let n = 0;
  for (const g of a.groups.values()) n += g.backends.length;
  return n;
}

function groupJson(g: AssignedGroup): Record<string, unknown> {
  const s = g.settings;
  return {
    type: s.type,
    path: s.path,
    expect: s.expectedStatus,
    interval_ms: s.intervalMs,
    timeout_ms: s.timeoutMs,
    rise: s.rise,
    fall: s.fall,
    ...(s.tls === undefined ? {} : { tls: tlsJson(s.tls) }),
    ...(s.protocol === undefined ? {} : { protocol: s.protocol }),
    backends: g.backends,
  };
}

/** A group's `tls` in a fixed key order (same settings, same bytes). */
function tlsJson(t: NonNullable<ProbeSettings["tls"]>): NonNullable<ProbeSettings["tls"]> {
  return {
    enabled: t.enabled,
    ...(t.server_name === undefined ? {} : { server_name: t.server_name }),
    ...(t.ca_file === undefined ? {} : { ca_file: t.ca_file }),
    verify: t.verify,
  };
}

/** A group's `tls` as an assignment carries it, or undefined when it is not one. */
function decodeTls(raw: unknown): ProbeSettings["tls"] | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const t = raw as Record<string, unknown>;
  if (t.enabled !== true || typeof t.verify !== "boolean") return undefined;
  if (t.server_name !== undefined && typeof t.server_name !== "string") return undefined;
  if (t.ca_file !== undefined && typeof t.ca_file !== "string") return undefined;
  return tlsJson({
    enabled: true,
    verify: t.verify,
    ...(t.server_name === undefined ? {} : { server_name: t.server_name as string }),
    ...(t.ca_file === undefined ? {} : { ca_file: t.ca_file as string }),
  });
}

/**
 * What an assignment asks for, without who wrote it: equal keys mean a rewrite would change
 * nothing for the worker (a new master does not rewrite unchanged assignments).
 */
export function assignmentContentKey(a: Assignment): string {
  const groups: Record<string, unknown> = {};
  for (const [name, g] of a.groups) groups[name] = groupJson(g);
  return JSON.stringify([a.worker, a.session, groups]);
}

/**
 * Serializes an assignment (stable: same assignment, same bytes).
 *
 * @example
 * ```ts
 * import { decodeAssignment, encodeAssignment } from "./assignment.ts";
 * const bytes = encodeAssignment({ worker: "w1", session: "01", master: "m", term: "t",
 *   groups: new Map() });
 * console.log(decodeAssignment(bytes)?.worker); // "w1"
 * ```
 */
export function encodeAssignment(a: Assignment): Uint8Array {
  const groups: Record<string, unknown> = {};
  for (const [name, g] of a.groups) groups[name] = groupJson(g);
  return new TextEncoder().encode(JSON.stringify({
    v: 1,
    worker: a.worker,
    session: a.session,
    master: a.master,
    term: a.term,
    groups,
  }));
}

const isInt = (v: unknown, min: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min;

/**
 * Parses an assignment; undefined when it is not one (a worker then probes nothing).
 *
 * @param data the node's bytes
 * @returns the assignment or undefined
 */
export function decodeAssignment(data: Uint8Array): Assignment | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (d.v !== 1 || typeof d.worker !== "string" || typeof d.session !== "string") return undefined;
  if (typeof d.groups !== "object" || d.groups === null) return undefined;
  const groups = new Map<string, AssignedGroup>();
  for (const [name, raw] of Object.entries(d.groups as Record<string, unknown>)) {
    if (typeof raw !== "object" || raw === null) return undefined;
    const g = raw as Record<string, unknown>;
    if (g.type !== "http" && g.type !== "tcp") return undefined;
    if (typeof g.path !== "string" || !isInt(g.expect, 100)) return undefined;
    if (!isInt(g.interval_ms, 1) || !isInt(g.timeout_ms, 1)) return undefined;
    if (!isInt(g.rise, 1) || !isInt(g.fall, 1)) return undefined;
    if (!Array.isArray(g.backends) || !g.backends.every((b) => typeof b === "string")) {
      return undefined;
    }
    const tls = g.tls === undefined ? undefined : decodeTls(g.tls);
    if (g.tls !== undefined && tls === undefined) return undefined;
    if (g.protocol !== undefined && g.protocol !== "h2") return undefined;
    groups.set(name, {
      settings: {
        type: g.type,
        path: g.path,
        expectedStatus: g.expect,
        intervalMs: g.interval_ms,
        timeoutMs: g.timeout_ms,
        rise: g.rise,
        fall: g.fall,
        ...(tls === undefined ? {} : { tls }),
        ...(g.protocol === "h2" ? { protocol: "h2" as const } : {}),
      },
      backends: g.backends as string[],
    });
  }
  return {
    worker: d.worker,
    session: d.session,
    master: typeof d.master === "string" ? d.master : "",
    term: typeof d.term === "string" ? d.term : "",
    groups,
  };
}

/** Target key -> worker of a set of assignments (for diffs and status). */
export function ownership(assignments: Iterable<Assignment>): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of assignments) {
    for (const [group, g] of a.groups) {
      for (const address of g.backends) out.set(`${group}/${address}`, a.worker);
    }
  }
  return out;
}
