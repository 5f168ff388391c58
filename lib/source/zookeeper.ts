/**
 * The proxy's ZooKeeper side, composed of four small parts: the config watch
 * on `/lb-configs/<group>` (push, resync, re-armed; `zk_config_watch.ts`),
 * the health watch on the group's health and the orchestrator's presence
 * (`zk_health_watch.ts`), the proxy's own registration (ephemeral,
 * re-created after session expiry; `proxy_registration.ts`), and the local
 * snapshot of the last good config (`snapshot_file.ts`). Nothing here is on
 * the request path: the proxy serves from its in-memory snapshot whatever
 * ZooKeeper does.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { configPath } from "../store/layout.ts";
import type { AclEntry, CoordinationStore } from "../store/types.ts";
import { type ConfigConsumer, type ConfigSource, isIssues } from "./config_source.ts";
import { ProxyRegistration } from "./proxy_registration.ts";
import { SnapshotRecorder } from "./snapshot_file.ts";
import { ZkConfigWatch } from "./zk_config_watch.ts";
import { ZkHealthWatch } from "./zk_health_watch.ts";

/** Options of {@link ZkProxySource}. */
export interface ZkProxySourceOptions {
  readonly store: CoordinationStore;
  readonly group: string;
  readonly log: Logger;
  /**
   * The orchestrator's unhealthy set: at every change of it, and again after
   * every applied config (the new config's backends take it on).
   */
  readonly onUnhealthy: (unhealthy: ReadonlySet<string>) => void;
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

/**
 * Keeps a proxy in step with ZooKeeper: a {@link ConfigSource} whose consumer
 * answers whether it applied each config (only then are the snapshot file,
 * the health and the registration's data brought up to date).
 *
 * @example
 * ```ts ignore
 * const src = new ZkProxySource({ store, group: "g", log, resyncMs: 30_000,
 *   onUnhealthy: (s) => instance.setExternalHealth(s), snapshotFile: ".state/snapshots/g.json",
 *   onOrchestrator: () => {}, registration: null });
 * src.start(deliverTo(instance));
 * ```
 */
export class ZkProxySource implements ConfigSource {
  readonly #o: ZkProxySourceOptions;
  readonly #config: ZkConfigWatch;
  readonly #health: ZkHealthWatch;
  readonly #snapshot: SnapshotRecorder;
  readonly #registration: ProxyRegistration | null;
  #started = false;
  #stopped = false;

  constructor(options: ZkProxySourceOptions) {
    this.#o = options;
    const { store, group, log } = options;
    this.#config = new ZkConfigWatch({ store, group, log, resyncMs: options.resyncMs });
    this.#snapshot = new SnapshotRecorder(options.snapshotFile, group, log);
    this.#health = new ZkHealthWatch({
      store,
      group,
      log,
      onUnhealthy: (unhealthy) => {
        options.onUnhealthy(unhealthy);
        this.#snapshot.recordUnhealthy(unhealthy);
      },
      onOrchestrator: options.onOrchestrator,
    });
    const reg = options.registration;
    this.#registration = reg === null ? null : new ProxyRegistration({
      store,
      group,
      id: reg.id,
      data: reg.data,
      log,
      acl: options.acl ?? null,
    });
  }

  get description(): string {
    return this.#config.description;
  }

  /** Config deliveries seen, rejected ones included. */
  get deliveries(): number {
    return this.#config.deliveries;
  }

  /** Safety-net re-reads that found a change the watch had not delivered. */
  get resyncFixes(): number {
    return this.#config.resyncFixes;
  }

  /** Starts the watches, the safety net and the registration. */
  start(consume: ConfigConsumer): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#config.start((update) => {
      const applied = consume(update);
      if (applied && !isIssues(update)) {
        this.#o.onUnhealthy(this.#health.unhealthy);
        this.#snapshot.recordConfig(update.version, update.blob);
        this.#registration?.refresh();
      }
      return applied;
    });
    this.#health.start();
    this.#registration?.start();
  }

  /** The backends the orchestrator currently holds unhealthy. */
  get unhealthy(): ReadonlySet<string> {
    return this.#health.unhealthy;
  }

  /** Facts for `/status`. */
  status(): Record<string, unknown> {
    const session = this.#o.store.session();
    return {
      zookeeper: {
        state: this.#o.store.state(),
        session: session?.id ?? null,
        config_node: configPath(this.#o.group),
        last_seen_version: this.#config.lastVersion,
        registered: this.#registration?.registeredPath ?? null,
        deliveries: this.deliveries,
        resync_fixes: this.resyncFixes,
      },
      orchestrator_unhealthy: [...this.#health.unhealthy],
      snapshot_file: this.#o.snapshotFile,
    };
  }

  /** Rewrites the registration's data (e.g. the proxy's load changed). */
  refreshRegistration(): void {
    this.#registration?.refresh();
  }

  /**
   * Removes the registration now (scale-in and shutdown: leave DNS first,
   * then drain); watches keep running so the config stays current.
   */
  async deregister(): Promise<void> {
    await this.#registration?.deregister();
  }

  /**
   * Stops watches and timers and removes the registration (also one still being created).
   * Nothing reaches the consumer afterwards.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#config.stop();
    this.#health.stop();
    await this.#registration?.stop();
  }
}
