/**
 * The orchestrator role: a member of the health-monitor cluster. Every process is a worker
 * (probes its share of the backends, writes health transitions to ZooKeeper); one, elected, is
 * also the master (splits the backends over the workers). See `lib/orchestrator/`.
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { type FlagSpec, parseListen } from "../lib/cli/flags.ts";
import {
  COMMON_FLAGS,
  fatal,
  listenOrExit,
  parseRoleFlags,
  type RoleDefinition,
  roleLogger,
  usageError,
  zkFlags,
} from "../lib/cli/role.ts";
import { zkConnectOptions } from "../lib/cli/zk.ts";
import { probe } from "../lib/health/probe.ts";
import { orchestratorAdminApp, OrchestratorMetrics } from "../lib/orchestrator/admin.ts";
import { OrchestratorNode } from "../lib/orchestrator/node.ts";
import { orchestratorAcls } from "../lib/orchestrator/paths.ts";
import { addProcessMetrics, args, env, onShutdownSignal } from "../lib/runtime/process.ts";
import { deferredHandler, runtimeVersion, serve } from "../lib/runtime/serve.ts";
import { isValidNodeName, WORKERS_PATH } from "../lib/store/layout.ts";
import { InstanceRegistration } from "../lib/source/instance_registry.ts";
import { writerOnlyAcl } from "../lib/store/acl.ts";
import { connectStore } from "../lib/store/mod.ts";
import { probeTlsFromDisk } from "../lib/tls/upstream_tls_load.ts";

const SUMMARY = "health-monitor cluster member: probes backends, writes health; one is master";

/** The orchestrator's flags. */
export const ORCHESTRATOR_FLAGS: readonly FlagSpec[] = [
  // 4 s (ZooKeeper's smallest with its default tickTime of 2 s): a dead master's or worker's
  // share of the backends goes unprobed until its session expires, so this bounds detection
  ...zkFlags(4),
  {
    name: "admin-listen",
    type: "string",
    value: "HOST:PORT",
    help: "/healthz, /status, /metrics",
    default: "127.0.0.1:9190",
  },
  {
    name: "max-concurrent-probes",
    type: "number",
    value: "N",
    help: "probes in flight at most (bounds sockets, fds and ephemeral ports)",
    default: 1024,
  },
  ...COMMON_FLAGS,
];

/** Runs the orchestrator role. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseRoleFlags("orchestrator", SUMMARY, argv, ORCHESTRATOR_FLAGS);
  const id = String(flags.id ?? `orchestrator-${os.hostname()}-${process.pid}`);
  if (!isValidNodeName(id)) {
    usageError(
      "orchestrator",
      ORCHESTRATOR_FLAGS,
      `--id ${JSON.stringify(id)} is not a valid node name`,
    );
  }
  const log = roleLogger("orchestrator", id, String(flags["log-level"]));
  let adminListen: { host: string; port: number };
  let connect;
  try {
    adminListen = parseListen("admin-listen", String(flags["admin-listen"]));
    connect = zkConnectOptions(flags, env);
  } catch (e) {
    usageError("orchestrator", ORCHESTRATOR_FLAGS, (e as Error).message);
  }
  const maxConcurrency = Number(flags["max-concurrent-probes"]);
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 100_000) {
    usageError("orchestrator", ORCHESTRATOR_FLAGS, "--max-concurrent-probes must be 1-100000");
  }
  const digest = typeof connect.digest === "string" ? connect.digest : undefined;
  const startedAt = Date.now();

  // Listen before ZooKeeper answers: a taken port is reported at once. Until the node exists,
  // the admin routes answer 503.
  const adminHandler = deferredHandler();
  const admin = await listenOrExit(
    "orchestrator",
    () => serve(adminHandler.handler, { hostname: adminListen.host, port: adminListen.port }),
  );

  const store = await connectStore(connect).catch((e) =>
    fatal(
      "orchestrator",
      `cannot connect to ZooKeeper ${connect.connectionString}: ${(e as Error).message}`,
    )
  );
  store.onSession((e) => {
    if (e.type === "disconnected") log.warn("ZooKeeper connection lost");
    if (e.type === "expired") log.warn("ZooKeeper session expired");
    if (e.type === "connected") {
      log.info("ZooKeeper connected", { session: e.session.id, new_session: e.newSession });
    }
  });

  let node: OrchestratorNode | null = null;
  const status = () => node!.status();
  const metrics = new OrchestratorMetrics(status);
  addProcessMetrics(metrics.registry, startedAt);
  node = new OrchestratorNode({
    store,
    id,
    acls: orchestratorAcls(digest),
    log,
    probe,
    now: () => performance.now(),
    wallClock: Date.now,
    random: Math.random,
    maxConcurrency,
    info: { host: os.hostname(), pid: process.pid, runtime: runtimeVersion() },
    workerEvents: metrics.workerEvents,
    onLeadership: metrics.onLeadership,
    onAssignmentWrite: metrics.onAssignmentWrite,
    loadTls: probeTlsFromDisk,
  });

  let stopping = false;
  adminHandler.set(
    orchestratorAdminApp(status, metrics.registry, {
      runtime: runtimeVersion(),
      startedAt,
      zk: connect.connectionString,
      workers: () => store.children(WORKERS_PATH).catch(() => null),
      stopping: () => stopping,
    }).fetch,
  );

  await node.start();
  const registration = new InstanceRegistration({
    store,
    role: "orchestrator",
    id,
    log,
    acl: digest ? writerOnlyAcl(digest) : null,
    data: () => ({
      admin: `${adminListen.host}:${admin.port}`,
      runtime: runtimeVersion(),
      pid: process.pid,
      started_at: new Date(startedAt).toISOString(),
    }),
  });
  registration.start();
  log.info("orchestrator started", {
    admin: `${adminListen.host}:${admin.port}`,
    zk: connect.connectionString,
    session: store.session()?.id,
    runtime: runtimeVersion(),
    auth: digest === undefined ? "none" : "digest",
  });

  onShutdownSignal(async (signal) => {
    log.info("shutting down", { signal });
    stopping = true;
    await registration.stop();
    await node!.stop();
    await store.close();
    await admin.shutdown();
    log.info("stopped");
  });
}

/** The orchestrator role's definition for the roles dispatcher. */
export const role: RoleDefinition = {
  name: "orchestrator",
  summary: SUMMARY,
  flags: ORCHESTRATOR_FLAGS,
  main,
};

if (import.meta.main) await main(args());
