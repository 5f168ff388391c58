/**
 * The narrow interface the dns role needs from the record store (etcd): read everything under
 * some prefixes, apply a plan. `etcd_store.ts` implements it over etcd; {@link MemoryRecordKv}
 * is the in-process version for unit tests.
 *
 * @module
 */
import type { ReconcilePlan } from "./reconcile.ts";

/** A key-value store holding SkyDNS records. */
export interface RecordKv {
  /** Every key under each prefix, with its value. */
  list(prefixes: readonly string[]): Promise<Map<string, string>>;
  /** Applies the puts and deletes (atomically where the store can). */
  apply(plan: ReconcilePlan): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** One write seen by a {@link MemoryRecordKv}. */
export interface KvWrite {
  readonly op: "put" | "delete";
  readonly key: string;
  readonly value?: string;
  /** Store revision after the write (one per applied plan, as an etcd transaction). */
  readonly revision: number;
}

/**
 * An in-memory {@link RecordKv} with a write log and a revision counter, for tests.
 *
 * @example
 * ```ts
 * import { MemoryRecordKv } from "./record_kv.ts";
 * const kv = new MemoryRecordKv();
 * await kv.apply({ puts: [["/skydns/com/example/api/a", "{}"]], deletes: [] });
 * console.log((await kv.list(["/skydns/"])).size, kv.revision); // 1 1
 * ```
 */
export class MemoryRecordKv implements RecordKv {
  readonly data = new Map<string, string>();
  readonly writes: KvWrite[] = [];
  revision = 0;
  /** When set, the next operations reject with it (then it stays until cleared). */
  failWith: Error | null = null;

  list(prefixes: readonly string[]): Promise<Map<string, string>> {
    if (this.failWith) return Promise.reject(this.failWith);
    const out = new Map<string, string>();
    for (const [key, value] of this.data) {
      if (prefixes.some((p) => key.startsWith(p))) out.set(key, value);
    }
    return Promise.resolve(out);
  }

  apply(plan: ReconcilePlan): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    if (plan.puts.length === 0 && plan.deletes.length === 0) return Promise.resolve();
    this.revision++;
    for (const [key, value] of plan.puts) {
      this.data.set(key, value);
      this.writes.push({ op: "put", key, value, revision: this.revision });
    }
    for (const key of plan.deletes) {
      if (this.data.delete(key)) this.writes.push({ op: "delete", key, revision: this.revision });
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
