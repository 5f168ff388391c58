/**
 * Group configs in the coordination store, with history.
 *
 * `/lb-configs/<group>` holds the blob; every write through here is one
 * atomic transaction that also appends the written version to
 * `/switchyard/history/<group>` (and first records the current version if it
 * was written by someone else, e.g. zkCli.sh, so nothing is lost). Writes are
 * conditioned on the znode version: a stale write fails with
 * `VersionConflictError` and nothing changes. Validation is the caller's job
 * (the API validates with the zod schema before calling).
 *
 * @module
 */
import { CONFIG_ROOT, configPath, historyPath } from "../store/layout.ts";
import {
  type AclEntry,
  type CoordinationStore,
  type NodeData,
  NoNodeError,
  type Op,
  VersionConflictError,
} from "../store/types.ts";

/** A group's config as stored. */
export interface GroupRecord {
  readonly group: string;
  /** The znode version (what writers must send back to update). */
  readonly version: number;
  /** The blob, parsed; `null` when the node holds invalid JSON (written around the API). */
  readonly config: unknown;
  /** The raw text, for a node that is not valid JSON. */
  readonly raw: string;
  readonly modifiedAt: string;
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

function encode(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value, null, 2) + "\n");
}

function record(group: string, node: NodeData): GroupRecord {
  const raw = dec.decode(node.data);
  let config: unknown = null;
  try {
    config = JSON.parse(raw);
  } catch {
    config = null;
  }
  return {
    group,
    version: node.version,
    config,
    raw,
    modifiedAt: new Date(node.stat.mtimeMs).toISOString(),
  };
}

/**
 * The config repository.
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
    readonly options: { historyLimit: number; acl: readonly AclEntry[] | null },
  ) {}

  /** Groups and their versions, sorted by name. */
  async list(): Promise<{ group: string; version: number }[]> {
    let names: string[];
    try {
      names = await this.store.children(CONFIG_ROOT);
    } catch (e) {
      if (e instanceof NoNodeError) return [];
      throw e;
    }
    const out: { group: string; version: number }[] = [];
    for (const group of names) {
      const stat = await this.store.exists(configPath(group));
      if (stat) out.push({ group, version: stat.version });
    }
    return out;
  }

  /** A group's config, or null when absent. */
  async get(group: string): Promise<GroupRecord | null> {
    const node = await this.store.get(configPath(group));
    return node ? record(group, node) : null;
  }

  async #prepare(group: string): Promise<void> {
    const acl = this.options.acl ?? undefined;
    await this.store.ensurePath(CONFIG_ROOT, acl);
    await this.store.ensurePath(historyPath(group), acl);
  }

  #historyOp(group: string, version: number, action: string, by: string, config: unknown): Op {
    const acl = this.options.acl ?? undefined;
    return {
      op: "create",
      path: `${historyPath(group)}/v-`,
      data: encode({ version, action, by, at: new Date().toISOString(), config }),
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
    const now = await this.store.exists(configPath(group)).catch(() => null);
    return new VersionConflictError(configPath(group), expectedVersion, now?.version ?? null);
  }

  /** Creates a group (fails with NodeExistsError when it exists). */
  async create(group: string, config: unknown, by: string): Promise<GroupRecord> {
    await this.#prepare(group);
    const acl = this.options.acl ?? undefined;
    await this.store.transaction([
      { op: "create", path: configPath(group), data: encode(config), ...(acl ? { acl } : {}) },
      this.#historyOp(group, 0, "create", by, config),
    ]);
    await this.#trim(group);
    return (await this.get(group))!;
  }

  /**
   * Replaces a group's config if it is still at `expectedVersion`
   * (VersionConflictError otherwise, with the current version).
   */
  async update(
    group: string,
    config: unknown,
    expectedVersion: number,
    by: string,
    action = "update",
  ): Promise<GroupRecord> {
    await this.#prepare(group);
    const current = await this.get(group);
    if (!current) throw new NoNodeError(configPath(group));
    if (current.version !== expectedVersion) {
      throw new VersionConflictError(configPath(group), expectedVersion, current.version);
    }
    const ops: Op[] = [
      ...await this.#catchUpOps(group, current),
      { op: "set", path: configPath(group), data: encode(config), version: expectedVersion },
      this.#historyOp(group, expectedVersion + 1, action, by, config),
    ];
    try {
      await this.store.transaction(ops);
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
   * config (it is a delta such as "add this backend").
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
      if (!before) throw new NoNodeError(configPath(group));
      if (expectedVersion !== undefined && before.version !== expectedVersion) {
        throw new VersionConflictError(configPath(group), expectedVersion, before.version);
      }
      const base = typeof before.config === "object" && before.config !== null &&
          !Array.isArray(before.config)
        ? structuredClone(before.config as Record<string, unknown>)
        : {};
      const next = change(base);
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

  /** Deletes a group if it is still at `expectedVersion`; its history is kept. */
  async remove(group: string, expectedVersion: number, by: string): Promise<void> {
    await this.#prepare(group);
    const current = await this.get(group);
    if (!current) throw new NoNodeError(configPath(group));
    if (current.version !== expectedVersion) {
      throw new VersionConflictError(configPath(group), expectedVersion, current.version);
    }
    try {
      await this.store.transaction([
        ...await this.#catchUpOps(group, current),
        { op: "delete", path: configPath(group), version: expectedVersion },
        this.#historyOp(group, expectedVersion, "delete", by, current.config),
      ]);
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
      names = await this.store.children(historyPath(group));
    } catch (e) {
      if (e instanceof NoNodeError) return [];
      throw e;
    }
    names.sort().reverse();
    const out: HistoryEntry[] = [];
    for (const id of names) {
      if (out.length >= limit) break;
      const node = await this.store.get(`${historyPath(group)}/${id}`);
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

  /** Deletes the oldest history entries beyond the limit (best effort). */
  async #trim(group: string): Promise<void> {
    try {
      const names = (await this.store.children(historyPath(group))).sort();
      const excess = names.length - this.options.historyLimit;
      for (let i = 0; i < excess; i++) {
        await this.store.delete(`${historyPath(group)}/${names[i]}`).catch(() => {});
      }
    } catch {
      // history trimming never fails a write
    }
  }
}
