/**
 * The proxy role: serves one group's traffic on `--listen`, with its config
 * from a watched file (`--config`, the embedded default) or from ZooKeeper
 * (`--zk`, `/lb-configs/<group>`, pushed by a watch), and `/healthz`,
 * `/status`, `/metrics` on `--admin-listen`. With `--tls-listen`, the same
 * traffic is also served over TLS, with certificates from `--tls-cert` /
 * `--tls-key` files and, with `--zk`, from ZooKeeper (`--tls-cert-zk NAME`),
 * reloaded when they change.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
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
import { connectWithBackoff, zkConnectOptions } from "../lib/cli/zk.ts";
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
import type { ConnectOptions, CoordinationStore } from "../lib/store/types.ts";
import { LoadReporter } from "../lib/proxy/load_reporter.ts";
import type { TlsListenerOptions } from "../lib/proxy/tls_termination.ts";
import type { CertificateSource } from "../lib/tls/certificate_source.ts";
import { ChainedCertificateSource } from "../lib/tls/chained_certificate_source.ts";
import { FileCertificateSource } from "../lib/tls/file_certificate_source.ts";
import { ZkCertificateSourceAdapter } from "../lib/tls/zk_certificate_source_adapter.ts";
import { tlsPlan } from "../lib/tls/tls_flags.ts";

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
  {
    name: "tls-listen",
    type: "string",
    value: "HOST:PORT",
    help: "also serve HTTPS here (same groups and routes as --listen; needs --tls-cert and " +
      "--tls-key, or --tls-cert-zk)",
  },
  {
    name: "tls-cert",
    type: "string",
    value: "FILE",
    repeatable: true,
    help: "PEM certificate chain (leaf first), paired in order with --tls-key; the first pair is " +
      "the default, SNI picks among them; reloaded when the file changes",
  },
  {
    name: "tls-key",
    type: "string",
    value: "FILE",
    repeatable: true,
    help: "PEM private key of the --tls-cert in the same position",
  },
  {
    name: "tls-cert-zk",
    type: "string",
    value: "NAME",
    repeatable: true,
    help: "with --zk: the certificate stored at /switchyard/certs/NAME (read with --zk-auth, the " +
      "proxy identity); after the --tls-cert pairs, in flag order (the first of all is the " +
      "default); reloaded when the node changes",
  },
  {
    name: "tls-client-ca",
    type: "string",
    value: "FILE",
    help: "PEM CA bundle for client certificates (mTLS); the verified subject goes upstream in " +
      "X-Client-Cert-Subject",
  },
  {
    name: "tls-client-auth",
    type: "string",
    value: "optional|require",
    help: "with --tls-client-ca: whether a client certificate is required (default: require)",
  },
  {
    name: "hsts",
    type: "string",
    value: "VALUE",
    help: "Strict-Transport-Security value added to responses on TLS connections only " +
      "(e.g. 'max-age=31536000; includeSubDomains')",
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
  const { tls, zkCertificates } = tlsOptions(flags, log);
  // --workers N: this process supervises N workers sharing the port (SO_REUSEPORT)
  if (await superviseWorkers(flags, log)) return;
  const setup: Setup = {
    flags,
    id,
    log,
    listen,
    adminListen,
    healthFlag: flags["health-checks"] as boolean | undefined,
    accessLog: openAccessLog(flags, sample),
    tls,
    zkCertificates,
  };
  const listener = flags.listener === undefined ? null : String(flags.listener);
  const started = listener !== null
    ? flags.zk !== undefined
      ? await startListenerZk(setup, listener)
      : await startListenerFile(setup, listener)
    : flags.zk !== undefined
    ? await startZk(setup)
    : await startFile(setup);
  onShutdownSignal(async (signal) => {
    log.info("shutting down", { signal, drain_seconds: drainMs / 1000 });
    await started.stop(drainMs);
    log.info("stopped");
  });
}

/** What every way of starting a proxy reads from the command line. */
interface Setup {
  readonly flags: FlagValues;
  readonly id: string;
  readonly log: Logger;
  readonly listen: Listen;
  readonly adminListen: Listen;
  /** `--health-checks` / `--no-health-checks`, or undefined for automatic. */
  readonly healthFlag: boolean | undefined;
  readonly accessLog: AccessLog | null;
  /** The TLS listener (`--tls-listen`), or null. */
  readonly tls: TlsListenerOptions | null;
  /** Its certificates in ZooKeeper (`--tls-cert-zk`), given the session once it is up; or null. */
  readonly zkCertificates: ZkCertificateSourceAdapter | null;
}

