/**
 * Backup and restore of a cluster's configuration as one JSON file:
 * `ctl export` writes every group (`/lb-configs/<group>`) and every
 * listener's routes (`/lb-routes/<listener>`); `ctl import` validates the
 * whole file first (every group with the proxies' zod schema, every listener
 * with the routing schema, each route's groups against the file's and the
 * cluster's groups) and writes nothing unless all of it is valid; `--dry-run`
 * prints what it would do.
 *
 * Import creates what is missing and replaces what differs, conditioned on
 * the version it read (a concurrent write is a conflict, nothing is
 * overwritten silently); it deletes nothing, so restoring an old backup
 * never removes a group created since. Groups go through the config
 * repository, so every import is in their history (`action: "import"`).
 *
 * TLS certificates (`/switchyard/certs`) are not in the file, and there is no option to put them
 * in: they hold private keys, and a backup file is copied around more freely than a key should
 * be. Certificates are restored from where their keys are kept, with `ctl cert put`.
 *
 * The file:
 *
 * ```json
 * { "format": "switchyard-export", "format_version": 1, "exported_at": "...",
 *   "groups": { "lb-group-1": { "backend_servers": [...] } },
 *   "listeners": { "public": { "routes": [...] } } }
 * ```
 *
 * @module
 */
import { formatIssues, validateGroupConfig } from "../config/schema.ts";
import { validateListenerConfig } from "../routing/schema.ts";
import { ROUTES_ROOT, routesPath } from "../store/layout.ts";
import { type CoordinationStore, NoNodeError } from "../store/types.ts";
import { ConfigRepo } from "./config_repo.ts";
import { LISTENER_CONFIGS } from "./config_kind.ts";
import { inspectStoredConfig } from "./stored_config.ts";

/** The `format` field every export carries. */
export const EXPORT_FORMAT = "switchyard-export";
/** The layout version of the file. */
export const EXPORT_FORMAT_VERSION = 1;

/** A whole cluster's configuration. */
export interface ExportDocument {
  readonly format: typeof EXPORT_FORMAT;
  readonly format_version: number;
  readonly exported_at: string;
  readonly groups: Readonly<Record<string, unknown>>;
  readonly listeners: Readonly<Record<string, unknown>>;
}

