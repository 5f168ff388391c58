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
import { TreeWatcher } from "../source/tree_watch.ts";
import { PROXIES_ROOT } from "../store/layout.ts";
import type { CoordinationStore, NodeData } from "../store/types.ts";
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

const decoder = new TextDecoder();

/**
 * Follows the proxy registrations of some or all groups (the watching is
 * {@link TreeWatcher}'s; this adds parsing and the invalid list).
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
  readonly #tree: TreeWatcher;
  /** `group/id` -> the node last parsed (to parse only what changed). */
  readonly #seen = new Map<string, NodeData>();
  readonly #parsed = new Map<string, Registration>();
  readonly #invalid = new Map<string, InvalidRegistration>();
  /** Bumped on every change of the copy. */
  generation = 0;

  constructor(options: RegistrationWatcherOptions) {
    this.#o = options;
    this.#tree = new TreeWatcher({
      store: options.store,
      root: PROXIES_ROOT,
      parents: options.groups,
      onChange: () => this.#refresh(),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** Starts the watches. */
  start(): void {
    this.#tree.start();
  }

  /** True when every watch in play has delivered its first state. */
  complete(): boolean {
    return this.#tree.complete();
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
    if (this.#o.groups !== null) return [...this.#o.groups].sort();
    return [...new Set(this.#tree.entries().map((e) => e.parent))].sort();
  }

  /** Stops every watch. */
  stop(): void {
    this.#tree.stop();
  }

  #refresh(): void {
    const live = new Set<string>();
    for (const e of this.#tree.entries()) {
      const name = `${e.parent}/${e.name}`;
      live.add(name);
      if (this.#seen.get(name) === e.node) continue;
      this.#seen.set(name, e.node);
      this.#update(e.parent, e.name, e.node);
    }
    for (const name of [...this.#seen.keys()]) {
      if (live.has(name)) continue;
      this.#seen.delete(name);
      this.#parsed.delete(name);
      this.#invalid.delete(name);
    }
    this.generation++;
    this.#o.onChange();
  }

  #update(group: string, id: string, node: NodeData): void {
    const name = `${group}/${id}`;
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
