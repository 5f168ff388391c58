/**
 * The master loop: while this process acts as leader, it watches the configs and the live
 * workers, splits every (group, backend) target over the workers by rendezvous hashing and
 * writes the assignments.
 *
 * - Watches: children of `/lb-configs` plus each group's data (invalid blobs are skipped, the
 *   last good targets kept), children of the workers node plus each worker's session.
 * - Writes: all changed assignments in ONE transaction whose first op is the election fence
 *   (`check` own election node) and whose sets carry the versions last seen: a deposed master,
 *   or one racing a newer master, cannot write. Unchanged assignments are not rewritten (a new
 *   master writes nothing if nothing changed), departed workers' assignments are deleted.
 * - Debounce: changes are batched for `debounceMs` (100 ms), so a config edit is reflected in
 *   assignments well within a second; the first plan of a term runs as soon as everything has
 *   been read once.
 * - Health garbage: nodes of backends (or groups) no longer configured are deleted, fenced too.
 * - `/switchyard/orchestrator/master` (ephemeral) names the acting master, for operators.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import {
  assignmentPath,
  ASSIGNMENTS_PATH,
  CONFIG_ROOT,
  configPath,
  HEALTH_ROOT,
  healthBackendPath,
  healthGroupPath,
  MASTER_PATH,
  workerPath,
  WORKERS_PATH,
} from "../store/layout.ts";
import {
  type CoordinationStore,
  isTransient,
  NodeExistsError,
  NoNodeError,
  type Op,
  type OpResult,
  StoreClosedError,
  type WatchHandle,
} from "../store/mod.ts";
import {
  type Assignment,
  assignmentContentKey,
  assignmentSize,
  assignmentTargets,
  decodeAssignment,
  encodeAssignment,
  planAssignments,
  type WorkerInfo,
} from "./assignment.ts";
import { ensureOwnedPath, type OrchestratorAcls } from "./paths.ts";
import { ConfigBook, type Target } from "./targets.ts";

/** Options of a {@linkcode Master}. */
export interface MasterOptions {
  readonly store: CoordinationStore;
  readonly id: string;
  readonly acls: OrchestratorAcls;
  readonly log: Logger;
  /** Batching of changes before a plan is written (ms, default 100). */
  readonly debounceMs?: number;
  /** Called after each successful assignment write (metrics). */
  readonly onWrite?: (changed: number) => void;
  /** Called when a write failed its fence (the election should look again). */
  readonly onFenced?: () => void;
}

/** What `/status` shows of the master side. */
export interface MasterStatus {
  readonly active: boolean;
  readonly term: string | null;
  readonly groups: number;
  readonly targets: number;
  readonly workers: readonly { id: string; targets: number }[];
  readonly rejectedGroups: readonly string[];
  readonly lastPlanAt: number | null;
  readonly writes: number;
}

interface Term {
  readonly node: string;
  readonly fence: Op;
  readonly book: ConfigBook;
  readonly groupWatches: Map<string, WatchHandle>;
  readonly groupReady: Map<string, Promise<void>>;
  listed: Set<string>;
  readonly rejected: Set<string>;
  workers: WorkerInfo[];
  workersKey: string;
  readonly written: Map<string, { version: number; key: string }>;
  /**
   * Each group's targets as the previous master assigned them: used for a listed group whose
   * config is invalid when this term starts (its last good targets survive the failover).
   */
  readonly inherited: Map<string, Target[]>;
  readonly ensuredHealth: Set<string>;
  readonly watches: WatchHandle[];
  loaded: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  running: boolean;
  dirty: boolean;
  gcDue: boolean;
  plan: Map<string, Assignment>;
  ended: boolean;
}

const enc = (s: string) => new TextEncoder().encode(s);

/**
 * The master side of an orchestrator process; {@linkcode Master.begin} when the election says
 * acting, {@linkcode Master.end} when it no longer does.
 */
