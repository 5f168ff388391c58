/**
 * The dns role: keeps the proxy fleet's SkyDNS records in etcd (read by CoreDNS's etcd plugin)
 * in step with the proxies registered in ZooKeeper, and generates the Corefile that routes each
 * client network to its region's proxies. Several may run: one, elected, writes. See
 * `lib/dns/controller.ts`.
 *
 * @module
 */
import fs from "node:fs";
import os from "node:os";
import process from "node:process";
import { type FlagSpec, type FlagValues, parseListen } from "../lib/cli/flags.ts";
import {
  COMMON_FLAGS,
  listenOrExit,
  parseRoleFlags,
  type RoleDefinition,
  roleLogger,
  usageError,
  ZK_FLAGS,
} from "../lib/cli/role.ts";
import { zkConnectOptions } from "../lib/cli/zk.ts";
import { dnsAdminApp, DnsMetrics } from "../lib/dns/admin.ts";
import { DnsController } from "../lib/dns/controller.ts";
import type { CorefileSpec, RegionSpec } from "../lib/dns/corefile.ts";
import { EtcdRecordStore } from "../lib/dns/etcd_store.ts";
import {
  DEFAULT_LOAD_CAPACITY,
  fleetOptionIssues,
  LOAD_METRICS,
  parseWeights,
} from "../lib/dns/fleet.ts";
import type { FleetOptions, LoadMetric } from "../lib/dns/fleet.ts";
import { CorefileKeeper } from "../lib/dns/corefile_keeper.ts";
import { foldRepeated, parseCoreDnsListen } from "../lib/dns/flags.ts";
import type { CoreDnsListen } from "../lib/dns/flags.ts";
import { parseRegionsFlag, parseRegionsJson } from "../lib/dns/regions.ts";
import { normalizePrefix, normalizeZone } from "../lib/dns/skydns.ts";
import { addProcessMetrics, args, env, onShutdownSignal } from "../lib/runtime/process.ts";
import { runtimeVersion, serve } from "../lib/runtime/serve.ts";
import { writerOnlyAcl } from "../lib/store/acl.ts";
import { DNS_ROOT, isValidNodeName } from "../lib/store/layout.ts";
import { InstanceRegistration } from "../lib/source/instance_registry.ts";
import { connectStore } from "../lib/store/mod.ts";
import type { CoordinationStore } from "../lib/store/types.ts";

const SUMMARY =
  "keeps CoreDNS's records in etcd in step with the live proxies; writes the Corefile";

