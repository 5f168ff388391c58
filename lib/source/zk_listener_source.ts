/**
 * A `--listener` proxy's ZooKeeper side: a watch on `/lb-routes/<listener>`
 * (push, resync, re-armed: the same {@link ZkConfigWatch} a group proxy uses
 * for its config), and for each group the routes reference, the group
 * proxy's own parts ({@link ZkProxySource}: config watch, the orchestrator's
 * health, a local snapshot), without a per-group registration. The listener
 * registers once, under `/switchyard/proxies/<listener>/<id>`.
 *
 * A routes update is applied in order, one at a time: first every group it
 * names that is not loaded yet is read from `/lb-configs/<group>` and
 * applied, then the routes are validated against the groups loaded and
 * swapped in; the group watches then follow the routes (new groups watched,
 * groups no longer referenced unwatched). A group that does not exist makes
 * the update fail validation, naming the route; the last good routes keep
 * serving. A read that fails (ZooKeeper unreachable) is retried.
 *
 * @module
 */
import path from "node:path";
import type { ConfigIssue } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { ListenerRuntime } from "../proxy/listener_runtime.ts";
import { referencedGroups } from "../proxy/listener_instance.ts";
import { configPath, routesPath } from "../store/layout.ts";
import type { AclEntry, CoordinationStore } from "../store/types.ts";
import { deliverTo, isIssues } from "./config_source.ts";
import { ProxyRegistration } from "./proxy_registration.ts";
import { SnapshotRecorder } from "./snapshot_file.ts";
import { ZkConfigWatch } from "./zk_config_watch.ts";
import { ZkProxySource } from "./zookeeper.ts";

/** Options of {@link ZkListenerSource}. */
export interface ZkListenerSourceOptions {
  readonly store: CoordinationStore;
  readonly listener: string;
  readonly runtime: ListenerRuntime;
  readonly log: Logger;
  /** Slow periodic re-read of each watched node (ms). */
  readonly resyncMs: number;
  /** Where local snapshots go (`<dir>/<group>.json`, `<dir>/listener-<name>.json`); null: none. */
  readonly snapshotDir: string | null;
  /** The orchestrator's unhealthy set of a group, at every change and after every apply. */
  readonly onUnhealthy: (group: string, unhealthy: ReadonlySet<string>) => void;
  /** Whether an orchestrator runs (from the groups' health watches). */
  readonly onOrchestrator: (present: boolean) => void;
  /** This proxy's registration (null: do not register). */
  readonly registration:
    | { readonly id: string; readonly data: () => Record<string, unknown> }
    | null;
  /** ACL for nodes this proxy creates (its registration); null: open. */
  readonly acl?: readonly AclEntry[] | null;
  /** Delay before retrying a routes update whose group reads failed (ms). */
  readonly retryMs?: number;
}

const decoder = new TextDecoder();

/** The local snapshot file of a listener's routes. */
export function listenerSnapshotFile(dir: string, listener: string): string {
  return path.join(dir, `listener-${listener}.json`);
}

/** Keeps a listener proxy's routes and groups in step with ZooKeeper. */
export class ZkListenerSource {
  readonly #o: ZkListenerSourceOptions;
  readonly #routes: ZkConfigWatch;
  readonly #groups = new Map<string, ZkProxySource>();
  readonly #snapshot: SnapshotRecorder;
  readonly #registration: ProxyRegistration | null;
  /** Updates apply one at a time, in arrival order. */
  #queue: Promise<void> = Promise.resolve();
  /** The newest routes update seen (a retry of an older one is dropped). */
  #latest = 0;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;

