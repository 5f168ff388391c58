/**
 * The ZooKeeper store: {@linkcode CoordinationStore} over `node-zookeeper-client` (pure JS, works
 * under Deno and Bun through their `node:net` layers). This is the only module in Switchyard that
 * imports the client library.
 *
 * What the library does not do and this adapter adds:
 * - Expiry: the library stops for good once its session expires. The adapter retires that client
 *   (failing its pending operations with `SessionExpiredError`, which the library would leave
 *   hanging) and opens a new client and session by itself, seeded with the last zxid seen so the
 *   new session never reads from a server that is behind what was already observed.
 * - Connection loss: the library queues operations issued while disconnected and sends them
 *   whenever it reconnects, possibly much later and before re-authenticating. The adapter never
 *   hands an operation to a disconnected client: it waits up to `reconnectWaitMs` for the
 *   connection, else fails with `ConnectionLossError`.
 * - Dead servers: the library pings but never notices missing answers (a stopped or partitioned
 *   server looks connected forever). The adapter drops a connection that has been silent for 2/3
 *   of the session timeout, like the Java client, so the library fails over to another server.
 * - Its `Transaction.check/setData/remove` turn version 0 into "any version" (`version || -1`);
 *   the adapter builds transaction ops itself.
 * - A request over the server's `jute.maxbuffer` makes the server drop the connection: the adapter
 *   refuses it before sending with `RequestTooLargeError` (see `request_size.ts`).
 * - Its connection-string parser cannot read IPv6 and its reconnect timers cannot be cancelled;
 *   the adapter supplies its own server list and reconnect scheduling.
 *
 * @example
 * ```ts ignore
 * import { connectZooKeeper } from "./zookeeper.ts";
 * const store = await connectZooKeeper({ connectionString: "127.0.0.1:2181" });
 * const watch = store.watchData("/lb-configs/group-1", (node) => console.log(node?.version));
 * await watch.ready;
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import zookeeper from "node-zookeeper-client";
import { maskToPerms, parseDigest, permsToMask } from "./acl.ts";
import { ancestorsOf, childPath, parentOf, validatePath } from "./_path.ts";
import { parseConnectionString, type ServerAddress } from "./connection_string.ts";
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
  DEFAULT_CONNECT_TIMEOUT_MS,
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

// ----- the parts of node-zookeeper-client we use (it ships no types) ----------------------------

interface ZkStat {
  czxid: Buffer;
  mzxid: Buffer;
  ctime: Buffer;
  mtime: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
  pzxid: Buffer;
}

interface ZkError extends Error {
  code?: number;
  getCode?: () => number;
}

interface ZkId {
  scheme: string;
  id: string;
}

interface ZkAcl {
  permission: number;
  id: ZkId;
}

interface ZkTxResult {
  type: number;
  path?: string;
  stat?: ZkStat;
  err?: number;
}

interface ZkPacket {
  callback?: (error: unknown) => void;
}

interface ZkSocket {
  destroy(): void;
}

interface ZkConnectionManager {
  socket?: ZkSocket;
  state: number;
  zxid: Buffer;
  servers: ServerAddress[];
  nextServerIndex: number;
  serverAttempts: number;
  spinDelay: number;
  sessionTimeout: number;
  connectTimeoutHandler: unknown;
  packetQueue: { queue: ZkPacket[] };
  onSocketData(buffer: Buffer): void;
  findNextServer(callback: (server: ServerAddress) => void): void;
  updateTimeout(ms: number): void;
  on(event: "state", listener: (state: number) => void): void;
}

type Cb<T> = (error: ZkError | null, result: T) => void;

interface ZkClient {
  connectionManager: ZkConnectionManager;
  connect(): void;
  close(): void;
  on(event: string, listener: () => void): void;
  removeAllListeners(): void;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  getSessionTimeout(): number;
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer, acls: ZkAcl[], mode: number, cb: Cb<string>): void;
  remove(path: string, version: number, cb: Cb<void>): void;
  setData(path: string, data: Buffer, version: number, cb: Cb<ZkStat>): void;
  getData(
    path: string,
    watcher: (() => void) | undefined,
    cb: (error: ZkError | null, data: Buffer | null, stat: ZkStat) => void,
  ): void;
  exists(path: string, watcher: (() => void) | undefined, cb: Cb<ZkStat | null>): void;
  getChildren(
    path: string,
    watcher: (() => void) | undefined,
    cb: (error: ZkError | null, children: string[], stat: ZkStat) => void,
  ): void;
  getACL(path: string, cb: (error: ZkError | null, acls: ZkAcl[], stat: ZkStat) => void): void;
  setACL(path: string, acls: ZkAcl[], version: number, cb: Cb<ZkStat>): void;
  transaction(): { ops: unknown[]; commit(cb: Cb<ZkTxResult[]>): void };
}

interface ZkModule {
  createClient(connectionString: string, options: Record<string, unknown>): ZkClient;
  ACL: new (permission: number, id: ZkId) => ZkAcl;
  Id: new (scheme: string, id: string) => ZkId;
  Exception: { create(code: number): ZkError };
}

const zk = zookeeper as unknown as ZkModule;

// Protocol constants (ZooKeeper's OpCode / CreateMode / connection states of the library).
const OP_CREATE = 1;
const OP_DELETE = 2;
const OP_SET_DATA = 5;
const OP_CHECK = 13;
const OP_ERROR = -1;
const CM_CLOSED = -2;
const CM_CONNECTING = 1;
const CREATE_MODES: Record<CreateMode, number> = {
  persistent: 0,
  ephemeral: 1,
  persistent_sequential: 2,
  ephemeral_sequential: 3,
};

// ----- conversions --------------------------------------------------------------------------

function toBigInt(buffer: Buffer | undefined): bigint {
  if (buffer === undefined || buffer.length < 8) return 0n;
  return buffer.readBigInt64BE(0);
}

function toStat(s: ZkStat): Stat {
  const owner = toBigInt(s.ephemeralOwner);
  return {
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    czxid: toBigInt(s.czxid),
    mzxid: toBigInt(s.mzxid),
    pzxid: toBigInt(s.pzxid),
    ctimeMs: Number(toBigInt(s.ctime)),
    mtimeMs: Number(toBigInt(s.mtime)),
    ephemeralOwner: owner === 0n ? null : BigInt.asUintN(64, owner).toString(16).padStart(16, "0"),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

function toBuffer(data: Uint8Array | undefined): Buffer {
  return data === undefined ? Buffer.alloc(0) : Buffer.from(data);
}

function toZkAcl(acl: readonly AclEntry[] | undefined): ZkAcl[] {
  const list = acl ??
    [{ scheme: "world", id: "anyone", perms: ["read", "write", "create", "delete", "admin"] }];
  if (list.length === 0) throw new StoreError("INVALID_ACL", "ACL must not be empty");
  return list.map((entry) => {
    const mask = permsToMask(entry.perms);
    if (mask === 0) throw new StoreError("INVALID_ACL", "ACL entry without permissions");
    return new zk.ACL(mask, new zk.Id(entry.scheme, entry.scheme === "auth" ? "" : entry.id));
  });
}

function fromZkAcl(acl: ZkAcl[]): AclEntry[] {
  return acl.map((a) => ({
    scheme: a.id.scheme as AclEntry["scheme"],
    id: a.id.id,
    perms: maskToPerms(a.permission),
  }));
}

function codeOf(error: unknown): number | undefined {
  const e = error as ZkError;
  if (typeof e?.getCode === "function") return e.getCode();
  return typeof e?.code === "number" ? e.code : undefined;
}

/** Maps a library error (or result code) to the store's typed errors. */
function mapError(error: unknown, path: string | undefined, version = -1): StoreError {
  if (error instanceof StoreError) return error;
  const code = typeof error === "number" ? error : codeOf(error);
  switch (code) {
    case -4:
    case -7:
      return new ConnectionLossError(path);
    case -101:
      return new NoNodeError(path);
    case -102:
    case -115:
      return new NoAuthError(path);
    case -103:
      return new VersionConflictError(path, version, null);
    case -108:
      return new StoreError(
        "NO_CHILDREN_FOR_EPHEMERALS",
        "ephemeral nodes cannot have children",
        path,
      );
    case -110:
      return new NodeExistsError(path);
    case -111:
      return new NotEmptyError(path);
    case -112:
      return new SessionExpiredError(path);
    case -114:
      return new StoreError("INVALID_ACL", "invalid ACL", path);
    case -8:
      return new StoreError("BAD_ARGUMENTS", "bad arguments", path);
    default:
      return new StoreError(
        "UNKNOWN",
        `zookeeper error ${code ?? ""} ${error instanceof Error ? error.message : String(error)}`,
        path,
      );
  }
}

