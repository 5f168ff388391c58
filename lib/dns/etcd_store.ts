/**
 * The etcd edge of the dns role: a {@link RecordKv} over the `etcd3` client (gRPC). The only
 * module of Switchyard's library that imports `etcd3`.
 *
 * - Every call has a deadline (`timeoutMs`), so a hung etcd fails a reconcile instead of
 *   stalling it; the caller retries with backoff.
 * - Reconnection is the client's: it keeps one gRPC channel per endpoint, re-dials a broken one,
 *   and fails over to the other endpoints (a circuit breaker parks an endpoint for 5 s after 3
 *   consecutive failures).
 * - `etcd3` is loaded on first use, not when this module is imported: it reads its `.proto`
 *   file from `node_modules` when it loads, so listing the roles (or `--help`) never depends on
 *   it, bundled or not.
 * - A plan is applied in transactions of at most {@link MAX_TXN_OPS} operations (etcd's default
 *   `--max-txn-ops` is 128), so the two keys of one instance (global and regional) usually land
 *   in the same revision, and a small fleet's change is one revision.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Etcd3, IRequestOp } from "etcd3";
import type { ReconcilePlan } from "./reconcile.ts";
import type { RecordKv } from "./record_kv.ts";

/** Operations per transaction (etcd's default limit is 128). */
export const MAX_TXN_OPS = 128;

/** Options of {@link EtcdRecordStore}. */
export interface EtcdStoreOptions {
  /** Client URLs, e.g. `["http://127.0.0.1:2379"]`. */
  readonly endpoints: readonly string[];
  /** Deadline of each call (ms, default 5000). */
  readonly timeoutMs?: number;
  /** How long connecting may take (ms, default 5000). */
  readonly dialTimeoutMs?: number;
  /** etcd user and password, when etcd has authentication on. */
  readonly auth?: { readonly username: string; readonly password: string };
}

/** Raised when an etcd call fails (after the client's own retries) or times out. */
export class EtcdStoreError extends Error {
  override name = "EtcdStoreError";
}

/**
 * SkyDNS records in etcd.
 *
 * @example
 * ```ts ignore
 * const kv = new EtcdRecordStore({ endpoints: ["http://127.0.0.1:2379"] });
 * await kv.apply({ puts: [["/skydns/com/example/api/lb1", '{"host":"198.18.0.21"}']], deletes: [] });
 * console.log(await kv.list(["/skydns/com/example/api/"]));
 * await kv.close();
 * ```
 */
export class EtcdRecordStore implements RecordKv {
  readonly #options: EtcdStoreOptions;
  readonly #timeoutMs: number;
  #client: Promise<Etcd3> | null = null;
  #closed = false;

  constructor(options: EtcdStoreOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  #connect(): Promise<Etcd3> {
    if (this.#closed) return Promise.reject(new EtcdStoreError("etcd client closed"));
    this.#client ??= import("etcd3").then(({ Etcd3 }) =>
      new Etcd3({
        hosts: [...this.#options.endpoints],
        dialTimeout: this.#options.dialTimeoutMs ?? 5000,
        ...(this.#options.auth ? { auth: { ...this.#options.auth } } : {}),
      })
    );
    return this.#client;
  }

  #deadline(): { deadline: number } {
    return { deadline: Date.now() + this.#timeoutMs };
  }

  async list(prefixes: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    try {
      const client = await this.#connect();
      for (const prefix of prefixes) {
        const values = await client.getAll().prefix(prefix).options(this.#deadline())
          .strings();
        for (const [key, value] of Object.entries(values)) out.set(key, value);
      }
    } catch (e) {
      throw new EtcdStoreError(`etcd read failed: ${(e as Error).message}`);
    }
    return out;
  }

  async apply(plan: ReconcilePlan): Promise<void> {
    const ops: IRequestOp[] = [
      ...plan.puts.map(([key, value]) => ({
        request_put: { key: Buffer.from(key), value: Buffer.from(value) },
      })),
      ...plan.deletes.map((key) => ({ request_delete_range: { key: Buffer.from(key) } })),
    ];
    try {
      const client = await this.#connect();
      for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
        await client.kv.txn(
          { compare: [], success: ops.slice(i, i + MAX_TXN_OPS), failure: [] },
          this.#deadline(),
        );
      }
    } catch (e) {
      throw new EtcdStoreError(`etcd write failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    if (client) (await client.catch(() => null))?.close();
  }
}
