/**
 * The ZooKeeper edge of the dns role: keeps an in-memory copy of the live proxy registrations
 * (`/switchyard/proxies/<group>/<id>`, ephemeral nodes the proxies hold while alive) through the
 * coordination store's self-re-arming watches.
 *
 * - Groups: every child of `/switchyard/proxies` (a children watch), or a fixed list.
 * - Each group: a children watch; each instance: a data watch (address, region, load).
 * - An instance whose node is deleted (proxy deregistered, or its session expired) leaves the
 *   copy at once, from its data watch, without waiting for the group's children watch.
 * - {@link RegistrationWatcher.complete} is true once every watch in play has delivered its first
 *   state: before that, the copy may lack live proxies, and a leader must not reconcile from it
 *   (it would delete their records).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { PROXIES_ROOT, proxiesGroupPath, proxyInstancePath } from "../store/layout.ts";
import type { CoordinationStore, NodeData, WatchHandle } from "../store/types.ts";
import { parseRegistration } from "./fleet.ts";
import type { Registration } from "./fleet.ts";

/** A registration that could not be used, and why (for `/status`). */
export interface InvalidRegistration {
  readonly group: string;
  readonly id: string;
  readonly reason: string;
}

/** Options of {@link RegistrationWatcher}. */
export interface RegistrationWatcherOptions {
  readonly store: CoordinationStore;
  /** The groups to follow; null: every group under `/switchyard/proxies`. */
  readonly groups: readonly string[] | null;
  readonly log: Logger;
  /** Called after every change of the copy (and when it becomes complete). */
  readonly onChange: () => void;
  /** Called with watch read errors (not connection loss), e.g. NoAuth. */
  readonly onError?: (error: unknown) => void;
}

interface Tracked<T> {
  /** Set right after the watch starts (its first delivery is always later). */
  handle: WatchHandle | null;
  delivered: boolean;
  value: T;
}

const decoder = new TextDecoder();

/**
 * Follows the proxy registrations of some or all groups.
 *
 * @example
 * ```ts ignore
 * const w = new RegistrationWatcher({ store, groups: null, log, onChange: () => plan() });
 * w.start();
 * // later: if (w.complete()) use(w.registrations());
 * ```
 */
export class RegistrationWatcher {
  readonly #o: RegistrationWatcherOptions;
  #root: Tracked<readonly string[]> | null = null;
  readonly #groups = new Map<string, Tracked<readonly string[]>>();
  /** `group/id` -> watch of that instance's node. */
  readonly #instances = new Map<string, Tracked<NodeData | null>>();
  readonly #parsed = new Map<string, Registration>();
  readonly #invalid = new Map<string, InvalidRegistration>();
  #stopped = false;
  /** Bumped on every change of the copy. */
  generation = 0;

  constructor(options: RegistrationWatcherOptions) {
    this.#o = options;
  }

  /** Starts the watches. */
  start(): void {
    const onError = this.#o.onError;
    if (this.#o.groups === null) {
      const tracked: Tracked<readonly string[]> = { handle: null, delivered: false, value: [] };
      tracked.handle = this.#o.store.watchChildren(PROXIES_ROOT, (snap) => {
        tracked.delivered = true;
        tracked.value = snap?.children ?? [];
        this.#syncGroups(tracked.value);
      }, onError ? { onError } : {});
      this.#root = tracked;
    } else {
      this.#syncGroups(this.#o.groups);
    }
  }

  /** True when every watch in play has delivered its first state. */
  complete(): boolean {
    if (this.#root !== null && !this.#root.delivered) return false;
    for (const g of this.#groups.values()) if (!g.delivered) return false;
    for (const i of this.#instances.values()) if (!i.delivered) return false;
    return true;
  }

  /** The live, valid registrations. */
  registrations(): Registration[] {
    return [...this.#parsed.values()];
  }

  /** Registrations that exist but cannot be used. */
  invalid(): InvalidRegistration[] {
    return [...this.#invalid.values()];
  }

  /** The groups followed now. */
  groups(): string[] {
    return [...this.#groups.keys()].sort();
  }

  /** Stops every watch. */
  stop(): void {
    this.#stopped = true;
    this.#root?.handle?.close();
    for (const g of this.#groups.values()) g.handle?.close();
    for (const i of this.#instances.values()) i.handle?.close();
    this.#groups.clear();
    this.#instances.clear();
  }

  #changed(): void {
    if (this.#stopped) return;
    this.generation++;
    this.#o.onChange();
  }

  #syncGroups(wanted: readonly string[]): void {
    if (this.#stopped) return;
    const want = new Set(wanted);
    for (const [group, tracked] of this.#groups) {
      if (want.has(group)) continue;
      tracked.handle?.close();
      this.#groups.delete(group);
      this.#syncInstances(group, []);
    }
    for (const group of want) {
      if (this.#groups.has(group)) continue;
      const tracked: Tracked<readonly string[]> = { handle: null, delivered: false, value: [] };
      this.#groups.set(group, tracked);
      tracked.handle = this.#o.store.watchChildren(
        proxiesGroupPath(group),
        (snap) => {
          if (this.#groups.get(group) !== tracked) return;
          tracked.delivered = true;
          tracked.value = snap?.children ?? [];
          this.#syncInstances(group, tracked.value);
          this.#changed();
        },
        this.#o.onError ? { onError: this.#o.onError } : {},
      );
    }
    this.#changed();
  }

  #syncInstances(group: string, ids: readonly string[]): void {
    const want = new Set(ids);
    for (const [name, tracked] of this.#instances) {
      const slash = name.indexOf("/");
      if (name.slice(0, slash) !== group || want.has(name.slice(slash + 1))) continue;
      tracked.handle?.close();
      this.#instances.delete(name);
      this.#parsed.delete(name);
      this.#invalid.delete(name);
    }
    for (const id of want) {
      const name = `${group}/${id}`;
      if (this.#instances.has(name)) continue;
      const tracked: Tracked<NodeData | null> = { handle: null, delivered: false, value: null };
      this.#instances.set(name, tracked);
      tracked.handle = this.#o.store.watchData(
        proxyInstancePath(group, id),
        (node) => {
          if (this.#instances.get(name) !== tracked) return;
          tracked.delivered = true;
          tracked.value = node;
          this.#update(group, id, node);
          this.#changed();
        },
        this.#o.onError ? { onError: this.#o.onError } : {},
      );
    }
  }

  #update(group: string, id: string, node: NodeData | null): void {
    const name = `${group}/${id}`;
    if (node === null) {
      this.#parsed.delete(name);
      this.#invalid.delete(name);
      return;
    }
    const parsed = parseRegistration(group, id, decoder.decode(node.data));
    if (parsed.ok) {
      const before = this.#parsed.get(name);
      this.#parsed.set(name, parsed.value);
      if (parsed.warning) {
        this.#invalid.set(name, { group, id, reason: parsed.warning });
        if (before === undefined) {
          this.#o.log.warn("registration warning", { name, warning: parsed.warning });
        }
      } else this.#invalid.delete(name);
      return;
    }
    this.#parsed.delete(name);
    if (this.#invalid.get(name)?.reason !== parsed.reason) {
      this.#o.log.warn("ignoring an invalid registration", { name, reason: parsed.reason });
    }
    this.#invalid.set(name, { group, id, reason: parsed.reason });
  }
}
