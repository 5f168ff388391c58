/**
 * The proxy role: serves one group's traffic on `--listen`, with its config
 * from a watched file (`--config`, the embedded default) or from ZooKeeper
 * (`--zk`, `/lb-configs/<group>`, pushed by a watch), and `/healthz`,
 * `/status`, `/metrics` on `--admin-listen`.
 *
 * @module
 */
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { type FlagSpec, type FlagValues, parseListen } from "../lib/cli/flags.ts";
import {
  COMMON_FLAGS,
  fatal,
  listenOrExit,
  parseRoleFlags,
  type RoleDefinition,
  roleLogger,
  usageError,
  ZK_FLAGS,
} from "../lib/cli/role.ts";
import { zkConnectOptions } from "../lib/cli/zk.ts";
import type { Logger } from "../lib/log.ts";
import { ProxyInstance } from "../lib/proxy/instance.ts";
import { AccessLog } from "../lib/proxy/access_log.ts";
import { superviseWorkers, workerIndex, WORKERS_FLAG } from "../lib/proxy/workers.ts";
import { args, env, onShutdownSignal } from "../lib/runtime/process.ts";
import { REPO_ROOT } from "../lib/runtime/role_command.ts";
import { runtimeVersion } from "../lib/runtime/serve.ts";
import { type ConfigSource, deliverTo } from "../lib/source/config_source.ts";
import { FileGroupSource, FileListenerSource } from "../lib/source/file.ts";
import { ListenerInstance, referencedGroups } from "../lib/proxy/listener_instance.ts";
import { listenerSnapshotFile, ZkListenerSource } from "../lib/source/zk_listener_source.ts";
import { readSnapshot } from "../lib/source/snapshot_file.ts";
import { ZkProxySource } from "../lib/source/zookeeper.ts";
import { writerOnlyAcl } from "../lib/store/acl.ts";
import { connectStore } from "../lib/store/mod.ts";
import type { CoordinationStore } from "../lib/store/types.ts";

const SUMMARY = "L7 HTTP proxy for one group, balancing over its backends";

/** The proxy's flags. */
export const PROXY_FLAGS: readonly FlagSpec[] = [
  {
    name: "config",
    type: "string",
    value: "FILE",
    help: "JSON config file (group name -> config blob), watched for edits (embedded mode)",
  },
  ...ZK_FLAGS,
  {
    name: "group",
    type: "string",
    value: "NAME",
    help: "group to serve (with --config, may be omitted when the file has one group)",
  },
  {
    name: "listener",
    type: "string",
    value: "NAME",
    help: "serve a listener's routes over many groups (with --zk: /lb-routes/NAME; with " +
      '--config: the file\'s "listeners" section) instead of one --group',
  },
  {
    name: "listen",
    type: "string",
    value: "HOST:PORT",
    help: "where clients connect",
    default: "127.0.0.1:8080",
  },
  {
    name: "admin-listen",
    type: "string",
    value: "HOST:PORT",
    help: "/healthz, /status, /metrics",
    default: "127.0.0.1:9090",
  },
  {
    name: "health-checks",
    type: "boolean",
    help: "probe backends from this proxy; default: yes with --config, and with --zk only " +
      "while no orchestrator is running (--no-health-checks: always use the orchestrator's)",
  },
  {
    name: "drain-seconds",
    type: "number",
    value: "SECONDS",
    help: "on SIGTERM, how long in-flight requests may take",
    default: 10,
  },
  {
    name: "snapshot-file",
    type: "string",
    value: "FILE",
    help: "with --zk: local copy of the last good config, served when ZooKeeper is unreachable " +
      "(default: $SWITCHYARD_STATE_DIR or .state, /snapshots/<group>.json)",
  },
  {
    name: "resync-seconds",
    type: "number",
    value: "SECONDS",
    help: "with --zk: safety-net re-read of the config node",
    default: 30,
  },
  {
    name: "region",
    type: "string",
    value: "NAME",
    help: "with --zk: region published in this proxy's registration (DNS routing)",
  },
  {
    name: "deregister-seconds",
    type: "number",
    value: "SECONDS",
    help: "with --zk: on SIGTERM, leave the registration (DNS) this long before draining " +
      "(set it to the DNS TTL so clients stop resolving this proxy first)",
    default: 0,
  },
  {
    name: "advertise",
    type: "string",
    value: "HOST:PORT",
    help: "with --zk: address clients use to reach this proxy (default: --listen)",
  },
  {
    name: "access-log",
    type: "string",
    value: "FILE",
    help: "write a JSON access log line per (sampled) request to FILE (appended), or - for stdout",
  },
  {
    name: "access-log-sample",
    type: "number",
    value: "RATE",
    help: "with --access-log: the share of requests logged, 0 to 1",
    default: 1,
  },
  WORKERS_FLAG,
  ...COMMON_FLAGS,
];

