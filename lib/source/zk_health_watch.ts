/**
 * The health half of the proxy's ZooKeeper side: a children watch on
 * `/switchyard/health/<group>` (the backends the orchestrator holds
 * unhealthy, handed on as a set at every change) and one on the
 * orchestrator's workers (`/switchyard/orchestrator/workers`), reported only
 * when workers appear or all disappear: that decides whether the proxy
 * probes its backends itself.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { healthGroupPath, WORKERS_PATH } from "../store/layout.ts";
import type { CoordinationStore, WatchHandle } from "../store/types.ts";

/** Options of {@link ZkHealthWatch}. */
export interface ZkHealthWatchOptions {
  readonly store: CoordinationStore;
  readonly group: string;
  readonly log: Logger;
  /** The orchestrator's unhealthy set, at every change (every other backend is healthy). */
  readonly onUnhealthy: (unhealthy: ReadonlySet<string>) => void;
  /** Called with the first workers reading, then when workers appear or all disappear. */
  readonly onOrchestrator: (present: boolean) => void;
}

/**
 * Follows a group's health and the orchestrator's presence.
 *
 * @example
 * ```ts ignore
 * const health = new ZkHealthWatch({ store, group: "g", log,
 *   onUnhealthy: (s) => instance.setExternalHealth(s), onOrchestrator: (p) => instance.setProbing(!p) });
 * health.start();
 * ```
 */
export class ZkHealthWatch {
  readonly #o: ZkHealthWatchOptions;
  #watches: WatchHandle[] = [];
  #unhealthy: ReadonlySet<string> = new Set();
  #orchestrator: boolean | null = null;

  constructor(options: ZkHealthWatchOptions) {
    this.#o = options;
  }

  /** The backends the orchestrator currently holds unhealthy. */
  get unhealthy(): ReadonlySet<string> {
    return this.#unhealthy;
  }

  /** Whether orchestrator workers are registered (null before the first reading). */
  get orchestrator(): boolean | null {
    return this.#orchestrator;
  }

  start(): void {
    const { store, group, log } = this.#o;
    const onError = (e: unknown) => log.debug("zookeeper watch error", { error: String(e) });
    this.#watches.push(
      store.watchChildren(healthGroupPath(group), (s) => {
        this.#unhealthy = new Set(s?.children ?? []);
        this.#o.onUnhealthy(this.#unhealthy);
      }, { onError }),
      store.watchChildren(WORKERS_PATH, (s) => {
        const present = (s?.children.length ?? 0) > 0;
        if (present === this.#orchestrator) return; // another worker came or went: no news
        this.#orchestrator = present;
        this.#o.onOrchestrator(present);
      }, { onError }),
    );
  }

  stop(): void {
    for (const w of this.#watches) w.close();
    this.#watches = [];
  }
}
