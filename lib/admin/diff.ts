/**
 * A structural diff of two JSON values (configs): what was added, removed
 * or changed, by path. Pure. Used by the API's diff endpoint, the CLI and
 * the console's "review before save".
 *
 * @module
 */

/** One difference between two JSON values. */
export interface DiffEntry {
  /** `backend_servers[1].weight`, `algorithm`, or "" for the whole value. */
  readonly path: string;
  readonly op: "add" | "remove" | "change";
  readonly from?: unknown;
  readonly to?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  if (plain !== key) return `${path}[${plain}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Lists the differences from `a` to `b`, keys in sorted order.
 *
 * @example
 * ```ts
 * import { diffJson } from "./diff.ts";
 * diffJson({ algorithm: "ROUND_ROBIN" }, { algorithm: "RANDOM", x: 1 });
 * // [{ path: "algorithm", op: "change", from: "ROUND_ROBIN", to: "RANDOM" },
 * //  { path: "x", op: "add", to: 1 }]
 * ```
 */
export function diffJson(a: unknown, b: unknown, path = ""): DiffEntry[] {
  if (isObject(a) && isObject(b)) {
    const out: DiffEntry[] = [];
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const p = join(path, k);
      // own keys only: `"toString" in {}` is true, and an inherited member is not config
      if (!Object.hasOwn(b, k)) out.push({ path: p, op: "remove", from: a[k] });
      else if (!Object.hasOwn(a, k)) out.push({ path: p, op: "add", to: b[k] });
      else out.push(...diffJson(a[k], b[k], p));
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: DiffEntry[] = [];
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const p = join(path, i);
      if (i >= b.length) out.push({ path: p, op: "remove", from: a[i] });
      else if (i >= a.length) out.push({ path: p, op: "add", to: b[i] });
      else out.push(...diffJson(a[i], b[i], p));
    }
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a === undefined) return [{ path, op: "add", to: b }];
  if (b === undefined) return [{ path, op: "remove", from: a }];
  return [{ path, op: "change", from: a, to: b }];
}

/** A one-line-per-change text form, as `ctl diff` prints it. */
export function formatDiff(entries: readonly DiffEntry[]): string {
  if (entries.length === 0) return "(no differences)";
  return entries.map((e) => {
    const where = e.path || "(whole config)";
    if (e.op === "add") return `+ ${where}: ${JSON.stringify(e.to)}`;
    if (e.op === "remove") return `- ${where}: ${JSON.stringify(e.from)}`;
    return `~ ${where}: ${JSON.stringify(e.from)} -> ${JSON.stringify(e.to)}`;
  }).join("\n");
}