/** Runs the proxy role. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseRoleFlags("proxy", SUMMARY, argv, PROXY_FLAGS);
  const id = String(flags.id ?? `proxy-${os.hostname()}-${process.pid}`);
  const log = roleLogger("proxy", id, String(flags["log-level"]));
  const listen = listenFlag("listen", String(flags.listen));
  const adminListen = listenFlag("admin-listen", String(flags["admin-listen"]));
  const drainMs = Number(flags["drain-seconds"]) * 1000;
  const healthFlag = flags["health-checks"] as boolean | undefined;
  if ((flags.config === undefined) === (flags.zk === undefined)) {
    usageError("proxy", PROXY_FLAGS, "give exactly one of --config FILE or --zk HOST:PORT");
  }
  if (flags.listener !== undefined && flags.group !== undefined) {
    usageError("proxy", PROXY_FLAGS, "give --listener NAME or --group NAME, not both");
  }
  const sample = Number(flags["access-log-sample"]);
  if (!(sample >= 0 && sample <= 1)) {
    usageError("proxy", PROXY_FLAGS, `--access-log-sample must be from 0 to 1 (got ${sample})`);
  }
  // --workers N: this process supervises N workers sharing the port (SO_REUSEPORT)
  if (await superviseWorkers(flags, log)) return;
  const accessLog = openAccessLog(flags, sample);
  const listener = flags.listener === undefined ? null : String(flags.listener);
  const started = listener !== null
    ? flags.zk !== undefined
      ? await startListenerZk(flags, id, listener, log, listen, adminListen, healthFlag, accessLog)
      : await startListenerFile(
        flags,
        id,
        listener,
        log,
        listen,
        adminListen,
        healthFlag,
        accessLog,
      )
    : flags.zk !== undefined
    ? await startZk(flags, id, log, listen, adminListen, healthFlag, accessLog)
    : await startFile(flags, id, log, listen, adminListen, healthFlag, accessLog);
  onShutdownSignal(async (signal) => {
    log.info("shutting down", { signal, drain_seconds: drainMs / 1000 });
    await started.stop(drainMs);
    log.info("stopped");
  });
}

interface Started {
  stop(drainMs: number): Promise<void>;
}

type Listen = { host: string; port: number };

async function listenOn(
  instance: ProxyInstance,
  listen: Listen,
  adminListen: Listen,
  log: Logger,
  extra: Record<string, unknown>,
): Promise<void> {
  const bound = await listenOrExit("proxy", () => instance.start(listen, adminListen));
  const snap = instance.state.snapshot;
  log.info("proxy listening", {
    group: instance.options.group,
    listen: `${listen.host}:${bound.port}`,
    admin: `${adminListen.host}:${bound.adminPort}`,
    runtime: runtimeVersion(),
    backends: snap?.backends.length ?? 0,
    algorithm: snap?.config.algorithm,
    ...extra,
  });
}

/** Embedded mode: a watched config file. */
async function startFile(
  flags: FlagValues,
  id: string,
  log: Logger,
  listen: Listen,
  adminListen: Listen,
  healthFlag: boolean | undefined,
  accessLog: AccessLog | null,
): Promise<Started> {
  const opened = FileGroupSource.open(
    String(flags.config),
    flags.group === undefined ? undefined : String(flags.group),
    log,
  );
  if (!opened.ok) fatal("proxy", opened.message);
  const source: ConfigSource = opened.source;
  const instance = new ProxyInstance({
    id,
    group: opened.source.group,
    log,
    source: source.description,
    accessLog,
  });
  source.start(deliverTo(instance)); // applies the file's config now, then every edit
  instance.setProbing(healthFlag !== false);
  await listenOn(instance, listen, adminListen, log, { source: "file" });
  return {
    async stop(drainMs) {
      await source.stop();
      await instance.shutdown(drainMs);
    },
  };
}

