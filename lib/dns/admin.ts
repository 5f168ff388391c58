/**
 * The dns role's metrics and admin listener: `/healthz`, `/status` (JSON) and `/metrics`
 * (Prometheus text).
 *
 * @module
 */
import { Hono } from "hono";
import {
  Counter,
  Gauge,
  Histogram,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
} from "../metrics/registry.ts";
import type { DnsHooks, DnsStatus, ErrorSource, PassResult } from "./controller.ts";

/** Sync lag buckets (seconds): registration change seen -> etcd written. */
export const SYNC_LAG_BUCKETS: readonly number[] = [
  0.025,
  0.05,
  0.1,
  0.15,
  0.2,
  0.3,
  0.5,
  1,
  2,
  5,
  10,
  30,
  60,
];

/** Error sources counted by `switchyard_dns_errors_total`. */
export type DnsErrorSource = ErrorSource | "corefile" | "regions";

/** The dns role's metric families, fed through the controller's hooks. */
export class DnsMetrics {
  readonly registry = new Registry();
  readonly #records = this.registry.add(
    new Gauge(
      "switchyard_dns_records",
      "SkyDNS records of the zone in etcd, by region (_global: the zone's own tree).",
      ["region"],
    ),
  );
  readonly #passes = this.registry.add(
    new Counter(
      "switchyard_dns_passes_total",
      "Reconcile passes run as leader, by result.",
      ["result"],
    ),
  );
  readonly #writes = this.registry.add(
    new Counter("switchyard_dns_record_writes_total", "etcd record writes, by operation.", ["op"]),
  );
  readonly #lag = this.registry.add(
    new Histogram(
      "switchyard_dns_sync_lag_seconds",
      "From a registration change seen in ZooKeeper to etcd written (seconds).",
      [],
      SYNC_LAG_BUCKETS,
    ),
  );
  readonly #lastSync = this.registry.add(
    new Gauge(
      "switchyard_dns_last_sync_timestamp_seconds",
      "When the last successful reconcile pass ended (Unix seconds; 0: none yet).",
    ),
  );
  readonly #errors = this.registry.add(
    new Counter("switchyard_dns_errors_total", "Errors, by source.", ["source"]),
  );
  readonly #leaderChanges = this.registry.add(
    new Counter(
      "switchyard_dns_leadership_changes_total",
      "Times this process started or stopped acting as the dns leader.",
    ),
  );
  readonly #corefileWrites = this.registry.add(
    new Counter("switchyard_dns_corefile_writes_total", "Corefile (re)writes."),
  );
  readonly #lagChild = this.#lag.labels();
  readonly #lastSyncChild = this.#lastSync.labels();

  /**
   * @param status the controller's status, read at scrape time for the gauges
   * @param wallClock ms since the epoch
   */
  constructor(status: () => DnsStatus | null, readonly wallClock: () => number = Date.now) {
    this.registry.add(
      new Gauge(
        "switchyard_dns_leader",
        "1 while this process acts as the dns leader (the only writer).",
        [],
        (g) => g.labels().set(status()?.election.acting ? 1 : 0),
      ),
    );
    this.registry.add(
      new Gauge(
        "switchyard_dns_registrations",
        "Live proxy registrations seen, by validity.",
        ["valid"],
        (g) => {
          const s = status();
          const invalid = s?.registrations.invalid.length ?? 0;
          g.labels("true").set(s?.registrations.count ?? 0);
          g.labels("false").set(invalid);
        },
      ),
    );
    this.registry.add(
      new Gauge(
        "switchyard_dns_zookeeper_connected",
        "1 while connected to ZooKeeper.",
        [],
        (g) => g.labels().set(status()?.connection === "connected" ? 1 : 0),
      ),
    );
    for (const r of ["ok", "error"]) this.#passes.labels(r);
    for (const op of ["put", "delete"]) this.#writes.labels(op);
    for (const s of ["etcd", "zookeeper", "corefile", "regions"]) this.#errors.labels(s);
    this.#corefileWrites.labels();
    this.#leaderChanges.labels();
  }

  #setRecords(byRegion: ReadonlyMap<string, number>): void {
    this.#records.retain(([region]) => byRegion.has(region!));
    for (const [region, n] of byRegion) this.#records.labels(region).set(n);
  }

  /** Counts an error. */
  error(source: DnsErrorSource): void {
    this.#errors.labels(source).inc();
  }

  /** Counts a Corefile write. */
  corefileWritten(): void {
    this.#corefileWrites.labels().inc();
  }

  /** Hooks for the controller. */
  readonly hooks: DnsHooks = {
    pass: (r: PassResult) => {
      this.#passes.labels("ok").inc();
      if (r.puts > 0) this.#writes.labels("put").inc(r.puts);
      if (r.deletes > 0) this.#writes.labels("delete").inc(r.deletes);
      if (r.lagMs !== null) this.#lagChild.observe(Math.max(0, r.lagMs) / 1000);
      this.#lastSyncChild.set(this.wallClock() / 1000);
      this.#setRecords(r.byRegion);
    },
    observed: (byRegion) => this.#setRecords(byRegion),
    error: (source) => {
      this.#errors.labels(source).inc();
      if (source === "etcd") this.#passes.labels("error").inc();
    },
    leadership: () => this.#leaderChanges.labels().inc(),
  };
}

