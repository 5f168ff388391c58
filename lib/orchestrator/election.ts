/**
 * Leader election over the coordination store (ZooKeeper's recipe; decisions in
 * `election_core.ts`).
 *
 * - Join: an ephemeral sequential `c_<guid>-n_<seq>` under the election path. Before creating,
 *   the children are searched for the guid, so a create whose reply was lost with the
 *   connection is found again rather than duplicated (protected names).
 * - The lowest node leads; every other candidate watches only its predecessor.
 * - Connection loss: a leader stops *acting* at once (`acting` false) and resumes only after the
 *   reconnect, once it has seen its own node still there. Session expiry: it steps down, and
 *   rejoins with a new guid in the new session (at the back of the line).
 * - Fencing: {@linkcode LeaderElection.fence} is a `check` op on the own node, to put in front of
 *   every write the leader makes in a transaction: a leader that lost its node (paused past its
 *   session, say) cannot write, even before it has noticed.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import {
  type AclEntry,
  type CoordinationStore,
  isTransient,
  NoNodeError,
  type Op,
  StoreClosedError,
  type WatchHandle,
} from "../store/mod.ts";
import { candidatePrefix, decide, findOwnCandidate } from "./election_core.ts";

/** What the election looks like from one candidate. */
export interface ElectionStatus {
  /** Leading and connected: may act as leader now. */
  readonly acting: boolean;
  /** Holds the lowest node in its current session (possibly disconnected right now). */
  readonly leader: boolean;
  /** Own candidate node name, null when not joined. */
  readonly own: string | null;
  /** The leading candidate's node name, if known. */
  readonly leaderNode: string | null;
  /** The leading candidate's id (its node's data), if known. */
  readonly leaderId: string | null;
  /** The predecessor watched (followers), null otherwise. */
  readonly watching: string | null;
}

/** Options of a {@linkcode LeaderElection}. */
export interface ElectionOptions {
  readonly store: CoordinationStore;
  /** The election node (its parents are created when missing). */
  readonly path: string;
  /** This candidate's id, stored as its node's data. */
  readonly id: string;
  /** ACL of the nodes created (default: open). */
  readonly acl?: readonly AclEntry[];
  readonly log: Logger;
  /** Called after every change of {@linkcode ElectionStatus} (acting first of all). */
  readonly onChange?: (status: ElectionStatus) => void;
  /** Fresh guids (tests inject them). */
  readonly newGuid?: () => string;
  /** Retry delay after an unexpected error (ms, default 1000). */
  readonly retryMs?: number;
  /** Creates the election node when missing (default: `store.ensurePath(path, acl)`). */
  readonly ensurePath?: () => Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);

/**
 * One candidate in a leader election.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from "../store/mod.ts";
 * import { silentLogger } from "../log.ts";
 * import { LeaderElection } from "./election.ts";
 * const store = await createMemoryStore();
 * const e = new LeaderElection({ store, path: "/election", id: "me", log: silentLogger });
 * e.start();
 * await e.settled();
 * console.log(e.status().acting); // true: the only candidate leads
 * await e.resign();
 * await store.close();
 * ```
 */
export class LeaderElection {
  readonly #o: ElectionOptions;
  readonly #newGuid: () => string;
  #guid: string;
  #own: string | null = null;
  #leader = false;
  #acting = false;
  #leaderNode: string | null = null;
  #leaderId: string | null = null;
  #watching: string | null = null;
  #predWatch: WatchHandle | null = null;
  #closed = false;
  #running = false;
  #dirty = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | null = null;
  #idle: Array<() => void> = [];
  #lastKey = "";

  constructor(options: ElectionOptions) {
    this.#o = options;
    this.#newGuid = options.newGuid ?? (() => crypto.randomUUID());
    this.#guid = this.#newGuid();
  }

