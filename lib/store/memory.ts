/**
 * In-memory coordination store with ZooKeeper's semantics: versions, zxids, ephemerals bound to
 * a (simulated) session, sequential names from the parent's cversion, atomic multi, ACL checks
 * and one-shot watches. It is the embedded default (single process, no ZooKeeper) and what unit
 * tests run against; it passes the same contract suite as the ZooKeeper store.
 *
 * A {@linkcode MemoryServer} is the "ensemble" (one shared tree); every `connect()` opens a
 * {@linkcode MemoryStore}, i.e. one client session. Tests simulate connection loss and session
 * expiry with `simulateDisconnect()`, `simulateReconnect()` and `simulateExpiry()`.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from "./memory.ts";
 * const store = await createMemoryStore();
 * await store.create("/lb-configs", new TextEncoder().encode("{}"));
 * const node = await store.get("/lb-configs");
 * console.assert(node?.version === 0);
 * await store.close();
 * ```
 *
 * @module
 */

import { digestId, OPEN_ACL, parseDigest, permsToMask } from "./acl.ts";
import { ancestorsOf, childPath, nameOf, parentOf, validatePath } from "./_path.ts";
import { parseConnectionString } from "./connection_string.ts";
import { requestTooLarge } from "./request_size.ts";
import {
  ConnectionLossError,
  NoAuthError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  RequestTooLargeError,
  SessionExpiredError,
  StoreClosedError,
  StoreError,
  VersionConflictError,
} from "./errors.ts";
import { CHILDREN_VERSIONING, DATA_VERSIONING, DEFAULT_TIMERS, startWatch } from "./_watch.ts";
import {
  type AclEntry,
  type ChildrenSnapshot,
  type ConnectionState,
  type ConnectOptions,
  type CoordinationStore,
  type CreateMode,
  type CreateOptions,
  DEFAULT_RECONNECT_WAIT_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  type NodeData,
  type Op,
  type OpResult,
  type SessionEvent,
  type SessionInfo,
  type Stat,
  type Timers,
  type WatchHandle,
  type WatchOptions,
} from "./types.ts";

const READ = 1;
const WRITE = 2;
const CREATE = 4;
const DELETE = 8;
const ADMIN = 16;

interface MemNode {
  data: Uint8Array;
  acl: AclEntry[];
  version: number;
  cversion: number;
  aversion: number;
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  ctimeMs: number;
  mtimeMs: number;
  ephemeralOwner: string | null;
  children: Set<string>;
}

interface SessionRecord {
  readonly id: string;
  readonly timeoutMs: number;
  /** Digest identities (`user:hash`) the session authenticated with. */
  readonly identities: readonly string[];
  alive: boolean;
  client: MemoryStore | undefined;
}

type WatchKind = "data" | "exist" | "child";
type Fire = () => void;

/** Identity of the caller of a server operation. */
/** Session id of the server's own operations (never a client's: ids start at 0x0100...). */
const SYSTEM_SESSION_ID = "0".repeat(16);

interface Caller {
  readonly session: SessionRecord;
}

type Mutation = { kind: "created" | "deleted" | "changed"; path: string };

/** Options of a {@linkcode MemoryServer}. */
export interface MemoryServerOptions {
  /** Clock for ctime/mtime. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * The shared tree: the in-memory stand-in for a ZooKeeper ensemble. Sessions opened with
 * {@linkcode MemoryServer.connect} see each other's writes, ephemerals and watches.
 */
export class MemoryServer {
  readonly #nodes = new Map<string, MemNode>();
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #watches: Record<WatchKind, Map<string, Map<Fire, SessionRecord>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
  };
  readonly #now: () => number;
  #zxid = 0n;
  #nextSession = 1n;

