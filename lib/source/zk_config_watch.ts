/**
 * The config half of the proxy's ZooKeeper side: a data watch on
 * `/lb-configs/<group>` (push), re-armed by the store after every delivery
 * and every reconnection; a re-read at once after any (re)connection, so a
 * change made while away is applied; and a slow periodic re-read (the safety
 * net, `--resync-seconds`) that catches a change the watch did not deliver.
 * Each change is emitted once (by the node's mzxid) as a {@link ConfigUpdate}:
 * the node's bytes as a blob, or issues when they are not JSON or the node is
 * missing ("absent", emitted once until it exists again).
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { configPath } from "../store/layout.ts";
import type { CoordinationStore, NodeData, WatchHandle } from "../store/types.ts";
import type { ConfigConsumer, ConfigSource } from "./config_source.ts";

/** Options of {@link ZkConfigWatch}. */
export interface ZkConfigWatchOptions {
  readonly store: CoordinationStore;
  readonly group: string;
  readonly log: Logger;
  /** Slow periodic re-read of the config node (ms). */
  readonly resyncMs: number;
  /** The node watched (default `/lb-configs/<group>`; a listener's is `/lb-routes/<listener>`). */
  readonly path?: string;
}

const decoder = new TextDecoder();

/**
 * Emits a group's config node as it changes.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from "../store/mod.ts";
 * import { silentLogger } from "../log.ts";
 * import { ZkConfigWatch } from "./zk_config_watch.ts";
 * const store = await createMemoryStore();
 * await store.create("/lb-configs/g", new TextEncoder().encode('{"backend_servers":[]}'), { parents: true });
 * const watch = new ZkConfigWatch({ store, group: "g", log: silentLogger, resyncMs: 30_000 });
 * const versions: string[] = [];
 * watch.start((u) => (versions.push(u.version), true));
 * while (versions.length === 0) await new Promise((r) => setTimeout(r, 5));
 * await watch.stop();
 * await store.close();
 * console.log(versions); // ["0"]
 * ```
 */
export class ZkConfigWatch implements ConfigSource {
  readonly #o: ZkConfigWatchOptions;
  #consume: ConfigConsumer | null = null;
  #watch: WatchHandle | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #offSession: (() => void) | null = null;
  #lastZxid: bigint | null = null;
  /** The last version seen (applied or rejected, `absent` while the node is missing). */
  #lastVersion: string | null = null;
  #stopped = false;
  /** Config deliveries seen, rejected ones included. */
  deliveries = 0;
  /** Safety-net re-reads that found a change the watch had not delivered. */
  resyncFixes = 0;

  readonly #path: string;

  constructor(options: ZkConfigWatchOptions) {
    this.#o = options;
    this.#path = options.path ?? configPath(options.group);
  }

  get description(): string {
    return `zookeeper:${this.#path}`;
  }

  /** The last version seen (`absent` while the node is missing), or null. */
  get lastVersion(): string | null {
    return this.#lastVersion;
  }

  /** Starts the watch, the safety net and the re-read after each (re)connection. */
  start(consume: ConfigConsumer): void {
    if (this.#consume !== null || this.#stopped) return;
    this.#consume = consume;
    const { store, log } = this.#o;
    this.#watch = store.watchData(this.#path, (node) => this.#onConfig(node, "watch"), {
      onError: (e) => log.debug("zookeeper watch error", { error: String(e) }),
    });
    this.#timer = setInterval(() => this.resync(), this.#o.resyncMs);
    this.#offSession = store.onSession((e) => {
      if (this.#stopped) return;
      if (e.type === "connected") {
        log.info(e.newSession ? "zookeeper session established" : "zookeeper reconnected", {
          session: e.session.id,
        });
        // re-read at once after any (re)connection: a change missed while away is applied
        this.resync();
      } else if (e.type === "disconnected") {
        log.warn("zookeeper connection lost; serving the last good config");
      } else if (e.type === "expired") {
        log.warn("zookeeper session expired; opening a new one");
      }
    });
  }

  /** Re-reads the node now; a change the watch missed is emitted (and counted). */
  resync(): void {
    if (this.#stopped) return;
    this.#o.store.get(this.#path).then(
      (node) => {
        try {
          this.#onConfig(node, "resync");
        } catch (e) {
          // a failing consumer must not become an unhandled rejection (which ends the process)
          this.#o.log.warn("applying the re-read config failed", { error: String(e) });
        }
      },
      () => {}, // disconnected: the next tick or reconnect retries
    );
  }

  /** Stops the watch and timers: nothing is emitted afterwards. */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#watch?.close();
    this.#watch = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#offSession?.();
    this.#offSession = null;
    return Promise.resolve();
  }

  #onConfig(node: NodeData | null, via: "watch" | "resync"): void {
    const consume = this.#consume;
    if (this.#stopped || consume === null) return;
    const group = this.#o.group;
    if (node === null) {
      if (this.#lastVersion !== "absent") {
        this.#lastVersion = "absent";
        consume({
          version: "absent",
          issues: [{ group, field: "", reason: `${this.#path} does not exist` }],
        });
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
      consume({
        version,
        issues: [{ group, field: "", reason: `invalid JSON: ${(e as Error).message}` }],
      });
      return;
    }
    consume({ version, blob });
  }
}