  constructor(options: ZkListenerSourceOptions) {
    this.#o = options;
    const { store, listener, log } = options;
    this.#routes = new ZkConfigWatch({
      store,
      group: listener,
      log,
      resyncMs: options.resyncMs,
      path: routesPath(listener),
    });
    this.#snapshot = new SnapshotRecorder(
      options.snapshotDir === null ? null : listenerSnapshotFile(options.snapshotDir, listener),
      listener,
      log,
    );
    const reg = options.registration;
    this.#registration = reg === null ? null : new ProxyRegistration({
      store,
      group: listener,
      id: reg.id,
      data: reg.data,
      log,
      acl: options.acl ?? null,
    });
  }

  get description(): string {
    return this.#routes.description;
  }

  /** Starts the routes watch (and, as routes apply, the groups' watches) and the registration. */
  start(): void {
    this.#routes.start((update) => {
      if (isIssues(update)) {
        const listener = this.#o.listener;
        this.#o.runtime.rejectListener(
          update.version,
          update.issues.map((i) => ({ listener, field: i.field, reason: i.reason })),
        );
        return false;
      }
      const seq = ++this.#latest;
      this.#enqueue(seq, update.version, update.blob);
      return true;
    });
    // groups already loaded (a local snapshot) are watched at once
    this.#followRoutes();
    this.#registration?.start();
  }

  #enqueue(seq: number, version: string, blob: unknown): void {
    this.#queue = this.#queue.then(() => this.#apply(seq, version, blob)).catch((e) =>
      this.#o.log.warn("applying routes failed", { error: String(e) })
    );
  }

  async #apply(seq: number, version: string, blob: unknown): Promise<void> {
    if (this.#stopped || seq !== this.#latest) return;
    const { runtime, store, log } = this.#o;
    try {
      for (const group of referencedGroups(blob)) {
        if (runtime.groups.get(group)?.runtime.state.snapshot) continue;
        const node = await store.get(configPath(group));
        if (node === null) continue; // validation names the route and the missing group
        let groupBlob: unknown;
        try {
          groupBlob = JSON.parse(decoder.decode(node.data));
        } catch {
          continue; // invalid JSON: the group stays unloaded, validation reports it
        }
        runtime.applyGroup(group, String(node.version), groupBlob);
      }
    } catch (e) {
      log.warn("cannot read the routes' groups; retrying", { error: String(e) });
      this.#retry = setTimeout(() => {
        this.#retry = null;
        if (seq === this.#latest) this.#enqueue(seq, version, blob);
      }, this.#o.retryMs ?? 1000);
      return;
    }
    if (this.#stopped || seq !== this.#latest) return;
    const r = runtime.applyListener(version, blob);
    if (r.ok) {
      this.#snapshot.recordConfig(version, blob);
      this.#registration?.refresh();
    }
    this.#followRoutes();
  }

  /** Watches exactly the groups the current routes reference. */
  #followRoutes(): void {
    if (this.#stopped) return;
    const wanted = this.#o.runtime.referenced;
    for (const group of wanted) {
      if (this.#groups.has(group)) continue;
      const source = this.#groupSource(group);
      this.#groups.set(group, source);
      source.start(deliverTo({
        applyBlob: (version, blob) => this.#o.runtime.applyGroup(group, version, blob).ok,
        reject: (version, issues: readonly ConfigIssue[]) =>
          this.#o.runtime.rejectGroup(group, version, issues),
      }));
    }
    for (const [group, source] of this.#groups) {
      if (wanted.has(group)) continue;
      this.#groups.delete(group);
      void source.stop();
    }
  }

  #groupSource(group: string): ZkProxySource {
    const o = this.#o;
    return new ZkProxySource({
      store: o.store,
      group,
      log: o.log,
      resyncMs: o.resyncMs,
      snapshotFile: o.snapshotDir === null ? null : path.join(o.snapshotDir, `${group}.json`),
      onUnhealthy: (unhealthy) => o.onUnhealthy(group, unhealthy),
      onOrchestrator: o.onOrchestrator,
      registration: null,
      acl: o.acl ?? null,
    });
  }

  /** The orchestrator's unhealthy set of a group (empty when not watched). */
  unhealthy(group: string): ReadonlySet<string> {
    return this.#groups.get(group)?.unhealthy ?? new Set();
  }

  /** Facts for `/status`. */
  status(): Record<string, unknown> {
    const session = this.#o.store.session();
    return {
      zookeeper: {
        state: this.#o.store.state(),
        session: session?.id ?? null,
        routes_node: routesPath(this.#o.listener),
        last_seen_version: this.#routes.lastVersion,
        registered: this.#registration?.registeredPath ?? null,
        deliveries: this.#routes.deliveries,
        resync_fixes: this.#routes.resyncFixes,
        groups_watched: [...this.#groups.keys()],
      },
    };
  }

  /** Rewrites the registration's data. */
  refreshRegistration(): void {
    this.#registration?.refresh();
  }

  /** Removes the registration now (watches keep running). */
  async deregister(): Promise<void> {
    await this.#registration?.deregister();
  }

  /** Stops every watch and timer and removes the registration. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    await this.#routes.stop();
    await Promise.all([...this.#groups.values()].map((s) => s.stop()));
    this.#groups.clear();
    await this.#registration?.stop();
    await this.#queue;
  }
}