  /** @param options clock */
  constructor(options: MemoryServerOptions = {}) {
    this.#now = options.now ?? (() => Date.now());
    const root = this.#newNode(new Uint8Array(), [...OPEN_ACL], null, 0n);
    this.#nodes.set("/", root);
    // Mirror ZooKeeper's own subtree so listings of / look the same.
    this.#apply({ session: this.#systemSession() }, [
      { op: "create", path: "/zookeeper" },
      { op: "create", path: "/zookeeper/quota" },
      { op: "create", path: "/zookeeper/config" },
    ]);
  }

  /**
   * Opens a client session.
   *
   * @param options connection string (`memory[/chroot]`, only the chroot is used), session
   *   timeout, digest credentials, timers
   * @returns the connected store
   */
  connect(options: Partial<ConnectOptions> = {}): Promise<MemoryStore> {
    const parsed = parseConnectionString(options.connectionString ?? "memory", false);
    const credentials = options.digest === undefined ? undefined : parseDigest(options.digest);
    const store = new MemoryStore(this, {
      chroot: parsed.chroot,
      timeoutMs: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      identities: credentials === undefined
        ? []
        : [digestId(credentials.user, credentials.password)],
      reconnectWaitMs: options.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS,
      timers: options.timers ?? DEFAULT_TIMERS,
    });
    return Promise.resolve(store);
  }

  /**
   * Expires a session as the ZooKeeper server would after its timeout: ephemerals are deleted
   * (firing watches), its watches dropped. A connected client learns at once; a disconnected one
   * when it reconnects.
   *
   * @param sessionId the session to expire
   */
  expireSession(sessionId: string): void {
    const record = this.#sessions.get(sessionId);
    if (record === undefined || !record.alive) return;
    this.#endSession(record);
    record.client?._sessionEnded(record);
  }

  /** Ids of the live sessions (for tests). */
  sessionIds(): string[] {
    return [...this.#sessions.values()].filter((s) => s.alive).map((s) => s.id);
  }

  // ----- internal API used by MemoryStore ------------------------------------------------------

  /** @internal */
  _openSession(client: MemoryStore, timeoutMs: number, identities: readonly string[]) {
    const id = (0x0100000000000000n + this.#nextSession++).toString(16).padStart(16, "0");
    const record: SessionRecord = { id, timeoutMs, identities, alive: true, client };
    this.#sessions.set(id, record);
    return record;
  }

  /** @internal Ends a session on close: same effect as expiry, but the client asked for it. */
  _closeSession(record: SessionRecord): void {
    if (record.alive) this.#endSession(record);
  }

  /** @internal */
  _get(caller: Caller, path: string, watch?: Fire): NodeData | null {
    validatePath(path);
    const node = this.#nodes.get(path);
    if (node === undefined) {
      if (watch) this.#addWatch("exist", path, watch, caller.session);
      return null;
    }
    this.#checkAcl(caller, node, READ, path);
    if (watch) this.#addWatch("data", path, watch, caller.session);
    return { data: node.data.slice(), version: node.version, stat: toStat(node) };
  }

  /** @internal */
  _exists(_caller: Caller, path: string): Stat | null {
    validatePath(path);
    const node = this.#nodes.get(path);
    return node === undefined ? null : toStat(node);
  }

  /** @internal */
  _children(caller: Caller, path: string, watch?: Fire): ChildrenSnapshot | null {
    validatePath(path);
    const node = this.#nodes.get(path);
    if (node === undefined) {
      if (watch) this.#addWatch("exist", path, watch, caller.session);
      return null;
    }
    this.#checkAcl(caller, node, READ, path);
    if (watch) this.#addWatch("child", path, watch, caller.session);
    return { children: [...node.children].sort(), stat: toStat(node) };
  }

  /** @internal */
  _getAcl(caller: Caller, path: string): { acl: AclEntry[]; stat: Stat } {
    validatePath(path);
    const node = this.#nodes.get(path);
    if (node === undefined) throw new NoNodeError(path);
    this.#checkAcl(caller, node, READ | ADMIN, path);
    let admin = true;
    try {
      this.#checkAcl(caller, node, ADMIN, path);
    } catch {
      admin = false;
    }
    // Like ZooKeeper: without ADMIN, digest hashes are masked (`user:x`).
    const acl = node.acl.map((e) => ({
      ...e,
      id: !admin && e.scheme === "digest" ? e.id.replace(/:.*$/, ":x") : e.id,
      perms: [...e.perms],
    }));
    return { acl, stat: toStat(node) };
  }

  /** @internal */
  _setAcl(caller: Caller, path: string, acl: readonly AclEntry[], version: number): Stat {
    validatePath(path);
    const node = this.#nodes.get(path);
    if (node === undefined) throw new NoNodeError(path);
    this.#checkAcl(caller, node, ADMIN, path);
    if (version !== -1 && version !== node.aversion) {
      throw new VersionConflictError(path, version, node.aversion);
    }
    node.acl = this.#fixAcl(caller, acl, path);
    node.aversion += 1;
    return toStat(node);
  }

  /**
   * @internal Runs ops atomically under one zxid: validated and applied in order against the
   * evolving tree, rolled back on the first failure, watches fired only after success.
   */
  _apply(caller: Caller, ops: readonly Op[]): OpResult[] {
    return this.#apply(caller, ops);
  }

  // ----- implementation ------------------------------------------------------------------------

  #systemSession(): SessionRecord {
    return { id: SYSTEM_SESSION_ID, timeoutMs: 0, identities: [], alive: true, client: undefined };
  }

  #newNode(
    data: Uint8Array,
    acl: AclEntry[],
    ephemeralOwner: string | null,
    zxid: bigint,
  ): MemNode {
    const now = this.#now();
    return {
      data,
      acl,
      version: 0,
      cversion: 0,
      aversion: 0,
      czxid: zxid,
      mzxid: zxid,
      pzxid: zxid,
      ctimeMs: now,
      mtimeMs: now,
      ephemeralOwner,
      children: new Set(),
    };
  }

  #apply(caller: Caller, ops: readonly Op[]): OpResult[] {
    const zxid = this.#zxid + 1n;
    const before = new Map<string, MemNode | undefined>();
    const touch = (path: string): void => {
      if (before.has(path)) return;
      const node = this.#nodes.get(path);
      before.set(path, node === undefined ? undefined : cloneNode(node));
    };
    const mutations: Mutation[] = [];
    const results: OpResult[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      try {
        results.push(this.#applyOne(caller, op, zxid, touch, mutations));
      } catch (error) {
        for (const [path, node] of before) {
          if (node === undefined) this.#nodes.delete(path);
          else this.#nodes.set(path, node);
        }
        if (error instanceof StoreError && ops.length > 1) error.failedOpIndex = i;
        throw error;
      }
    }
    if (mutations.length > 0) this.#zxid = zxid;
    for (const m of mutations) this.#fireFor(m);
    return results;
  }

  #applyOne(
    caller: Caller,
    op: Op,
    zxid: bigint,
    touch: (path: string) => void,
    mutations: Mutation[],
  ): OpResult {
    switch (op.op) {
      case "check": {
        validatePath(op.path);
        const node = this.#nodes.get(op.path);
        if (node === undefined) throw new NoNodeError(op.path);
        this.#checkAcl(caller, node, READ, op.path);
        if (op.version !== -1 && op.version !== node.version) {
          throw new VersionConflictError(op.path, op.version, node.version);
        }
        return { op: "check" };
      }
      case "create": {
        const mode: CreateMode = op.mode ?? "persistent";
        const sequential = mode.endsWith("_sequential");
        validatePath(op.path, sequential);
        if (op.path === "/") throw new NodeExistsError("/");
        const parentPath = parentOf(sequential && op.path.endsWith("/") ? op.path + "x" : op.path);
        const parent = this.#nodes.get(parentPath);
        if (parent === undefined) throw new NoNodeError(op.path);
        this.#checkAcl(caller, parent, CREATE, op.path);
        if (parent.ephemeralOwner !== null) {
          throw new StoreError(
            "NO_CHILDREN_FOR_EPHEMERALS",
            "ephemeral nodes cannot have children",
            op.path,
          );
        }
        const path = sequential ? op.path + String(parent.cversion).padStart(10, "0") : op.path;
        if (this.#nodes.has(path)) throw new NodeExistsError(path);
        const acl = this.#fixAcl(caller, op.acl ?? OPEN_ACL, path);
        const ephemeral = mode.startsWith("ephemeral");
        touch(parentPath);
        touch(path);
        const node = this.#newNode(
          (op.data ?? new Uint8Array()).slice(),
          acl,
          ephemeral ? caller.session.id : null,
          zxid,
        );
        this.#nodes.set(path, node);
        const p = this.#nodes.get(parentPath)!;
        p.children.add(nameOf(path));
        p.cversion += 1;
        p.pzxid = zxid;
        mutations.push({ kind: "created", path });
        return { op: "create", path };
      }
      case "set": {
        validatePath(op.path);
        const node = this.#nodes.get(op.path);
        if (node === undefined) throw new NoNodeError(op.path);
        this.#checkAcl(caller, node, WRITE, op.path);
        const version = op.version ?? -1;
        if (version !== -1 && version !== node.version) {
          throw new VersionConflictError(op.path, version, node.version);
        }
        touch(op.path);
        const n = this.#nodes.get(op.path)!;
        n.data = op.data.slice();
        n.version += 1;
        n.mzxid = zxid;
        n.mtimeMs = this.#now();
        mutations.push({ kind: "changed", path: op.path });
        return { op: "set", stat: toStat(n) };
      }
      case "delete": {
        validatePath(op.path);
        if (op.path === "/") throw new StoreError("BAD_ARGUMENTS", "cannot delete /", "/");
        const node = this.#nodes.get(op.path);
        if (node === undefined) throw new NoNodeError(op.path);
        const parentPath = parentOf(op.path);
        const parent = this.#nodes.get(parentPath)!;
        this.#checkAcl(caller, parent, DELETE, op.path);
        const version = op.version ?? -1;
        if (version !== -1 && version !== node.version) {
          throw new VersionConflictError(op.path, version, node.version);
        }
        if (node.children.size > 0) throw new NotEmptyError(op.path);
        touch(parentPath);
        touch(op.path);
        this.#nodes.delete(op.path);
        const p = this.#nodes.get(parentPath)!;
        p.children.delete(nameOf(op.path));
        p.cversion += 1;
        p.pzxid = zxid;
        mutations.push({ kind: "deleted", path: op.path });
        return { op: "delete" };
      }
      default:
        throw new StoreError("BAD_ARGUMENTS", `unknown op ${(op as { op: string }).op}`);
    }
  }

  #checkAcl(caller: Caller, node: MemNode, anyOf: number, path: string): void {
    // The server itself (expiring a session's ephemerals) is not subject to ACLs, as in ZooKeeper.
    if (caller.session.id === SYSTEM_SESSION_ID) return;
    const ids = caller.session.identities;
    for (const entry of node.acl) {
      if ((permsToMask(entry.perms) & anyOf) === 0) continue;
      if (entry.scheme === "world" && entry.id === "anyone") return;
      if (entry.scheme === "digest" && ids.includes(entry.id)) return;
      if (entry.scheme === "ip" && entry.id === "127.0.0.1") return;
    }
    throw new NoAuthError(path);
  }

  /** Validates an ACL list and expands `auth` entries to the caller's identities. */
  #fixAcl(caller: Caller, acl: readonly AclEntry[], path: string): AclEntry[] {
    const invalid = (why: string): never => {
      throw new StoreError("INVALID_ACL", `invalid ACL (${why})`, path);
    };
    if (acl.length === 0) invalid("empty");
    const out: AclEntry[] = [];
    for (const entry of acl) {
      permsToMask(entry.perms);
      switch (entry.scheme) {
        case "world":
          if (entry.id !== "anyone") invalid("world id must be anyone");
          out.push({ scheme: "world", id: "anyone", perms: [...entry.perms] });
          break;
        case "digest":
          if (!/^[^:]+:.+$/.test(entry.id)) invalid("digest id must be user:hash");
          out.push({ scheme: "digest", id: entry.id, perms: [...entry.perms] });
          break;
        case "ip":
          out.push({ scheme: "ip", id: entry.id, perms: [...entry.perms] });
          break;
        case "auth":
          if (caller.session.identities.length === 0) invalid("auth scheme without credentials");
          for (const id of caller.session.identities) {
            out.push({ scheme: "digest", id, perms: [...entry.perms] });
          }
          break;
        default:
          invalid(`unknown scheme ${(entry as { scheme: string }).scheme}`);
      }
    }
    return out;
  }

  #addWatch(kind: WatchKind, path: string, fire: Fire, session: SessionRecord): void {
    let byFire = this.#watches[kind].get(path);
    if (byFire === undefined) {
      byFire = new Map();
      this.#watches[kind].set(path, byFire);
    }
    byFire.set(fire, session);
  }

  #takeWatches(kind: WatchKind, path: string): Array<[Fire, SessionRecord]> {
    const byFire = this.#watches[kind].get(path);
    if (byFire === undefined) return [];
    this.#watches[kind].delete(path);
    return [...byFire];
  }

  #fireFor(m: Mutation): void {
    const fired: Array<[Fire, SessionRecord]> = [];
    switch (m.kind) {
      case "created":
        fired.push(...this.#takeWatches("data", m.path), ...this.#takeWatches("exist", m.path));
        fired.push(...this.#takeWatches("child", parentOf(m.path)));
        break;
      case "changed":
        fired.push(...this.#takeWatches("data", m.path), ...this.#takeWatches("exist", m.path));
        break;
      case "deleted":
        fired.push(...this.#takeWatches("data", m.path), ...this.#takeWatches("child", m.path));
        fired.push(...this.#takeWatches("child", parentOf(m.path)));
        break;
    }
    for (const [fire, session] of fired) {
      if (session.alive) session.client?._deliverWatch(session, fire);
    }
  }

  #endSession(record: SessionRecord): void {
    record.alive = false;
    for (const kind of ["data", "exist", "child"] as const) {
      for (const [path, byFire] of this.#watches[kind]) {
        for (const [fire, session] of byFire) if (session === record) byFire.delete(fire);
        if (byFire.size === 0) this.#watches[kind].delete(path);
      }
    }
    const owned = [...this.#nodes].filter(([, n]) => n.ephemeralOwner === record.id)
      .map(([path]) => path);
    if (owned.length > 0) {
      // Ephemerals have no children, so one transaction deletes them all.
      this.#apply(
        { session: this.#systemSession() },
        owned.map((path) => ({ op: "delete", path })),
      );
    }
  }
}

function cloneNode(node: MemNode): MemNode {
  return { ...node, children: new Set(node.children), acl: [...node.acl] };
}

function toStat(node: MemNode): Stat {
  return {
    version: node.version,
    cversion: node.cversion,
    aversion: node.aversion,
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
    ctimeMs: node.ctimeMs,
    mtimeMs: node.mtimeMs,
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren: node.children.size,
  };
}

interface MemoryStoreConfig {
  readonly chroot: string | null;
  readonly timeoutMs: number;
  readonly identities: readonly string[];
  readonly reconnectWaitMs: number;
  readonly timers: Timers;
}

/**
 * One client session on a {@linkcode MemoryServer}, implementing {@linkcode CoordinationStore}
 * plus fault injection for tests.
 */
export class MemoryStore implements CoordinationStore {
  /** Always `"memory"`. */
  readonly kind = "memory";
  /** Timers (for the watch loop and reconnect waits). */
  readonly timers: Timers;
  readonly #server: MemoryServer;
  readonly #config: MemoryStoreConfig;
  readonly #listeners = new Set<(event: SessionEvent) => void>();
  readonly #connectWaiters = new Set<() => void>();
  #record: SessionRecord;
  #state: ConnectionState = "connected";
  /** Watch events that fired while disconnected, replayed on reconnect like SET_WATCHES. */
  #queued: Fire[] = [];

  /** @internal use {@linkcode MemoryServer.connect} */
  constructor(server: MemoryServer, config: MemoryStoreConfig) {
    this.#server = server;
    this.#config = config;
    this.timers = config.timers;
    this.#record = server._openSession(this, config.timeoutMs, config.identities);
  }

  /** The server (shared tree) this session lives on. */
  get server(): MemoryServer {
    return this.#server;
  }

  state(): ConnectionState {
    return this.#state;
  }

  session(): SessionInfo | null {
    if (this.#state === "closed") return null;
    return this.#info(this.#record);
  }

  onSession(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Simulates connection loss: operations wait (then fail), watch events are held back. */
  simulateDisconnect(): void {
    if (this.#state !== "connected") return;
    this.#state = "disconnected";
    this.#emit({ type: "disconnected", session: this.#info(this.#record) });
  }

  /**
   * Ends a simulated connection loss. If the session expired meanwhile, reports `expired` and
   * opens a new session; otherwise reports `connected` and replays held-back watch events.
   */
  simulateReconnect(): void {
    if (this.#state !== "disconnected") return;
    if (!this.#record.alive) {
      this.#renewSession();
      return;
    }
    this.#state = "connected";
    this.#emit({ type: "connected", session: this.#info(this.#record), newSession: false });
    const queued = this.#queued;
    this.#queued = [];
    for (const fire of queued) queueMicrotask(fire);
    this.#wakeWaiters();
  }

  /** Expires this session server-side (see {@linkcode MemoryServer.expireSession}). */
  simulateExpiry(): void {
    this.#server.expireSession(this.#record.id);
  }

  get(path: string): Promise<NodeData | null> {
    return this.#run(() => this.#server._get(this.#caller(), this.#abs(path)));
  }

  exists(path: string): Promise<Stat | null> {
    return this.#run(() => this.#server._exists(this.#caller(), this.#abs(path)));
  }

  children(path: string): Promise<string[]> {
    return this.#run(() => {
      const snapshot = this.#server._children(this.#caller(), this.#abs(path));
      if (snapshot === null) throw new NoNodeError(path);
      return [...snapshot.children];
    });
  }

  async create(path: string, data?: Uint8Array, options: CreateOptions = {}): Promise<string> {
    const op: Op = {
      op: "create",
      path,
      ...(data === undefined ? {} : { data }),
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      ...(options.acl === undefined ? {} : { acl: options.acl }),
    };
    try {
      const [result] = await this.transaction([op]);
      return (result as { path: string }).path;
    } catch (error) {
      if (!(error instanceof NoNodeError) || options.parents !== true) throw error;
      const seqName = path.endsWith("/") ? path + "x" : path;
      await this.ensurePath(parentOf(seqName), options.acl);
      const [result] = await this.transaction([op]);
      return (result as { path: string }).path;
    }
  }

  async ensurePath(path: string, acl?: readonly AclEntry[]): Promise<void> {
    validatePath(path);
    if (path === "/") return;
    for (const p of [...ancestorsOf(path), path]) {
      if (await this.exists(p) !== null) continue;
      try {
        await this.transaction([{ op: "create", path: p, ...(acl === undefined ? {} : { acl }) }]);
      } catch (error) {
        if (!(error instanceof NodeExistsError)) throw error;
      }
    }
  }

  async set(path: string, data: Uint8Array, expectedVersion?: number): Promise<Stat> {
    const [result] = await this.transaction([
      {
        op: "set",
        path,
        data,
        ...(expectedVersion === undefined ? {} : { version: expectedVersion }),
      },
    ]);
    return (result as { stat: Stat }).stat;
  }

  async delete(path: string, expectedVersion?: number): Promise<void> {
    await this.transaction([
      {
        op: "delete",
        path,
        ...(expectedVersion === undefined ? {} : { version: expectedVersion }),
      },
    ]);
  }

  async deleteTree(path: string): Promise<void> {
    let names: string[];
    try {
      names = await this.children(path);
    } catch (error) {
      if (error instanceof NoNodeError) return;
      throw error;
    }
    for (const name of names) await this.deleteTree(childPath(path, name));
    try {
      await this.delete(path);
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
    }
  }

  transaction(ops: readonly Op[]): Promise<OpResult[]> {
    return this.#run(() => {
      // the same refusal as the ZooKeeper store's (a real server would drop the connection)
      const over = requestTooLarge(ops);
      if (over) throw new RequestTooLargeError(over.bytes, over.limit, ops[0]?.path);
      const results = this.#server._apply(
        this.#caller(),
        ops.map((op) => ({ ...op, path: this.#abs(op.path) })),
      );
      return results.map((r) => r.op === "create" ? { op: "create", path: this.#rel(r.path) } : r);
    });
  }

  getAcl(path: string): Promise<{ acl: AclEntry[]; stat: Stat }> {
    return this.#run(() => this.#server._getAcl(this.#caller(), this.#abs(path)));
  }

  setAcl(path: string, acl: readonly AclEntry[], expectedAclVersion?: number): Promise<Stat> {
    return this.#run(() =>
      this.#server._setAcl(this.#caller(), this.#abs(path), acl, expectedAclVersion ?? -1)
    );
  }

  watchData(
    path: string,
    onChange: (node: NodeData | null) => void,
    options?: WatchOptions,
  ): WatchHandle {
    validatePath(path);
    return startWatch(
      this,
      (fire) => this.#run(() => this.#server._get(this.#caller(), this.#abs(path), fire)),
      DATA_VERSIONING,
      onChange,
      options,
    );
  }

  watchChildren(
    path: string,
    onChange: (snapshot: ChildrenSnapshot | null) => void,
    options?: WatchOptions,
  ): WatchHandle {
    validatePath(path);
    return startWatch(
      this,
      (fire) => this.#run(() => this.#server._children(this.#caller(), this.#abs(path), fire)),
      CHILDREN_VERSIONING,
      onChange,
      options,
    );
  }

  close(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    this.#state = "closed";
    this.#server._closeSession(this.#record);
    this.#queued = [];
    this.#wakeWaiters();
    this.#emit({ type: "closed" });
    this.#listeners.clear();
    return Promise.resolve();
  }

  // ----- called by the server ------------------------------------------------------------------

  /** @internal */
  _deliverWatch(record: SessionRecord, fire: Fire): void {
    if (record !== this.#record || this.#state === "closed") return;
    if (this.#state === "connected") queueMicrotask(fire);
    else this.#queued.push(fire);
  }

  /** @internal the server ended our session (expiry) */
  _sessionEnded(record: SessionRecord): void {
    if (record !== this.#record || this.#state !== "connected") return;
    // Like ZooKeeper: the connection drops, the reconnect is answered "expired".
    this.#state = "disconnected";
    this.#emit({ type: "disconnected", session: this.#info(record) });
    this.#renewSession();
  }

  // ----- implementation ------------------------------------------------------------------------

  #renewSession(): void {
    const old = this.#record;
    this.#queued = [];
    this.#emit({ type: "expired", session: this.#info(old) });
    if (this.#state === "closed") return;
    this.#record = this.#server._openSession(this, this.#config.timeoutMs, this.#config.identities);
    this.#state = "connected";
    this.#emit({ type: "connected", session: this.#info(this.#record), newSession: true });
    this.#wakeWaiters();
  }

  #caller(): Caller {
    return { session: this.#record };
  }

  #abs(path: string): string {
    const chroot = this.#config.chroot;
    if (chroot === null) return path;
    if (typeof path !== "string" || !path.startsWith("/")) return path; // validation reports it
    return path === "/" ? chroot : chroot + path;
  }

  #rel(path: string): string {
    const chroot = this.#config.chroot;
    if (chroot === null) return path;
    return path === chroot ? "/" : path.slice(chroot.length);
  }

  #info(record: SessionRecord): SessionInfo {
    return { id: record.id, password: null, timeoutMs: record.timeoutMs };
  }

  #emit(event: SessionEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }

  #wakeWaiters(): void {
    const waiters = [...this.#connectWaiters];
    this.#connectWaiters.clear();
    for (const wake of waiters) wake();
  }

  /** Runs an operation now if connected, else waits up to reconnectWaitMs for the connection. */
  async #run<T>(fn: () => T): Promise<T> {
    if (this.#state === "closed") throw new StoreClosedError();
    if (this.#state !== "connected") await this.#awaitConnected();
    const record = this.#record;
    if (!record.alive) throw new SessionExpiredError();
    return fn();
  }

  #awaitConnected(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.#connectWaiters.delete(wake);
        reject(new ConnectionLossError(undefined, "not connected"));
      }, this.#config.reconnectWaitMs);
      const wake = (): void => {
        this.timers.clearTimeout(timer);
        if (this.#state === "closed") reject(new StoreClosedError());
        else if (this.#state === "connected") resolve();
        else reject(new ConnectionLossError(undefined, "not connected"));
      };
      this.#connectWaiters.add(wake);
    });
  }
}

/**
 * A fresh server with one connected session: the embedded default.
 *
 * @param options connection options (only chroot, timeout, digest, timers are used)
 * @returns the store
 */
export function createMemoryStore(options: Partial<ConnectOptions> = {}): Promise<MemoryStore> {
  return new MemoryServer().connect(options);
}