interface Started {
  stop(drainMs: number): Promise<void>;
}

type Listen = { host: string; port: number };

/** Listens (or exits) and logs where, with `facts` about what is served. */
async function listenOn(
  instance: ProxyInstance | ListenerInstance,
  s: Setup,
  facts: Record<string, unknown>,
): Promise<void> {
  // certificates that cannot be served are a start-up error naming the flag and file
  if (instance.tls) {
    try {
      await instance.tls.load();
    } catch (e) {
      await instance.shutdown(0);
      fatal("proxy", (e as Error).message);
    }
  }
  const bound = await listenOrExit("proxy", () => instance.start(s.listen, s.adminListen));
  s.log.info("proxy listening", {
    ...facts,
    listen: `${s.listen.host}:${bound.port}`,
    ...(s.tls ? { tls_listen: `${s.tls.listen.host}:${bound.tlsPort}` } : {}),
    admin: `${s.adminListen.host}:${bound.adminPort}`,
    runtime: runtimeVersion(),
  });
}

/** The facts a group proxy logs once listening. */
function groupFacts(instance: ProxyInstance, source: string): Record<string, unknown> {
  const snap = instance.state.snapshot;
  return {
    group: instance.options.group,
    backends: snap?.backends.length ?? 0,
    algorithm: snap?.config.algorithm,
    source,
  };
}

/** Embedded mode: a watched config file. */
async function startFile(s: Setup): Promise<Started> {
  const { flags, id, log } = s;
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
    accessLog: s.accessLog,
    tls: s.tls,
  });
  source.start(deliverTo(instance)); // applies the file's config now, then every edit
  instance.setProbing(s.healthFlag !== false);
  await listenOn(instance, s, groupFacts(instance, "file"));
  return {
    async stop(drainMs) {
      await source.stop();
      await instance.shutdown(drainMs);
    },
  };
}

/** A listener's routes and groups from a watched two-section config file. */
async function startListenerFile(s: Setup, listener: string): Promise<Started> {
  const opened = FileListenerSource.open(String(s.flags.config), listener, s.log);
  if (!opened.ok) fatal("proxy", opened.message);
  const source = opened.source;
  const instance = new ListenerInstance({
    id: s.id,
    listener,
    log: s.log,
    source: source.description,
    accessLog: s.accessLog,
    tls: s.tls,
  });
  source.start((update) => void instance.applyFile(update));
  instance.setProbing(s.healthFlag !== false);
  await listenOn(instance, s, listenerFacts(instance, "file"));
  return {
    async stop(drainMs) {
      await source.stop();
      await instance.shutdown(drainMs);
    },
  };
}

/** The facts a listener proxy logs once listening. */
function listenerFacts(instance: ListenerInstance, source: string): Record<string, unknown> {
  return {
    listener: instance.options.listener,
    routes: instance.runtime.config?.routes.length ?? 0,
    groups: [...instance.runtime.referenced],
    source,
  };
}

/** The ZooKeeper side's common setup: connect options and the state directory. */
function zkSetup(s: Setup): { connect: ConnectOptions; stateDir: string } {
  try {
    return {
      connect: zkConnectOptions(s.flags, env),
      stateDir: env("SWITCHYARD_STATE_DIR") ?? path.join(REPO_ROOT, ".state"),
    };
  } catch (e) {
    usageError("proxy", PROXY_FLAGS, (e as Error).message);
  }
}

/** The address a proxy registers: `--advertise`, else where it listens (warned when unroutable). */
function advertised(s: Setup, listenAddress: string): string {
  const advertise = String(s.flags.advertise ?? "");
  const address = advertise || listenAddress;
  if (!advertise && (s.listen.host === "0.0.0.0" || s.listen.host === "::")) {
    s.log.warn(
      "listening on every address without --advertise: the registered address " +
        `${address} is not routable; DNS discovery will skip this proxy`,
    );
  }
  return address;
}

/** The registration data every proxy publishes (the caller adds what it serves). */
function registrationData(
  s: Setup,
  address: string,
  startedAt: number,
  load: LoadReporter,
): Record<string, unknown> {
  return {
    id: s.id,
    address,
    admin: `${s.adminListen.host}:${s.adminListen.port}`,
    region: s.flags.region === undefined ? null : String(s.flags.region),
    runtime: runtimeVersion(),
    pid: process.pid,
    started_at: new Date(startedAt).toISOString(),
    load: load.current(),
  };
}