/** The dns role's flags. */
export const DNS_FLAGS: readonly FlagSpec[] = [
  ...ZK_FLAGS,
  {
    name: "etcd",
    type: "string",
    value: "URL[,URL...]",
    help: "etcd client URLs, e.g. http://127.0.0.1:2379 (required)",
  },
  {
    name: "zone",
    type: "string",
    value: "NAME",
    help: "the service name whose records this role owns, e.g. api.example.com (required)",
  },
  {
    name: "group",
    type: "string",
    value: "NAME[,NAME...]",
    help: "proxy groups to publish (repeatable; default: every group)",
  },
  {
    name: "prefix",
    type: "string",
    value: "PATH",
    help: "etcd path prefix (CoreDNS etcd plugin's `path`)",
    default: "/skydns",
  },
  { name: "ttl", type: "number", value: "SECONDS", help: "record TTL", default: 5 },
  {
    name: "weight",
    type: "number",
    value: "N",
    help: "SRV weight of every proxy (with --weight-by-load: of an idle one)",
    default: 100,
  },
  {
    name: "weights",
    type: "string",
    value: "ID=N[,ID=N...]",
    help: "per-proxy weights overriding --weight (ID: a proxy id, or GROUP/ID)",
  },
  {
    name: "weight-by-load",
    type: "boolean",
    help: "weight follows each proxy's published load (10 levels, with hysteresis)",
    default: false,
  },
  {
    name: "load-metric",
    type: "string",
    value: "METRIC",
    help: "with --weight-by-load: connections, inflight or cpu (percent of a core)",
    default: "connections",
  },
  {
    name: "load-capacity",
    type: "number",
    value: "N",
    help: "with --weight-by-load: the metric's value that gets the lowest weight " +
      "(default: connections 1000, inflight 200, cpu 100)",
  },
  { name: "priority", type: "number", value: "N", help: "SRV priority", default: 10 },
  {
    name: "regions",
    type: "string",
    value: "SPEC",
    help: 'client networks per region: "us=198.18.1.0/24,198.18.3.0/24;eu=198.18.2.0/24"',
  },
  {
    name: "regions-file",
    type: "string",
    value: "FILE",
    help: 'regions as JSON ({"us": ["198.18.1.0/24"]}); re-read when it changes',
  },
  {
    name: "corefile-out",
    type: "string",
    value: "FILE",
    help: "write the Corefile here (again whenever the regions change)",
  },
  {
    name: "coredns-listen",
    type: "string",
    value: "HOST:PORT[,HOST:PORT]",
    help: "with --corefile-out: where CoreDNS answers (0.0.0.0 = every address)",
    default: "0.0.0.0:53",
  },
  {
    name: "coredns-zone",
    type: "string",
    value: "NAME",
    help: "with --corefile-out: the zone CoreDNS serves (default: --zone)",
  },
  {
    name: "coredns-etcd",
    type: "string",
    value: "URL[,URL...]",
    help: "with --corefile-out: etcd URLs CoreDNS uses (default: --etcd)",
  },
  {
    name: "coredns-cache",
    type: "number",
    value: "SECONDS",
    help: "with --corefile-out: CoreDNS cache (default: --ttl; 0 = none)",
  },
  {
    name: "coredns-health",
    type: "string",
    value: "HOST:PORT",
    help: "with --corefile-out: CoreDNS health endpoint (keepalived checks it)",
    default: "127.0.0.1:18053",
  },
  {
    name: "coredns-ready",
    type: "string",
    value: "HOST:PORT",
    help: "with --corefile-out: CoreDNS readiness endpoint",
    default: "127.0.0.1:18054",
  },
  {
    name: "coredns-metrics",
    type: "string",
    value: "HOST:PORT",
    help: "with --corefile-out: CoreDNS Prometheus endpoint",
    default: "127.0.0.1:19153",
  },
  {
    name: "coredns-reload",
    type: "string",
    value: "DURATION",
    help: "with --corefile-out: how often CoreDNS checks the Corefile (min 2s)",
    default: "2s",
  },
  {
    name: "coredns-log",
    type: "boolean",
    help: "with --corefile-out: CoreDNS logs every query",
    default: false,
  },
  {
    name: "sync-seconds",
    type: "number",
    value: "SECONDS",
    help: "full reconcile every this often (safety net)",
    default: 30,
  },
  {
    name: "etcd-timeout",
    type: "number",
    value: "SECONDS",
    help: "deadline of each etcd call",
    default: 5,
  },
  {
    name: "admin-listen",
    type: "string",
    value: "HOST:PORT",
    help: "/healthz, /status, /metrics",
    default: "127.0.0.1:9390",
  },
  ...COMMON_FLAGS,
];

function splitList(value: unknown): string[] {
  return typeof value === "string"
    ? value.split(",").map((s) => s.trim()).filter((s) => s !== "")
    : [];
}

interface Settings {
  readonly fleet: FleetOptions;
  readonly groups: string[] | null;
  readonly etcd: string[];
  readonly syncMs: number;
  readonly etcdTimeoutMs: number;
  readonly adminListen: { host: string; port: number };
  readonly corefile: { out: string; spec: (regions: readonly RegionSpec[]) => CorefileSpec } | null;
}

function usage(message: string): never {
  usageError("dns", DNS_FLAGS, message);
}