/** Facts `/status` shows besides the controller's. */
export interface DnsAdminInfo {
  readonly runtime: string;
  readonly startedAt: number;
  readonly zk: string;
  readonly etcd: readonly string[];
  /** Extra sections (Corefile, regions), computed per request. */
  extra(): Record<string, unknown>;
  stopping(): boolean;
}

/**
 * The `/status` document.
 *
 * @param s the controller's status (null before ZooKeeper answered)
 * @param info process facts
 */
export function dnsStatusDocument(
  s: DnsStatus | null,
  info: DnsAdminInfo,
): Record<string, unknown> {
  const base = {
    role: "dns",
    runtime: info.runtime,
    started_at: new Date(info.startedAt).toISOString(),
    zk: info.zk,
    etcd: info.etcd,
  };
  if (s === null) return { ...base, state: "connecting", ...info.extra() };
  return {
    ...base,
    id: s.id,
    zone: s.zone,
    prefix: s.prefix,
    groups: s.groups ?? "all",
    followed_groups: s.followedGroups,
    zookeeper: { state: s.connection, session: s.session },
    leader: {
      acting: s.election.acting,
      leader_id: s.election.acting ? s.id : s.election.leaderId,
      node: s.election.own,
      leader_node: s.election.leaderNode,
    },
    registrations: {
      complete: s.registrations.complete,
      count: s.registrations.count,
      invalid: s.registrations.invalid,
    },
    records: s.placements.map((p) => ({
      group: p.group,
      id: p.id,
      name: p.label,
      host: p.host,
      port: p.port,
      region: p.region,
      weight: p.weight,
      keys: p.keys,
    })),
    skipped: s.skipped,
    records_by_region: s.recordsByRegion,
    last_sync: s.lastPass === null ? null : {
      at: new Date(s.lastPass.at).toISOString(),
      ok: s.lastPass.ok,
      puts: s.lastPass.puts,
      deletes: s.lastPass.deletes,
      error: s.lastPass.error,
    },
    pending: s.pending,
    etcd_error: s.etcdError,
    ...info.extra(),
  };
}

/**
 * The admin app.
 *
 * @param status the controller's status (null until ZooKeeper answered)
 * @param health the controller's health (null until ZooKeeper answered)
 * @param metrics the registry to render
 * @param info process facts
 */
export function dnsAdminApp(
  status: () => DnsStatus | null,
  health: () => { ok: boolean; reason: string } | null,
  metrics: Registry,
  info: DnsAdminInfo,
): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    if (info.stopping()) return c.text("stopping\n", 503);
    const h = health();
    if (h === null) return c.text("connecting to ZooKeeper\n", 503);
    return h.ok ? c.text("ok\n") : c.text(`${h.reason}\n`, 503);
  });
  app.get("/status", (c) => c.json(dnsStatusDocument(status(), info)));
  app.get(
    "/metrics",
    (c) => c.body(metrics.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );
  return app;
}