/** A listener's routes and groups from a watched two-section config file. */
async function startListenerFile(
  flags: FlagValues,
  id: string,
  listener: string,
  log: Logger,
  listen: Listen,
  adminListen: Listen,
  healthFlag: boolean | undefined,
  accessLog: AccessLog | null,
): Promise<Started> {
  const opened = FileListenerSource.open(String(flags.config), listener, log);
  if (!opened.ok) fatal("proxy", opened.message);
  const source = opened.source;
  const instance = new ListenerInstance({
    id,
    listener,
    log,
    source: source.description,
    accessLog,
  });
  source.start((update) => void instance.applyFile(update));
  instance.setProbing(healthFlag !== false);
  const bound = await listenOrExit("proxy", () => instance.start(listen, adminListen));
  log.info("proxy listening", {
    listener,
    listen: `${listen.host}:${bound.port}`,
    admin: `${adminListen.host}:${bound.adminPort}`,
    runtime: runtimeVersion(),
    routes: instance.runtime.config?.routes.length ?? 0,
    groups: [...instance.runtime.referenced],
    source: "file",
  });
  return {
    async stop(drainMs) {
      await source.stop();
      await instance.shutdown(drainMs);
    },
  };
}

/**
 * A listener's routes and groups from ZooKeeper (`/lb-routes/<listener>`,
 * `/lb-configs/<group>`), with local snapshots for outages.
 */
async function startListenerZk(
  flags: FlagValues,
  id: string,
  listener: string,
  log: Logger,
  listen: Listen,
  adminListen: Listen,
  healthFlag: boolean | undefined,
  accessLog: AccessLog | null,
): Promise<Started> {
  let connect;
  try {
    connect = zkConnectOptions(flags, env);
  } catch (e) {
    usageError("proxy", PROXY_FLAGS, (e as Error).message);
  }
  const stateDir = env("SWITCHYARD_STATE_DIR") ?? path.join(REPO_ROOT, ".state");
  const snapshotDir = flags["snapshot-file"] === undefined
    ? path.join(stateDir, "snapshots")
    : path.dirname(String(flags["snapshot-file"]));
  let source: ZkListenerSource | null = null;
  const instance = new ListenerInstance({
    id,
    listener,
    log,
    accessLog,
    source: `zookeeper:${connect.connectionString}`,
    statusExtra: () => source?.status() ?? { zookeeper: { state: "connecting" } },
  });
  // Static stability: serve the last good routes and groups at once, whatever ZooKeeper does.
  const local = readSnapshot(listenerSnapshotFile(snapshotDir, listener), listener);
  if (local.snapshot) {
    for (const group of referencedGroups(local.snapshot.blob)) {
      const g = readSnapshot(path.join(snapshotDir, `${group}.json`), group);
      if (g.snapshot) {
        instance.runtime.applyGroup(group, g.snapshot.version, g.snapshot.blob);
        instance.setExternalHealth(group, new Set(g.snapshot.unhealthy));
      }
    }
    const r = instance.runtime.applyListener(local.snapshot.version, local.snapshot.blob);
    if (r.ok) {
      log.info("serving the local snapshot until ZooKeeper answers", {
        listener,
        version: local.snapshot.version,
      });
    }
  }
  instance.setProbing(healthFlag !== false);
  const advertise = String(flags.advertise ?? "");
  const region = flags.region === undefined ? null : String(flags.region);
  const bound = await listenOrExit("proxy", () => instance.start(listen, adminListen));
  log.info("proxy listening", {
    listener,
    listen: `${listen.host}:${bound.port}`,
    admin: `${adminListen.host}:${bound.adminPort}`,
    runtime: runtimeVersion(),
    source: "zookeeper",
  });
  const address = advertise || instance.listenAddress;
  let store: CoordinationStore | null = null;
  let stopped = false;
  const connecting = (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        store = await connectStore({ ...connect, connectTimeoutMs: 5000 });
        break;
      } catch (e) {
        log.warn("cannot reach ZooKeeper; serving the last good config", { error: String(e) });
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
      }
    }
    if (stopped || !store) return;
    source = new ZkListenerSource({
      store,
      listener,
      runtime: instance.runtime,
      log,
      resyncMs: Number(flags["resync-seconds"]) * 1000,
      snapshotDir,
      onUnhealthy: (group, unhealthy) => instance.setExternalHealth(group, unhealthy),
      onOrchestrator: (present) => {
        if (healthFlag !== undefined) return;
        instance.setProbing(!present);
        if (present) {
          for (const group of instance.runtime.groups.keys()) {
            instance.setExternalHealth(group, source?.unhealthy(group) ?? new Set());
          }
        }
      },
      acl: connect.digest ? writerOnlyAcl(connect.digest) : null,
      registration: (workerIndex() ?? 0) !== 0 ? null : {
        id,
        data: () => ({
          id,
          group: listener,
          listener,
          groups: [...instance.runtime.referenced],
          address,
          admin: `${adminListen.host}:${adminListen.port}`,
          region,
          runtime: runtimeVersion(),
          pid: process.pid,
          config_version: instance.runtime.version,
          started_at: new Date(instance.startedAt).toISOString(),
        }),
      },
    });
    if (healthFlag === false) instance.setProbing(false);
    source.start();
  })();
  return {
    async stop(drainMs) {
      stopped = true;
      const wait = Number(flags["deregister-seconds"]) * 1000;
      if (source && wait > 0) {
        await (source as ZkListenerSource).deregister();
        log.info("deregistered; waiting before draining", { seconds: wait / 1000 });
        await new Promise((r) => setTimeout(r, wait));
      }
      await (source as ZkListenerSource | null)?.stop();
      await instance.shutdown(drainMs);
      await (store as CoordinationStore | null)?.close();
      await connecting;
    },
  };
}

