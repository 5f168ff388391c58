/**
 * The dns role's engine: follows the proxy registrations in ZooKeeper and, while it is the
 * elected leader, keeps the zone's SkyDNS records in etcd equal to what they should be.
 *
 * - Every dns process watches the registrations (`registrations.ts`) and takes part in a leader
 *   election (`LeaderElection`, ZooKeeper); only the acting leader writes.
 * - A write cannot be fenced across the two stores, so writing is made safe instead: each pass
 *   reads the zone's keys from etcd, computes the full desired state from ALL registrations
 *   (`fleet.ts`) and applies only the difference (`reconcile.ts`). Passes are idempotent: an
 *   unchanged fleet writes nothing, whoever leads and however often it runs; two leaders for a
 *   moment would write the same values.
 * - A leader never reconciles from a partial view: it waits until every registration watch has
 *   delivered (a new leader, or a process just started), and for `settleMs` after every
 *   (re)connection to ZooKeeper (the watches re-read then), so it cannot delete live records.
 * - Changes are debounced (`debounceMs`) so a burst is one etcd transaction; a failed pass is
 *   retried with backoff; a full pass also runs every `syncMs` (safety net: a record deleted or
 *   changed by hand is restored).
 * - Followers read etcd every `syncMs` only, to report what is there.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { LeaderElection } from "../orchestrator/election.ts";
import type { ElectionStatus } from "../orchestrator/election.ts";
import type { AclEntry, CoordinationStore } from "../store/types.ts";
import { fleetOptionIssues, fleetRecords } from "./fleet.ts";
import type { FleetOptions, Placement } from "./fleet.ts";
import {
  countByRegion,
  decodeActual,
  isEmptyPlan,
  ownedActual,
  ownedPrefixes,
  planReconcile,
} from "./reconcile.ts";
import type { RecordKv } from "./record_kv.ts";
import { RegistrationWatcher } from "./registrations.ts";
import type { InvalidRegistration } from "./registrations.ts";
import { normalizePrefix, normalizeZone } from "./skydns.ts";

/** Where errors come from, for metrics. */
export type ErrorSource = "etcd" | "zookeeper";

/** What a pass did. */
export interface PassResult {
  readonly puts: number;
  readonly deletes: number;
  /** From the first registration change this pass covers to etcd written (ms), if any. */
  readonly lagMs: number | null;
  /** Records now in the zone's trees, by region (`_global` for the zone's own tree). */
  readonly byRegion: ReadonlyMap<string, number>;
}

/** Callbacks for metrics. */
export interface DnsHooks {
  /** After a leader pass that succeeded (with or without writes). */
  pass?(result: PassResult): void;
  /** After a follower read of etcd. */
  observed?(byRegion: ReadonlyMap<string, number>): void;
  error?(source: ErrorSource, error: unknown): void;
  leadership?(acting: boolean): void;
}

/** Options of {@link DnsController}. */
export interface DnsControllerOptions {
  readonly store: CoordinationStore;
  readonly kv: RecordKv;
  readonly fleet: FleetOptions;
  /** Groups to serve; null: every group. */
  readonly groups: readonly string[] | null;
  /** This process's id (the election node's data). */
  readonly id: string;
  readonly log: Logger;
  /** The election node, e.g. `/switchyard/dns/election/api.example.com`. */
  readonly electionPath: string;
  /** ACL of the election nodes created (default open). */
  readonly acl?: readonly AclEntry[];
  /** Full pass interval (ms). */
  readonly syncMs: number;
  /** Wait after a change before a pass, to batch bursts (ms, default 100). */
  readonly debounceMs?: number;
  /** Wait after every ZooKeeper (re)connection before a leader pass (ms, default 500). */
  readonly settleMs?: number;
  /** Longest retry delay after a failed pass (ms, default 10000). */
  readonly maxBackoffMs?: number;
  /** Monotonic clock (ms), default `performance.now`. */
  readonly clock?: () => number;
  /** Wall clock (ms since epoch) for status, default `Date.now`. */
  readonly wallClock?: () => number;
  readonly hooks?: DnsHooks;
}

/** The last pass, for `/status`. */
export interface LastPass {
  /** Wall-clock ms. */
  readonly at: number;
  readonly ok: boolean;
  readonly puts: number;
  readonly deletes: number;
  readonly error: string | null;
}

/** The controller's view, for `/status` and `/healthz`. */
export interface DnsStatus {
  readonly id: string;
  readonly zone: string;
  readonly prefix: string;
  readonly groups: readonly string[] | null;
  readonly followedGroups: readonly string[];
  readonly connection: string;
  readonly session: string | null;
  readonly election: ElectionStatus;
  readonly registrations: {
    readonly complete: boolean;
    readonly count: number;
    readonly invalid: readonly InvalidRegistration[];
  };
  /** The proxies as last placed (leader) or as this process would place them (follower). */
  readonly placements: readonly Placement[];
  readonly skipped: readonly { group: string; id: string; reason: string }[];
  /** Records in etcd by region, as of the last pass or read. */
  readonly recordsByRegion: Readonly<Record<string, number>>;
  readonly lastPass: LastPass | null;
  /** Last etcd read or write failed (cleared by the next success). */
  readonly etcdError: string | null;
  /** A registration change not yet in etcd (leader only). */
  readonly pending: boolean;
}

