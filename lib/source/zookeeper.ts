/**
 * The proxy's ZooKeeper side: a watch on `/lb-configs/<group>` (push), a slow
 * periodic version check (safety net), a children watch on the group's
 * health, the orchestrator's presence, the proxy's own registration
 * (ephemeral, re-created after session expiry), and the local snapshot of the
 * last good config. Nothing here is on the request path: the proxy serves
 * from its in-memory snapshot whatever ZooKeeper does.
 *
 * @module
 */
import type { ConfigIssue } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import {
  configPath,
  healthGroupPath,
  proxiesGroupPath,
  proxyInstancePath,
  WORKERS_PATH,
} from "../store/layout.ts";
import type { AclEntry, CoordinationStore, NodeData, WatchHandle } from "../store/types.ts";
import { writeSnapshot } from "./snapshot_file.ts";

/** What the source drives. */
export interface ProxySink {
  applyBlob(version: string, blob: unknown): boolean;
  reject(version: string, issues: readonly ConfigIssue[]): void;
  setExternalHealth(unhealthy: ReadonlySet<string>): void;
}

/** Options of {@link ZkProxySource}. */
export interface ZkProxySourceOptions {
  readonly store: CoordinationStore;
  readonly group: string;
  readonly sink: ProxySink;
  readonly log: Logger;
  /** Slow periodic re-read of the config node (ms). */
  readonly resyncMs: number;
  /** Local snapshot file written after every apply (null: none). */
  readonly snapshotFile: string | null;
  /** Called with the first workers reading, then when workers appear or all disappear. */
  readonly onOrchestrator: (present: boolean) => void;
  /** This proxy's registration (null: do not register). */
  readonly registration:
    | { readonly id: string; readonly data: () => Record<string, unknown> }
    | null;
  /** ACL for nodes this proxy creates (its registration); null: open. */
  readonly acl?: readonly AclEntry[] | null;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Keeps a proxy in step with ZooKeeper.
 *
 * @example
 * ```ts ignore
 * const src = new ZkProxySource({ store, group: "g", sink: instance, log, resyncMs: 30_000,
 *   snapshotFile: ".state/snapshots/g.json", onOrchestrator: () => {}, registration: null });
 * src.start();
 * ```
 */
export class ZkProxySource {
  readonly #o: ZkProxySourceOptions;
  #watches: WatchHandle[] = [];
  #timer: ReturnType<typeof setInterval> | null = null;
  #offSession: (() => void) | null = null;
  #lastZxid: bigint | null = null;
  /** The last version seen (applied or rejected, `absent` while the node is missing). */
  #lastVersion: string | null = null;
  /** The version of the last applied blob: what the snapshot file holds with it. */
  #appliedVersion: string | null = null;
  #lastBlob: unknown = undefined;
  #unhealthy: ReadonlySet<string> = new Set();
  #orchestrator: boolean | null = null;
  #registeredPath: string | null = null;
  #deregistered = false;
  #stopped = false;
  /** Pending registration retries, cleared by stop(). */
  #retries = new Set<ReturnType<typeof setTimeout>>();
  /** Config deliveries seen, rejected ones included. */
  deliveries = 0;
  /** Safety-net re-reads that found a change the watch had not delivered. */
  resyncFixes = 0;

  constructor(options: ZkProxySourceOptions) {
    this.#o = options;
  }

