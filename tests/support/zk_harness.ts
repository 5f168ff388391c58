/**
 * The contract harness for the ZooKeeper store, plus the session-expiry helper the real-server
 * tests share.
 *
 * @module
 */

import type { ContractHarness } from "../../lib/store/contract.ts";
import type { CoordinationStore, SessionEvent } from "../../lib/store/types.ts";
import { connectZooKeeper, killSession, type ZooKeeperStore } from "../../lib/store/zookeeper.ts";
import { waitUntil } from "./zk_server.ts";

/**
 * Expires the store's session the ZooKeeper way (another client attaches to the same session id
 * and password, then closes it) and waits until the store reported `expired` and connected a new
 * session. Retries the kill if the owner's reconnect won the race for the session.
 *
 * @returns the session events seen meanwhile
 */
export async function expireAndWait(
  store: CoordinationStore,
  servers: string,
  timeoutMs = 20_000,
): Promise<SessionEvent[]> {
  const session = store.session();
  if (session === null) throw new Error("store has no session");
  const events: SessionEvent[] = [];
  const off = store.onSession((e) => events.push(e));
  try {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; !events.some((e) => e.type === "expired"); attempt++) {
      if (Date.now() > deadline) throw new Error(`session ${session.id} did not expire`);
      await killSession(servers, session).catch((e) => {
        // Already gone is fine: the owner will be told when it reconnects.
        if (!(e instanceof Error && e.name === "SessionExpiredError")) throw e;
      });
      await waitUntil(() => events.some((e) => e.type === "expired"), 5_000, "expired event")
        .catch(() => {});
    }
    await waitUntil(
      () => events.some((e) => e.type === "connected" && e.newSession),
      Math.max(1, deadline - Date.now()),
      "new session after expiry",
    );
    return events;
  } finally {
    off();
  }
}

/**
 * Checks the session events of a forced expiry, as `connected:<newSession>` / `disconnected` /
 * `expired` strings. Killing the session from a second connection drops ours, and the client may
 * resume the old session (`connected:false`) before the server has closed it: that is allowed.
 * Required: it starts disconnected, sees `expired` exactly once, then a new session and nothing
 * else, and never a new session before the expiry.
 */
export function assertForcedExpiry(kinds: readonly string[]): void {
  const shown = JSON.stringify(kinds);
  const expired = kinds.indexOf("expired");
  if (
    kinds[0] !== "disconnected" || expired < 1 || kinds.lastIndexOf("expired") !== expired ||
    !kinds.slice(0, expired).every((k) => k === "disconnected" || k === "connected:false") ||
    kinds.length !== expired + 2 || kinds[expired + 1] !== "connected:true"
  ) {
    throw new Error(`unexpected session events for a forced expiry: ${shown}`);
  }
}

/**
 * Checks the session events of an outage the session survives: disconnected first, the same
 * session resumed (`connected:false`) last, nothing else between. A member (or a restarted
 * ensemble still electing its leader) may take the connection and drop it again, so the pair
 * may repeat; never an expiry, never a new session.
 */
export function assertSessionResumed(kinds: readonly string[]): void {
  if (
    kinds[0] !== "disconnected" || kinds.at(-1) !== "connected:false" ||
    !kinds.every((k) => k === "disconnected" || k === "connected:false")
  ) {
    throw new Error(`unexpected session events for a resumed session: ${JSON.stringify(kinds)}`);
  }
}

/**
 * A contract harness over a real ZooKeeper.
 *
 * @param servers `host:port,...` without chroot
 */
export function zookeeperHarness(servers: string): ContractHarness {
  return {
    name: `zookeeper ${servers}`,
    eventuallyMs: 10_000,
    connect: (options = {}): Promise<ZooKeeperStore> =>
      connectZooKeeper({
        connectionString: `${servers}${options.chroot ?? ""}`,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
        connectTimeoutMs: 10_000,
        ...(options.digest === undefined ? {} : { digest: options.digest }),
      }),
    expire: async (store) => {
      await expireAndWait(store, servers);
    },
  };
}

/**
 * Retries an operation while it fails with connection loss or session expiry (a writer used
 * while members are killed), up to `timeoutMs`.
 */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      const transient = error instanceof Error &&
        (error.name === "ConnectionLossError" || error.name === "SessionExpiredError");
      if (!transient || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Collects the deliveries of a watchData as text (`null` for absent). */
export function textDeliveries(): {
  seen: Array<string | null>;
  onChange: (node: { data: Uint8Array } | null) => void;
  last: () => string | null | undefined;
} {
  const seen: Array<string | null> = [];
  return {
    seen,
    onChange: (node) => seen.push(node === null ? null : new TextDecoder().decode(node.data)),
    last: () => seen.at(-1),
  };
}