/**
 * Keeps one zone's records in etcd in step with the live proxies.
 *
 * @example
 * ```ts ignore
 * const c = new DnsController({ store, kv, fleet: { zone: "api.example.com", ttl: 5,
 *   priority: 10, weight: 100 }, groups: null, id: "dns-1", log,
 *   electionPath: "/switchyard/dns/election/api.example.com", syncMs: 30_000 });
 * c.start();
 * // ... c.status()
 * await c.stop();
 * ```
 */
export class DnsController {
  readonly #o: DnsControllerOptions;
  readonly #zone: string;
  readonly #prefix: string;
  readonly #watcher: RegistrationWatcher;
  readonly #election: LeaderElection;
  readonly #clock: () => number;
  readonly #wall: () => number;
  #unsubscribe: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = 0;
  #syncTimer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  #dirty = false;
  #stopped = false;
  #wasActing = false;
  #connectedAt = 0;
  #pendingSince: number | null = null;
  #backoff = 0;
  #followerRead = false;
  #placements: readonly Placement[] = [];
  #skipped: readonly { group: string; id: string; reason: string }[] = [];
  #byRegion: ReadonlyMap<string, number> = new Map();
  #lastPass: LastPass | null = null;
  #etcdError: string | null = null;
  #idle: (() => void)[] = [];