/** Fleet mode: configs and health from ZooKeeper, a local snapshot for outages. */
async function startZk(
  flags: FlagValues,
  id: string,
  log: Logger,
  listen: Listen,
  adminListen: Listen,
  healthFlag: boolean | undefined,
  accessLog: AccessLog | null,
): Promise<Started> {
  if (flags.group === undefined) usageError("proxy", PROXY_FLAGS, "--zk needs --group NAME");
  const group = String(flags.group);
  let connect;
  try {
    connect = zkConnectOptions(flags, env);
  } catch (e) {
    usageError("proxy", PROXY_FLAGS, (e as Error).message);
  }
  const stateDir = env("SWITCHYARD_STATE_DIR") ?? path.join(REPO_ROOT, ".state");
  const snapshotFile = String(
    flags["snapshot-file"] ?? path.join(stateDir, "snapshots", `${group}.json`),
  );
  let source: ZkProxySource | null = null;
  const instance = new ProxyInstance({
    id,
    group,
    log,
    accessLog,
    source: `zookeeper:${connect.connectionString}`,
    statusExtra: () => source?.status() ?? { zookeeper: { state: "connecting" } },
  });

  // Static stability: serve the last good config at once, whatever ZooKeeper does.
  const local = readSnapshot(snapshotFile, group);
  if (local.snapshot) {
    instance.applyBlob(local.snapshot.version, local.snapshot.blob);
    instance.setExternalHealth(new Set(local.snapshot.unhealthy));
    log.info("serving the local snapshot until ZooKeeper answers", {
      file: snapshotFile,
      version: local.snapshot.version,
    });
  }
  // Until we know whether an orchestrator runs, probe ourselves (unless told not to).
  instance.setProbing(healthFlag !== false);

  const advertise = String(flags.advertise ?? "");
  const region = flags.region === undefined ? null : String(flags.region);
  await listenOn(instance, listen, adminListen, log, { source: "zookeeper" });
  const address = advertise || instance.listenAddress;
  if (!advertise && (listen.host === "0.0.0.0" || listen.host === "::")) {
    log.warn(
      "listening on every address without --advertise: the registered address " +
        `${address} is not routable; DNS discovery will skip this proxy`,
    );
  }

  let store: CoordinationStore | null = null;
  let stopped = false;
  const connectLoop = async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        store = await connectStore({ ...connect, connectTimeoutMs: 5000 });
        break;
      } catch (e) {
        log.warn("cannot reach ZooKeeper; serving the last good config", {
          error: String(e),
          snapshot: local.snapshot !== null,
        });
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
      }
    }
    if (stopped || !store) return;
    source = new ZkProxySource({
      store,
      group,
      onUnhealthy: (unhealthy) => instance.setExternalHealth(unhealthy),
      log,
      resyncMs: Number(flags["resync-seconds"]) * 1000,
      snapshotFile,
      onOrchestrator: (present) => {
        if (healthFlag !== undefined) return;
        instance.setProbing(!present);
        if (present) instance.setExternalHealth(source?.unhealthy ?? new Set());
      },
      acl: connect.digest ? writerOnlyAcl(connect.digest) : null,
      // with --workers, one registration per proxy address: worker 0's
      registration: (workerIndex() ?? 0) !== 0 ? null : {
        id,
        data: () => ({
          id,
          group,
          address,
          admin: `${adminListen.host}:${adminListen.port}`,
          region,
          runtime: runtimeVersion(),
          pid: process.pid,
          config_version: instance.state.snapshot?.version ?? null,
          started_at: new Date(instance.startedAt).toISOString(),
          load: load.current(),
        }),
      },
    });
    if (healthFlag === false) instance.setProbing(false);
    source.start(deliverTo(instance));
  };
  const load = new LoadReporter(instance, () => source?.refreshRegistration());
  const connecting = connectLoop();
  return {
    async stop(drainMs) {
      stopped = true;
      load.stop();
      const wait = Number(flags["deregister-seconds"]) * 1000;
      if (source && wait > 0) {
        await source.deregister();
        log.info("deregistered; waiting before draining", { seconds: wait / 1000 });
        await new Promise((r) => setTimeout(r, wait));
      }
      await source?.stop();
      await instance.shutdown(drainMs);
      await (store as CoordinationStore | null)?.close();
      await connecting;
    },
  };
}

