/**
 * The console's DNS panel reads from this one-method-and-a-bit interface, so
 * the dns role's etcd integration can plug in without the console knowing
 * etcd. Without a provider the panel says "no DNS configured".
 *
 * @module
 */
import type { ConnectionView, DnsRecordView } from "./model.ts";

/** What a provider returns on each read. */
export interface DnsReading {
  /** The records served (e.g. every SkyDNS record under the prefix, with its name and region). */
  readonly records: readonly DnsRecordView[];
}

/**
 * A source of the DNS records being served.
 *
 * @example
 * ```ts ignore
 * const dns: DnsProvider = {
 *   kind: "etcd",
 *   connection: () => ({ kind: "etcd", state: client.connected ? "connected" : "connecting",
 *     session: null, since: connectedSince, endpoints: ["127.0.0.1:2379"] }),
 *   read: async () => ({ records: await listSkyDnsRecords(client, "/skydns") }),
 *   subscribe: (onChange) => watcher.on("change", onChange),
 * };
 * startConsole({ store, tokens, log, dns });
 * ```
 */
export interface DnsProvider {
  /** `etcd`, for the panel's title. */
  readonly kind: string;
  /** The connection to the DNS store, right now (cheap, synchronous). */
  connection(): ConnectionView;
  /** Reads every record served; rejects when the store cannot be read. */
  read(): Promise<DnsReading>;
  /**
   * Optional push: calls `onChange` when records may have changed (an etcd
   * watch). Without it the console re-reads on every scrape tick.
   * @returns a function that unsubscribes
   */
  subscribe?(onChange: () => void): () => void;
}
