/**
 * Typed errors of the coordination store.
 *
 * Callers branch on the class (`err instanceof VersionConflictError`), never on a ZooKeeper
 * numeric code, so the memory and ZooKeeper stores are interchangeable.
 *
 * @module
 */

/** Machine-readable kind of a {@linkcode StoreError}. */
export type StoreErrorCode =
  | "NO_NODE"
  | "NODE_EXISTS"
  | "VERSION_CONFLICT"
  | "NO_AUTH"
  | "CONNECTION_LOSS"
  | "SESSION_EXPIRED"
  | "NOT_EMPTY"
  | "NO_CHILDREN_FOR_EPHEMERALS"
  | "INVALID_ACL"
  | "BAD_ARGUMENTS"
  | "CLOSED"
  | "REQUEST_TOO_LARGE"
  | "UNKNOWN";

/**
 * Base class of every error a store rejects with, so one `catch` can tell store failures from
 * programming errors. `failedOpIndex` is set when the error comes from one op of a transaction.
 */
export class StoreError extends Error {
  /** What went wrong, stable across store implementations. */
  readonly code: StoreErrorCode;
  /** The node the failing operation addressed, if any. */
  readonly path: string | undefined;
  /** Index of the failing op when thrown by `transaction()`. */
  failedOpIndex: number | undefined;

  /**
   * @param code what went wrong
   * @param message human-readable detail
   * @param path the node addressed, if any
   */
  constructor(code: StoreErrorCode, message: string, path?: string) {
    super(path === undefined ? message : `${message}: ${path}`);
    this.name = new.target.name;
    this.code = code;
    this.path = path;
    this.failedOpIndex = undefined;
  }
}

/** The node (or, for create, its parent) does not exist. */
export class NoNodeError extends StoreError {
  /** @param path the missing node */
  constructor(path?: string) {
    super("NO_NODE", "no such node", path);
  }
}

/** A create hit an existing node. */
export class NodeExistsError extends StoreError {
  /** @param path the existing node */
  constructor(path?: string) {
    super("NODE_EXISTS", "node already exists", path);
  }
}

/**
 * A conditional write lost a race: the node's version is no longer the expected one. Carries the
 * version observed right after the failure (`null` when the node is gone or it could not be read)
 * so a read-modify-write loop can decide without another round trip.
 */
export class VersionConflictError extends StoreError {
  /** The version the caller expected. */
  readonly expectedVersion: number;
  /** The version seen right after the conflict, `null` if the node vanished or was unreadable. */
  currentVersion: number | null;

  /**
   * @param path the node written
   * @param expectedVersion what the caller expected
   * @param currentVersion what the store holds now, if known
   */
  constructor(path: string | undefined, expectedVersion: number, currentVersion: number | null) {
    super("VERSION_CONFLICT", `version conflict (expected ${expectedVersion})`, path);
    this.expectedVersion = expectedVersion;
    this.currentVersion = currentVersion;
  }
}

/** The session's credentials do not grant the permission the operation needs. */
export class NoAuthError extends StoreError {
  /** @param path the protected node */
  constructor(path?: string) {
    super("NO_AUTH", "not authorized", path);
  }
}

/**
 * The connection to the store dropped (or could not be re-established in time) while the
 * operation was pending. The session may still be alive; the operation may or may not have been
 * applied, so retry only idempotent or version-conditional writes.
 */
export class ConnectionLossError extends StoreError {
  /** @param path the node addressed, if any */
  constructor(path?: string, detail = "connection lost") {
    super("CONNECTION_LOSS", detail, path);
  }
}

/**
 * The session the operation ran in expired. Its ephemerals are gone; the store is already
 * opening a new session, so the caller re-creates what it owns once `connected` is reported.
 */
export class SessionExpiredError extends StoreError {
  /** @param path the node addressed, if any */
  constructor(path?: string) {
    super("SESSION_EXPIRED", "session expired", path);
  }
}

/** Delete of a node that still has children. */
export class NotEmptyError extends StoreError {
  /** @param path the non-empty node */
  constructor(path?: string) {
    super("NOT_EMPTY", "node has children", path);
  }
}

/**
 * The request is larger than a server reads (see `request_size.ts`): refused before it is sent,
 * so nothing was written and the connection and session are untouched.
 */
export class RequestTooLargeError extends StoreError {
  /** The request's size (an upper bound), bytes. */
  readonly bytes: number;
  /** The largest request the store sends, bytes. */
  readonly limit: number;

  /**
   * @param bytes the request's size
   * @param limit the largest request
   * @param path the node addressed (the first op's, for a transaction)
   */
  constructor(bytes: number, limit: number, path?: string) {
    super(
      "REQUEST_TOO_LARGE",
      `request of ${bytes} bytes is over the store's limit of ${limit} bytes`,
      path,
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** The store was closed; no operation will run any more. */
export class StoreClosedError extends StoreError {
  constructor() {
    super("CLOSED", "store is closed");
  }
}

/**
 * Builds the typed error for a code, used by every store so the mapping lives in one place.
 *
 * @param code the kind of failure
 * @param path the node addressed
 * @returns the matching error instance
 */
export function storeError(code: StoreErrorCode, path?: string): StoreError {
  switch (code) {
    case "NO_NODE":
      return new NoNodeError(path);
    case "NODE_EXISTS":
      return new NodeExistsError(path);
    case "VERSION_CONFLICT":
      return new VersionConflictError(path, -1, null);
    case "NO_AUTH":
      return new NoAuthError(path);
    case "CONNECTION_LOSS":
      return new ConnectionLossError(path);
    case "SESSION_EXPIRED":
      return new SessionExpiredError(path);
    case "NOT_EMPTY":
      return new NotEmptyError(path);
    case "CLOSED":
      return new StoreClosedError();
    case "NO_CHILDREN_FOR_EPHEMERALS":
      return new StoreError(code, "ephemeral nodes cannot have children", path);
    case "INVALID_ACL":
      return new StoreError(code, "invalid ACL", path);
    case "BAD_ARGUMENTS":
      return new StoreError(code, "bad arguments", path);
    default:
      return new StoreError(code, "store error", path);
  }
}

/**
 * Whether an error means "the connection or session went away" rather than "the request was
 * wrong": watchers wait for the next `connected` event instead of reporting these.
 *
 * @param error anything caught
 * @returns true for connection loss and session expiry
 */
export function isTransient(error: unknown): boolean {
  return error instanceof ConnectionLossError || error instanceof SessionExpiredError;
}
