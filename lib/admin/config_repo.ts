/**
 * Group configs in the coordination store, with history.
 *
 * `/lb-configs/<group>` holds the blob; every write through here is one
 * atomic transaction that also appends the written version to
 * `/switchyard/history/<group>` (and first records the current version if it
 * was written by someone else, e.g. zkCli.sh, so nothing is lost). Writes are
 * conditioned on the znode version: a stale write fails with
 * `VersionConflictError` and nothing changes. Schema validation is the
 * caller's job (the API validates with the zod schema before calling); the
 * size is checked here, before anything is written: a config over
 * `MAX_CONFIG_BYTES` fails with `ConfigTooLargeError`, and the group's
 * history node is created inside the same transaction, so a refused write
 * leaves nothing behind.
 *
 * @module
 */
import {
  type AclEntry,
  type CoordinationStore,
  type NodeData,
  NodeExistsError,
  NoNodeError,
  type Op,
  StoreError,
  VersionConflictError,
} from "../store/types.ts";
import { type ConfigKind, GROUP_CONFIGS } from "./config_kind.ts";
import { ConfigTooLargeError, MAX_CONFIG_BYTES } from "./limits.ts";
import { inspectStoredConfig, type StoredConfigProblem } from "./stored_config.ts";

/** A group's (or listener's) config as stored. */
export interface GroupRecord {
  /** The group's name (a listener's, in a listener repository). */
  readonly group: string;
  /** The znode version (what writers must send back to update). */
  readonly version: number;
  /** The blob, parsed; `null` when the node holds invalid JSON (written around the API). */
  readonly config: unknown;
  /** The raw text, for a node that is not valid JSON. */
  readonly raw: string;
  readonly modifiedAt: string;
  /** Why the blob is not a valid config (bad JSON or schema issues), null when it is valid. */
  readonly problem: StoredConfigProblem | null;
}

/**
 * A delta write (add a backend, patch a setting) on a stored blob that is not a JSON object: there
 * is nothing to apply the delta to, and starting from an empty config would silently drop every
 * other backend and setting. Replace the config or roll back instead.
 */
export class InvalidStoredConfigError extends Error {
  /** @param current the record as stored */
  constructor(readonly current: GroupRecord) {
    super(
      `the stored config of ${current.group} (version ${current.version}) is invalid: ` +
        `${current.problem?.reason ?? "not a JSON object"}`,
    );
    this.name = "InvalidStoredConfigError";
  }
}

/**
 * A write refused because a node it depends on changed meanwhile: a guard (`check` op) in the
 * write's transaction failed, e.g. a group a listener's routes name was deleted between the
 * validation and the write. Nothing was written; validate again and retry.
 */
export class DependencyChangedError extends Error {
  /** @param path the node whose version the write was conditioned on */
  constructor(readonly path: string) {
    super(`${path} changed while this write was checked against it; nothing was written`);
    this.name = "DependencyChangedError";
  }
}

/** One history entry. */
export interface HistoryEntry {
  /** History node name, e.g. `v-0000000007` (ordering key). */
  readonly id: string;
  /** The config znode version this blob had. */
  readonly version: number;
  readonly action: string;
  readonly by: string;
  readonly at: string;
  readonly config: unknown;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A config as stored in `/lb-configs/<group>`: indented JSON, for operators reading it with zkCli.sh. */
export function encodeConfig(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value, null, 2) + "\n");
}