  constructor(options: DnsControllerOptions) {
    const issues = fleetOptionIssues(options.fleet);
    if (issues.length > 0) throw new Error(`invalid dns options: ${issues.join("; ")}`);
    this.#o = options;
    this.#zone = normalizeZone(options.fleet.zone);
    this.#prefix = normalizePrefix(options.fleet.prefix);
    this.#clock = options.clock ?? (() => performance.now());
    this.#wall = options.wallClock ?? Date.now;
    this.#watcher = new RegistrationWatcher({
      store: options.store,
      groups: options.groups,
      log: options.log,
      onChange: () => this.#onRegistrations(),
      onError: (e) => this.#error("zookeeper", e),
    });
    this.#election = new LeaderElection({
      store: options.store,
      path: options.electionPath,
      id: options.id,
      log: options.log,
      ...(options.acl ? { acl: options.acl } : {}),
      onChange: (s) => this.#onElection(s),
    });
  }

  /** Starts watching, joins the election, starts the periodic pass. */
  start(): void {
    this.#connectedAt = this.#clock();
    this.#unsubscribe = this.#o.store.onSession((e) => {
      if (e.type === "connected") {
        this.#connectedAt = this.#clock();
        this.#schedule(this.#settleMs());
      } else if (e.type === "disconnected" || e.type === "expired") {
        this.#error("zookeeper", new Error(`ZooKeeper session ${e.type}`));
      }
    });
    this.#watcher.start();
    this.#election.start();
    this.#armSync();
  }

  /** Leaves the election (a follower takes over at once) and stops everything. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#syncTimer !== null) clearTimeout(this.#syncTimer);
    await this.settled();
    await this.#election.resign();
    this.#watcher.stop();
  }

  /** Resolves when no pass is running or pending to run now (tests). */
  settled(): Promise<void> {
    if (!this.#running && !this.#dirty) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Asks for a full pass now (leader) or an etcd read (follower). */
  syncNow(): void {
    this.#followerRead = true;
    this.#kick();
  }

  /** The current view. */
  status(): DnsStatus {
    return {
      id: this.#o.id,
      zone: this.#zone,
      prefix: this.#prefix,
      groups: this.#o.groups,
      followedGroups: this.#watcher.groups(),
      connection: this.#o.store.state(),
      session: this.#o.store.session()?.id ?? null,
      election: this.#election.status(),
      registrations: {
        complete: this.#watcher.complete(),
        count: this.#watcher.registrations().length,
        invalid: this.#watcher.invalid(),
      },
      placements: this.#placements,
      skipped: this.#skipped,
      recordsByRegion: Object.fromEntries(this.#byRegion),
      lastPass: this.#lastPass,
      etcdError: this.#etcdError,
      pending: this.#pendingSince !== null,
    };
  }

  /** Healthy: ZooKeeper connected, registrations read, etcd's last answer was not an error. */
  health(): { ok: boolean; reason: string } {
    if (this.#stopped) return { ok: false, reason: "stopping" };
    if (this.#o.store.state() !== "connected") {
      return { ok: false, reason: `zookeeper ${this.#o.store.state()}` };
    }
    if (!this.#watcher.complete()) return { ok: false, reason: "reading registrations" };
    if (this.#etcdError !== null) return { ok: false, reason: this.#etcdError };
    return { ok: true, reason: "ok" };
  }

  #settleMs(): number {
    return this.#o.settleMs ?? 500;
  }

  #error(source: ErrorSource, error: unknown): void {
    try {
      this.#o.hooks?.error?.(source, error);
    } catch {
      // metrics must not break the loop
    }
  }

  #onRegistrations(): void {
    if (this.#pendingSince === null) this.#pendingSince = this.#clock();
    this.#schedule(this.#o.debounceMs ?? 100);
  }

  #onElection(s: ElectionStatus): void {
    if (s.acting === this.#wasActing) return;
    this.#wasActing = s.acting;
    this.#o.log.info(s.acting ? "acting as dns leader" : "not acting as dns leader", {
      zone: this.#zone,
      node: s.own,
    });
    try {
      this.#o.hooks?.leadership?.(s.acting);
    } catch {
      // metrics must not break the loop
    }
    if (s.acting) this.#schedule(0);
  }

  #armSync(): void {
    if (this.#stopped) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = null;
      this.#followerRead = true;
      this.#kick();
      this.#armSync();
    }, this.#o.syncMs);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    const at = this.#clock() + delayMs;
    if (this.#timer !== null) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#kick();
    }, Math.max(0, delayMs));
  }

  #kick(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (!this.#running) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#running = true;
    try {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        await this.#step();
      }
    } finally {
      this.#running = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  async #step(): Promise<void> {
    if (!this.#election.status().acting) {
      this.#pendingSince = null;
      if (this.#followerRead) {
        this.#followerRead = false;
        await this.#observe();
      }
      return;
    }
    this.#followerRead = false;
    // A partial view would delete live records: wait for every watch (they re-kick us).
    if (!this.#watcher.complete()) return;
    const sinceConnect = this.#clock() - this.#connectedAt;
    if (sinceConnect < this.#settleMs()) {
      this.#schedule(this.#settleMs() - sinceConnect);
      return;
    }
    const since = this.#pendingSince;
    this.#pendingSince = null;
    try {
      const { kv, fleet } = this.#o;
      const actual = ownedActual(
        await kv.list(ownedPrefixes(this.#zone, this.#prefix)),
        this.#zone,
        this.#prefix,
      );
      const desired = fleetRecords(this.#watcher.registrations(), fleet, decodeActual(actual));
      const plan = planReconcile(desired.records, actual, this.#zone, this.#prefix);
      if (!this.#election.status().acting || this.#stopped) return; // lost it meanwhile
      if (!isEmptyPlan(plan)) {
        await kv.apply(plan);
        this.#o.log.info("dns records updated", {
          zone: this.#zone,
          puts: plan.puts.map(([k]) => k),
          deletes: plan.deletes,
        });
      }
      const lagMs = since === null ? null : this.#clock() - since;
      this.#placements = desired.placements;
      this.#skipped = desired.skipped;
      this.#byRegion = countByRegion(desired.records.keys(), this.#prefix);
      this.#lastPass = {
        at: this.#wall(),
        ok: true,
        puts: plan.puts.length,
        deletes: plan.deletes.length,
        error: null,
      };
      this.#etcdError = null;
      this.#backoff = 0;
      try {
        this.#o.hooks?.pass?.({
          puts: plan.puts.length,
          deletes: plan.deletes.length,
          lagMs,
          byRegion: this.#byRegion,
        });
      } catch {
        // metrics must not break the loop
      }
    } catch (e) {
      if (since !== null && this.#pendingSince === null) this.#pendingSince = since;
      const message = (e as Error).message;
      this.#etcdError = message;
      this.#lastPass = { at: this.#wall(), ok: false, puts: 0, deletes: 0, error: message };
      this.#error("etcd", e);
      const max = this.#o.maxBackoffMs ?? 10_000;
      this.#backoff = this.#backoff === 0 ? 250 : Math.min(max, this.#backoff * 2);
      this.#o.log.warn("dns pass failed; retrying", { error: message, retry_ms: this.#backoff });
      this.#schedule(this.#backoff);
    }
  }

  async #observe(): Promise<void> {
    try {
      const actual = ownedActual(
        await this.#o.kv.list(ownedPrefixes(this.#zone, this.#prefix)),
        this.#zone,
        this.#prefix,
      );
      this.#byRegion = countByRegion(actual.keys(), this.#prefix);
      if (this.#watcher.complete()) {
        // What this process would write if it led (shown in /status).
        const desired = fleetRecords(
          this.#watcher.registrations(),
          this.#o.fleet,
          decodeActual(actual),
        );
        this.#placements = desired.placements;
        this.#skipped = desired.skipped;
      }
      this.#etcdError = null;
      try {
        this.#o.hooks?.observed?.(this.#byRegion);
      } catch {
        // metrics must not break the loop
      }
    } catch (e) {
      this.#etcdError = (e as Error).message;
      this.#error("etcd", e);
    }
  }
}
