/**
 * Support for the orchestrator's process tests: a private chroot on the real ZooKeeper,
 * orchestrator processes under Deno or Bun, probe-recording backends, and a recorder of every
 * change to a group's health.
 *
 * @module
 */
import net from "node:net";
import { decodeAssignment } from "../../lib/orchestrator/assignment.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import {
  assignmentPath,
  ASSIGNMENTS_PATH,
  configPath,
  healthGroupPath,
  MASTER_PATH,
} from "../../lib/store/layout.ts";
import { connectStore, type CoordinationStore } from "../../lib/store/mod.ts";
import { freePort, httpOk, type RoleProcess, startRole } from "../support/processes.ts";
import { acquireZk } from "../support/zk_server.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A private subtree of the dev ZooKeeper node. */
export interface Sandbox {
  /** `127.0.0.1:2181/<chroot>` */
  readonly connect: string;
  /** A session inside the chroot. */
  readonly store: CoordinationStore;
  /** Writes `/lb-configs/<group>`. */
  setConfig(group: string, blob: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Leases the dev node and makes a fresh chroot for one test. */
export async function sandbox(): Promise<Sandbox> {
  const lease = await acquireZk("single");
  const chroot = `/orch-${crypto.randomUUID().slice(0, 8)}`;
  const root = await connectStore({ connectionString: lease.connectionString });
  await root.create(chroot);
  await root.close();
  const connect = `${lease.connectionString}${chroot}`;
  const store = await connectStore({ connectionString: connect, sessionTimeoutMs: 10_000 });
  return {
    connect,
    store,
    async setConfig(group, blob) {
      const path = configPath(group);
      if (await store.exists(path) === null) await store.create(path, enc(blob), { parents: true });
      else await store.set(path, enc(blob));
    },
    async close() {
      await store.close().catch(() => {});
      const cleanup = await connectStore({ connectionString: lease.connectionString });
      await cleanup.deleteTree(chroot).catch(() => {});
      await cleanup.close();
      await lease.release();
    },
  };
}

/** An orchestrator process under test. */
export interface Orchestrator {
  readonly id: string;
  readonly runtime: Runtime;
  readonly process: RoleProcess;
  readonly adminPort: number;
  status(): Promise<OrchestratorStatus>;
  metrics(): Promise<string>;
}

/** The parts of `/status` tests read. */
export interface OrchestratorStatus {
  id: string;
  is_master: boolean;
  master_id: string | null;
  session: string | null;
  workers: string[] | null;
  assignment: { size: number; version: number | null; registered: boolean; unhealthy: number };
  probe_lag: { samples: number; median_ms: number; p99_ms: number; max_ms: number };
  last_transitions: { group: string; backend: string; to: string }[];
  master: { targets: number; workers: { id: string; targets: number }[] } | null;
}

/** Starts `roles/orchestrator.ts` and waits until its worker is registered. */
export async function startOrchestrator(
  runtime: Runtime,
  connect: string,
  id: string,
  options: { sessionTimeoutSeconds?: number; extra?: readonly string[] } = {},
): Promise<Orchestrator> {
  const adminPort = await freePort();
  const proc = await startRole(runtime, "orchestrator", [
    "--zk",
    connect,
    "--id",
    id,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    // without the option, the role's default session timeout (what an operator gets)
    ...(options.sessionTimeoutSeconds === undefined
      ? []
      : ["--zk-session-timeout", String(options.sessionTimeoutSeconds)]),
    ...(options.extra ?? []),
  ], { ready: () => httpOk(`http://127.0.0.1:${adminPort}/healthz`) });
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
      signal: AbortSignal.timeout(5000),
    });
    return r;
  };
  return {
    id,
    runtime,
    process: proc,
    adminPort,
    status: async () => await (await get("/status")).json() as OrchestratorStatus,
    metrics: async () => await (await get("/metrics")).text(),
  };
}

/**
 * A backend that answers health probes and records when each came (wall-clock ms). Raw
 * `node:net`, so a thousand of them stay cheap; `setUp(false)` answers 503.
 */