/** The ZooKeeper side of a running proxy, for {@link stopZk}. */
interface ZkSide {
  readonly source: { deregister(): Promise<void>; stop(): Promise<void> } | null;
  readonly store: CoordinationStore | null;
  readonly connecting: Promise<void>;
}

/**
 * Stops a ZooKeeper proxy: leaves its registration first and waits
 * `--deregister-seconds` (DNS stops sending clients), then stops the watches,
 * drains, and closes the session.
 */
async function stopZk(
  s: Setup,
  side: () => ZkSide,
  instance: { shutdown(drainMs: number): Promise<void> },
  drainMs: number,
): Promise<void> {
  const wait = Number(s.flags["deregister-seconds"]) * 1000;
  const { source } = side();
  if (source && wait > 0) {
    await source.deregister();
    s.log.info("deregistered; waiting before draining", { seconds: wait / 1000 });
    await new Promise((r) => setTimeout(r, wait));
  }
  await source?.stop();
  await instance.shutdown(drainMs);
  await side().store?.close();
  await side().connecting;
}

/**
 * A listener's routes and groups from ZooKeeper (`/lb-routes/<listener>`,
 * `/lb-configs/<group>`), with local snapshots for outages.
 */
async function startListenerZk(s: Setup, listener: string): Promise<Started> {
  const { flags, id, log } = s;
  const { connect, stateDir } = zkSetup(s);
  const snapshotDir = flags["snapshot-file"] === undefined
    ? path.join(stateDir, "snapshots")
    : path.dirname(String(flags["snapshot-file"]));
  let source: ZkListenerSource | null = null;
  const instance = new ListenerInstance({
    id,
    listener,
    log,
    accessLog: s.accessLog,
    tls: s.tls,
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
    if (instance.runtime.applyListener(local.snapshot.version, local.snapshot.blob).ok) {
      log.info("serving the local snapshot until ZooKeeper answers", {
        listener,
        version: local.snapshot.version,
      });
    }
  }
  instance.setProbing(s.healthFlag !== false);
  let store: CoordinationStore | null = null;
  let stopped = false;
  const session = openSession(s, connect, () => stopped, { listener });
  await listenOn(instance, s, listenerFacts(instance, "zookeeper"));
  const address = advertised(s, instance.listenAddress);
  const load = new LoadReporter(() => instance.load(), () => source?.refreshRegistration());
  const connecting = (async () => {
    store = await session;
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
        if (s.healthFlag !== undefined) return;
        instance.setProbing(!present);
        if (present) {
          for (const group of instance.runtime.groups.keys()) {
            instance.setExternalHealth(group, source?.unhealthy(group) ?? new Set());
          }
        }
      },
      acl: connect.digest ? writerOnlyAcl(connect.digest) : null,
      // with --workers, one registration per proxy address: worker 0's
      registration: (workerIndex() ?? 0) !== 0 ? null : {
        id,
        data: () => ({
          ...registrationData(s, address, instance.startedAt, load),
          group: listener,
          listener,
          groups: [...instance.runtime.referenced],
          config_version: instance.runtime.version,
        }),
      },
    });
    if (s.healthFlag === false) instance.setProbing(false);
    source.start();
  })();
  return {
    async stop(drainMs) {
      stopped = true;
      load.stop();
      await stopZk(s, () => ({ source, store, connecting }), instance, drainMs);
    },
  };
}

