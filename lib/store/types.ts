/**
 * The coordination store: the one interface the rest of Switchyard uses for configuration,
 * leader election and membership. Two implementations pass the same contract suite
 * (`contract.ts`): `memory.ts` (unit tests, embedded default) and `zookeeper.ts` (production).
 * Nothing outside `lib/store/` talks to ZooKeeper directly.
 *
 * The model is ZooKeeper's: a tree of nodes with bytes, per-node versions, ephemeral nodes bound
 * to a session, sequential names, atomic multi-op transactions, ACLs, and one-shot watches that
 * {@linkcode CoordinationStore.watchData} / {@linkcode CoordinationStore.watchChildren} turn into
 * self-re-arming caches.
 *
 * @module
 */

export * from "./errors.ts";

/** Node metadata, ZooKeeper's `Stat`. zxids are global and only grow, versions are per node. */
export interface Stat {
  /** Data version: +1 on every set, 0 after create. */
  readonly version: number;
  /** Children version: +1 on every child create/delete. */
  readonly cversion: number;
  /** ACL version: +1 on every ACL change. */
  readonly aversion: number;
  /** zxid of the create. */
  readonly czxid: bigint;
  /** zxid of the last data change (orders changes across delete and re-create). */
  readonly mzxid: bigint;
  /** zxid of the last change to the children list. */
  readonly pzxid: bigint;
  /** Create time, ms since epoch (server clock). */
  readonly ctimeMs: number;
  /** Last data change time, ms since epoch (server clock). */
  readonly mtimeMs: number;
  /** Session id (16 hex digits) owning an ephemeral node, `null` for persistent nodes. */
  readonly ephemeralOwner: string | null;
  /** Bytes of data. */
  readonly dataLength: number;
  /** Number of children. */
  readonly numChildren: number;
}

/** A node's data with its version (the value to pass back for a conditional write). */
export interface NodeData {
  /** The node's bytes (empty when the node has no data). */
  readonly data: Uint8Array;
  /** Same as `stat.version`, for read-modify-write loops. */
  readonly version: number;
  /** Full metadata. */
  readonly stat: Stat;
}

/** How a node lives: ephemeral nodes vanish with their session; sequential ones get a counter. */
export type CreateMode =
  | "persistent"
  | "ephemeral"
  | "persistent_sequential"
  | "ephemeral_sequential";

/** One ZooKeeper permission. */
export type Permission = "read" | "write" | "create" | "delete" | "admin";

/**
 * One ACL entry. Build digest entries with `digestAcl()` from `acl.ts` (never by hand: the id is
 * `user:base64(sha1(user:password))`). `auth` grants the creator's own authenticated identities.
 */
export interface AclEntry {
  /** `world` (id `anyone`), `digest` (id `user:hash`), `auth` (id ignored), `ip` (id address). */
  readonly scheme: "world" | "digest" | "auth" | "ip";
  /** Identity within the scheme. */
  readonly id: string;
  /** Granted permissions. */
  readonly perms: readonly Permission[];
}

/** Digest credentials a session authenticates with (ZooKeeper's `addauth digest user:pass`). */
export interface DigestCredentials {
  readonly user: string;
  readonly password: string;
}

/** Timer functions, injectable so tests can drive time; defaults are the runtime's globals. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** How to reach the store and how the session behaves. */
export interface ConnectOptions {
  /**
   * `host:port[,host:port...][/chroot]`. All paths the store sees are then relative to the
   * chroot, which must already exist. The memory store only honours the `/chroot` suffix.
   */
  readonly connectionString: string;
  /** Requested session timeout; the server clamps it to its min/max. Default 30000. */
  readonly sessionTimeoutMs?: number;
  /** Digest credentials, `"user:password"` or an object; re-sent on every (re)connection. */
  readonly digest?: string | DigestCredentials;
  /** How long `connect` waits for the first session before failing. Default 15000. */
  readonly connectTimeoutMs?: number;
  /**
   * How long an operation issued while disconnected waits for the connection to come back before
   * it fails with `ConnectionLossError` (it is never sent late). Default 2000.
   */
  readonly reconnectWaitMs?: number;
  /** Timer functions (for tests). */
  readonly timers?: Timers;
}

/** Identity of the current session (the password is exposed for tests that kill sessions). */
export interface SessionInfo {
  /** 16 lower-case hex digits, as ZooKeeper logs it (`0x` omitted). */
  readonly id: string;
  /** Session password, `null` where the store has none (memory). */
  readonly password: Uint8Array | null;
  /** Negotiated session timeout. */
  readonly timeoutMs: number;
}

/**
 * Session lifecycle as owners need it:
 * - `connected`: usable. `newSession` is true for the first session and for the one opened after
 *   an expiry: re-create ephemerals then. After a plain reconnect it is false: nothing was lost.
 * - `disconnected`: connection loss only. The session (and its ephemerals) may survive; watches
 *   are re-armed on reconnect. Treat leadership as suspended.
 * - `expired`: the session is gone for good, with its ephemerals and watches. The store opens a
 *   new session by itself and reports `connected` with `newSession: true`.
 * - `closed`: `close()` was called.
 */
export type SessionEvent =
  | { readonly type: "connected"; readonly session: SessionInfo; readonly newSession: boolean }
  | { readonly type: "disconnected"; readonly session: SessionInfo }
  | { readonly type: "expired"; readonly session: SessionInfo }
  | { readonly type: "closed" };

/** Where the store stands right now. */
export type ConnectionState = "connecting" | "connected" | "disconnected" | "closed";

