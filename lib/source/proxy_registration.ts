/**
 * A proxy's registration: the ephemeral `/switchyard/proxies/<group>/<id>`
 * that DNS discovery and the autoscaler read. Created at start and again
 * with every new session (after an expiry); a stale node of a dead session
 * is replaced, one our own session already holds is adopted. Its data is
 * rewritten on request (`refresh`: a config applied, the load moved).
 * `deregister` removes it for good (scale-in, shutdown: leave DNS first),
 * also when its create is still in flight.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { proxiesGroupPath, proxyInstancePath } from "../store/layout.ts";
import type { AclEntry, CoordinationStore } from "../store/types.ts";

/** Options of {@link ProxyRegistration}. */
export interface ProxyRegistrationOptions {
  readonly store: CoordinationStore;
  readonly group: string;
  readonly id: string;
  /** The node's data, read at every (re)creation and refresh. */
  readonly data: () => Record<string, unknown>;
  readonly log: Logger;
  /** ACL of the nodes created; null: open. */
  readonly acl?: readonly AclEntry[] | null;
}

const encoder = new TextEncoder();

/**
 * Keeps a proxy's ephemeral registration.
 *
 * @example
 * ```ts ignore
 * const reg = new ProxyRegistration({ store, group: "g", id: "p1", log, data: () => ({ address }) });
 * reg.start();
 * await reg.deregister();
 * ```
 */
export class ProxyRegistration {
  readonly #o: ProxyRegistrationOptions;
  #registeredPath: string | null = null;
  #deregistered = false;
  #stopped = false;
  #offSession: (() => void) | null = null;
  /** Pending retries, cleared by stop(). */
  #retries = new Set<ReturnType<typeof setTimeout>>();

  constructor(options: ProxyRegistrationOptions) {
    this.#o = options;
  }

  /** The node's path while it is registered, else null. */
  get registeredPath(): string | null {
    return this.#registeredPath;
  }

  /** Creates the node now and with every new session. */
  start(): void {
    this.#offSession = this.#o.store.onSession((e) => {
      if (this.#stopped) return;
      if (e.type === "connected" && e.newSession) this.#register();
    });
    this.#register();
  }

  /** Rewrites the node's data (e.g. the proxy's load changed). */
  refresh(): void {
    const path = this.#registeredPath;
    if (!path) return;
    let data: Uint8Array;
    try {
      data = encoder.encode(JSON.stringify(this.#o.data()));
    } catch (e) {
      this.#o.log.warn("cannot update the registration", { path, error: String(e) });
      return;
    }
    this.#o.store.set(path, data).catch(() => {});
  }

  /** Removes the node now and stops re-creating it. */
  async deregister(): Promise<void> {
    const path = this.#registeredPath;
    this.#registeredPath = null;
    this.#deregistered = true;
    if (path) await this.#o.store.delete(path).catch(() => {});
  }

  /** Deregisters and cancels pending retries and the session handler. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#deregistered = true;
    for (const t of this.#retries) clearTimeout(t);
    this.#retries.clear();
    this.#offSession?.();
    this.#offSession = null;
    if (this.#registeredPath) {
      await this.#o.store.delete(this.#registeredPath).catch(() => {});
      this.#registeredPath = null;
    }
  }

  /** Runs `fn` after `ms` unless stopped first. */
  #later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      if (!this.#stopped) fn();
    }, ms);
    this.#retries.add(timer);
  }

  #register(): void {
    if (this.#deregistered) return;
    const { store, group, id } = this.#o;
    const path = proxyInstancePath(group, id);
    const acl = this.#o.acl ?? undefined;
    Promise.resolve()
      .then(() => store.ensurePath(proxiesGroupPath(group), acl))
      .then(() => {
        const data = encoder.encode(JSON.stringify(this.#o.data()));
        return store.create(path, data, { mode: "ephemeral", ...(acl ? { acl } : {}) });
      })
      .then(
        async () => {
          if (this.#deregistered) {
            // deregister() or stop() ran while the create was in flight: take it back
            await store.delete(path).catch(() => {});
            return;
          }
          this.#registeredPath = path;
          this.#o.log.info("registered", { path });
        },
        async (e: Error & { code?: string }) => {
          if (this.#deregistered) return;
          if (e.code === "NODE_EXISTS" || e.name === "NodeExistsError") {
            // ours from this session (a retried create), or a stale one from a dead session
            const stat = await store.exists(path).catch(() => null);
            const mine = stat !== null && stat.ephemeralOwner === store.session()?.id;
            if (this.#deregistered) {
              if (mine) await store.delete(path).catch(() => {});
              return;
            }
            if (!mine && stat) await store.delete(path).catch(() => {});
            if (!mine) this.#later(() => this.#register(), 200);
            else this.#registeredPath = path;
            return;
          }
          this.#o.log.warn("registration failed; retrying", { path, error: String(e) });
          this.#later(() => this.#register(), 1000);
        },
      );
  }
}
