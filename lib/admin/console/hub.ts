/**
 * The console's state hub: joins the store's picture ({@link LiveState}),
 * the fleet's live figures ({@link FleetScraper}) and the optional DNS
 * provider into one {@link ConsoleState}, and tells subscribers (the
 * server-sent-event streams) after every change: a whole `state` when
 * anything changed, plus one `sample` per scrape round for the charts.
 *
 * @module
 */
import type { Logger } from "../../log.ts";
import type { CoordinationStore } from "../../store/types.ts";
import type { DnsProvider } from "./dns.ts";
import { type GroupTopology, LiveState, type Topology } from "./live_state.ts";
import type {
  BackendView,
  ConsoleEvent,
  ConsoleState,
  DnsView,
  GroupView,
  ProxyView,
  SeriesByGroup,
} from "./model.ts";
import { FleetScraper, type ScraperOptions } from "./scraper.ts";

/** Options of {@link ConsoleHub}. */
export interface ConsoleHubOptions {
  readonly store: CoordinationStore;
  readonly log: Logger;
  /** Where the DNS panel reads from; null/absent: "no DNS configured". */
  readonly dns?: DnsProvider | null;
  /** Scraper settings (interval, timeouts, fetch for tests). */
  readonly scraper?: Omit<ScraperOptions, "log" | "now">;
  /** Store changes within this many ms are published once (default 50). */
  readonly coalesceMs?: number;
  readonly now?: () => number;
}

const DNS_TIMEOUT_MS = 2_000;

/**
 * Keeps and publishes the console's state.
 *
 * @example
 * ```ts ignore
 * const hub = new ConsoleHub({ store, log });
 * hub.subscribe((event) => send(event));
 * await hub.start();
 * ```
 */
export class ConsoleHub {
  readonly live: LiveState;
  readonly scraper: FleetScraper;
  readonly #o: ConsoleHubOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<(e: ConsoleEvent) => void>();
  #seq = 0;
  #state: ConsoleState;
  #dns: DnsView | null = null;
  #offDns: (() => void) | null = null;
  #offLive: (() => void) | null = null;
  #dnsReading = false;
  #stopped = false;

