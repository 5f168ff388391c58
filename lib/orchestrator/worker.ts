/**
 * The orchestrator worker: registers itself, follows its assignment, probes its targets on one
 * sorted schedule with bounded concurrency, and writes health transitions.
 *
 * - Registration: ephemeral `/switchyard/orchestrator/workers/<id>`, re-created in every new
 *   session. A node left by an earlier incarnation (same id, another session) is waited out.
 * - Assignment: `watchData` on `/switchyard/orchestrator/assignments/<id>`; one made for another
 *   session (before an expiry) is ignored. New targets start from the store (health node present:
 *   unhealthy, else healthy); nothing is written on takeover.
 * - Probing: one timer for the earliest due probe (a binary heap, not a timer per target), at most
 *   `maxConcurrency` probes in flight (sockets and ephemeral ports stay bounded), lag recorded.
 * - Writes: only on transitions, each a transaction `check` assignment version + create/delete the
 *   health node. A worker whose assignment changed under it (the target moved, or its session
 *   expired and the master reassigned) cannot write: the check fails. A write that failed is
 *   kept pending and retried with the next assignment, on reconnect, or after a delay.
 *
 * @module
 */
import type { ProbeResult, ProbeTarget } from "../health/probe.ts";
import type { HealthState } from "../health/state_machine.ts";
import type { Logger } from "../log.ts";
import {
  assignmentPath,
  healthBackendPath,
  healthGroupPath,
  workerPath,
  WORKERS_PATH,
} from "../store/layout.ts";
import {
  type CoordinationStore,
  isTransient,
  NodeExistsError,
  NoNodeError,
  type Op,
  StoreClosedError,
  type WatchHandle,
} from "../store/mod.ts";
import { type Assignment, assignmentTargets, decodeAssignment } from "./assignment.ts";
import { applyProbe, encodeHealthRecord, takeoverState } from "./health_record.ts";
import { ensureOwnedPath, type OrchestratorAcls } from "./paths.ts";
import { firstDueAt, LagStats, nextDueAt, ProbeSchedule } from "./schedule.ts";
import { sameSettings, type Target } from "./targets.ts";
import {
  tlsConnectOptions,
  type UpstreamTls,
  type UpstreamTlsConfig,
} from "../tls/upstream_tls.ts";

/** A health transition, as logged and shown in `/status`. */
export interface Transition {
  /** Wall-clock ms. */
  readonly at: number;
  readonly group: string;
  readonly address: string;
  readonly to: "healthy" | "unhealthy";
  readonly reason: string | null;
  readonly worker: string;
}

/** Hooks for metrics. */
export interface WorkerEvents {
  /** After each probe. */
  probe?(ok: boolean, lagMs: number, durationMs: number): void;
  /** On each transition (before it is written). */
  transition?(t: Transition): void;
  /** After each health write attempt. */
  write?(outcome: "ok" | "fenced" | "error"): void;
}

/** Options of a {@linkcode Worker}. */
export interface WorkerOptions {
  readonly store: CoordinationStore;
  readonly id: string;
  readonly acls: OrchestratorAcls;
  readonly log: Logger;
  readonly probe: (target: ProbeTarget) => Promise<ProbeResult>;
  /** Monotonic ms (scheduling, lag). */
  readonly now: () => number;
  /** Wall-clock ms (records). */
  readonly wallClock: () => number;
  readonly random: () => number;
  /** Probes in flight at most (default 1024). */
  readonly maxConcurrency?: number;
  /** Health writes in flight at most (default 32). */
  readonly maxWrites?: number;
  /** Extra data for the worker node (pid, host...). */
  readonly info?: Record<string, unknown>;
  readonly events?: WorkerEvents;
  /**
   * Loads a group's upstream TLS for its probes (reads `ca_file` on this
   * machine), or says why it cannot; the orchestrator role passes one over
   * lib/tls/upstream_tls_load.ts. Without one, probes of a TLS group fail.
   */
  readonly loadTls?: (tls: UpstreamTlsConfig) => UpstreamTls | string;
}

interface TargetState {
  target: Target;
  health: HealthState;
  /** Whether the health node exists, as far as this worker knows. */
  marked: boolean;
  running: boolean;
  /** Bumped when the target is (re)assigned: results of older probes are dropped. */
  epoch: number;
}