/** An export as read: the document and what was stored invalid (still exported, as stored). */
export interface ExportResult {
  readonly document: ExportDocument;
  /** `group <name>: reason` / `listener <name>: reason` for stored data that is invalid. */
  readonly warnings: readonly string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks an export file: its shape, every group and every listener. Routes
 * may name groups of the file or groups the cluster already has.
 *
 * @param input the parsed file
 * @param clusterGroups groups that exist in the target cluster
 * @returns the document, or every problem as `where: reason` lines
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateExport } from "./export.ts";
 * const doc = {
 *   format: "switchyard-export", format_version: 1, exported_at: "2026-12-07T00:00:00.000Z",
 *   groups: { api: { backend_servers: ["10.0.0.1:80"] } },
 *   listeners: { public: { routes: [{ name: "api", forward: { group: "api" } }] } },
 * };
 * assert.ok(validateExport(doc, new Set()).ok);
 * const bad = validateExport({ ...doc, groups: { api: { backend_servers: "x" } } }, new Set());
 * assert.ok(!bad.ok);
 * assert.match(bad.problems[0]!, /^group "api": backend_servers/);
 * ```
 */
export function validateExport(
  input: unknown,
  clusterGroups: ReadonlySet<string>,
): { ok: true; value: ExportDocument } | { ok: false; problems: string[] } {
  if (!isObject(input)) return { ok: false, problems: ["the file must be a JSON object"] };
  if (input.format !== EXPORT_FORMAT) {
    return { ok: false, problems: [`format must be "${EXPORT_FORMAT}" (a file from ctl export)`] };
  }
  if (input.format_version !== EXPORT_FORMAT_VERSION) {
    return {
      ok: false,
      problems: [`format_version ${JSON.stringify(input.format_version)} is not supported (1)`],
    };
  }
  const problems: string[] = [];
  const groups = input.groups ?? {};
  const listeners = input.listeners ?? {};
  if (!isObject(groups)) problems.push("groups must be an object (group name -> config)");
  if (!isObject(listeners)) problems.push("listeners must be an object (listener name -> routes)");
  if (problems.length > 0) return { ok: false, problems };
  const known = new Set(clusterGroups);
  for (const [group, blob] of Object.entries(groups as Record<string, unknown>)) {
    known.add(group);
    const r = validateGroupConfig(group, blob);
    if (!r.ok) problems.push(...formatIssues(r.issues).split("\n"));
  }
  for (const [listener, blob] of Object.entries(listeners as Record<string, unknown>)) {
    const r = validateListenerConfig(listener, blob, known);
    if (!r.ok) {
      for (const i of r.issues) {
        problems.push(`listener "${listener}": ${i.field ? `${i.field}: ` : ""}${i.reason}`);
      }
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      format: EXPORT_FORMAT,
      format_version: EXPORT_FORMAT_VERSION,
      exported_at: String(input.exported_at ?? ""),
      groups: groups as Record<string, unknown>,
      listeners: listeners as Record<string, unknown>,
    },
  };
}

/** What import does with one group or listener. */
export interface ImportStep {
  readonly kind: "group" | "listener";
  readonly name: string;
  readonly action: "create" | "replace" | "unchanged";
  /** The stored version the write is conditioned on (replace), else null. */
  readonly version: number | null;
}

/** A stored node as the plan sees it. */
export interface StoredItem {
  readonly version: number;
  readonly config: unknown;
}

/**
 * What importing `doc` into a cluster holding `current` does: create what is
 * missing, replace what differs, leave the rest (nothing is deleted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planImport } from "./export.ts";
 * const doc = {
 *   format: "switchyard-export" as const, format_version: 1, exported_at: "",
 *   groups: { a: { backend_servers: [] }, b: { backend_servers: [] } }, listeners: {},
 * };
 * const steps = planImport(doc, {
 *   groups: new Map([["a", { version: 3, config: { backend_servers: [] } }]]),
 *   listeners: new Map(),
 * });
 * assert.deepEqual(steps.map((s) => `${s.name}:${s.action}`), ["a:unchanged", "b:create"]);
 * ```
 */
export function planImport(
  doc: ExportDocument,
  current: {
    groups: ReadonlyMap<string, StoredItem>;
    listeners: ReadonlyMap<string, StoredItem>;
  },
): ImportStep[] {
  const steps: ImportStep[] = [];
  const plan = (
    kind: ImportStep["kind"],
    wanted: Readonly<Record<string, unknown>>,
    stored: ReadonlyMap<string, StoredItem>,
  ) => {
    for (const name of Object.keys(wanted).sort()) {
      const now = stored.get(name);
      if (!now) steps.push({ kind, name, action: "create", version: null });
      else if (sameJson(now.config, wanted[name])) {
        steps.push({ kind, name, action: "unchanged", version: now.version });
      } else steps.push({ kind, name, action: "replace", version: now.version });
    }
  };
  plan("group", doc.groups, current.groups);
  plan("listener", doc.listeners, current.listeners);
  return steps;
}

/** Deep equality of two JSON values, ignoring key order. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isObject(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
}

/** The one-line description of a step, as `ctl import` prints it. */
export function describeStep(step: ImportStep): string {
  const what = `${step.kind} ${step.name}`;
  if (step.action === "create") return `create ${what}`;
  if (step.action === "replace") return `replace ${what} (version ${step.version})`;
  return `unchanged ${what}`;
}

const dec = new TextDecoder();

async function childrenOrNone(store: CoordinationStore, path: string): Promise<string[]> {
  try {
    return (await store.children(path)).sort();
  } catch (e) {
    if (e instanceof NoNodeError) return [];
    throw e;
  }
}

/** Every listener's route config as stored (parsed; null for text that is not JSON). */
async function readListeners(
  store: CoordinationStore,
): Promise<Map<string, StoredItem & { raw: string }>> {
  const out = new Map<string, StoredItem & { raw: string }>();
  for (const name of await childrenOrNone(store, ROUTES_ROOT)) {
    const node = await store.get(routesPath(name));
    if (!node) continue;
    const raw = dec.decode(node.data);
    let config: unknown = null;
    try {
      config = JSON.parse(raw);
    } catch {
      // reported by exportCluster
    }
    out.set(name, { version: node.version, config, raw });
  }
  return out;
}

