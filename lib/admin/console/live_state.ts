/**
 * The console's live view of the coordination store, kept by the same
 * watches the roles use: the group configs (`/lb-configs`), the
 * orchestrator's health verdicts (`/switchyard/health/<group>`), the proxy
 * registrations (`/switchyard/proxies/<group>/<id>`) and the orchestrator's
 * master, workers and assignments. Watches are opened and closed as groups,
 * proxies and workers come and go. Listeners are told (coalesced) after
 * every change and read {@link LiveState.topology}.
 *
 * @module
 */
import { validateGroupConfig } from "../../config/schema.ts";
import { invalidJsonReason } from "../stored_config.ts";
import type { Logger } from "../../log.ts";
import {
  assignmentPath,
  ASSIGNMENTS_PATH,
  CONFIG_ROOT,
  configPath,
  healthBackendPath,
  healthGroupPath,
  MASTER_PATH,
  PROXIES_ROOT,
  proxiesGroupPath,
  proxyInstancePath,
  WORKERS_PATH,
} from "../../store/layout.ts";
import type {
  ChildrenSnapshot,
  CoordinationStore,
  NodeData,
  WatchHandle,
} from "../../store/types.ts";
import {
  backendEntries,
  type BackendEntry,
  type ConnectionView,
  type IssueView,
  type OrchestratorView,
  type ProxyView,
} from "./model.ts";

/** A proxy's registration, as it wrote it: the registration's part of a {@link ProxyView}. */
export type Registration = Pick<
  ProxyView,
  "id" | "group" | "address" | "admin" | "region" | "runtime" | "configVersion" | "startedAt"
>;

/** Why the orchestrator holds a backend unhealthy. */
export interface UnhealthyInfo {
  readonly reason: string | null;
  readonly since: string | null;
}

/** One group as the store describes it. */
export interface GroupTopology {
  readonly name: string;
  readonly version: number | null;
  readonly modifiedAt: string | null;
  readonly config: unknown;
  readonly issues: readonly IssueView[];
  readonly algorithm: string | null;
  /** Backends in config order; canonical addresses when the config is valid. */
  readonly backends: readonly BackendEntry[];
  readonly unhealthy: ReadonlyMap<string, UnhealthyInfo>;
  readonly proxies: readonly Registration[];
}

/** The whole store-side picture. */
export interface Topology {
  readonly coordination: ConnectionView;
  readonly groups: readonly GroupTopology[];
  readonly orchestrator: OrchestratorView;
}

/** Options of {@link LiveState}. */
export interface LiveStateOptions {
  readonly store: CoordinationStore;
  readonly log: Logger;
  /** Changes within this many ms are told once (default 50). */
  readonly coalesceMs?: number;
  readonly now?: () => number;
}

interface ConfigEntry {
  readonly watch: WatchHandle;
  readonly health: WatchHandle;
  node: NodeData | null;
  readonly unhealthy: Map<string, UnhealthyInfo>;
}

interface ProxyGroupEntry {
  readonly watch: WatchHandle;
  readonly ids: Map<string, { watch: WatchHandle; reg: Registration | null }>;
}

const dec = new TextDecoder();