/** Parses and checks every flag that does not need a connection. */
function settings(flags: FlagValues): Settings {
  if (typeof flags.zone !== "string") usage("--zone NAME is required (e.g. api.example.com)");
  const etcd = splitList(flags.etcd);
  if (etcd.length === 0) usage("--etcd URL is required (e.g. http://127.0.0.1:2379)");
  for (const url of etcd) {
    if (!/^https?:\/\/[^/\s]+:\d{1,5}$/.test(url)) {
      usage(`--etcd ${url}: must be http(s)://HOST:PORT`);
    }
  }
  const groups = splitList(flags.group);
  for (const g of groups) if (!isValidNodeName(g)) usage(`--group ${JSON.stringify(g)} is invalid`);
  const metric = String(flags["load-metric"]) as LoadMetric;
  if (!LOAD_METRICS.includes(metric)) {
    usage(`--load-metric must be one of ${LOAD_METRICS.join(", ")}`);
  }
  let weights: Map<string, number> | undefined;
  try {
    if (typeof flags.weights === "string") weights = parseWeights(flags.weights);
  } catch (e) {
    usage(`--weights: ${(e as Error).message}`);
  }
  const fleet: FleetOptions = {
    zone: flags.zone,
    ...(weights ? { weights } : {}),
    prefix: String(flags.prefix),
    ttl: Number(flags.ttl),
    priority: Number(flags.priority),
    weight: Number(flags.weight),
    weightByLoad: flags["weight-by-load"] === true
      ? {
        metric,
        capacity: flags["load-capacity"] === undefined
          ? DEFAULT_LOAD_CAPACITY[metric]
          : Number(flags["load-capacity"]),
      }
      : null,
  };
  const issues = fleetOptionIssues(fleet);
  if (issues.length > 0) usage(issues.map((i) => `--${i}`).join("; "));
  const syncSeconds = Number(flags["sync-seconds"]);
  if (!(syncSeconds >= 1 && syncSeconds <= 86400)) usage("--sync-seconds must be 1-86400");
  const etcdTimeout = Number(flags["etcd-timeout"]);
  if (!(etcdTimeout > 0 && etcdTimeout <= 600)) usage("--etcd-timeout must be 0-600 seconds");
  let adminListen;
  try {
    adminListen = parseListen("admin-listen", String(flags["admin-listen"]));
  } catch (e) {
    usage((e as Error).message);
  }
  if (flags.regions !== undefined && flags["regions-file"] !== undefined) {
    usage("give --regions or --regions-file, not both");
  }
  let corefile: Settings["corefile"] = null;
  if (typeof flags["corefile-out"] === "string") {
    let listen: CoreDnsListen;
    try {
      listen = parseCoreDnsListen(String(flags["coredns-listen"]));
    } catch (e) {
      usage(`--coredns-listen: ${(e as Error).message}`);
    }
    const cache = flags["coredns-cache"] === undefined ? fleet.ttl : Number(flags["coredns-cache"]);
    const coreEtcd = flags["coredns-etcd"] === undefined ? etcd : splitList(flags["coredns-etcd"]);
    const spec = (regions: readonly RegionSpec[]): CorefileSpec => ({
      zone: String(flags["coredns-zone"] ?? flags.zone),
      etcdEndpoints: coreEtcd,
      pathPrefix: String(flags.prefix),
      port: listen.port,
      ...(listen.bind === null ? {} : { bind: listen.bind }),
      cacheTtl: cache,
      health: String(flags["coredns-health"]),
      ready: String(flags["coredns-ready"]),
      prometheus: String(flags["coredns-metrics"]),
      reload: String(flags["coredns-reload"]),
      log: flags["coredns-log"] === true,
      regions,
    });
    corefile = { out: flags["corefile-out"], spec };
  }
  return {
    fleet: { ...fleet, zone: normalizeZone(fleet.zone), prefix: normalizePrefix(fleet.prefix) },
    groups: groups.length > 0 ? groups : null,
    etcd,
    syncMs: syncSeconds * 1000,
    etcdTimeoutMs: etcdTimeout * 1000,
    adminListen,
    corefile,
  };
}