  constructor(options: ConsoleHubOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.live = new LiveState({
      store: options.store,
      log: options.log,
      now: this.#now,
      ...(options.coalesceMs === undefined ? {} : { coalesceMs: options.coalesceMs }),
    });
    this.scraper = new FleetScraper({ ...options.scraper, log: options.log, now: this.#now });
    this.#state = this.#compose();
  }

  /** Starts watching, scraping and (when configured) reading DNS. */
  async start(): Promise<void> {
    this.#offLive = this.live.subscribe(() => this.#publish());
    await this.live.start();
    if (this.#stopped) return;
    if (this.#o.dns) {
      this.#offDns = this.#o.dns.subscribe?.(() =>
        void this.#readDns().then(() => this.#publish())
      ) ??
        null;
      await this.#readDns();
    }
    if (this.#stopped) return;
    this.#publish();
    this.scraper.start(() => this.live.topology(), (points) => {
      void (async () => {
        if (this.#o.dns && !this.#o.dns.subscribe) await this.#readDns();
        this.#emit({ type: "sample", points });
        this.#publish();
      })();
    });
  }

  /** Stops everything; subscribers get nothing more. */
  stop(): void {
    this.#stopped = true;
    this.scraper.stop();
    this.#offLive?.();
    this.#offDns?.();
    this.live.stop();
    this.#listeners.clear();
  }

  /** The state last published. */
  state(): ConsoleState {
    return this.#state;
  }

  /** Chart series of every group. */
  series(): SeriesByGroup {
    return this.scraper.series();
  }

  /**
   * Calls `listener` with every event from now on.
   * @returns a function that unsubscribes
   */
  subscribe(listener: (e: ConsoleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Number of subscribers (open event streams). */
  get subscribers(): number {
    return this.#listeners.size;
  }

  #emit(e: ConsoleEvent): void {
    if (this.#stopped) return;
    for (const l of [...this.#listeners]) {
      try {
        l(e);
      } catch (err) {
        this.#o.log.warn("console subscriber failed", { error: String(err) });
      }
    }
  }

  #publish(): void {
    if (this.#stopped) return;
    this.#state = this.#compose();
    this.#emit({ type: "state", state: this.#state });
  }

  async #readDns(): Promise<void> {
    const dns = this.#o.dns;
    if (!dns || this.#dnsReading) return;
    this.#dnsReading = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reading = await Promise.race([
        dns.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("timed out")), DNS_TIMEOUT_MS);
        }),
      ]);
      this.#dns = {
        connection: dns.connection(),
        records: reading.records,
        error: null,
        at: this.#now(),
      };
    } catch (e) {
      this.#dns = {
        connection: dns.connection(),
        records: this.#dns?.records ?? [],
        error: String((e as Error).message ?? e),
        at: this.#now(),
      };
    } finally {
      clearTimeout(timer);
      this.#dnsReading = false;
    }
  }

  #compose(): ConsoleState {
    const topo: Topology = this.live.topology();
    const provider = this.#o.dns;
    // the connection is read now (cheap); the records are the last ones read
    const dns: DnsView | null = provider
      ? {
        connection: provider.connection(),
        records: this.#dns?.records ?? [],
        error: this.#dns?.error ?? null,
        at: this.#dns?.at ?? this.#now(),
      }
      : null;
    return {
      seq: ++this.#seq,
      at: this.#now(),
      coordination: topo.coordination,
      dns,
      orchestrator: topo.orchestrator,
      groups: topo.groups.map((g) => this.#group(g)),
      scrapeSeconds: this.scraper.intervalMs / 1000,
    };
  }

  #group(g: GroupTopology): GroupView {
    const proxies: ProxyView[] = g.proxies.map((reg) => {
      const s = this.scraper.stats(reg);
      const rates = s?.rates?.groups.get(g.name);
      return {
        ...reg,
        configVersion: reg.configVersion ?? s?.status?.configVersion ?? null,
        scrape: s?.scrape ?? null,
        connections: s?.status?.connections ?? null,
        draining: s?.status?.draining ?? null,
        panic: s?.status?.panic ?? null,
        rps: rates?.rps ?? (s?.rates ? 0 : null),
        errorRps: rates?.errorRps ?? (s?.rates ? 0 : null),
        cpuPercent: s?.rates?.cpuPercent ?? null,
        lastRejected: s?.status?.lastRejected ?? null,
      };
    });
    const backends: BackendView[] = g.backends.map((b) => {
      const ejectedOn: string[] = [];
      const unusableOn: string[] = [];
      let seenBy = 0;
      let inflight: number | null = null;
      let rps: number | null = null;
      let errorRps: number | null = null;
      for (const reg of g.proxies) {
        const s = this.scraper.stats(reg);
        const facts = s?.status?.backends.get(b.address);
        if (facts) {
          seenBy++;
          if (facts.ejected) ejectedOn.push(reg.id);
          if (facts.usable === false) unusableOn.push(reg.id);
          if (facts.inflight !== null) inflight = (inflight ?? 0) + facts.inflight;
        }
        const groupRates = s?.rates?.groups.get(g.name);
        if (s?.rates) {
          const r = groupRates?.byBackend.get(b.address);
          rps = (rps ?? 0) + (r?.rps ?? 0);
          errorRps = (errorRps ?? 0) + (r?.errorRps ?? 0);
        }
      }
      return {
        address: b.address,
        weight: b.weight,
        drain: b.drain,
        unhealthy: g.unhealthy.get(b.address) ?? null,
        ejectedOn,
        unusableOn,
        seenBy,
        inflight,
        rps,
        errorRps,
      };
    });
    const now = this.scraper.groupNow(g.name);
    return {
      name: g.name,
      version: g.version,
      modifiedAt: g.modifiedAt,
      config: g.config,
      issues: g.issues,
      algorithm: g.algorithm,
      backends,
      proxies,
      rps: now?.rps ?? null,
      errorRps: now?.errorRps ?? null,
      latency: now?.latency ?? null,
    };
  }
}