function jsonOf(data: Uint8Array): unknown {
  try {
    return JSON.parse(dec.decode(data));
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | null =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : null;

/** Parses a registration leniently (a proxy of another version may write more or less). */
export function parseRegistration(group: string, id: string, data: Uint8Array): Registration {
  const doc = jsonOf(data);
  const d = typeof doc === "object" && doc !== null ? doc as Record<string, unknown> : {};
  return {
    id,
    group,
    address: str(d.address),
    admin: str(d.admin),
    region: str(d.region),
    runtime: str(d.runtime),
    configVersion: str(d.config_version),
    startedAt: str(d.started_at),
  };
}

/** Size of an orchestrator assignment node: backends and groups it lists. */
export function assignmentSize(data: Uint8Array): { backends: number; groups: number } | null {
  const doc = jsonOf(data);
  if (typeof doc !== "object" || doc === null) return null;
  const groups = (doc as { groups?: unknown }).groups;
  if (typeof groups !== "object" || groups === null) return null;
  let backends = 0;
  let n = 0;
  for (const g of Object.values(groups as Record<string, unknown>)) {
    n++;
    const list = (g as { backends?: unknown } | null)?.backends;
    if (Array.isArray(list)) backends += list.length;
  }
  return { backends, groups: n };
}

function describeConfig(
  name: string,
  node: NodeData | null,
): Pick<GroupTopology, "version" | "modifiedAt" | "config" | "issues" | "algorithm" | "backends"> {
  if (!node) {
    return {
      version: null,
      modifiedAt: null,
      config: null,
      issues: [],
      algorithm: null,
      backends: [],
    };
  }
  const modifiedAt = new Date(node.stat.mtimeMs).toISOString();
  const text = dec.decode(node.data);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    return {
      version: node.version,
      modifiedAt,
      config: null,
      issues: [{ field: "", reason: invalidJsonReason(text, (e as Error).message) }],
      algorithm: null,
      backends: [],
    };
  }
  const raw = backendEntries(config);
  const r = validateGroupConfig(name, config);
  if (r.ok) {
    return {
      version: node.version,
      modifiedAt,
      config,
      issues: [],
      algorithm: r.value.algorithm,
      backends: r.value.backend_servers.map((b, i) => ({
        address: b.address,
        weight: b.weight,
        drain: raw[i]?.drain ?? false,
      })),
    };
  }
  const algorithm = (config as { algorithm?: unknown } | null)?.algorithm;
  return {
    version: node.version,
    modifiedAt,
    config,
    issues: r.issues.map((i) => ({ field: i.field, reason: i.reason })),
    algorithm: typeof algorithm === "string" ? algorithm : null,
    backends: raw,
  };
}

/**
 * Watches the store and keeps the console's topology.
 *
 * @example
 * ```ts ignore
 * const live = new LiveState({ store, log });
 * live.subscribe(() => render(live.topology()));
 * await live.start();
 * ```
 */
export class LiveState {
  readonly #o: LiveStateOptions;
  readonly #now: () => number;
  readonly #configs = new Map<string, ConfigEntry>();
  readonly #proxyGroups = new Map<string, ProxyGroupEntry>();
  readonly #assignments = new Map<
    string,
    { watch: WatchHandle; size: { backends: number; groups: number } | null }
  >();
  readonly #listeners = new Set<() => void>();
  #roots: WatchHandle[] = [];
  #master: string | null = null;
  #workers: readonly string[] = [];
  #offSession: (() => void) | null = null;
  #stateSince: number;
  #lastState: string;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  /** First reads of watches opened since start, so `start()` can wait for a full picture. */
  readonly #pending = new Set<Promise<void>>();

  constructor(options: LiveStateOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#stateSince = this.#now();
    this.#lastState = options.store.state();
  }

  /** Starts the watches; resolves once the first state of each root has been read. */
  async start(): Promise<void> {
    const { store } = this.#o;
    this.#offSession = store.onSession(() => this.#connectionChanged());
    this.#roots = [
      store.watchChildren(CONFIG_ROOT, (s) => this.#onConfigGroups(s), this.#watchOpts("configs")),
      store.watchChildren(
        PROXIES_ROOT,
        (s) => this.#onProxyGroups(s),
        this.#watchOpts("proxies"),
      ),
      store.watchData(MASTER_PATH, (n) => {
        this.#master = n ? dec.decode(n.data).trim() || null : null;
        this.#changed();
      }, this.#watchOpts("master")),
      store.watchChildren(WORKERS_PATH, (s) => {
        this.#workers = s?.children ?? [];
        this.#changed();
      }, this.#watchOpts("workers")),
      store.watchChildren(
        ASSIGNMENTS_PATH,
        (s) => this.#onAssignments(s),
        this.#watchOpts("assignments"),
      ),
    ];
    for (const w of this.#roots) this.#track(w);
    // wait for the first picture: the roots, then the nested watches their deliveries opened
    // (configs, registrations...); but never hang start-up on a watch that cannot read (NoAuth,
    // a lost connection): it keeps retrying in the background and updates the view when it can
    const deadline = Date.now() + 5_000;
    while (this.#pending.size > 0 && !this.#closed && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([...this.#pending]),
        new Promise((r) => (timer = setTimeout(r, 250))),
      ]);
      clearTimeout(timer);
    }
  }

  /**
   * Calls `listener` after changes (coalesced).
   * @returns a function that unsubscribes
   */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Number of watches open (for tests and `/status`). */
  watchCount(): number {
    let n = this.#roots.length + this.#configs.size * 2 + this.#proxyGroups.size +
      this.#assignments.size;
    for (const g of this.#proxyGroups.values()) n += g.ids.size;
    return n;
  }

  /** The current picture. */
  topology(): Topology {
    const { store } = this.#o;
    const names = [...new Set([...this.#configs.keys(), ...this.#proxyGroups.keys()])].sort();
    const groups = names.map((name): GroupTopology => {
      const c = this.#configs.get(name);
      const p = this.#proxyGroups.get(name);
      const proxies = p
        ? [...p.ids.values()].flatMap((x) => x.reg ? [x.reg] : []).sort((a, b) =>
          a.id < b.id ? -1 : a.id > b.id ? 1 : 0
        )
        : [];
      return {
        name,
        ...describeConfig(name, c?.node ?? null),
        unhealthy: new Map(c?.unhealthy ?? []),
        proxies,
      };
    });
    return {
      coordination: {
        kind: store.kind,
        state: store.state(),
        session: store.session()?.id ?? null,
        since: this.#stateSince,
      },
      groups,
      orchestrator: {
        master: this.#master,
        workers: [...this.#workers].sort().map((id) => {
          const size = this.#assignments.get(id)?.size ?? null;
          return { id, backends: size?.backends ?? null, groups: size?.groups ?? null };
        }),
      },
    };
  }

  /** Stops every watch. */
  stop(): void {
    this.#closed = true;
    this.#offSession?.();
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const w of this.#roots) w.close();
    for (const c of this.#configs.values()) {
      c.watch.close();
      c.health.close();
    }
    for (const g of this.#proxyGroups.values()) {
      g.watch.close();
      for (const x of g.ids.values()) x.watch.close();
    }
    for (const a of this.#assignments.values()) a.watch.close();
    this.#roots = [];
    this.#configs.clear();
    this.#proxyGroups.clear();
    this.#assignments.clear();
    this.#listeners.clear();
  }

  /** Remembers a nested watch's first read until it is done. */
  #track(w: WatchHandle): WatchHandle {
    const p = w.ready.then(() => {}, () => {});
    this.#pending.add(p);
    p.then(() => this.#pending.delete(p));
    return w;
  }

  #watchOpts(what: string) {
    return {
      onError: (e: unknown) => this.#o.log.debug("console watch error", { what, error: String(e) }),
    };
  }

  #connectionChanged(): void {
    const state = this.#o.store.state();
    if (state !== this.#lastState) {
      this.#lastState = state;
      this.#stateSince = this.#now();
    }
    this.#changed();
  }

  #changed(): void {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#closed) return;
      for (const l of [...this.#listeners]) {
        try {
          l();
        } catch (e) {
          this.#o.log.warn("console listener failed", { error: String(e) });
        }
      }
    }, this.#o.coalesceMs ?? 50);
  }

  #onConfigGroups(s: ChildrenSnapshot | null): void {
    if (this.#closed) return;
    const { store } = this.#o;
    const names = new Set(s?.children ?? []);
    for (const [name, entry] of this.#configs) {
      if (names.has(name)) continue;
      entry.watch.close();
      entry.health.close();
      this.#configs.delete(name);
    }
    for (const name of names) {
      if (this.#configs.has(name)) continue;
      const unhealthy = new Map<string, UnhealthyInfo>();
      const entry: ConfigEntry = {
        node: null,
        unhealthy,
        watch: this.#track(store.watchData(configPath(name), (n) => {
          entry.node = n;
          this.#changed();
        }, this.#watchOpts("config"))),
        health: this.#track(store.watchChildren(
          healthGroupPath(name),
          (h) => this.#onHealth(name, unhealthy, h),
          this.#watchOpts("health"),
        )),
      };
      this.#configs.set(name, entry);
    }
    this.#changed();
  }

  #onHealth(group: string, map: Map<string, UnhealthyInfo>, s: ChildrenSnapshot | null): void {
    const now = new Set(s?.children ?? []);
    for (const a of [...map.keys()]) if (!now.has(a)) map.delete(a);
    for (const address of now) {
      if (map.has(address)) continue;
      map.set(address, { reason: null, since: null });
      // the reason is informative: read it once, never block the view on it
      this.#o.store.get(healthBackendPath(group, address)).then((node) => {
        if (!node || !map.has(address)) return;
        const d = jsonOf(node.data) as Record<string, unknown> | undefined;
        map.set(address, { reason: str(d?.reason), since: str(d?.since) });
        this.#changed();
      }, () => {});
    }
    this.#changed();
  }

  #onProxyGroups(s: ChildrenSnapshot | null): void {
    if (this.#closed) return;
    const names = new Set(s?.children ?? []);
    for (const [name, entry] of this.#proxyGroups) {
      if (names.has(name)) continue;
      entry.watch.close();
      for (const x of entry.ids.values()) x.watch.close();
      this.#proxyGroups.delete(name);
    }
    for (const name of names) {
      if (this.#proxyGroups.has(name)) continue;
      const ids = new Map<string, { watch: WatchHandle; reg: Registration | null }>();
      this.#proxyGroups.set(name, {
        ids,
        watch: this.#track(this.#o.store.watchChildren(
          proxiesGroupPath(name),
          (c) => this.#onProxies(name, ids, c),
          this.#watchOpts("proxies"),
        )),
      });
    }
    this.#changed();
  }

  #onProxies(
    group: string,
    ids: Map<string, { watch: WatchHandle; reg: Registration | null }>,
    s: ChildrenSnapshot | null,
  ): void {
    if (this.#closed) return;
    const now = new Set(s?.children ?? []);
    for (const [id, x] of ids) {
      if (now.has(id)) continue;
      x.watch.close();
      ids.delete(id);
    }
    for (const id of now) {
      if (ids.has(id)) continue;
      const entry: { watch: WatchHandle; reg: Registration | null } = {
        reg: null,
        watch: this.#track(this.#o.store.watchData(proxyInstancePath(group, id), (n) => {
          entry.reg = n ? parseRegistration(group, id, n.data) : null;
          this.#changed();
        }, this.#watchOpts("registration"))),
      };
      ids.set(id, entry);
    }
    this.#changed();
  }

  #onAssignments(s: ChildrenSnapshot | null): void {
    if (this.#closed) return;
    const now = new Set(s?.children ?? []);
    for (const [id, a] of this.#assignments) {
      if (now.has(id)) continue;
      a.watch.close();
      this.#assignments.delete(id);
    }
    for (const id of now) {
      if (this.#assignments.has(id)) continue;
      const entry: {
        watch: WatchHandle;
        size: { backends: number; groups: number } | null;
      } = {
        size: null,
        watch: this.#track(this.#o.store.watchData(assignmentPath(id), (n) => {
          entry.size = n ? assignmentSize(n.data) : null;
          this.#changed();
        }, this.#watchOpts("assignment"))),
      };
      this.#assignments.set(id, entry);
    }
    this.#changed();
  }
}