/** Runs the dns role. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseRoleFlags("dns", SUMMARY, foldRepeated(argv, "group"), DNS_FLAGS);
  const id = String(flags.id ?? `dns-${os.hostname()}-${process.pid}`);
  if (!isValidNodeName(id)) usage(`--id ${JSON.stringify(id)} is not a valid node name`);
  const log = roleLogger("dns", id, String(flags["log-level"]));
  let connect;
  try {
    connect = zkConnectOptions(flags, env);
  } catch (e) {
    usage((e as Error).message);
  }
  const s = settings(flags);
  const regionsFile = typeof flags["regions-file"] === "string" ? flags["regions-file"] : null;
  let regions: RegionSpec[] = [];
  try {
    if (typeof flags.regions === "string") regions = parseRegionsFlag(flags.regions);
    if (regionsFile !== null) {
      regions = parseRegionsJson(fs.readFileSync(regionsFile, "utf8"));
    }
  } catch (e) {
    usage(`${regionsFile === null ? "--regions" : regionsFile}: ${(e as Error).message}`);
  }

  const startedAt = Date.now();
  let controller: DnsController | null = null;
  const metrics = new DnsMetrics(() => controller?.status() ?? null);
  addProcessMetrics(metrics.registry, startedAt);

  // The Corefile first: CoreDNS can start before ZooKeeper or etcd answer.
  const keeper = new CorefileKeeper({
    out: s.corefile?.out ?? null,
    spec: s.corefile?.spec ?? null,
    regionsFile,
    regions,
    log,
    onWrite: () => metrics.corefileWritten(),
    onRegionsError: () => metrics.error("regions"),
  });
  try {
    keeper.write();
  } catch (e) {
    usage(`cannot render the Corefile: ${(e as Error).message}`);
  }
  keeper.follow();

  let stopping = false;
  const admin = await listenOrExit("dns", () =>
    serve(
      dnsAdminApp(
        () => controller?.status() ?? null,
        () => controller?.health() ?? null,
        metrics.registry,
        {
          runtime: runtimeVersion(),
          startedAt,
          zk: connect.connectionString,
          etcd: s.etcd,
          extra: () => keeper.status(),
          stopping: () => stopping,
        },
      ).fetch,
      { hostname: s.adminListen.host, port: s.adminListen.port },
    ));

  const kv = new EtcdRecordStore({ endpoints: s.etcd, timeoutMs: s.etcdTimeoutMs });
  let store: CoordinationStore | null = null;
  for (let attempt = 0; store === null && !stopping; attempt++) {
    try {
      store = await connectStore({ ...connect, connectTimeoutMs: 10_000 });
    } catch (e) {
      metrics.error("zookeeper");
      log.warn("cannot reach ZooKeeper yet", { error: String(e) });
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
  const zk = store!;
  zk.onSession((e) => {
    if (e.type === "disconnected") log.warn("ZooKeeper connection lost; not writing until back");
    if (e.type === "expired") log.warn("ZooKeeper session expired");
    if (e.type === "connected") {
      log.info("ZooKeeper connected", { session: e.session.id, new_session: e.newSession });
    }
  });
  controller = new DnsController({
    store: zk,
    kv,
    fleet: s.fleet,
    groups: s.groups,
    id,
    log,
    electionPath: `${DNS_ROOT}/election/${s.fleet.zone}`,
    ...(connect.digest ? { acl: writerOnlyAcl(connect.digest) } : {}),
    syncMs: s.syncMs,
    hooks: metrics.hooks,
  });
  controller.start();
  const registration = new InstanceRegistration({
    store: zk,
    role: "dns",
    id,
    log,
    acl: connect.digest ? writerOnlyAcl(connect.digest) : null,
    data: () => ({
      admin: `${s.adminListen.host}:${admin.port}`,
      zone: s.fleet.zone,
      runtime: runtimeVersion(),
      pid: process.pid,
    }),
  });
  registration.start();
  log.info("dns role started", {
    zone: s.fleet.zone,
    prefix: s.fleet.prefix,
    groups: s.groups ?? "all",
    etcd: s.etcd,
    zk: connect.connectionString,
    admin: `${s.adminListen.host}:${admin.port}`,
    corefile: s.corefile?.out ?? null,
    regions: keeper.regions.map((r) => r.name),
    weight_by_load: s.fleet.weightByLoad ?? false,
    runtime: runtimeVersion(),
  });

  onShutdownSignal(async (signal) => {
    log.info("shutting down", { signal });
    stopping = true;
    keeper.stop();
    await registration.stop();
    await controller?.stop();
    await zk.close();
    await kv.close();
    await admin.shutdown();
    log.info("stopped");
  });
}

/** The dns role's definition for the roles dispatcher. */
export const role: RoleDefinition = { name: "dns", summary: SUMMARY, flags: DNS_FLAGS, main };

if (import.meta.main) await main(args());
