/**
 * Instance registration of the roles that are not proxies (admin, orchestrator, dns,
 * autoscaler): each process holds an ephemeral `/switchyard/instances/<role>/<id>` whose data
 * says where its `/metrics` is, so service discovery (the Prometheus file_sd writer in
 * `lib/prometheus/`) finds every role the same way it finds the proxies
 * (`/switchyard/proxies/<group>/<id>`, written by the proxies themselves).
 *
 * The node's data: `{role, id, admin: "host:port", runtime, pid, started_at, ...extra}`. It is
 * re-created after a session expiry (a stale node left by an earlier session of the same id is
 * replaced), rewritten by {@link InstanceRegistration.update}, and deleted by
 * {@link InstanceRegistration.stop}.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { instancePath, INSTANCES_ROOT } from "../store/layout.ts";
import {
  type AclEntry,
  type CoordinationStore,
  NodeExistsError,
  NoNodeError,
} from "../store/types.ts";

export { instancePath, INSTANCES_ROOT };

/** `/switchyard/instances/<role>` */
export function instancesRolePath(role: string): string {
  return `${INSTANCES_ROOT}/${role}`;
}

/** What every registration carries (more fields may follow). */
export interface InstanceInfo {
  readonly role: string;
  readonly id: string;
  /** `host:port` of the process's admin listener (`/metrics`, `/healthz`, `/status`). */
  readonly admin: string;
  readonly [key: string]: unknown;
}

/** Options of {@link InstanceRegistration}. */
export interface InstanceRegistrationOptions {
  readonly store: CoordinationStore;
  readonly role: string;
  readonly id: string;
  /**
   * The node's data, read at every (re)creation and update. Must include `admin`; `role` and
   * `id` are added.
   */
  readonly data: () => { readonly admin: string; readonly [key: string]: unknown };
  readonly log: Logger;
  /** ACL of the nodes created (the role node and the instance node); default open. */
  readonly acl?: readonly AclEntry[] | null;
  /** Delay before retrying a failed create (ms, default 1000). */
  readonly retryMs?: number;
}

const encoder = new TextEncoder();

/**
 * Keeps one ephemeral instance registration alive.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from "../store/mod.ts";
 * import { silentLogger } from "../log.ts";
 * import { InstanceRegistration } from "./instance_registry.ts";
 * const store = await createMemoryStore();
 * const reg = new InstanceRegistration({
 *   store, role: "admin", id: "admin-1", log: silentLogger,
 *   data: () => ({ admin: "127.0.0.1:9301", runtime: "deno" }),
 * });
 * reg.start();
 * await reg.ready;
 * console.log(await store.exists("/switchyard/instances/admin/admin-1") !== null); // true
 * await reg.stop();
 * await store.close();
 * ```
 */
export class InstanceRegistration {
  readonly #o: InstanceRegistrationOptions;
  #stopped = false;
  #registered = false;
  #creating = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #offSession: (() => void) | null = null;
  #resolveReady!: () => void;
  /** Resolves once the node has been created the first time. */
  readonly ready: Promise<void>;

  constructor(options: InstanceRegistrationOptions) {
    this.#o = options;
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
  }

  /** The node's path. */
  get path(): string {
    return instancePath(this.#o.role, this.#o.id);
  }

  /** True while the node is believed to exist. */
  get registered(): boolean {
    return this.#registered;
  }

  /** Creates the node now and again after every session expiry. */
  start(): void {
    this.#offSession = this.#o.store.onSession((e) => {
      if (this.#stopped) return;
      if (e.type === "expired") this.#registered = false;
      if (e.type === "connected" && e.newSession) this.#create();
    });
    this.#create();
  }

  /** Rewrites the node's data (e.g. something in it changed). */
  async update(): Promise<void> {
    if (!this.#registered || this.#stopped) return;
    try {
      await this.#o.store.set(this.path, this.#bytes());
    } catch (e) {
      if (e instanceof NoNodeError) {
        this.#registered = false;
        this.#create();
      }
    }
  }

  /** Deletes the node and stops re-creating it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#offSession?.();
    this.#offSession = null;
    if (this.#registered) {
      this.#registered = false;
      await this.#o.store.delete(this.path).catch(() => {});
    }
  }

  #bytes(): Uint8Array {
    return encoder.encode(JSON.stringify(
      {
        role: this.#o.role,
        id: this.#o.id,
        ...this.#o.data(),
      } satisfies InstanceInfo,
    ));
  }

  #later(): void {
    if (this.#stopped) return;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#create();
    }, this.#o.retryMs ?? 1000);
  }

  #create(): void {
    if (this.#stopped || this.#creating) return;
    this.#creating = true;
    this.#attempt().finally(() => (this.#creating = false));
  }

  async #attempt(): Promise<void> {
    const { store, log } = this.#o;
    const acl = this.#o.acl ?? undefined;
    const path = this.path;
    try {
      await store.ensurePath(instancesRolePath(this.#o.role), acl);
      await store.create(path, this.#bytes(), { mode: "ephemeral", ...(acl ? { acl } : {}) });
    } catch (e) {
      if (!(e instanceof NodeExistsError)) {
        log.warn("instance registration failed; retrying", { path, error: String(e) });
        this.#later();
        return;
      }
      // ours (a create retried after a lost reply) or a stale one from an expired session
      const stat = await store.exists(path).catch(() => null);
      if (stat !== null && stat.ephemeralOwner !== store.session()?.id) {
        await store.delete(path).catch(() => {});
        this.#later();
        return;
      }
      if (stat === null) {
        this.#later();
        return;
      }
    }
    if (this.#stopped) {
      await store.delete(path).catch(() => {});
      return;
    }
    const first = !this.#registered;
    this.#registered = true;
    if (first) log.info("instance registered", { path });
    this.#resolveReady();
  }
}

/** Parses an instance node's data; null when it is not a usable registration. */
export function parseInstance(role: string, id: string, data: Uint8Array): InstanceInfo | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const raw = value as Record<string, unknown>;
  if (typeof raw.admin !== "string" || !/^\S+:\d{1,5}$/.test(raw.admin)) return null;
  return { ...raw, role, id, admin: raw.admin };
}
