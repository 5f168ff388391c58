/**
 * A live copy of a two-level tree of registrations, `<root>/<parent>/<name>` (the proxies'
 * `/switchyard/proxies/<group>/<id>`, the roles' `/switchyard/instances/<role>/<id>`), through
 * the coordination store's self-re-arming watches: a children watch on the root (or a fixed
 * list of parents), one on each parent, and a data watch on each node, so a deleted node leaves
 * the copy at once and a rewritten one is re-read.
 *
 * {@link TreeWatcher.complete} is true once every watch in play has delivered its first state:
 * before that the copy may lack live nodes (a consumer must not act on their absence).
 *
 * @module
 */
import type { CoordinationStore, NodeData, WatchHandle } from "../store/types.ts";

/** One node of the copy. */
export interface TreeEntry {
  readonly parent: string;
  readonly name: string;
  readonly node: NodeData;
}

/** Options of {@link TreeWatcher}. */
export interface TreeWatcherOptions {
  readonly store: CoordinationStore;
  /** The tree's root, e.g. `/switchyard/proxies`. */
  readonly root: string;
  /** The parents to follow; null: every child of the root. */
  readonly parents: readonly string[] | null;
  /** Called after every change of the copy (and when it becomes complete). */
  readonly onChange: () => void;
  /** Read errors other than connection loss (e.g. NoAuth); the watches keep retrying. */
  readonly onError?: (error: unknown) => void;
}

interface Tracked<T> {
  handle: WatchHandle | null;
  delivered: boolean;
  value: T;
}

/**
 * Follows `<root>/<parent>/<name>`.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from "../store/mod.ts";
 * import { TreeWatcher } from "./tree_watch.ts";
 * const store = await createMemoryStore();
 * await store.create("/r/g/a", new TextEncoder().encode("{}"), { parents: true });
 * const w = new TreeWatcher({ store, root: "/r", parents: null, onChange: () => {} });
 * w.start();
 * await new Promise((r) => setTimeout(r, 20));
 * console.log(w.complete(), w.entries().map((e) => `${e.parent}/${e.name}`)); // true ["g/a"]
 * w.stop();
 * await store.close();
 * ```
 */
export class TreeWatcher {
  readonly #o: TreeWatcherOptions;
  #root: Tracked<readonly string[]> | null = null;
  readonly #parents = new Map<string, Tracked<readonly string[]>>();
  /** `parent/name` -> that node's watch. */
  readonly #nodes = new Map<string, Tracked<NodeData | null>>();
  #stopped = false;
  /** Bumped on every change of the copy. */
  generation = 0;

  constructor(options: TreeWatcherOptions) {
    this.#o = options;
  }

  /** Starts the watches. */
  start(): void {
    if (this.#o.parents === null) {
      const tracked: Tracked<readonly string[]> = { handle: null, delivered: false, value: [] };
      this.#root = tracked;
      tracked.handle = this.#o.store.watchChildren(this.#o.root, (snap) => {
        tracked.delivered = true;
        tracked.value = snap?.children ?? [];
        this.#syncParents(tracked.value);
      }, this.#watchOptions());
    } else {
      this.#syncParents(this.#o.parents);
    }
  }

  /** True once every watch in play has delivered its first state. */
  complete(): boolean {
    if (this.#root !== null && !this.#root.delivered) return false;
    for (const p of this.#parents.values()) if (!p.delivered) return false;
    for (const n of this.#nodes.values()) if (!n.delivered) return false;
    return true;
  }

  /** The nodes that exist now, sorted by parent then name. */
  entries(): TreeEntry[] {
    const out: TreeEntry[] = [];
    for (const [key, tracked] of this.#nodes) {
      if (tracked.value === null) continue;
      const slash = key.indexOf("/");
      out.push({ parent: key.slice(0, slash), name: key.slice(slash + 1), node: tracked.value });
    }
    return out.sort((a, b) =>
      a.parent < b.parent ? -1 : a.parent > b.parent ? 1 : a.name < b.name ? -1 : 1
    );
  }

  /** Stops every watch. */
  stop(): void {
    this.#stopped = true;
    this.#root?.handle?.close();
    for (const p of this.#parents.values()) p.handle?.close();
    for (const n of this.#nodes.values()) n.handle?.close();
    this.#parents.clear();
    this.#nodes.clear();
  }

  #watchOptions() {
    return this.#o.onError ? { onError: this.#o.onError } : {};
  }

  #changed(): void {
    if (this.#stopped) return;
    this.generation++;
    this.#o.onChange();
  }

  #syncParents(wanted: readonly string[]): void {
    if (this.#stopped) return;
    const want = new Set(wanted);
    for (const [parent, tracked] of this.#parents) {
      if (want.has(parent)) continue;
      tracked.handle?.close();
      this.#parents.delete(parent);
      this.#syncNodes(parent, []);
    }
    for (const parent of want) {
      if (this.#parents.has(parent)) continue;
      const tracked: Tracked<readonly string[]> = { handle: null, delivered: false, value: [] };
      this.#parents.set(parent, tracked);
      tracked.handle = this.#o.store.watchChildren(`${this.#o.root}/${parent}`, (snap) => {
        if (this.#parents.get(parent) !== tracked) return;
        tracked.delivered = true;
        tracked.value = snap?.children ?? [];
        this.#syncNodes(parent, tracked.value);
        this.#changed();
      }, this.#watchOptions());
    }
    this.#changed();
  }

  #syncNodes(parent: string, names: readonly string[]): void {
    if (this.#stopped) return;
    const want = new Set(names);
    for (const [key, tracked] of this.#nodes) {
      const slash = key.indexOf("/");
      if (key.slice(0, slash) !== parent || want.has(key.slice(slash + 1))) continue;
      tracked.handle?.close();
      this.#nodes.delete(key);
    }
    for (const name of want) {
      const key = `${parent}/${name}`;
      if (this.#nodes.has(key)) continue;
      const tracked: Tracked<NodeData | null> = { handle: null, delivered: false, value: null };
      this.#nodes.set(key, tracked);
      tracked.handle = this.#o.store.watchData(`${this.#o.root}/${key}`, (node) => {
        if (this.#nodes.get(key) !== tracked) return;
        tracked.delivered = true;
        tracked.value = node;
        this.#changed();
      }, this.#watchOptions());
    }
  }
}