export class RecordingBackend {
  readonly hits: number[] = [];
  #up = true;
  #server: net.Server | null = null;
  port = 0;

  /** `127.0.0.1:<port>` */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    const server = net.createServer((socket) => {
      let buf = "";
      socket.on("data", (chunk) => {
        buf += chunk.toString("latin1");
        if (!buf.includes("\r\n\r\n")) return;
        this.hits.push(Date.now());
        const status = this.#up ? "200 OK" : "503 Service Unavailable";
        socket.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === "object" && addr ? addr.port : 0;
    this.#server = server;
    return this;
  }

  setUp(up: boolean): void {
    this.#up = up;
  }

  /** Longest time without a probe within [from, to] (edges count as probes). */
  maxGap(from: number, to: number): number {
    const times = [from, ...this.hits.filter((t) => t > from && t < to), to];
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return gap;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Every change of a group's unhealthy set, with its time. */
export class HealthRecorder {
  readonly changes: { at: number; unhealthy: string[] }[] = [];
  #close: () => void = () => {};

  constructor(store: CoordinationStore, group: string) {
    const w = store.watchChildren(healthGroupPath(group), (snap) => {
      this.changes.push({ at: Date.now(), unhealthy: [...(snap?.children ?? [])] });
    });
    this.#close = () => w.close();
  }

  /** The current unhealthy set. */
  get current(): string[] {
    return this.changes.at(-1)?.unhealthy ?? [];
  }

  /** Changes after `t`. */
  since(t: number): { at: number; unhealthy: string[] }[] {
    return this.changes.filter((c) => c.at > t);
  }

  close(): void {
    this.#close();
  }
}

/** Deliveries of `/switchyard/orchestrator/master` (who acts, and since when). */
export class MasterRecorder {
  readonly changes: { at: number; id: string | null; czxid: bigint | null }[] = [];
  #close: () => void;

  constructor(store: CoordinationStore) {
    const w = store.watchData(MASTER_PATH, (node) => {
      this.changes.push({
        at: Date.now(),
        id: node === null ? null : dec(node.data),
        czxid: node?.stat.czxid ?? null,
      });
    });
    this.#close = () => w.close();
  }

  get current(): string | null {
    return this.changes.at(-1)?.id ?? null;
  }

  /** First time after `t` some master other than `not` was named. */
  firstOtherAfter(t: number, not: string): { at: number; id: string } | undefined {
    const c = this.changes.find((c) => c.at > t && c.id !== null && c.id !== not);
    return c === undefined ? undefined : { at: c.at, id: c.id! };
  }

  close(): void {
    this.#close();
  }
}

/** Records every assignment write (master, targets) of every worker, with its time. */
export class AssignmentRecorder {
  readonly writes: { at: number; worker: string; master: string; size: number; mzxid: bigint }[] =
    [];
  #watches = new Map<string, { close(): void }>();
  #list: { close(): void };

  constructor(store: CoordinationStore) {
    this.#list = store.watchChildren(ASSIGNMENTS_PATH, (snap) => {
      for (const w of snap?.children ?? []) {
        if (this.#watches.has(w)) continue;
        this.#watches.set(
          w,
          store.watchData(assignmentPath(w), (node) => {
            if (node === null) return;
            const a = decodeAssignment(node.data);
            if (a === undefined) return;
            let size = 0;
            for (const g of a.groups.values()) size += g.backends.length;
            this.writes.push({
              at: Date.now(),
              worker: w,
              master: a.master,
              size,
              mzxid: node.stat.mzxid,
            });
          }),
        );
      }
    });
  }

  close(): void {
    this.#list.close();
    for (const w of this.#watches.values()) w.close();
  }
}

/** A port nothing listens on (refused connections: a dead backend). */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/**
 * Sends a signal to an orchestrator process by pid (node:child_process's `kill()` under Deno
 * delivers only the first signal it is asked to send, so SIGCONT after SIGSTOP would be lost).
 */
export function signal(o: Orchestrator, sig: "SIGSTOP" | "SIGCONT" | "SIGKILL"): void {
  const pid = o.process.child.pid;
  if (pid !== undefined && o.process.running) Deno.kill(pid, sig);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
