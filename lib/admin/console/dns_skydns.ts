/**
 * A {@link DnsProvider} over the dns role's record store (`RecordKv`: etcd
 * in production): every SkyDNS record under the prefix, with the DNS name
 * and region its key stands for. The connection state is what the last read
 * found (the store has no session to ask).
 *
 * @module
 */
import type { RecordKv } from "../../dns/record_kv.ts";
import {
  decodeRecord,
  DEFAULT_PREFIX,
  normalizePrefix,
  parseKey,
  regionTreesPrefix,
} from "../../dns/skydns.ts";
import type { DnsProvider } from "./dns.ts";
import type { DnsRecordView } from "./model.ts";

/** Options of {@link skyDnsProvider}. */
export interface SkyDnsProviderOptions {
  /** The record store (`EtcdRecordStore`, or `MemoryRecordKv` in tests). */
  readonly kv: Pick<RecordKv, "list">;
  /** The etcd plugin's path prefix (default `/skydns`). */
  readonly prefix?: string;
  /** Shown on the panel, e.g. `["http://127.0.0.1:2379"]`. */
  readonly endpoints?: readonly string[];
  /** `etcd` by default. */
  readonly kind?: string;
  readonly now?: () => number;
}

/**
 * The DNS panel's provider for SkyDNS records.
 *
 * @example
 * ```ts ignore
 * const kv = new EtcdRecordStore({ endpoints: ["http://127.0.0.1:2379"] });
 * startConsole({ store, tokens, log, dns: skyDnsProvider({ kv, endpoints: ["127.0.0.1:2379"] }) });
 * ```
 */
export function skyDnsProvider(options: SkyDnsProviderOptions): DnsProvider {
  const now = options.now ?? Date.now;
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_PREFIX);
  const kind = options.kind ?? "etcd";
  let state = "connecting";
  let since = now();
  const setState = (s: string) => {
    if (s === state) return;
    state = s;
    since = now();
  };
  return {
    kind,
    connection: () => ({
      kind,
      state,
      session: null,
      since,
      ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    }),
    read: async () => {
      let entries: Map<string, string>;
      try {
        // the global tree and every region's tree (`/skydns-region-<region>`, next to it)
        entries = await options.kv.list([`${prefix}/`, regionTreesPrefix(prefix)]);
      } catch (e) {
        setState("unreachable");
        throw e;
      }
      setState("connected");
      const records: DnsRecordView[] = [];
      for (const [key, value] of entries) {
        const where = parseKey(key, prefix);
        if (!where) continue;
        let record;
        try {
          record = decodeRecord(value);
        } catch {
          continue; // not ours to show: CoreDNS skips it too
        }
        records.push({
          name: where.name,
          ...(where.region === undefined ? {} : { region: where.region }),
          key,
          ...record,
        });
      }
      records.sort((a, b) =>
        a.name.localeCompare(b.name) || (a.region ?? "").localeCompare(b.region ?? "") ||
        (a.key ?? "").localeCompare(b.key ?? "")
      );
      return { records };
    },
  };
}