/** Fleet mode: configs and health from ZooKeeper, a local snapshot for outages. */
async function startZk(s: Setup): Promise<Started> {
  const { flags, id, log } = s;
  if (flags.group === undefined) usageError("proxy", PROXY_FLAGS, "--zk needs --group NAME");
  const group = String(flags.group);
  const { connect, stateDir } = zkSetup(s);
  const snapshotFile = String(
    flags["snapshot-file"] ?? path.join(stateDir, "snapshots", `${group}.json`),
  );
  let source: ZkProxySource | null = null;
  const instance = new ProxyInstance({
    id,
    group,
    log,
    accessLog: s.accessLog,
    tls: s.tls,
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
  instance.setProbing(s.healthFlag !== false);
  let store: CoordinationStore | null = null;
  let stopped = false;
  const session = openSession(s, connect, () => stopped, { snapshot: local.snapshot !== null });
  await listenOn(instance, s, groupFacts(instance, "zookeeper"));
  const address = advertised(s, instance.listenAddress);

  const load = new LoadReporter(() => instance.load(), () => source?.refreshRegistration());
  const connecting = (async () => {
    store = await session;
    if (stopped || !store) return;
    source = new ZkProxySource({
      store,
      group,
      onUnhealthy: (unhealthy) => instance.setExternalHealth(unhealthy),
      log,
      resyncMs: Number(flags["resync-seconds"]) * 1000,
      snapshotFile,
      onOrchestrator: (present) => {
        if (s.healthFlag !== undefined) return;
        instance.setProbing(!present);
        if (present) instance.setExternalHealth(source?.unhealthy ?? new Set());
      },
      acl: connect.digest ? writerOnlyAcl(connect.digest) : null,
      // with --workers, one registration per proxy address: worker 0's
      registration: (workerIndex() ?? 0) !== 0 ? null : {
        id,
        data: () => ({
          ...registrationData(s, address, instance.startedAt, load),
          group,
          config_version: instance.state.snapshot?.version ?? null,
        }),
      },
    });
    if (s.healthFlag === false) instance.setProbing(false);
    source.start(deliverTo(instance));
  })();
  return {
    async stop(drainMs) {
      stopped = true;
      load.stop();
      await stopZk(s, () => ({ source, store, connecting }), instance, drainMs);
    },
  };
}

/**
 * Connects to ZooKeeper (retrying with backoff until `stopped`). It starts before the proxy
 * listens: its certificates in ZooKeeper (`--tls-cert-zk`) are read over this session before the
 * TLS listener opens.
 */
function openSession(
  s: Setup,
  connect: ConnectOptions,
  stopped: () => boolean,
  context: Record<string, unknown>,
): Promise<CoordinationStore | null> {
  const session = connectWithBackoff(connect, s.log, stopped, context);
  const certificates = s.zkCertificates;
  if (certificates !== null) void session.then((store) => store && certificates.use(store));
  return session;
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

/**
 * The TLS listener the `--tls-*` flags ask for (null without `--tls-listen`):
 * a usage error (exit 2) naming the flag for inconsistent flags, a start-up
 * error (exit 1) for a client CA file that cannot be read. The certificate
 * files and ZooKeeper certificates themselves are read and checked when the
 * proxy starts; the ZooKeeper ones (`zkCertificates`) once given the session.
 */
function tlsOptions(
  flags: FlagValues,
  log: Logger,
): { tls: TlsListenerOptions | null; zkCertificates: ZkCertificateSourceAdapter | null } {
  let plan;
  try {
    plan = tlsPlan(flags);
  } catch (e) {
    usageError("proxy", PROXY_FLAGS, (e as Error).message);
  }
  if (plan === null) return { tls: null, zkCertificates: null };
  let clientCaPem: string | null = null;
  if (plan.clientCaFile !== null) {
    try {
      clientCaPem = fs.readFileSync(plan.clientCaFile, "utf8");
    } catch (e) {
      fatal("proxy", `--tls-client-ca ${plan.clientCaFile}: cannot read: ${(e as Error).message}`);
    }
    const blocks = clientCaPem.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    );
    if (blocks === null) {
      fatal("proxy", `--tls-client-ca ${plan.clientCaFile}: no PEM certificate found`);
    }
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (e) {
        fatal("proxy", `--tls-client-ca ${plan.clientCaFile}: ${(e as Error).message}`);
      }
    }
  }
  const zkCertificates = plan.zkCertificates.length === 0 ? null : new ZkCertificateSourceAdapter({
    names: plan.zkCertificates,
    log,
    resyncMs: Number(flags["resync-seconds"]) * 1000,
    firstAnswerMs: FIRST_CERTIFICATE_ANSWER_MS,
  });
  // file pairs first, then the ZooKeeper certificates: the first of all is the default
  const sources: CertificateSource[] = [];
  if (plan.pairs.length > 0) sources.push(new FileCertificateSource(plan.pairs, log));
  if (zkCertificates !== null) sources.push(zkCertificates);
  return {
    tls: {
      listen: plan.listen,
      source: sources.length === 1 ? sources[0]! : new ChainedCertificateSource(sources),
      clientAuth: plan.clientAuth,
      clientCaPem,
      hsts: plan.hsts,
    },
    zkCertificates,
  };
}

/**
 * How long the proxy's start waits for ZooKeeper's first answer about each `--tls-cert-zk`
 * certificate (connecting included) before giving up with exit 1, naming it.
 */
const FIRST_CERTIFICATE_ANSWER_MS = 30_000;

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