/** A history entry as stored: compact, so a write's transaction holds the config about twice, not more. */
function encodeEntry(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

function record(kind: ConfigKind, group: string, node: NodeData): GroupRecord {
  const raw = dec.decode(node.data);
  const { config, problem } = inspectStoredConfig(group, raw, kind.issues);
  return {
    group,
    version: node.version,
    config,
    raw,
    modifiedAt: new Date(node.stat.mtimeMs).toISOString(),
    problem,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The config repository, of group configs or (with `kind: LISTENER_CONFIGS`) of listeners' route
 * configs: the same layout of blob plus history, under the kind's own roots.
 *
 * @example
 * ```ts ignore
 * const repo = new ConfigRepo(store, { historyLimit: 50, acl: null });
 * const r = await repo.create("api", { backend_servers: [] }, "alice");
 * await repo.update("api", { backend_servers: ["10.0.0.1:80"] }, r.version, "alice");
 * ```
 */
export class ConfigRepo {
  constructor(
    readonly store: CoordinationStore,
    readonly options: {
      historyLimit: number;
      acl: readonly AclEntry[] | null;
      /** Largest stored config, bytes (default {@linkcode MAX_CONFIG_BYTES}). */
      maxConfigBytes?: number;
      /** Which configs (default {@linkcode GROUP_CONFIGS}). */
      kind?: ConfigKind;
    },
  ) {
    this.kind = options.kind ?? GROUP_CONFIGS;
  }

  /** Which configs this repository keeps. */
  readonly kind: ConfigKind;

  /** The config as stored, or ConfigTooLargeError when it is over the limit. */
  #encodeChecked(group: string, config: unknown): Uint8Array {
    const data = encodeConfig(config);
    const limit = this.options.maxConfigBytes ?? MAX_CONFIG_BYTES;
    if (data.length > limit) throw new ConfigTooLargeError(group, data.length, limit);
    return data;
  }

  /** Groups and their versions, sorted by name. */
  async list(): Promise<{ group: string; version: number }[]> {
    let names: string[];
    try {
      names = await this.store.children(this.kind.root);
    } catch (e) {
      if (e instanceof NoNodeError) return [];
      throw e;
    }
    const out: { group: string; version: number }[] = [];
    for (const group of names) {
      const stat = await this.store.exists(this.kind.path(group));
      if (stat) out.push({ group, version: stat.version });
    }
    return out;
  }

  /** A group's config, or null when absent. */
  async get(group: string): Promise<GroupRecord | null> {
    const node = await this.store.get(this.kind.path(group));
    return node ? record(this.kind, group, node) : null;
  }

  /**
   * Makes the shared roots exist and returns the op creating the group's history node when it is
   * missing: created in the write's own transaction, so a refused write leaves no empty node.
   */
  async #prepare(group: string): Promise<Op[]> {
    const acl = this.options.acl ?? undefined;
    await this.store.ensurePath(this.kind.root, acl);
    await this.store.ensurePath(this.kind.historyRoot, acl);
    if (await this.store.exists(this.kind.historyPath(group))) return [];
    return [{ op: "create", path: this.kind.historyPath(group), ...(acl ? { acl } : {}) }];
  }

  /**
   * Commits `ops()` in one transaction with the history node's creation if needed and the
   * `guards` (`check` ops on nodes the write was validated against); when another writer created
   * the history node meanwhile, tries once more without it. A failed guard is a
   * DependencyChangedError.
   */
  async #commit(group: string, ops: () => Promise<Op[]>, guards: readonly Op[]): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const first = await this.#prepare(group);
      try {
        await this.store.transaction([...first, ...guards, ...await ops()]);
        return;
      } catch (e) {
        const at = e instanceof StoreError ? (e.failedOpIndex ?? -1) - first.length : -1;
        const guard = at >= 0 && at < guards.length ? guards[at] : undefined;
        if (guard !== undefined && "path" in guard) throw new DependencyChangedError(guard.path);
        const raced = e instanceof NodeExistsError && first.length > 0 && e.failedOpIndex === 0;
        if (!raced || attempt > 0) throw e;
      }
    }
  }

  #historyOp(group: string, version: number, action: string, by: string, config: unknown): Op {
    const acl = this.options.acl ?? undefined;
    return {
      op: "create",
      path: `${this.kind.historyPath(group)}/v-`,
      data: encodeEntry({ version, action, by, at: new Date().toISOString(), config }),
      mode: "persistent_sequential",
      ...(acl ? { acl } : {}),
    };
  }

  /**
   * Ops recording the current version first when history does not have it (written around us).
   * The content is compared too: a node deleted and re-created around us is back at a version
   * the history already names, with other content.
   */
  async #catchUpOps(group: string, current: GroupRecord): Promise<Op[]> {
    const newest = (await this.history(group, 1))[0];
    if (
      newest && newest.version === current.version && newest.action !== "delete" &&
      JSON.stringify(newest.config) === JSON.stringify(current.config)
    ) {
      return [];
    }
    return [this.#historyOp(group, current.version, "external", "zookeeper", current.config)];
  }

  /** The conflict to report after a conditional write failed: with the version now stored. */
  async #conflict(group: string, expectedVersion: number): Promise<VersionConflictError> {
    const now = await this.store.exists(this.kind.path(group)).catch(() => null);
    return new VersionConflictError(this.kind.path(group), expectedVersion, now?.version ?? null);
  }

  /**
   * Creates a group (fails with NodeExistsError when it exists). `guards` are `check` ops
   * committed with the write (DependencyChangedError when one fails).
   */
  async create(
    group: string,
    config: unknown,
    by: string,
    guards: readonly Op[] = [],
  ): Promise<GroupRecord> {
    const data = this.#encodeChecked(group, config);
    const acl = this.options.acl ?? undefined;
    await this.#commit(group, () =>
      Promise.resolve([
        { op: "create", path: this.kind.path(group), data, ...(acl ? { acl } : {}) },
        this.#historyOp(group, 0, "create", by, config),
      ]), guards);
    await this.#trim(group);
    return (await this.get(group))!;
  }

  /**
   * Replaces a group's config if it is still at `expectedVersion`
   * (VersionConflictError otherwise, with the current version). `guards` as for
   * {@linkcode ConfigRepo.create}.
   */
  async update(
    group: string,
    config: unknown,
    expectedVersion: number,
    by: string,
    action = "update",
    guards: readonly Op[] = [],
  ): Promise<GroupRecord> {
    const data = this.#encodeChecked(group, config);
    const current = await this.get(group);
    if (!current) throw new NoNodeError(this.kind.path(group));
    if (current.version !== expectedVersion) {
      throw new VersionConflictError(this.kind.path(group), expectedVersion, current.version);
    }
    try {
      await this.#commit(group, async () => [
        ...await this.#catchUpOps(group, current),
        { op: "set", path: this.kind.path(group), data, version: expectedVersion },
        this.#historyOp(group, expectedVersion + 1, action, by, config),
      ], guards);
    } catch (e) {
      if (e instanceof VersionConflictError) throw await this.#conflict(group, expectedVersion);
      throw e;
    }
    await this.#trim(group);
    return (await this.get(group))!;
  }

  /**
   * Read-modify-write: applies `change` to the current config and writes it,
   * conditioned on the version read. With `expectedVersion` a concurrent
   * write is a conflict; without, the change is re-applied on the newer
   * config (it is a delta such as "add this backend"). A stored blob that is not a JSON object
   * fails with InvalidStoredConfigError (a schema-invalid object is patched: that may fix it).
   */
  async modify(
    group: string,
    change: (config: Record<string, unknown>) => Record<string, unknown>,
    by: string,
    action: string,
    expectedVersion?: number,
  ): Promise<{ before: GroupRecord; after: GroupRecord }> {
    for (let attempt = 0;; attempt++) {
      const before = await this.get(group);
      if (!before) throw new NoNodeError(this.kind.path(group));
      if (expectedVersion !== undefined && before.version !== expectedVersion) {
        throw new VersionConflictError(this.kind.path(group), expectedVersion, before.version);
      }
      if (!isObject(before.config)) throw new InvalidStoredConfigError(before);
      const next = change(structuredClone(before.config));
      try {
        const after = await this.update(group, next, before.version, by, action);
        return { before, after };
      } catch (e) {
        if (!(e instanceof VersionConflictError) || expectedVersion !== undefined || attempt >= 4) {
          throw e;
        }
      }
    }
  }

  /**
   * Deletes a group if it is still at `expectedVersion`; its history is kept. `guards` as for
   * {@linkcode ConfigRepo.create}.
   */
  async remove(
    group: string,
    expectedVersion: number,
    by: string,
    guards: readonly Op[] = [],
  ): Promise<void> {
    const current = await this.get(group);
    if (!current) throw new NoNodeError(this.kind.path(group));
    if (current.version !== expectedVersion) {
      throw new VersionConflictError(this.kind.path(group), expectedVersion, current.version);
    }
    try {
      await this.#commit(group, async () => [
        ...await this.#catchUpOps(group, current),
        { op: "delete", path: this.kind.path(group), version: expectedVersion },
        this.#historyOp(group, expectedVersion, "delete", by, current.config),
      ], guards);
    } catch (e) {
      if (e instanceof VersionConflictError) throw await this.#conflict(group, expectedVersion);
      throw e;
    }
    await this.#trim(group);
  }

  /** History entries, newest first (at most `limit`). */
  async history(group: string, limit = Infinity): Promise<HistoryEntry[]> {
    let names: string[];
    try {
      names = await this.store.children(this.kind.historyPath(group));
    } catch (e) {
      if (e instanceof NoNodeError) return [];
      throw e;
    }
    names.sort().reverse();
    const out: HistoryEntry[] = [];
    for (const id of names) {
      if (out.length >= limit) break;
      const node = await this.store.get(`${this.kind.historyPath(group)}/${id}`);
      if (!node) continue;
      try {
        const v = JSON.parse(dec.decode(node.data)) as Omit<HistoryEntry, "id">;
        out.push({ id, ...v });
      } catch {
        // a damaged entry is skipped, not fatal
      }
    }
    return out;
  }

  /** The newest history entry holding config version `version`, or null. */
  async historyVersion(group: string, version: number): Promise<HistoryEntry | null> {
    const all = await this.history(group);
    return all.find((e) => e.version === version && e.action !== "delete") ?? null;
  }

  /**
   * The newest version in the history whose config is valid (the one to roll back to when the
   * stored blob is invalid), or null.
   */
  async lastValidVersion(group: string): Promise<number | null> {
    for (const e of await this.history(group)) {
      if (e.action === "delete") continue;
      if (this.kind.issues(group, e.config).length === 0) return e.version;
    }
    return null;
  }

  /** Deletes the oldest history entries beyond the limit (best effort). */
  async #trim(group: string): Promise<void> {
    try {
      const names = (await this.store.children(this.kind.historyPath(group))).sort();
      const excess = names.length - this.options.historyLimit;
      for (let i = 0; i < excess; i++) {
        await this.store.delete(`${this.kind.historyPath(group)}/${names[i]}`).catch(() => {});
      }
    } catch {
      // history trimming never fails a write
    }
  }
}