/**
 * Publishes this proxy's load in its registration: connections, in-flight
 * requests and CPU, sampled every 5 s and rewritten only when they moved
 * (by a tenth, or every 30 s), so a quiet fleet writes almost nothing.
 */
class LoadReporter {
  #last: Record<string, number> = { connections: 0, inflight: 0, cpu_percent: 0 };
  #written = 0;
  #cpu = process.cpuUsage();
  #at = performance.now();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(readonly instance: ProxyInstance, readonly publish: () => void) {
    this.#timer = setInterval(() => this.#sample(), 5000);
  }

  current(): Record<string, number> {
    return this.#last;
  }

  #sample(): void {
    const now = performance.now();
    const cpu = process.cpuUsage(this.#cpu);
    const busy = (cpu.user + cpu.system) / 1000 / Math.max(1, now - this.#at);
    this.#cpu = process.cpuUsage();
    this.#at = now;
    let inflight = 0;
    for (const b of this.instance.state.snapshot?.backends ?? []) inflight += b.counters.inflight;
    const next = {
      connections: this.instance.server.connectionCount,
      inflight,
      cpu_percent: Math.round(busy * 1000) / 10,
    };
    const prev = this.#last;
    const moved = (k: string) =>
      Math.abs((next as Record<string, number>)[k]! - prev[k]!) > Math.max(1, 0.1 * prev[k]!);
    const stale = now - this.#written > 30_000;
    this.#last = next;
    if (stale || moved("connections") || moved("inflight") || moved("cpu_percent")) {
      this.#written = now;
      this.publish();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The access log of `--access-log` (null without it); exits on a file it cannot open. */
function openAccessLog(flags: FlagValues, sample: number): AccessLog | null {
  if (flags["access-log"] === undefined) return null;
  const target = String(flags["access-log"]);
  try {
    return new AccessLog(target, sample);
  } catch (e) {
    fatal("proxy", `--access-log ${target}: ${(e as Error).message}`);
  }
}

function listenFlag(name: string, value: string): Listen {
  try {
    return parseListen(name, value);
  } catch (e) {
    usageError("proxy", PROXY_FLAGS, (e as Error).message);
  }
}

/** The proxy role's definition for the roles dispatcher. */
export const role: RoleDefinition = { name: "proxy", summary: SUMMARY, flags: PROXY_FLAGS, main };

if (import.meta.main) await main(args());