/** Options of {@linkcode CoordinationStore.create}. */
export interface CreateOptions {
  /** Default `persistent`. */
  readonly mode?: CreateMode;
  /** Default: world with all permissions. */
  readonly acl?: readonly AclEntry[];
  /** Create missing parents (persistent, empty, same ACL) first. */
  readonly parents?: boolean;
}

/** One operation of an atomic transaction. `version` omitted means "any version". */
export type Op =
  | { readonly op: "check"; readonly path: string; readonly version: number }
  | {
    readonly op: "create";
    readonly path: string;
    readonly data?: Uint8Array;
    readonly mode?: CreateMode;
    readonly acl?: readonly AclEntry[];
  }
  | {
    readonly op: "set";
    readonly path: string;
    readonly data: Uint8Array;
    readonly version?: number;
  }
  | { readonly op: "delete"; readonly path: string; readonly version?: number };

/** Result of one op of a committed transaction, same order as the ops. */
export type OpResult =
  | { readonly op: "check" }
  | { readonly op: "create"; readonly path: string }
  | { readonly op: "set"; readonly stat: Stat }
  | { readonly op: "delete" };

/** Children of a node as `watchChildren` delivers them. */
export interface ChildrenSnapshot {
  /** Child names (not paths), sorted. */
  readonly children: readonly string[];
  /** The parent's metadata (`cversion`, `pzxid`). */
  readonly stat: Stat;
}

/** Options of the watch helpers. */
export interface WatchOptions {
  /**
   * Called with errors that are not connection loss / expiry (e.g. `NoAuthError` on read). The
   * watch keeps retrying with backoff. Default: ignore.
   */
  readonly onError?: (error: unknown) => void;
}

/** A running watch. */
export interface WatchHandle {
  /** Resolves after the first delivery (the initial state). */
  readonly ready: Promise<void>;
  /** Stops deliveries; the last one-shot server watch just fires into the void. */
  close(): void;
}

/**
 * The coordination store. Paths are absolute (`/lb-configs/group-1`), data is bytes. All
 * operations reject with the typed errors of `errors.ts`.
 */
export interface CoordinationStore {
  /** `"memory"` or `"zookeeper"`, for logs. */
  readonly kind: string;

  /** Current connection state. */
  state(): ConnectionState;
  /** Current session, `null` before the first one and after close. */
  session(): SessionInfo | null;
  /**
   * Subscribes to session events (see {@linkcode SessionEvent}).
   * @returns a function that unsubscribes
   */
  onSession(listener: (event: SessionEvent) => void): () => void;

  /** Data and version of a node, `null` if it does not exist. */
  get(path: string): Promise<NodeData | null>;
  /** Metadata of a node, `null` if it does not exist. Needs no permission. */
  exists(path: string): Promise<Stat | null>;
  /** Sorted child names. Rejects with `NoNodeError` if the node does not exist. */
  children(path: string): Promise<string[]>;
  /**
   * Creates a node.
   * @returns the created path (with the counter suffix for sequential modes)
   */
  create(path: string, data?: Uint8Array, options?: CreateOptions): Promise<string>;
  /** Creates `path` and its missing ancestors as empty persistent nodes; fine if they exist. */
  ensurePath(path: string, acl?: readonly AclEntry[]): Promise<void>;
  /**
   * Replaces a node's data. With `expectedVersion`, fails with `VersionConflictError` unless the
   * node is still at that version (optimistic concurrency).
   */
  set(path: string, data: Uint8Array, expectedVersion?: number): Promise<Stat>;
  /** Deletes a node (no children allowed), optionally only at `expectedVersion`. */
  delete(path: string, expectedVersion?: number): Promise<void>;
  /** Deletes a subtree, leaves first. Not atomic; a vanished node is fine. */
  deleteTree(path: string): Promise<void>;
  /**
   * Runs ops atomically: all apply or none. On failure rejects with the typed error of the first
   * failing op, `failedOpIndex` set.
   */
  transaction(ops: readonly Op[]): Promise<OpResult[]>;
  /** ACL of a node and its stat (`aversion` for `setAcl`). */
  getAcl(path: string): Promise<{ acl: AclEntry[]; stat: Stat }>;
  /** Replaces a node's ACL, optionally only at ACL version `expectedAclVersion`. */
  setAcl(path: string, acl: readonly AclEntry[], expectedAclVersion?: number): Promise<Stat>;

  /**
   * Keeps `onChange` up to date with a node, like Curator's NodeCache: delivers the current data
   * (or `null` while absent) first, then after every change; re-arms its one-shot watch with each
   * read so no change is lost, re-reads after reconnect and after session expiry, never delivers
   * an older state after a newer one, and skips deliveries that would repeat the last one.
   * Intermediate states of a fast burst may be skipped; the final state is always delivered.
   */
  watchData(
    path: string,
    onChange: (node: NodeData | null) => void,
    options?: WatchOptions,
  ): WatchHandle;
  /**
   * Keeps `onChange` up to date with a node's children (like PathChildrenCache, names only):
   * `null` while the parent is absent. Same guarantees as {@linkcode watchData}.
   */
  watchChildren(
    path: string,
    onChange: (snapshot: ChildrenSnapshot | null) => void,
    options?: WatchOptions,
  ): WatchHandle;

  /**
   * Ends the session and stops all watches. Idempotent. When connected, the server is told, so
   * ephemerals vanish at once; otherwise they vanish when the server expires the session.
   */
  close(): Promise<void>;
}

/** Opens a store session; what tests and wiring code are parameterised with. */
export type StoreConnector = (options: ConnectOptions) => Promise<CoordinationStore>;

/** Default requested session timeout. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
/** Default wait for the first session. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** Default wait of an operation for a lost connection to come back. */
export const DEFAULT_RECONNECT_WAIT_MS = 2_000;