/** Throws RequestTooLargeError for a request the server would drop the connection over. */
function refuseOversized(ops: readonly Op[]): void {
  const over = requestTooLarge(ops);
  if (over) throw new RequestTooLargeError(over.bytes, over.limit, ops[0]?.path);
}

// ----- the store ----------------------------------------------------------------------------

/** One library client = one session attempt. Replaced wholesale after expiry. */
interface Generation {
  readonly client: ZkClient;
  readonly cm: ZkConnectionManager;
  /** Operations handed to this client and not answered yet. */
  readonly inflight: Set<(error: StoreError) => void>;
  everConnected: boolean;
  retired: boolean;
  lastRead: number;
  /** When the current connection attempt started (handshake watchdog). */
  attemptStarted: number;
  spinTimer: unknown;
  session: SessionInfo | null;
}

interface Resolved {
  readonly connectionString: string;
  readonly servers: readonly ServerAddress[];
  readonly sessionTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly reconnectWaitMs: number;
  readonly digest: Buffer | undefined;
  readonly timers: Timers;
}

/** The {@linkcode CoordinationStore} over ZooKeeper. Create with {@linkcode connectZooKeeper}. */
export class ZooKeeperStore implements CoordinationStore {
  /** Always `"zookeeper"`. */
  readonly kind = "zookeeper";
  /** Timers (watch backoff, waits, watchdog). */
  readonly timers: Timers;
  readonly #opts: Resolved;
  readonly #listeners = new Set<(event: SessionEvent) => void>();
  readonly #waiters = new Set<() => void>();
  #state: ConnectionState = "connecting";
  #gen: Generation | undefined;
  #lastZxid: Buffer = Buffer.alloc(8);
  #watchdog: unknown;

