/**
 * One orchestrator process: a worker that always probes its share, and a candidate in the
 * election that runs the master loop while it acts as leader.
 *
 * @module
 */
import { ELECTION_PATH } from "../store/layout.ts";
import { type ElectionStatus, LeaderElection } from "./election.ts";
import { Master, type MasterStatus } from "./master.ts";
import { ensureOwnedPath } from "./paths.ts";
import { Worker, type WorkerEvents, type WorkerOptions, type WorkerStatus } from "./worker.ts";

/**
 * Options of an {@linkcode OrchestratorNode}: its worker's options (the same store, id, probe
 * and clocks serve the master), plus the master's batching and the metrics hooks.
 */
export interface OrchestratorNodeOptions extends Omit<WorkerOptions, "maxWrites" | "events"> {
  /** Master batching (ms, default 100). */
  readonly debounceMs?: number;
  readonly workerEvents?: WorkerEvents;
  /** Leadership changes (metrics). */
  readonly onLeadership?: (acting: boolean) => void;
  /** Assignment writes (metrics). */
  readonly onAssignmentWrite?: (changed: number) => void;
}

/** `/status` of a process. */
export interface NodeStatus {
  readonly id: string;
  readonly isMaster: boolean;
  readonly masterId: string | null;
  readonly election: ElectionStatus;
  readonly master: MasterStatus;
  readonly worker: WorkerStatus;
  readonly session: string | null;
  readonly connection: string;
}

/**
 * An orchestrator process's coordination logic (the role adds flags, HTTP and signals).
 *
 * @example
 * ```ts ignore
 * const node = new OrchestratorNode({ store, id, acls, log, probe, now, wallClock, random });
 * await node.start();
 * // ... on SIGTERM:
 * await node.stop();
 * ```
 */
export class OrchestratorNode {
  readonly #o: OrchestratorNodeOptions;
  readonly #election: LeaderElection;
  readonly #master: Master;
  readonly #worker: Worker;

  constructor(options: OrchestratorNodeOptions) {
    this.#o = options;
    this.#master = new Master({
      store: options.store,
      id: options.id,
      acls: options.acls,
      log: options.log.with({ part: "master" }),
      ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
      ...(options.onAssignmentWrite ? { onWrite: options.onAssignmentWrite } : {}),
      onFenced: () => this.#election.recheck(),
    });
    this.#worker = new Worker({
      store: options.store,
      id: options.id,
      acls: options.acls,
      log: options.log.with({ part: "worker" }),
      probe: options.probe,
      now: options.now,
      wallClock: options.wallClock,
      random: options.random,
      ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
      ...(options.info ? { info: options.info } : {}),
      ...(options.workerEvents ? { events: options.workerEvents } : {}),
      ...(options.loadTls ? { loadTls: options.loadTls } : {}),
    });
    this.#election = new LeaderElection({
      store: options.store,
      path: ELECTION_PATH,
      id: options.id,
      ...(options.acls.owned ? { acl: options.acls.owned } : {}),
      log: options.log.with({ part: "election" }),
      ensurePath: () => ensureOwnedPath(options.store, ELECTION_PATH, options.acls),
      onChange: (s) => this.#onElection(s),
    });
  }

  /** Registers the worker, then joins the election. */
  async start(): Promise<void> {
    await this.#worker.start();
    this.#election.start();
  }

  /** The worker (tests, benchmarks). */
  get worker(): Worker {
    return this.#worker;
  }

  /** The election (tests). */
  get election(): LeaderElection {
    return this.#election;
  }

  /** Whether this process acts as master now. */
  get isMaster(): boolean {
    return this.#master.active;
  }

  /** Everything `/status` shows. */
  status(): NodeStatus {
    const e = this.#election.status();
    return {
      id: this.#o.id,
      isMaster: this.#master.active,
      masterId: e.leaderId,
      election: e,
      master: this.#master.status(),
      worker: this.#worker.status(),
      session: this.#o.store.session()?.id ?? null,
      connection: this.#o.store.state(),
    };
  }

  /** Resigns leadership (the next candidate takes over at once) and stops probing. */
  async stop(): Promise<void> {
    await this.#master.resign();
    await this.#election.resign();
    await this.#worker.stop();
  }

  #onElection(s: ElectionStatus): void {
    const was = this.#master.active;
    if (s.acting && s.own !== null) this.#master.begin(s.own, this.#election.fence());
    else this.#master.end();
    if (was !== this.#master.active) this.#o.onLeadership?.(this.#master.active);
  }
}