/** Every group's config as stored. */
async function readGroups(repo: ConfigRepo): Promise<Map<string, StoredItem>> {
  const out = new Map<string, StoredItem>();
  for (const { group } of await repo.list()) {
    const r = await repo.get(group);
    if (r) out.set(group, { version: r.version, config: r.config });
  }
  return out;
}

/**
 * Reads every group and listener into one document. Stored data that is
 * invalid is exported as it is (and named in `warnings`), so the backup
 * holds what the cluster holds; import will refuse it until it is fixed.
 *
 * @param now the export's timestamp
 */
export async function exportCluster(
  store: CoordinationStore,
  now: Date,
): Promise<ExportResult> {
  const repo = new ConfigRepo(store, { historyLimit: Infinity, acl: null });
  const warnings: string[] = [];
  const groups: Record<string, unknown> = {};
  for (const { group } of await repo.list()) {
    const r = await repo.get(group);
    if (!r) continue;
    if (r.problem) warnings.push(`group ${group}: ${r.problem.reason}`);
    groups[group] = r.config ?? r.raw;
  }
  const listeners: Record<string, unknown> = {};
  for (const [name, item] of await readListeners(store)) {
    const { problem } = inspectStoredConfig(name, item.raw);
    const checked = item.config === null
      ? null
      : validateListenerConfig(name, item.config, new Set(Object.keys(groups)));
    if (item.config === null) warnings.push(`listener ${name}: ${problem?.reason ?? "not JSON"}`);
    else if (checked && !checked.ok) {
      warnings.push(
        `listener ${name}: ` +
          checked.issues.map((i) => `${i.field ? `${i.field}: ` : ""}${i.reason}`).join("; "),
      );
    }
    listeners[name] = item.config ?? item.raw;
  }
  return {
    document: {
      format: EXPORT_FORMAT,
      format_version: EXPORT_FORMAT_VERSION,
      exported_at: now.toISOString(),
      groups,
      listeners,
    },
    warnings,
  };
}

/** The outcome of {@link importCluster}. */
export type ImportResult =
  | { readonly ok: false; readonly problems: readonly string[] }
  | { readonly ok: true; readonly steps: readonly ImportStep[]; readonly written: boolean };

/**
 * Validates `input` against the cluster, plans, and (unless `dryRun`)
 * writes: groups and listeners through their config repositories (history
 * `action: "import"`, `by`); every write is conditioned on
 * the version planned, so a concurrent change fails the import with a
 * version conflict instead of being overwritten. Nothing is written when any
 * part of the file is invalid.
 */
export async function importCluster(
  store: CoordinationStore,
  input: unknown,
  options: {
    by: string;
    dryRun: boolean;
    historyLimit: number;
    acl: ConstructorParameters<typeof ConfigRepo>[1]["acl"];
  },
): Promise<ImportResult> {
  const repo = new ConfigRepo(store, { historyLimit: options.historyLimit, acl: options.acl });
  const routes = new ConfigRepo(store, {
    historyLimit: options.historyLimit,
    acl: options.acl,
    kind: LISTENER_CONFIGS,
  });
  const groups = await readGroups(repo);
  const checked = validateExport(input, new Set(groups.keys()));
  if (!checked.ok) return { ok: false, problems: checked.problems };
  const steps = planImport(checked.value, { groups, listeners: await readListeners(store) });
  if (options.dryRun) return { ok: true, steps, written: false };
  for (const step of steps) {
    if (step.action === "unchanged") continue;
    const [target, config] = step.kind === "group"
      ? [repo, checked.value.groups[step.name]]
      : [routes, checked.value.listeners[step.name]];
    if (step.action === "create") await target.create(step.name, config, options.by);
    else await target.update(step.name, config, step.version!, options.by, "import");
  }
  return { ok: true, steps, written: true };
}