  /** Starts the watches, the safety net and the registration. */
  start(): void {
    const { store, group } = this.#o;
    const onError = (e: unknown) =>
      this.#o.log.debug("zookeeper watch error", { error: String(e) });
    this.#watches.push(
      store.watchData(configPath(group), (node) => this.#onConfig(node, "watch"), { onError }),
      store.watchChildren(healthGroupPath(group), (s) => {
        this.#unhealthy = new Set(s?.children ?? []);
        this.#o.sink.setExternalHealth(this.#unhealthy);
        this.#persist();
      }, { onError }),
      store.watchChildren(WORKERS_PATH, (s) => {
        const present = (s?.children.length ?? 0) > 0;
        if (present === this.#orchestrator) return; // another worker came or went: no news
        this.#orchestrator = present;
        this.#o.onOrchestrator(present);
      }, { onError }),
    );
    this.#timer = setInterval(() => this.#resync(), this.#o.resyncMs);
    this.#offSession = store.onSession((e) => {
      if (this.#stopped) return;
      if (e.type === "connected") {
        this.#o.log.info(e.newSession ? "zookeeper session established" : "zookeeper reconnected", {
          session: e.session.id,
        });
        // re-read at once after any (re)connection: a change missed while away is applied
        this.#resync();
        if (e.newSession) this.#register();
      } else if (e.type === "disconnected") {
        this.#o.log.warn("zookeeper connection lost; serving the last good config");
      } else if (e.type === "expired") {
        this.#o.log.warn("zookeeper session expired; opening a new one");
      }
    });
    this.#register();
  }

  /** The backends the orchestrator currently holds unhealthy. */
  get unhealthy(): ReadonlySet<string> {
    return this.#unhealthy;
  }

  /** Facts for `/status`. */
  status(): Record<string, unknown> {
    const session = this.#o.store.session();
    return {
      zookeeper: {
        state: this.#o.store.state(),
        session: session?.id ?? null,
        config_node: configPath(this.#o.group),
        last_seen_version: this.#lastVersion,
        registered: this.#registeredPath,
        deliveries: this.deliveries,
        resync_fixes: this.resyncFixes,
      },
      orchestrator_unhealthy: [...this.#unhealthy],
      snapshot_file: this.#o.snapshotFile,
    };
  }

  #onConfig(node: NodeData | null, via: "watch" | "resync"): void {
    if (this.#stopped) return;
    const group = this.#o.group;
    if (node === null) {
      if (this.#lastVersion !== "absent") {
        this.#lastVersion = "absent";
        this.#o.sink.reject("absent", [{
          group,
          field: "",
          reason: `${configPath(group)} does not exist`,
        }]);
      }
      return;
    }
    if (this.#lastZxid !== null && node.stat.mzxid <= this.#lastZxid) return;
    this.#lastZxid = node.stat.mzxid;
    this.deliveries++;
    if (via === "resync") this.resyncFixes++;
    const version = String(node.version);
    this.#lastVersion = version;
    let blob: unknown;
    try {
      blob = JSON.parse(decoder.decode(node.data));
    } catch (e) {
      this.#o.sink.reject(version, [{
        group,
        field: "",
        reason: `invalid JSON: ${(e as Error).message}`,
      }]);
      return;
    }
    if (this.#o.sink.applyBlob(version, blob)) {
      this.#lastBlob = blob;
      this.#appliedVersion = version;
      this.#o.sink.setExternalHealth(this.#unhealthy);
      this.#persist();
      this.#updateRegistration();
    }
  }

  #resync(): void {
    if (this.#stopped) return;
    this.#o.store.get(configPath(this.#o.group)).then(
      (node) => {
        try {
          this.#onConfig(node, "resync");
        } catch (e) {
          // a failing sink must not become an unhandled rejection (which ends the process)
          this.#o.log.warn("applying the re-read config failed", { error: String(e) });
        }
      },
      () => {}, // disconnected: the next tick or reconnect retries
    );
  }

  /** Runs `fn` after `ms` unless stopped first. */
  #later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      if (!this.#stopped) fn();
    }, ms);
    this.#retries.add(timer);
  }

  #persist(): void {
    const file = this.#o.snapshotFile;
    if (!file || this.#lastBlob === undefined || this.#appliedVersion === null) return;
    try {
      writeSnapshot(file, {
        group: this.#o.group,
        version: this.#appliedVersion,
        blob: this.#lastBlob,
        unhealthy: [...this.#unhealthy],
        writtenAt: new Date().toISOString(),
      });
    } catch (e) {
      this.#o.log.warn("cannot write the local snapshot", { file, error: String(e) });
    }
  }

  #register(): void {
    const reg = this.#o.registration;
    if (!reg || this.#deregistered) return;
    const { store, group } = this.#o;
    const path = proxyInstancePath(group, reg.id);
    const acl = this.#o.acl ?? undefined;
    Promise.resolve()
      .then(() => store.ensurePath(proxiesGroupPath(group), acl))
      .then(() => {
        const data = encoder.encode(JSON.stringify(reg.data()));
        return store.create(path, data, { mode: "ephemeral", ...(acl ? { acl } : {}) });
      })
      .then(
        async () => {
          if (this.#deregistered) {
            // deregister() or stop() ran while the create was in flight: take it back
            await store.delete(path).catch(() => {});
            return;
          }
          this.#registeredPath = path;
          this.#o.log.info("registered", { path });
        },
        async (e: Error & { code?: string }) => {
          if (this.#deregistered) return;
          if (e.code === "NODE_EXISTS" || e.name === "NodeExistsError") {
            // ours from this session (a retried create), or a stale one from a dead session
            const stat = await store.exists(path).catch(() => null);
            const mine = stat !== null && stat.ephemeralOwner === store.session()?.id;
            if (this.#deregistered) {
              if (mine) await store.delete(path).catch(() => {});
              return;
            }
            if (!mine && stat) await store.delete(path).catch(() => {});
            if (!mine) this.#later(() => this.#register(), 200);
            else this.#registeredPath = path;
            return;
          }
          this.#o.log.warn("registration failed; retrying", { path, error: String(e) });
          this.#later(() => this.#register(), 1000);
        },
      );
  }

  /** Rewrites the registration's data (e.g. the proxy's load changed). */
  refreshRegistration(): void {
    this.#updateRegistration();
  }

  /**
   * Removes the registration now (scale-in and shutdown: leave DNS first,
   * then drain); watches keep running so the config stays current.
   */
  async deregister(): Promise<void> {
    const path = this.#registeredPath;
    this.#registeredPath = null;
    this.#deregistered = true;
    if (path) await this.#o.store.delete(path).catch(() => {});
  }

  #updateRegistration(): void {
    const reg = this.#o.registration;
    const path = this.#registeredPath;
    if (!reg || !path) return;
    let data: Uint8Array;
    try {
      data = encoder.encode(JSON.stringify(reg.data()));
    } catch (e) {
      this.#o.log.warn("cannot update the registration", { path, error: String(e) });
      return;
    }
    this.#o.store.set(path, data).catch(() => {});
  }

  /**
   * Stops watches and timers and removes the registration (also one still being created).
   * Nothing reaches the sink afterwards.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#deregistered = true;
    for (const w of this.#watches) w.close();
    this.#watches = [];
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const t of this.#retries) clearTimeout(t);
    this.#retries.clear();
    this.#offSession?.();
    this.#offSession = null;
    if (this.#registeredPath) {
      await this.#o.store.delete(this.#registeredPath).catch(() => {});
      this.#registeredPath = null;
    }
  }
}