  /** @internal use {@linkcode connectZooKeeper} */
  constructor(options: ConnectOptions) {
    const parsed = parseConnectionString(options.connectionString);
    const credentials = options.digest === undefined ? undefined : parseDigest(options.digest);
    this.#opts = {
      connectionString: options.connectionString,
      servers: parsed.servers,
      sessionTimeoutMs: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      reconnectWaitMs: options.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS,
      digest: credentials === undefined
        ? undefined
        : Buffer.from(`${credentials.user}:${credentials.password}`, "utf8"),
      timers: options.timers ?? DEFAULT_TIMERS,
    };
    this.timers = this.#opts.timers;
  }

  /** @internal opens the first session; rejects with ConnectionLossError after the timeout. */
  async _start(): Promise<void> {
    this.#gen = this.#spawn();
    this.#startWatchdog();
    try {
      await this.#awaitConnected(this.#opts.connectTimeoutMs);
    } catch (error) {
      await this.close();
      throw error instanceof ConnectionLossError
        ? new ConnectionLossError(
          undefined,
          `no ZooKeeper session within ${this.#opts.connectTimeoutMs}ms (${this.#opts.connectionString})`,
        )
        : error;
    }
  }

  state(): ConnectionState {
    return this.#state;
  }

  session(): SessionInfo | null {
    if (this.#state === "closed") return null;
    return this.#gen?.session ?? null;
  }

  onSession(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async get(path: string): Promise<NodeData | null> {
    validatePath(path);
    try {
      return await this.#call<NodeData>(
        path,
        (c, done) =>
          c.getData(
            path,
            undefined,
            (e, data, stat) => done(e, e ? undefined as never : toNodeData(data, stat)),
          ),
      );
    } catch (error) {
      if (error instanceof NoNodeError) return null;
      throw error;
    }
  }

  async exists(path: string): Promise<Stat | null> {
    validatePath(path);
    return await this.#call(
      path,
      (c, done) => c.exists(path, undefined, (e, stat) => done(e, stat ? toStat(stat) : null)),
    );
  }

  async children(path: string): Promise<string[]> {
    validatePath(path);
    const names = await this.#call<string[]>(
      path,
      (c, done) => c.getChildren(path, undefined, (e, children) => done(e, children)),
    );
    return [...names].sort();
  }

  async create(path: string, data?: Uint8Array, options: CreateOptions = {}): Promise<string> {
    const mode = options.mode ?? "persistent";
    validatePath(path, mode.endsWith("_sequential"));
    const acl = toZkAcl(options.acl);
    refuseOversized([{
      op: "create",
      path,
      ...(data ? { data } : {}),
      ...(options.acl ? { acl: options.acl } : {}),
    }]);
    const attempt = () =>
      this.#call<string>(
        path,
        (c, done) => c.create(path, toBuffer(data), acl, CREATE_MODES[mode], done),
      );
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof NoNodeError) || options.parents !== true) throw error;
      await this.ensurePath(parentOf(path.endsWith("/") ? path + "x" : path), options.acl);
      return await attempt();
    }
  }

  async ensurePath(path: string, acl?: readonly AclEntry[]): Promise<void> {
    validatePath(path);
    if (path === "/") return;
    const zkAcl = toZkAcl(acl);
    for (const p of [...ancestorsOf(path), path]) {
      // exists() first: it needs no permission, create() on an existing node may say NoAuth.
      if (await this.exists(p) !== null) continue;
      try {
        await this.#call<string>(p, (c, done) => c.create(p, Buffer.alloc(0), zkAcl, 0, done));
      } catch (error) {
        if (!(error instanceof NodeExistsError)) throw error;
      }
    }
  }

  async set(path: string, data: Uint8Array, expectedVersion?: number): Promise<Stat> {
    validatePath(path);
    refuseOversized([{ op: "set", path, data }]);
    const version = expectedVersion ?? -1;
    try {
      const stat = await this.#call<ZkStat>(
        path,
        (c, done) => c.setData(path, toBuffer(data), version, done),
        version,
      );
      return toStat(stat);
    } catch (error) {
      throw await this.#enrich(error);
    }
  }

  async delete(path: string, expectedVersion?: number): Promise<void> {
    validatePath(path);
    const version = expectedVersion ?? -1;
    try {
      await this.#call<void>(path, (c, done) => c.remove(path, version, done), version);
    } catch (error) {
      throw await this.#enrich(error);
    }
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

  async transaction(ops: readonly Op[]): Promise<OpResult[]> {
    const built = ops.map((op) => {
      switch (op.op) {
        case "check":
          validatePath(op.path);
          return { type: OP_CHECK, path: op.path, version: op.version };
        case "create": {
          const mode = op.mode ?? "persistent";
          validatePath(op.path, mode.endsWith("_sequential"));
          return {
            type: OP_CREATE,
            path: op.path,
            data: toBuffer(op.data),
            acls: toZkAcl(op.acl),
            mode: CREATE_MODES[mode],
          };
        }
        case "set":
          validatePath(op.path);
          return {
            type: OP_SET_DATA,
            path: op.path,
            data: toBuffer(op.data),
            version: op.version ?? -1,
          };
        case "delete":
          validatePath(op.path);
          return { type: OP_DELETE, path: op.path, version: op.version ?? -1 };
        default:
          throw new StoreError("BAD_ARGUMENTS", `unknown op ${(op as { op: string }).op}`);
      }
    });
    if (built.length === 0) return [];
    refuseOversized(ops);
    const results = await this.#call<ZkTxResult[]>(undefined, (c, done) => {
      const tx = c.transaction();
      // Pushed directly: the library's helpers turn version 0 into -1 ("any").
      tx.ops.push(...built);
      // The library reports the first failing op's code as the error; we want the results.
      tx.commit((error, res) => done(Array.isArray(res) ? null : error, res));
    });
    const failed = results.findIndex((r) => r.type === OP_ERROR && r.err !== 0 && r.err !== -2);
    if (failed >= 0 || results.some((r) => r.type === OP_ERROR)) {
      const index = failed >= 0 ? failed : results.findIndex((r) => r.type === OP_ERROR);
      const op = ops[index];
      const version = op !== undefined && "version" in op ? op.version ?? -1 : -1;
      const error = mapError(results[index]?.err ?? -1, op?.path, version);
      error.failedOpIndex = index;
      throw await this.#enrich(error);
    }
    return results.map((r, i): OpResult => {
      switch (r.type) {
        case OP_CREATE:
          return { op: "create", path: r.path ?? ops[i]!.path };
        case OP_SET_DATA:
          return { op: "set", stat: toStat(r.stat!) };
        case OP_DELETE:
          return { op: "delete" };
        default:
          return { op: "check" };
      }
    });
  }

  async getAcl(path: string): Promise<{ acl: AclEntry[]; stat: Stat }> {
    validatePath(path);
    return await this.#call(
      path,
      (c, done) =>
        c.getACL(
          path,
          (e, acls, stat) =>
            done(e, e ? undefined as never : { acl: fromZkAcl(acls), stat: toStat(stat) }),
        ),
    );
  }

  async setAcl(path: string, acl: readonly AclEntry[], expectedAclVersion?: number): Promise<Stat> {
    validatePath(path);
    const version = expectedAclVersion ?? -1;
    const zkAcl = toZkAcl(acl);
    const stat = await this.#call<ZkStat>(
      path,
      (c, done) => c.setACL(path, zkAcl, version, done),
      version,
    );
    return toStat(stat);
  }

  watchData(
    path: string,
    onChange: (node: NodeData | null) => void,
    options?: WatchOptions,
  ): WatchHandle {
    validatePath(path);
    return startWatch(
      this,
      (fire) => this.#readDataWatched(path, fire),
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
      (fire) => this.#readChildrenWatched(path, fire),
      CHILDREN_VERSIONING,
      onChange,
      options,
    );
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasConnected = this.#state === "connected";
    this.#state = "closed";
    this.#stopWatchdog();
    this.#wakeWaiters();
    const gen = this.#gen;
    if (gen !== undefined) {
      if (wasConnected) {
        // Ask the server to end the session (ephemerals vanish now, not after the timeout).
        await new Promise<void>((resolve) => {
          const timer = this.timers.setTimeout(resolve, 2_000);
          gen.cm.on("state", (s) => {
            if (s === CM_CLOSED) {
              this.timers.clearTimeout(timer);
              resolve();
            }
          });
          gen.client.close();
        });
      }
      this.#retire(gen, () => new StoreClosedError());
    }
    this.#emit({ type: "closed" });
    this.#listeners.clear();
  }

  // ----- operations -----------------------------------------------------------------------------

  /**
   * Runs one library call on the current client once connected. Settles exactly once: with the
   * library's answer, or with SessionExpiredError/StoreClosedError if the client is retired.
   */
  async #call<T>(
    path: string | undefined,
    invoke: (client: ZkClient, done: (error: ZkError | null, result: T) => void) => void,
    version = -1,
  ): Promise<T> {
    if (this.#state === "closed") throw new StoreClosedError();
    if (this.#state !== "connected") await this.#awaitConnected(this.#opts.reconnectWaitMs);
    const gen = this.#gen!;
    return await new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (error: StoreError): void => {
        if (settled) return;
        settled = true;
        gen.inflight.delete(fail);
        reject(error);
      };
      gen.inflight.add(fail);
      try {
        invoke(gen.client, (error, result) => {
          if (settled) return;
          if (error) {
            fail(mapError(error, path, version));
            return;
          }
          settled = true;
          gen.inflight.delete(fail);
          resolve(result);
        });
      } catch (error) {
        fail(
          error instanceof StoreError
            ? error
            : new StoreError("BAD_ARGUMENTS", String(error), path),
        );
      }
    });
  }

  /** Adds the current version to a VersionConflictError (one extra read, best effort). */
  async #enrich(error: unknown): Promise<unknown> {
    if (!(error instanceof VersionConflictError) || error.path === undefined) return error;
    try {
      error.currentVersion = (await this.exists(error.path))?.version ?? null;
    } catch {
      error.currentVersion = null;
    }
    return error;
  }

  /** getData with a watch; if absent, exists() with a watch (armed for the creation). */
  async #readDataWatched(path: string, fire: () => void): Promise<NodeData | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        return await this.#call<NodeData>(
          path,
          (c, done) =>
            c.getData(
              path,
              fire,
              (e, data, stat) => done(e, e ? undefined as never : toNodeData(data, stat)),
            ),
        );
      } catch (error) {
        if (!(error instanceof NoNodeError)) throw error;
      }
      const stat = await this.#call<ZkStat | null>(path, (c, done) => c.exists(path, fire, done));
      if (stat === null) return null;
      // Created between the two calls: read again (its data watch is already armed).
    }
    throw new StoreError("UNKNOWN", "node keeps flapping between reads", path);
  }

  /** getChildren with a watch; if absent, exists() with a watch. */
  async #readChildrenWatched(path: string, fire: () => void): Promise<ChildrenSnapshot | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        return await this.#call<ChildrenSnapshot>(
          path,
          (c, done) =>
            c.getChildren(path, fire, (e, children, stat) =>
              done(
                e,
                e ? undefined as never : { children: [...children].sort(), stat: toStat(stat) },
              )),
        );
      } catch (error) {
        if (!(error instanceof NoNodeError)) throw error;
      }
      const stat = await this.#call<ZkStat | null>(path, (c, done) => c.exists(path, fire, done));
      if (stat === null) return null;
    }
    throw new StoreError("UNKNOWN", "node keeps flapping between reads", path);
  }

  // ----- session handling -----------------------------------------------------------------------

  /** Creates and connects a new library client (a new session). */
  #spawn(): Generation {
    const opts = this.#opts;
    const client = zk.createClient(opts.connectionString, {
      sessionTimeout: opts.sessionTimeoutMs,
      spinDelay: 1000,
      retries: 0,
    });
    const cm = client.connectionManager;
    const gen: Generation = {
      client,
      cm,
      inflight: new Set(),
      everConnected: false,
      retired: false,
      lastRead: Date.now(),
      attemptStarted: Date.now(),
      spinTimer: undefined,
      session: null,
    };
    // Our own server list (IPv6-safe), shuffled like the library does.
    cm.servers = shuffle([...opts.servers]);
    cm.updateTimeout(opts.sessionTimeoutMs);
    // Never connect to a server behind what we have already seen (matters after expiry).
    cm.zxid = Buffer.from(this.#lastZxid);
    // Liveness: remember when the server last said anything.
    const onSocketData = Object.getPrototypeOf(cm).onSocketData as (b: Buffer) => void;
    cm.onSocketData = function (this: ZkConnectionManager, buffer: Buffer) {
      gen.lastRead = Date.now();
      onSocketData.call(this, buffer);
    };
    // Cancellable reconnect scheduling (the library's spin-delay timer cannot be cancelled).
    // Like the Java client, every attempt but the very first waits a random moment, so clients
    // of a dead server do not stampede the others, and a session taken over by another client
    // (ZooKeeper's way of killing a session) is not grabbed back before it is closed.
    let firstAttempt = true;
    cm.findNextServer = (callback) => {
      cm.nextServerIndex %= cm.servers.length;
      const next = (): void => {
        gen.spinTimer = undefined;
        if (gen.retired) return;
        gen.attemptStarted = Date.now();
        const server = cm.servers[cm.nextServerIndex];
        cm.nextServerIndex += 1;
        if (server !== undefined) callback(server);
      };
      let delay: number;
      if (cm.serverAttempts >= cm.servers.length) {
        cm.serverAttempts = 0;
        delay = Math.random() * cm.spinDelay;
      } else {
        cm.serverAttempts += 1;
        delay = firstAttempt
          ? 0
          : Math.random() * Math.min(cm.spinDelay, opts.sessionTimeoutMs / 10);
      }
      firstAttempt = false;
      gen.spinTimer = this.timers.setTimeout(next, delay);
    };
    if (opts.digest !== undefined) client.addAuthInfo("digest", opts.digest);
    client.on("connected", () => this.#onConnected(gen));
    client.on("disconnected", () => this.#onDisconnected(gen));
    client.on("expired", () => this.#onExpired(gen));
    client.on("authenticationFailed", () => this.#onDisconnected(gen));
    client.connect();
    return gen;
  }

  #onConnected(gen: Generation): void {
    if (gen.retired || this.#state === "closed") return;
    const newSession = !gen.everConnected;
    gen.everConnected = true;
    gen.lastRead = Date.now();
    gen.session = {
      id: gen.client.getSessionId().toString("hex"),
      password: new Uint8Array(gen.client.getSessionPassword()),
      timeoutMs: gen.client.getSessionTimeout(),
    };
    this.#state = "connected";
    this.#startWatchdog();
    this.#emit({ type: "connected", session: gen.session, newSession });
    this.#wakeWaiters();
  }

  #onDisconnected(gen: Generation): void {
    if (gen.retired || this.#state !== "connected") return;
    this.#state = "disconnected";
    // Packets the library queued but never wrote would be sent after the next reconnect, before
    // re-authentication: fail them now as connection loss instead.
    const queued = gen.cm.packetQueue.queue.splice(0);
    for (const packet of queued) packet.callback?.(zk.Exception.create(-4));
    this.#emit({ type: "disconnected", session: gen.session! });
  }

  #onExpired(gen: Generation): void {
    if (gen.retired || this.#state === "closed") return;
    const old = gen.session;
    this.#retire(gen, () => new SessionExpiredError());
    this.#state = "connecting";
    if (old !== null) this.#emit({ type: "expired", session: old });
    if (this.#state !== "connecting") return; // a listener closed the store
    this.#gen = this.#spawn();
  }

  /** Stops a client for good: no reconnects, no timers, pending operations rejected. */
  #retire(gen: Generation, reason: () => StoreError): void {
    if (gen.retired) return;
    gen.retired = true;
    if (toBigInt(gen.cm.zxid) > toBigInt(this.#lastZxid)) this.#lastZxid = Buffer.from(gen.cm.zxid);
    if (gen.spinTimer !== undefined) this.timers.clearTimeout(gen.spinTimer);
    if (gen.cm.connectTimeoutHandler) {
      globalThis.clearTimeout(gen.cm.connectTimeoutHandler as ReturnType<typeof setTimeout>);
    }
    gen.client.removeAllListeners();
    for (const fail of [...gen.inflight]) fail(reason());
    gen.cm.packetQueue.queue.splice(0);
    gen.cm.socket?.destroy();
  }

  /**
   * Drops a connection the server has been silent on for 2/3 of the session timeout (the library
   * pings every third but never checks the answers), and a handshake that got no answer within
   * the per-server connect timeout (a stopped process's kernel still accepts TCP connections), so
   * a frozen server is failed over instead of waited on forever.
   */
  #startWatchdog(): void {
    if (this.#watchdog !== undefined) return;
    const tick = (): void => {
      this.#watchdog = undefined;
      if (this.#state === "closed") return;
      const gen = this.#gen;
      if (gen !== undefined && !gen.retired) {
        const now = Date.now();
        const timeout = gen.session?.timeoutMs ?? this.#opts.sessionTimeoutMs;
        if (this.#state === "connected") {
          if (now - gen.lastRead > (timeout * 2) / 3) gen.cm.socket?.destroy();
        } else if (gen.cm.state === CM_CONNECTING && gen.cm.socket !== undefined) {
          const limit = Math.max(1000, timeout / Math.max(1, gen.cm.servers.length));
          if (now - Math.max(gen.attemptStarted, gen.lastRead) > limit) gen.cm.socket.destroy();
        }
      }
      this.#watchdog = this.timers.setTimeout(tick, this.#watchdogInterval());
    };
    this.#watchdog = this.timers.setTimeout(tick, this.#watchdogInterval());
  }

  #watchdogInterval(): number {
    const timeout = this.#gen?.session?.timeoutMs ?? this.#opts.sessionTimeoutMs;
    return Math.max(50, Math.min(1000, Math.floor(timeout / 10)));
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== undefined) this.timers.clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
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
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #awaitConnected(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        this.timers.clearTimeout(timer);
        if (this.#state === "connected") resolve();
        else if (this.#state === "closed") reject(new StoreClosedError());
        else reject(new ConnectionLossError(undefined, "not connected"));
      };
      const timer = this.timers.setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new ConnectionLossError(undefined, `not connected within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }
}

function toNodeData(data: Buffer | null | undefined, stat: ZkStat): NodeData {
  const s = toStat(stat);
  return { data: data ? new Uint8Array(data) : new Uint8Array(), version: s.version, stat: s };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Connects to ZooKeeper and resolves once the first session is established.
 *
 * @param options connection string, session timeout, digest credentials, waits
 * @returns the connected store
 * @throws ConnectionLossError if no session could be opened within `connectTimeoutMs`
 */
export async function connectZooKeeper(options: ConnectOptions): Promise<ZooKeeperStore> {
  const store = new ZooKeeperStore(options);
  await store._start();
  return store;
}

/**
 * Expires a session the way ZooKeeper's own tests (and Curator's KillSession) do: a second
 * client attaches to the same session id and password, then closes it. The server ends the
 * session; its owner is told "expired" when it next talks to the server. For failure tests and
 * operators; nothing in the data path needs it.
 *
 * The owner may win the session back by reconnecting between the attach and the close, so this
 * repeats until an attach is answered "session expired": when it resolves the session is gone.
 *
 * @param connectionString servers of the session's ensemble (chroot ignored)
 * @param session id and password from {@linkcode CoordinationStore.session}
 * @param timeoutMs give up (ConnectionLossError) after this long
 */
export async function killSession(
  connectionString: string,
  session: SessionInfo,
  timeoutMs = 20_000,
): Promise<void> {
  if (session.password === null) {
    throw new StoreError("BAD_ARGUMENTS", "session has no password");
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new ConnectionLossError(undefined, `could not kill session ${session.id}`);
    if (await attachAndClose(connectionString, session, left) === "expired") return;
    await new Promise((resolve) => globalThis.setTimeout(resolve, 50));
  }
}

/** One attach to a session: closes it if the server lets us in, else reports it expired. */
function attachAndClose(
  connectionString: string,
  session: SessionInfo,
  timeoutMs: number,
): Promise<"closed" | "expired"> {
  const servers = parseConnectionString(connectionString).servers;
  const client = zk.createClient(connectionString, {
    sessionTimeout: session.timeoutMs,
    sessionId: Buffer.from(session.id, "hex"),
    sessionPassword: Buffer.from(session.password!),
  });
  const cm = client.connectionManager;
  cm.servers = [...servers];
  cm.updateTimeout(session.timeoutMs);
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (outcome: "closed" | "expired" | Error): void => {
      if (done) return;
      done = true;
      globalThis.clearTimeout(timer);
      client.removeAllListeners();
      if (cm.connectTimeoutHandler) {
        globalThis.clearTimeout(cm.connectTimeoutHandler as ReturnType<typeof setTimeout>);
      }
      cm.findNextServer = () => {};
      if (outcome !== "closed") {
        cm.socket?.destroy();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
        return;
      }
      // Wait for the close to go through (the server answers and drops the socket).
      const fallback = globalThis.setTimeout(() => {
        cm.socket?.destroy();
        resolve("closed");
      }, 2_000);
      cm.on("state", (s) => {
        if (s === CM_CLOSED) {
          globalThis.clearTimeout(fallback);
          resolve("closed");
        }
      });
    };
    const timer = globalThis.setTimeout(
      () => finish(new ConnectionLossError(undefined, "could not attach to the session")),
      timeoutMs,
    );
    client.on("connected", () => {
      // Close at once, before the owner's reconnect can take the session back.
      client.close();
      finish("closed");
    });
    client.on("expired", () => finish("expired"));
    client.connect();
  });
}