export class Master {
  readonly #o: MasterOptions;
  #term: Term | null = null;
  #lastPlanAt: number | null = null;
  #writes = 0;

  constructor(options: MasterOptions) {
    this.#o = options;
  }

  /** Whether a term is running. */
  get active(): boolean {
    return this.#term !== null;
  }

  /**
   * Starts acting as master.
   *
   * @param node own election node name (the term)
   * @param fence the election's fencing op
   */
  begin(node: string, fence: Op): void {
    if (this.#term?.node === node) return;
    this.end();
    const term: Term = {
      node,
      fence,
      book: new ConfigBook(),
      groupWatches: new Map(),
      groupReady: new Map(),
      listed: new Set(),
      rejected: new Set(),
      workers: [],
      workersKey: "",
      written: new Map(),
      inherited: new Map(),
      ensuredHealth: new Set(),
      watches: [],
      loaded: false,
      timer: undefined,
      running: false,
      dirty: false,
      gcDue: true,
      plan: new Map(),
      ended: false,
    };
    this.#term = term;
    this.#o.log.info("acting as master", { term: node });
    void this.#load(term);
  }

  /** Stops acting as master (watches closed, nothing more written). */
  end(): void {
    const term = this.#term;
    if (term === null) return;
    term.ended = true;
    this.#term = null;
    if (term.timer !== undefined) clearTimeout(term.timer);
    for (const w of term.watches) w.close();
    for (const w of term.groupWatches.values()) w.close();
    this.#o.log.info("no longer acting as master", { term: term.node });
  }

  /** Ends the term and deletes the master node if this session owns it (graceful stop). */
  async resign(): Promise<void> {
    this.end();
    const store = this.#o.store;
    try {
      const stat = await store.exists(MASTER_PATH);
      if (stat !== null && stat.ephemeralOwner === store.session()?.id) {
        await store.delete(MASTER_PATH, stat.version);
      }
    } catch {
      // Best effort: the node is ephemeral and goes with the session anyway.
    }
  }

  /** Snapshot for `/status`. */
  status(): MasterStatus {
    const t = this.#term;
    return {
      active: t !== null,
      term: t?.node ?? null,
      groups: t?.book.configs().size ?? 0,
      targets: t === null ? 0 : this.#targets(t).length,
      workers: t === null ? [] : t.workers.map((w) => ({
        id: w.id,
        targets: t.plan.has(w.id) ? assignmentSize(t.plan.get(w.id)!) : 0,
      })),
      rejectedGroups: t === null ? [] : [...t.rejected].sort(),
      lastPlanAt: this.#lastPlanAt,
      writes: this.#writes,
    };
  }

  // ----- loading -------------------------------------------------------------------------------

  async #load(term: Term): Promise<void> {
    const store = this.#o.store;
    try {
      await ensureOwnedPath(store, WORKERS_PATH, this.#o.acls);
      await ensureOwnedPath(store, ASSIGNMENTS_PATH, this.#o.acls);
      await this.#claimMasterNode(term);
      await this.#readAssignments(term);
    } catch (error) {
      if (term.ended || error instanceof StoreClosedError) return;
      if ((error as { failedOpIndex?: number }).failedOpIndex === 0) {
        this.#o.log.warn("master start-up fenced: no longer the leader", { term: term.node });
        this.#o.onFenced?.();
        return;
      }
      this.#o.log.warn("master start-up failed; retrying", { error: String(error) });
      setTimeout(() => {
        if (!term.ended) void this.#load(term);
      }, isTransient(error) ? 200 : 1000);
      return;
    }
    if (term.ended) return;
    const configs = store.watchChildren(CONFIG_ROOT, (snap) => {
      if (term.ended) return;
      const names = new Set(snap?.children ?? []);
      term.listed = names;
      for (const [g, w] of term.groupWatches) {
        if (!names.has(g)) {
          w.close();
          term.groupWatches.delete(g);
          term.groupReady.delete(g);
          term.rejected.delete(g);
          const r = term.book.apply(g, null);
          if (r.kind === "removed" && r.changed) this.#o.log.info("group removed", { group: g });
          term.gcDue = true;
        }
      }
      for (const g of names) {
        if (term.groupWatches.has(g)) continue;
        const w = store.watchData(
          configPath(g),
          (node) => this.#onConfig(term, g, node?.data ?? null),
          {
            onError: (e) => this.#o.log.warn("config watch error", { group: g, error: String(e) }),
          },
        );
        term.groupWatches.set(g, w);
        term.groupReady.set(g, w.ready);
      }
      this.#changed(term);
    }, { onError: (e) => this.#o.log.warn("config list watch error", { error: String(e) }) });
    const workers = store.watchChildren(WORKERS_PATH, (snap) => {
      if (!term.ended) void this.#onWorkers(term, snap?.children ?? []);
    }, { onError: (e) => this.#o.log.warn("workers watch error", { error: String(e) }) });
    term.watches.push(configs, workers);
    await Promise.all([configs.ready, workers.ready]);
    // Every group listed at first must be read before the first plan (no partial config).
    await Promise.all([...term.groupReady.values()]);
    await this.#workersSettled(term);
    if (term.ended) return;
    term.loaded = true;
    this.#o.log.info("master loaded state", {
      groups: term.book.configs().size,
      workers: term.workers.length,
    });
    this.#plan(term);
  }

  async #claimMasterNode(term: Term): Promise<void> {
    const store = this.#o.store;
    const acl = this.#o.acls.owned ? { acl: this.#o.acls.owned } : {};
    const create: Op = {
      op: "create",
      path: MASTER_PATH,
      data: enc(this.#o.id),
      mode: "ephemeral",
      ...acl,
    };
    try {
      await store.transaction([term.fence, create]);
      return;
    } catch (error) {
      if (!(error instanceof NodeExistsError)) throw error;
    }
    const node = await store.get(MASTER_PATH);
    if (node === null) return await this.#claimMasterNode(term);
    if (node.stat.ephemeralOwner === store.session()?.id) return;
    // Left by a previous master whose session has not expired yet (e.g. it resigned its
    // election node but is still connected): replace it.
    await store.transaction([
      term.fence,
      { op: "delete", path: MASTER_PATH, version: node.version },
      create,
    ]);
  }

  async #readAssignments(term: Term): Promise<void> {
    const store = this.#o.store;
    term.written.clear();
    const names = await store.children(ASSIGNMENTS_PATH);
    const firstRead = term.inherited.size === 0 && !term.loaded;
    await Promise.all(names.map(async (w) => {
      const node = await store.get(assignmentPath(w));
      if (node === null) return;
      const doc = decodeAssignment(node.data);
      if (doc !== undefined && firstRead) {
        for (const t of assignmentTargets(doc)) {
          const list = term.inherited.get(t.group) ?? [];
          list.push(t);
          term.inherited.set(t.group, list);
        }
      }
      term.written.set(w, {
        version: node.version,
        key: doc === undefined ? "" : assignmentContentKey(doc),
      });
    }));
  }

  #onConfig(term: Term, group: string, data: Uint8Array | null): void {
    if (term.ended) return;
    const r = term.book.apply(group, data);
    if (r.kind === "rejected") {
      term.rejected.add(group);
      this.#o.log.warn(
        r.keptLastGood
          ? "invalid config skipped; keeping the group's last good targets"
          : "invalid config skipped; the group has no good config yet",
        { group, reason: r.reason },
      );
      return;
    }
    term.rejected.delete(group);
    if (r.kind === "removed") term.gcDue = true;
    if (r.changed) {
      term.gcDue = true;
      this.#o.log.info("config changed", { group });
      this.#changed(term);
    }
  }

  #workerFetch: Promise<void> = Promise.resolve();

  #workersCall = 0;

  #onWorkers(term: Term, children: readonly string[]): Promise<void> {
    const call = ++this.#workersCall;
    // Serialized: a slow read must not overwrite a newer list.
    this.#workerFetch = this.#workerFetch.then(async () => {
      if (term.ended) return;
      const store = this.#o.store;
      const infos: WorkerInfo[] = [];
      let interrupted = false;
      await Promise.all(children.map(async (id) => {
        try {
          const stat = await store.exists(workerPath(id));
          if (stat?.ephemeralOwner) infos.push({ id, session: stat.ephemeralOwner });
        } catch (error) {
          if (!isTransient(error)) throw error;
          interrupted = true;
        }
      }));
      if (interrupted) {
        // A worker could not be read (connection loss): read the list again rather than
        // planning without it, unless a newer list has arrived meanwhile.
        setTimeout(() => {
          if (!term.ended && call === this.#workersCall) void this.#onWorkers(term, children);
        }, 200);
        return;
      }
      infos.sort((a, b) => (a.id < b.id ? -1 : 1));
      const key = JSON.stringify(infos);
      if (key === term.workersKey) return;
      const before = new Set(term.workers.map((w) => w.id));
      const after = new Set(infos.map((w) => w.id));
      term.workers = infos;
      term.workersKey = key;
      if (term.loaded) {
        this.#o.log.info("workers changed", {
          workers: infos.map((w) => w.id),
          joined: [...after].filter((w) => !before.has(w)),
          left: [...before].filter((w) => !after.has(w)),
        });
      }
      this.#changed(term);
    }).catch((error) => {
      this.#o.log.warn("reading workers failed", { error: String(error) });
    });
    return this.#workerFetch;
  }

  #workersSettled(_term: Term): Promise<void> {
    return this.#workerFetch;
  }

  // ----- planning ------------------------------------------------------------------------------

  #changed(term: Term): void {
    term.dirty = true;
    if (!term.loaded || term.ended || term.timer !== undefined) return;
    term.timer = setTimeout(() => {
      term.timer = undefined;
      this.#plan(term);
    }, this.#o.debounceMs ?? 100);
  }

  #plan(term: Term): void {
    term.dirty = true;
    if (term.running || term.ended) return;
    void this.#writeLoop(term);
  }

  async #writeLoop(term: Term): Promise<void> {
    term.running = true;
    try {
      while (term.dirty && !term.ended) {
        term.dirty = false;
        try {
          await this.#writePlan(term);
          if (term.gcDue && !term.ended) {
            term.gcDue = false;
            await this.#collectGarbage(term);
          }
        } catch (error) {
          if (term.ended || error instanceof StoreClosedError) return;
          const index = (error as { failedOpIndex?: number }).failedOpIndex;
          if (index === 0) {
            // The fence failed: our election node is gone. The election notices and ends us.
            this.#o.log.warn("assignment write fenced: no longer the leader", { term: term.node });
            this.#o.onFenced?.();
            return;
          }
          if (isTransient(error)) {
            this.#o.log.warn("assignment write interrupted; retrying", { error: String(error) });
          } else {
            this.#o.log.warn("assignment write conflicted; re-reading and retrying", {
              error: String(error),
            });
          }
          await new Promise((r) => setTimeout(r, isTransient(error) ? 200 : 50));
          if (term.ended) return;
          try {
            await this.#readAssignments(term);
          } catch {
            // retried in the next round
          }
          term.dirty = true;
        }
      }
    } finally {
      term.running = false;
    }
  }

  async #writePlan(term: Term): Promise<void> {
    const store = this.#o.store;
    const configs = term.book.configs();
    // Proxies watch /switchyard/health/<group>: make sure it exists for every group.
    for (const g of configs.keys()) {
      if (term.ensuredHealth.has(g)) continue;
      await ensureOwnedPath(store, healthGroupPath(g), this.#o.acls);
      term.ensuredHealth.add(g);
    }
    const plan = planAssignments(this.#targets(term), term.workers, this.#o.id, term.node);
    const ops: Op[] = [term.fence];
    const acl = this.#o.acls.owned ? { acl: this.#o.acls.owned } : {};
    const keys = new Map<string, string>();
    for (const [w, a] of plan) {
      const key = assignmentContentKey(a);
      keys.set(w, key);
      const prev = term.written.get(w);
      if (prev?.key === key) continue;
      const data = encodeAssignment(a);
      ops.push(
        prev === undefined
          ? { op: "create", path: assignmentPath(w), data, ...acl }
          : { op: "set", path: assignmentPath(w), data, version: prev.version },
      );
    }
    for (const [w, prev] of term.written) {
      if (!plan.has(w)) ops.push({ op: "delete", path: assignmentPath(w), version: prev.version });
    }
    term.plan = plan;
    if (ops.length === 1) return;
    if (term.ended) return;
    const results: OpResult[] = await store.transaction(ops);
    for (let i = 1; i < ops.length; i++) {
      const op = ops[i]!;
      const w = op.path.slice(op.path.lastIndexOf("/") + 1);
      const r = results[i]!;
      if (r.op === "delete") term.written.delete(w);
      else if (r.op === "set") term.written.set(w, { version: r.stat.version, key: keys.get(w)! });
      else if (r.op === "create") term.written.set(w, { version: 0, key: keys.get(w)! });
    }
    this.#writes += ops.length - 1;
    this.#lastPlanAt = Date.now();
    this.#o.onWrite?.(ops.length - 1);
    this.#o.log.info("assignments written", {
      changed: ops.length - 1,
      targets: [...plan.values()].reduce((n, a) => n + assignmentSize(a), 0),
      workers: [...plan].map(([w, a]) => `${w}:${assignmentSize(a)}`),
    });
  }

  /** Targets of good configs, plus inherited ones of listed groups without a good config. */
  #targets(term: Term): Target[] {
    const targets = term.book.targets();
    const configs = term.book.configs();
    for (const [g, list] of term.inherited) {
      if (term.listed.has(g) && !configs.has(g)) targets.push(...list);
    }
    return targets;
  }

  /** Deletes health nodes of backends no longer in any good config of a listed group. */
  async #collectGarbage(term: Term): Promise<void> {
    const store = this.#o.store;
    let groups: string[];
    try {
      groups = await store.children(HEALTH_ROOT);
    } catch (error) {
      if (error instanceof NoNodeError) return;
      throw error;
    }
    const configs = term.book.configs();
    const ops: Op[] = [];
    for (const g of groups) {
      const config = configs.get(g);
      // A listed group without a good config keeps its health (its last state is unknown).
      if (config === undefined && term.listed.has(g)) continue;
      const addresses = new Set(config?.backend_servers.map((b) => b.address) ?? []);
      let names: string[];
      try {
        names = await store.children(healthGroupPath(g));
      } catch (error) {
        if (error instanceof NoNodeError) continue;
        throw error;
      }
      for (const a of names) {
        if (!addresses.has(a)) ops.push({ op: "delete", path: healthBackendPath(g, a) });
      }
    }
    for (let i = 0; i < ops.length && !term.ended; i += 100) {
      try {
        await store.transaction([term.fence, ...ops.slice(i, i + 100)]);
      } catch (error) {
        if ((error as { failedOpIndex?: number }).failedOpIndex === 0) throw error;
        // A node vanished meanwhile: delete one by one (fenced each).
        for (const op of ops.slice(i, i + 100)) {
          await store.transaction([term.fence, op]).catch((e) => {
            if ((e as { failedOpIndex?: number }).failedOpIndex === 0) throw e;
          });
        }
      }
    }
    if (ops.length > 0) {
      this.#o.log.info("removed health of unconfigured backends", { nodes: ops.length });
    }
  }
}
