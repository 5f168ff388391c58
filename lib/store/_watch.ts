/**
 * The self-re-arming watch loop behind `watchData` and `watchChildren`, shared by both stores so
 * the tricky part (no lost events, no stale or duplicate deliveries, recovery after reconnect
 * and expiry) is written and tested once.
 *
 * A store provides a `read(fire)` that reads the current value AND leaves a one-shot server
 * watch calling `fire` in the same request (ZooKeeper's getData/exists/getChildren with a
 * watcher): arming and reading together is what makes a change between the two impossible to
 * miss. Reads are serialized; an event during a read marks the loop dirty and it reads again.
 *
 * @module
 */

import { isTransient, StoreClosedError } from "./errors.ts";
import type {
  ChildrenSnapshot,
  NodeData,
  SessionEvent,
  Timers,
  WatchHandle,
  WatchOptions,
} from "./types.ts";

/** What the loop needs from a store. */
export interface WatchHost {
  /** Subscribes to session events; the loop re-reads on every `connected`. */
  onSession(listener: (event: SessionEvent) => void): () => void;
  /** Timers for error backoff. */
  readonly timers: Timers;
}

/** How to order and compare values so stale and repeated deliveries are dropped. */
export interface Versioning<T> {
  /** Global order of a value (a zxid): a lower one than already delivered is stale. */
  order(value: T): bigint;
  /** Equal keys mean "same state", delivered once. */
  key(value: T): string;
}

/** Versioning of node data: by mzxid (survives delete and re-create, unlike `version`). */
export const DATA_VERSIONING: Versioning<NodeData> = {
  order: (v) => v.stat.mzxid,
  key: (v) => `${v.stat.czxid}:${v.stat.mzxid}`,
};

/** Versioning of a children list: by pzxid (the zxid of the last child change). */
export const CHILDREN_VERSIONING: Versioning<ChildrenSnapshot> = {
  order: (v) => v.stat.pzxid,
  key: (v) => `${v.stat.czxid}:${v.stat.pzxid}:${v.children.join("/")}`,
};

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/**
 * Starts a watch loop.
 *
 * @param host session events and timers of the store
 * @param read reads the value and arms a one-shot watch calling `fire` (null when absent)
 * @param versioning ordering of values
 * @param onChange receives each new state
 * @param options error callback
 * @returns the handle: `ready` after the first delivery, `close()` to stop
 */
export function startWatch<T>(
  host: WatchHost,
  read: (fire: () => void) => Promise<T | null>,
  versioning: Versioning<T>,
  onChange: (value: T | null) => void,
  options: WatchOptions = {},
): WatchHandle {
  let closed = false;
  let running = false;
  let dirty = true;
  let delivered = false;
  let lastKey: string | undefined;
  let maxOrder: bigint | undefined;
  let backoff = 0;
  let retryTimer: unknown;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });

  const report = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // An error callback must not break the loop.
    }
  };

  const deliver = (value: T | null): void => {
    if (value !== null) {
      const order = versioning.order(value);
      if (maxOrder !== undefined && order < maxOrder) return; // stale: never go backwards
      maxOrder = order;
    }
    const key = value === null ? "null" : versioning.key(value);
    if (delivered && key === lastKey) return;
    lastKey = key;
    delivered = true;
    try {
      onChange(value);
    } catch (error) {
      report(error);
    }
    resolveReady();
  };

  // One function object per watch: stores dedupe identical watchers on a path.
  const fire = (): void => trigger();

  function trigger(): void {
    if (closed) return;
    dirty = true;
    if (!running) void pump();
  }

  function scheduleRetry(): void {
    backoff = backoff === 0 ? BACKOFF_START_MS : Math.min(backoff * 2, BACKOFF_MAX_MS);
    if (retryTimer !== undefined) host.timers.clearTimeout(retryTimer);
    retryTimer = host.timers.setTimeout(() => {
      retryTimer = undefined;
      trigger();
    }, backoff);
  }

  async function pump(): Promise<void> {
    running = true;
    try {
      while (dirty && !closed) {
        dirty = false;
        let value: T | null;
        try {
          value = await read(fire);
        } catch (error) {
          if (closed || error instanceof StoreClosedError) return;
          // Connection loss / expiry: the next `connected` event triggers a re-read.
          if (!isTransient(error)) {
            report(error);
            scheduleRetry();
          }
          continue;
        }
        if (closed) return;
        backoff = 0;
        deliver(value);
      }
    } finally {
      running = false;
    }
  }

  const unsubscribe = host.onSession((event) => {
    if (event.type === "connected") trigger();
    if (event.type === "closed") handle.close();
  });

  const handle: WatchHandle = {
    ready,
    close(): void {
      if (closed) return;
      closed = true;
      unsubscribe();
      if (retryTimer !== undefined) host.timers.clearTimeout(retryTimer);
      retryTimer = undefined;
      resolveReady();
    },
  };

  void pump();
  return handle;
}

/** The runtime's timers, the default everywhere a `Timers` is optional. */
export const DEFAULT_TIMERS: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