/** What `/status` shows of a worker. */
export interface WorkerStatus {
  readonly registered: boolean;
  readonly session: string | null;
  readonly assignmentVersion: number | null;
  readonly assignedBy: string | null;
  readonly targets: number;
  readonly unhealthy: number;
  readonly inflight: number;
  readonly pendingWrites: number;
  readonly lag: ReturnType<LagStats["summary"]>;
  readonly lastTransitions: readonly Transition[];
}

const enc = (s: string) => new TextEncoder().encode(s);

/** Transition log lines per second at most (the rest are summed up). */
const LOG_BURST = 20;

/**
 * The worker half of an orchestrator process.
 *
 * @example
 * ```ts ignore
 * const worker = new Worker({ store, id: "w1", acls, log, probe, now: () => performance.now(),
 *   wallClock: Date.now, random: Math.random });
 * await worker.start();
 * ```
 */
export class Worker {
  readonly #o: WorkerOptions;
  readonly #targets = new Map<string, TargetState>();
  readonly #schedule = new ProbeSchedule<string>();
  readonly #ready: Array<{ key: string; dueAt: number }> = [];
  #readyHead = 0;
  readonly #pending = new Set<string>();
  readonly #lag = new LagStats();
  readonly #transitions: Transition[] = [];
  /** Upstream TLS loaded per assignment's group `tls` (see {@link Worker.#tls}). */
  readonly #tlsLoaded = new WeakMap<UpstreamTlsConfig, UpstreamTls>();
  #inflight = 0;
  #writing = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #session: string | null = null;
  #registered = false;
  #assignment: Assignment | null = null;
  #assignmentVersion: number | null = null;
  #latest: { doc: Assignment | null; version: number | null } | null = null;
  #applying = false;
  #watch: WatchHandle | null = null;
  #unsubscribe: (() => void) | null = null;
  #stopped = false;
  #registering = false;
  #epoch = 0;
  #logWindowStart = -Infinity;
  #logged = 0;
  #suppressed = 0;
  #suppressTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: WorkerOptions) {
    this.#o = options;
  }

  /** Registers and starts following the assignment. */
  async start(): Promise<void> {
    const store = this.#o.store;
    this.#unsubscribe = store.onSession((event) => {
      if (event.type === "expired") {
        // Our assignment was for the dead session; the master hands our targets to others.
        this.#o.log.warn("session expired: dropping all targets until reassigned");
        this.#session = null;
        this.#registered = false;
        this.#dropAll();
      } else if (event.type === "connected") {
        if (event.newSession || !this.#registered) void this.#register();
        this.#kickWriter();
      }
    });
    await this.#register();
    this.#watch = store.watchData(assignmentPath(this.#o.id), (node) => {
      this.#latest = node === null
        ? { doc: null, version: null }
        : { doc: decodeAssignment(node.data) ?? null, version: node.version };
      if (node !== null && this.#latest.doc === null) {
        this.#o.log.error("assignment is not valid JSON of the expected shape; ignoring it");
      }
      void this.#applyLatest();
    }, { onError: (e) => this.#o.log.warn("assignment watch error", { error: String(e) }) });
  }

  /** Stops probing and removes the worker node. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#watch?.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    if (this.#suppressTimer !== undefined) clearTimeout(this.#suppressTimer);
    this.#dropAll();
    if (this.#registered) {
      await this.#o.store.delete(workerPath(this.#o.id)).catch(() => {});
      this.#registered = false;
    }
  }

  /** Snapshot for `/status`. */
  status(): WorkerStatus {
    let unhealthy = 0;
    for (const t of this.#targets.values()) if (t.health.status === "unhealthy") unhealthy++;
    return {
      registered: this.#registered,
      session: this.#session,
      assignmentVersion: this.#assignmentVersion,
      assignedBy: this.#assignment?.master ?? null,
      targets: this.#targets.size,
      unhealthy,
      inflight: this.#inflight,
      pendingWrites: this.#pending.size,
      lag: this.#lag.summary(),
      lastTransitions: [...this.#transitions],
    };
  }

  /** Recent probe lag (for benchmarks: `reset()` after warm-up). */
  get lag(): LagStats {
    return this.#lag;
  }

  /** Health of a target by key (tests). */
  health(key: string): HealthState | undefined {
    return this.#targets.get(key)?.health;
  }

  // ----- registration --------------------------------------------------------------------------

  async #register(): Promise<void> {
    if (this.#registering || this.#stopped) return;
    this.#registering = true;
    const store = this.#o.store;
    const path = workerPath(this.#o.id);
    let warned = false;
    try {
      while (!this.#stopped) {
        const session = store.session()?.id ?? null;
        try {
          if (store.state() !== "connected" || session === null) return; // next `connected`
          await ensureOwnedPath(store, WORKERS_PATH, this.#o.acls);
          const data = enc(JSON.stringify({ id: this.#o.id, session, ...this.#o.info }));
          try {
            await store.create(path, data, {
              mode: "ephemeral",
              ...(this.#o.acls.owned ? { acl: this.#o.acls.owned } : {}),
            });
          } catch (error) {
            if (!(error instanceof NodeExistsError)) throw error;
            const stat = await store.exists(path);
            if (stat !== null && stat.ephemeralOwner !== session) {
              if (!warned) {
                this.#o.log.warn(
                  "worker node held by another session (an earlier run with this id?); waiting",
                  { owner: stat.ephemeralOwner },
                );
                warned = true;
              }
              await new Promise((r) => setTimeout(r, 500));
              continue;
            }
          }
          if (store.session()?.id !== session) continue; // expired meanwhile: once more
          this.#session = session;
          this.#registered = true;
          this.#o.log.info("worker registered", { session });
          // An assignment delivered before registration may now be ours.
          void this.#applyLatest();
          return;
        } catch (error) {
          if (error instanceof StoreClosedError || this.#stopped) return;
          if (isTransient(error)) return; // the next `connected` event retries
          this.#o.log.warn("worker registration failed; retrying", { error: String(error) });
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    } finally {
      this.#registering = false;
    }
  }

  // ----- assignment ----------------------------------------------------------------------------

  async #applyLatest(): Promise<void> {
    if (this.#applying || this.#stopped) return;
    this.#applying = true;
    try {
      while (this.#latest !== null && !this.#stopped) {
        const { doc, version } = this.#latest;
        this.#latest = null;
        try {
          await this.#apply(doc, version);
        } catch (error) {
          if (error instanceof StoreClosedError) return;
          // Could not read health (connection loss...): try again on the next delivery/connect.
          this.#latest ??= { doc, version };
          this.#o.log.warn("applying the assignment failed; will retry", { error: String(error) });
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this.#applying = false;
    }
  }

  async #apply(doc: Assignment | null, version: number | null): Promise<void> {
    const mine = doc !== null && this.#registered && doc.session === this.#session;
    if (!mine) {
      if (this.#targets.size > 0) {
        this.#o.log.info("no assignment for this session; probing nothing", {
          reason: doc === null ? "no assignment" : "assignment for another session",
        });
      }
      this.#dropAll();
      this.#assignment = null;
      this.#assignmentVersion = null;
      return;
    }
    const wanted = new Map(assignmentTargets(doc).map((t) => [t.key, t]));
    for (const key of [...this.#targets.keys()]) {
      if (!wanted.has(key)) this.#drop(key);
    }
    // New targets start from the store: one children read per group.
    const fresh = [...wanted.values()].filter((t) => !this.#targets.has(t.key));
    const groups = new Set(fresh.map((t) => t.group));
    const marked = new Map<string, Set<string>>();
    await Promise.all([...groups].map(async (g) => {
      try {
        marked.set(g, new Set(await this.#o.store.children(healthGroupPath(g))));
      } catch (error) {
        if (!(error instanceof NoNodeError)) throw error;
        marked.set(g, new Set());
      }
    }));
    // A newer assignment arrived while reading: the loop in #applyLatest applies that one.
    if (this.#stopped || this.#latest !== null) return;
    const now = this.#o.now();
    const wall = this.#o.wallClock();
    for (const t of fresh) {
      const isMarked = marked.get(t.group)?.has(t.address) ?? false;
      this.#targets.set(t.key, {
        target: t,
        health: takeoverState(wall, isMarked),
        marked: isMarked,
        running: false,
        epoch: ++this.#epoch,
      });
      this.#schedule.schedule(t.key, firstDueAt(now, t.settings.intervalMs, this.#o.random));
    }
    for (const [key, t] of wanted) {
      const st = this.#targets.get(key)!;
      if (!sameSettings(st.target.settings, t.settings)) {
        const intervalChanged = st.target.settings.intervalMs !== t.settings.intervalMs;
        st.target = t;
        if (intervalChanged && !st.running) {
          this.#schedule.schedule(key, firstDueAt(now, t.settings.intervalMs, this.#o.random));
        }
      }
    }
    const before = this.#assignmentVersion;
    this.#assignment = doc;
    this.#assignmentVersion = version;
    if (before !== version) {
      this.#o.log.info("assignment applied", {
        version,
        targets: this.#targets.size,
        added: fresh.length,
        master: doc.master,
      });
    }
    this.#arm();
    this.#kickWriter();
  }

  #drop(key: string): void {
    this.#targets.delete(key);
    this.#schedule.remove(key);
    this.#pending.delete(key);
  }

  #dropAll(): void {
    for (const key of [...this.#targets.keys()]) this.#drop(key);
    this.#ready.length = 0;
    this.#readyHead = 0;
    this.#assignmentVersion = null;
  }

  // ----- probing -------------------------------------------------------------------------------

  #arm(): void {
    if (this.#stopped) return;
    const next = this.#schedule.nextDue();
    if (next === undefined) return;
    if (this.#timer !== undefined && this.#timerAt <= next) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, next - this.#o.now()));
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    for (const d of this.#schedule.popDue(this.#o.now())) this.#ready.push(d);
    this.#drain();
    this.#arm();
  }

  #drain(): void {
    const max = this.#o.maxConcurrency ?? 1024;
    while (this.#inflight < max && this.#readyHead < this.#ready.length) {
      const d = this.#ready[this.#readyHead++]!;
      const st = this.#targets.get(d.key);
      if (st === undefined || st.running) continue;
      void this.#runProbe(st, d.dueAt);
    }
    if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready.splice(0, this.#readyHead);
      this.#readyHead = 0;
    }
  }

  /**
   * A group's upstream TLS for its probes, loaded once per assignment's
   * settings; a failure (e.g. an unreadable CA file) is retried next probe.
   */
  #tls(config: UpstreamTlsConfig): UpstreamTls | string {
    const cached = this.#tlsLoaded.get(config);
    if (cached !== undefined) return cached;
    const loaded = this.#o.loadTls?.(config) ??
      "upstream TLS is not available in this orchestrator";
    if (typeof loaded !== "string") this.#tlsLoaded.set(config, loaded);
    return loaded;
  }

  async #runProbe(st: TargetState, dueAt: number): Promise<void> {
    const t = st.target;
    const epoch = st.epoch;
    st.running = true;
    this.#inflight++;
    const startedAt = this.#o.now();
    const lag = startedAt - dueAt;
    this.#lag.record(lag);
    let result: ProbeResult;
    try {
      const tls = t.settings.tls === undefined ? null : this.#tls(t.settings.tls);
      result = typeof tls === "string"
        ? { ok: false, error: tls, status: null }
        : await this.#o.probe({
          host: t.host,
          port: t.port,
          type: t.settings.type,
          path: t.settings.path,
          expectedStatus: t.settings.expectedStatus,
          timeoutMs: t.settings.timeoutMs,
          ...(tls === null ? {} : { tls: tlsConnectOptions(tls, t.host) }),
          ...(t.settings.protocol === "h2" ? { h2: true } : {}),
        });
    } catch (error) {
      result = { ok: false, error: String(error), status: null };
    }
    const finishedAt = this.#o.now();
    this.#inflight--;
    st.running = false;
    this.#o.events?.probe?.(result.ok, lag, finishedAt - startedAt);
    const current = this.#targets.get(t.key);
    if (!this.#stopped && current === st && current.epoch === epoch) {
      const outcome = applyProbe(
        st.health,
        result.ok,
        result.error,
        this.#o.wallClock(),
        st.target.settings,
      );
      st.health = outcome.state;
      if (outcome.write !== null) this.#transition(st, result.error);
      this.#schedule.schedule(
        t.key,
        nextDueAt(startedAt, finishedAt, st.target.settings.intervalMs, this.#o.random),
      );
    }
    this.#drain();
    this.#arm();
  }

  #transition(st: TargetState, error: string | null): void {
    const t: Transition = {
      at: this.#o.wallClock(),
      group: st.target.group,
      address: st.target.address,
      to: st.health.status,
      reason: st.health.status === "unhealthy" ? error : null,
      worker: this.#o.id,
    };
    this.#transitions.push(t);
    if (this.#transitions.length > 50) this.#transitions.shift();
    this.#logTransition(t, st.health.failures);
    this.#o.events?.transition?.(t);
    this.#pending.add(st.target.key);
    this.#kickWriter();
  }

  /**
   * Logs a transition, at most {@linkcode LOG_BURST} lines a second: a mass failure must not turn
   * into a log storm (synchronous stderr writes would stall the probe loop). The rest are counted
   * and summed up in one line; metrics and `/status` still see every transition.
   */
  #logTransition(t: Transition, failures: number): void {
    const now = this.#o.now();
    if (now - this.#logWindowStart >= 1000) {
      if (this.#suppressed > 0) {
        this.#o.log.warn("more health transitions not logged one by one", {
          count: this.#suppressed,
        });
      }
      this.#logWindowStart = now;
      this.#logged = 0;
      this.#suppressed = 0;
    }
    if (this.#logged >= LOG_BURST) {
      this.#suppressed++;
      if (this.#suppressTimer === undefined) {
        this.#suppressTimer = setTimeout(() => {
          this.#suppressTimer = undefined;
          if (this.#suppressed > 0) {
            this.#o.log.warn("more health transitions not logged one by one", {
              count: this.#suppressed,
            });
            this.#suppressed = 0;
          }
        }, 1000);
      }
      return;
    }
    this.#logged++;
    this.#o.log.info(t.to === "unhealthy" ? "backend unhealthy" : "backend healthy", {
      group: t.group,
      backend: t.address,
      reason: t.reason,
      failures,
    });
  }

  // ----- health writes -------------------------------------------------------------------------

  #kickWriter(): void {
    if (this.#stopped) return;
    const max = this.#o.maxWrites ?? 32;
    for (const key of [...this.#pending]) {
      if (this.#writing >= max) break;
      const st = this.#targets.get(key);
      if (st === undefined || st.marked === (st.health.status === "unhealthy")) {
        this.#pending.delete(key);
        continue;
      }
      if (this.#assignmentVersion === null) return; // wait for our assignment
      this.#pending.delete(key);
      void this.#write(st);
    }
  }

  async #write(st: TargetState): Promise<void> {
    this.#writing++;
    const key = st.target.key;
    const want = st.health.status === "unhealthy";
    const version = this.#assignmentVersion!;
    const path = healthBackendPath(st.target.group, st.target.address);
    const fence: Op = { op: "check", path: assignmentPath(this.#o.id), version };
    const op: Op = want
      ? {
        op: "create",
        path,
        data: encodeHealthRecord({
          status: "unhealthy",
          since: st.health.since,
          reason: st.health.lastError ?? "probe failed",
          failures: st.health.failures,
          worker: this.#o.id,
        }),
        ...(this.#o.acls.owned ? { acl: this.#o.acls.owned } : {}),
      }
      : { op: "delete", path };
    let retry: "now" | "later" | "assignment" | null = null;
    try {
      await this.#o.store.transaction([fence, op]);
      this.#settled(st, want);
      this.#o.events?.write?.("ok");
    } catch (error) {
      const index = (error as { failedOpIndex?: number }).failedOpIndex;
      if (index === 1 && want && error instanceof NodeExistsError) {
        this.#settled(st, want); // already marked (by the previous owner)
        this.#o.events?.write?.("ok");
      } else if (index === 1 && !want && error instanceof NoNodeError) {
        this.#settled(st, want); // already clear
        this.#o.events?.write?.("ok");
      } else if (index === 1 && want && error instanceof NoNodeError) {
        // The group's health node is missing: create it, then write again.
        try {
          await ensureOwnedPath(this.#o.store, healthGroupPath(st.target.group), this.#o.acls);
          retry = "now";
        } catch (e) {
          this.#o.log.warn("cannot create the group's health node", { error: String(e) });
          retry = "later";
        }
      } else if (index === 0) {
        // Fenced: our assignment changed (target moved, or we lost our session).
        this.#o.events?.write?.("fenced");
        this.#o.log.debug("health write fenced by a newer assignment", { target: key });
        retry = "assignment";
      } else if (isTransient(error) || error instanceof StoreClosedError) {
        this.#o.events?.write?.("error");
        retry = "later";
      } else {
        this.#o.events?.write?.("error");
        this.#o.log.error("health write failed", { target: key, error: String(error) });
        retry = "later";
      }
    } finally {
      this.#writing--;
    }
    if (retry !== null && this.#targets.get(key) === st) {
      this.#pending.add(key);
      if (retry === "later") this.#retryLater();
    }
    if (retry === "now" || retry === null) this.#kickWriter();
  }

  #settled(st: TargetState, marked: boolean): void {
    st.marked = marked;
  }

  #retryLater(): void {
    if (this.#retryTimer !== undefined || this.#stopped) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kickWriter();
    }, 1000);
  }
}