  /** Joins the election (returns at once; watch `onChange` or {@linkcode settled}). */
  start(): void {
    this.#unsubscribe = this.#o.store.onSession((event) => {
      switch (event.type) {
        case "disconnected":
          if (this.#acting) {
            this.#o.log.warn("connection lost: not acting as leader until it is back");
          }
          this.#acting = false;
          this.#notify();
          break;
        case "expired":
          if (this.#leader) this.#o.log.warn("session expired: stepping down, will rejoin");
          this.#own = null;
          this.#guid = this.#newGuid();
          this.#leader = false;
          this.#acting = false;
          this.#closePredWatch();
          this.#notify();
          break;
        case "connected":
          this.#trigger();
          break;
        case "closed":
          this.#closed = true;
          this.#acting = false;
          this.#leader = false;
          this.#notify();
          break;
      }
    });
    this.#trigger();
  }

  /** The current view. */
  status(): ElectionStatus {
    return {
      acting: this.#acting,
      leader: this.#leader,
      own: this.#own,
      leaderNode: this.#leaderNode,
      leaderId: this.#leaderId,
      watching: this.#watching,
    };
  }

  /** Full path of the own candidate node, null when not joined. */
  ownPath(): string | null {
    return this.#own === null ? null : `${this.#o.path}/${this.#own}`;
  }

  /**
   * The fencing op: `check` that the own node still exists. Put it first in every transaction
   * the leader writes; the transaction then fails (NoNodeError, op 0) once the node is gone.
   *
   * @throws Error when not joined
   */
  fence(): Op {
    const path = this.ownPath();
    if (path === null) throw new Error("not a candidate");
    return { op: "check", path, version: -1 };
  }

  /**
   * Looks at the election again (e.g. after a fenced write: the own node may have been deleted
   * while the session lives, which no watch reports).
   */
  recheck(): void {
    this.#trigger();
  }

  /** Resolves when no evaluation is running or pending (tests). */
  settled(): Promise<void> {
    if (!this.#running && !this.#dirty) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Leaves the election: deletes the own node (the successor takes over at once). */
  async resign(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#closePredWatch();
    const path = this.ownPath();
    const wasLeader = this.#leader;
    this.#acting = false;
    this.#leader = false;
    this.#own = null;
    this.#notify();
    if (path !== null) {
      await this.#o.store.delete(path).catch(() => {});
      if (wasLeader) this.#o.log.info("resigned leadership");
    }
  }

  #trigger(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (!this.#running) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#running = true;
    try {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false;
        try {
          await this.#evaluate();
        } catch (error) {
          if (this.#closed || error instanceof StoreClosedError) break;
          if (isTransient(error)) continue; // the next `connected` event re-triggers
          this.#o.log.warn("election step failed; retrying", { error: String(error) });
          if (this.#retry !== undefined) clearTimeout(this.#retry);
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            this.#trigger();
          }, this.#o.retryMs ?? 1000);
        }
      }
    } finally {
      this.#running = false;
      if (!this.#dirty) {
        const idle = this.#idle;
        this.#idle = [];
        for (const resolve of idle) resolve();
      }
    }
  }

  async #evaluate(): Promise<void> {
    const store = this.#o.store;
    if (store.state() !== "connected") return;
    let children = await this.#children();
    if (this.#own === null) {
      // Protected create: a previous attempt's node (reply lost) is found by the guid.
      const found = findOwnCandidate(children, this.#guid);
      if (found !== undefined) {
        this.#o.log.info("found own election node after a lost reply", { node: found });
        this.#own = found;
      } else {
        const created = await store.create(
          `${this.#o.path}/${candidatePrefix(this.#guid)}`,
          enc(this.#o.id),
          { mode: "ephemeral_sequential", ...(this.#o.acl ? { acl: this.#o.acl } : {}) },
        );
        this.#own = created.slice(created.lastIndexOf("/") + 1);
        this.#o.log.debug("joined election", { node: this.#own });
      }
      if (this.#closed) {
        await store.delete(`${this.#o.path}/${this.#own}`).catch(() => {});
        return;
      }
      children = await this.#children();
    }
    const d = decide(children, this.#own!);
    if (d.kind === "absent") {
      // Our node is gone although the session lives (deleted by hand): join again.
      this.#o.log.warn("own election node disappeared; rejoining", { node: this.#own });
      this.#own = null;
      this.#guid = this.#newGuid();
      this.#leader = false;
      this.#acting = false;
      this.#notify();
      this.#dirty = true;
      return;
    }
    if (d.kind === "leader") {
      this.#closePredWatch();
      const was = this.#acting;
      this.#leader = true;
      this.#leaderNode = this.#own;
      this.#leaderId = this.#o.id;
      this.#acting = store.state() === "connected" && !this.#closed;
      if (this.#acting && !was) this.#o.log.info("elected leader", { node: this.#own });
      this.#notify();
      return;
    }
    this.#leader = false;
    this.#acting = false;
    if (this.#leaderNode !== d.leader) {
      this.#leaderNode = d.leader;
      this.#leaderId = null;
      const leaderNode = d.leader;
      store.get(`${this.#o.path}/${leaderNode}`).then((n) => {
        if (n !== null && this.#leaderNode === leaderNode) {
          this.#leaderId = new TextDecoder().decode(n.data);
          this.#notify();
        }
      }, () => {});
    }
    if (this.#watching !== d.predecessor) {
      this.#closePredWatch();
      const pred = d.predecessor;
      this.#watching = pred;
      const handle = store.watchData(`${this.#o.path}/${pred}`, (node) => {
        if (node === null && this.#predWatch === handle) {
          this.#closePredWatch();
          this.#trigger();
        }
      });
      this.#predWatch = handle;
    }
    this.#notify();
  }

  async #children(): Promise<string[]> {
    try {
      return await this.#o.store.children(this.#o.path);
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
      await (this.#o.ensurePath?.() ?? this.#o.store.ensurePath(this.#o.path, this.#o.acl));
      return await this.#o.store.children(this.#o.path);
    }
  }

  #closePredWatch(): void {
    this.#predWatch?.close();
    this.#predWatch = null;
    this.#watching = null;
  }

  #notify(): void {
    const s = this.status();
    const key = JSON.stringify(s);
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    try {
      this.#o.onChange?.(s);
    } catch (error) {
      this.#o.log.error("election listener failed", { error: String(error) });
    }
  }
}
