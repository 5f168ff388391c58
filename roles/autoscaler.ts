/**
 * The autoscaler role: grows and shrinks one group's proxy fleet from its metrics, and (with
 * `--file-sd-out`) writes Prometheus's target files for the whole fleet, every role included.
 *
 * - The fleet is the group's registrations in ZooKeeper (`/switchyard/proxies/<group>/*`).
 * - Samples come from Prometheus (`--prometheus URL`; direct scrapes when it fails) or, without
 *   it, from scraping each proxy's `/metrics`.
 * - Decisions are the pure core's (`lib/autoscale/decide.ts`) under `--policy FILE`.
 * - Actions go through a provider: `local` starts and stops proxy processes here, `command`
 *   runs the operator's script (contract in `lib/autoscale/provider.ts`).
 * - Several may run per group: one, elected (`/switchyard/autoscaler/<group>/election`), acts.
 * - Without `--policy` it only writes the target files.
 *
 * @module
 */
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
import { zkConnectOptions } from "../lib/cli/zk.ts";
import { GROUP_NAME } from "../lib/config/schema.ts";
import { autoscalerAdminApp, AutoscalerMetrics } from "../lib/autoscale/admin.ts";
import { Autoscaler } from "../lib/autoscale/controller.ts";
import { type FleetMember, parseMember } from "../lib/autoscale/fleet.ts";
import { LocalProvider, parseSlots } from "../lib/autoscale/local_provider.ts";
import {
  FallbackSource,
  type MetricsSource,
  PrometheusSource,
  ScrapeSource,
} from "../lib/autoscale/metrics_source.ts";
import { parsePolicy, type Policy } from "../lib/autoscale/policy.ts";
import { CommandProvider, type Provider } from "../lib/autoscale/provider.ts";
import type { Logger } from "../lib/log.ts";
import { LeaderElection } from "../lib/orchestrator/election.ts";
import { PrometheusClient } from "../lib/prometheus/api.ts";
import { FileSdWriter } from "../lib/prometheus/file_sd_writer.ts";
import { addProcessMetrics, args, env, onShutdownSignal } from "../lib/runtime/process.ts";
import { REPO_ROOT, type Runtime } from "../lib/runtime/role_command.ts";
import { runtimeVersion, serve } from "../lib/runtime/serve.ts";
import { InstanceRegistration } from "../lib/source/instance_registry.ts";
import { TreeWatcher } from "../lib/source/tree_watch.ts";
import { writerOnlyAcl } from "../lib/store/acl.ts";
import { AUTOSCALER_ROOT, isValidNodeName, PROXIES_ROOT } from "../lib/store/layout.ts";
import { connectStore } from "../lib/store/mod.ts";
import type { CoordinationStore } from "../lib/store/types.ts";

const SUMMARY =
  "grows and shrinks a group's proxy fleet from its metrics; writes Prometheus targets";

/** The autoscaler's flags. */
export const AUTOSCALER_FLAGS: readonly FlagSpec[] = [
  ...ZK_FLAGS,
  { name: "group", type: "string", value: "NAME", help: "the proxy group to scale" },
  {
    name: "policy",
    type: "string",
    value: "FILE",
    help:
      "scaling policy (JSON: min, max, capacity, target_utilization, scale_out, scale_in...); " +
      "without it, only --file-sd-out runs",
  },
  {
    name: "prometheus",
    type: "string",
    value: "URL",
    help: "read samples from this Prometheus (e.g. http://127.0.0.1:9095); default: scrape the " +
      "proxies' /metrics directly (also the fallback when Prometheus fails)",
  },
  {
    name: "interval-seconds",
    type: "number",
    value: "SECONDS",
    help: "how often to evaluate",
    default: 5,
  },
  {
    name: "window-seconds",
    type: "number",
    value: "SECONDS",
    help: "window of the rates (CPU, requests, p99 latency)",
    default: 30,
  },
  {
    name: "provider",
    type: "string",
    value: "local|command",
    help: "how to add and remove proxies",
    default: "local",
  },
  {
    name: "command",
    type: "string",
    value: "SCRIPT",
    help: "--provider command: run SCRIPT ACTION GROUP FROM TO with the decision as JSON on stdin",
  },
  {
    name: "command-timeout-seconds",
    type: "number",
    value: "SECONDS",
    help: "--provider command: kill the script after this long",
    default: 60,
  },
  {
    name: "local-listen",
    type: "string",
    value: "HOST:PORT[-PORT][,...]",
    help: "--provider local: the proxies' listen addresses, one proxy per address " +
      "(e.g. 127.0.0.61:8080,127.0.0.62:8080)",
  },
  {
    name: "local-admin-offset",
    type: "number",
    value: "N",
    help: "--provider local: each proxy's admin listener is on its host at port + N",
    default: 1000,
  },
  {
    name: "local-runtime",
    type: "string",
    value: "deno|bun",
    help: "--provider local: the runtime of the proxies",
    default: "bun",
  },
  {
    name: "local-region",
    type: "string",
    value: "NAME",
    help: "--provider local: the proxies' --region",
  },
  {
    name: "local-deregister-seconds",
    type: "number",
    value: "SECONDS",
    help: "--provider local: the proxies' --deregister-seconds (set it to the DNS TTL)",
    default: 5,
  },
  {
    name: "local-drain-seconds",
    type: "number",
    value: "SECONDS",
    help: "--provider local: the proxies' --drain-seconds",
    default: 10,
  },
  {
    name: "local-id-prefix",
    type: "string",
    value: "PREFIX",
    help: "--provider local: proxy ids are PREFIX-<slot number>",
    default: "auto",
  },
  {
    name: "local-extra",
    type: "string",
    value: "ARGS",
    help: "--provider local: more proxy flags, space-separated " +
      '(--local-extra="--no-health-checks --zk-auth-file F")',
  },
  {
    name: "local-proxy-script",
    type: "string",
    value: "FILE",
    help: "--provider local: run this instead of roles/proxy.ts (e.g. the bundle dist/proxy.js)",
  },
  {
    name: "local-listener",
    type: "boolean",
    help: "--provider local: --group names a listener (routes over many groups): start the " +
      "proxies with --listener NAME instead of --group NAME",
    default: false,
  },
  {
    name: "local-stop-on-exit",
    type: "boolean",
    help: "--provider local: stop the proxies it started when it stops (default: they keep " +
      "serving and a restarted autoscaler adopts them)",
    default: false,
  },
  {
    name: "file-sd-out",
    type: "string",
    value: "DIR",
    help: "write Prometheus file_sd target files (<role>.json) for every registered instance",
  },
  {
    name: "dry-run",
    type: "boolean",
    help: "decide and report, never act",
    default: false,
  },
  {
    name: "admin-listen",
    type: "string",
    value: "HOST:PORT",
    help: "/healthz, /status, /metrics",
    default: "127.0.0.1:9490",
  },
  ...COMMON_FLAGS,
];

function usage(message: string): never {
  usageError("autoscaler", AUTOSCALER_FLAGS, message);
}

function positive(flags: FlagValues, name: string, max: number): number {
  const v = Number(flags[name]);
  if (!(v > 0 && v <= max)) usage(`--${name} must be above 0 and at most ${max}`);
  return v;
}

function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    fatal("autoscaler", `cannot read --policy ${file}: ${(e as Error).message}`);
  }
  const parsed = parsePolicy(text);
  if (!parsed.ok) fatal("autoscaler", `${file}: invalid policy\n  ${parsed.issues.join("\n  ")}`);
  return parsed.policy;
}

function makeProvider(
  flags: FlagValues,
  group: string,
  zk: string,
  log: Logger,
  stateDir: string,
): Provider {
  const kind = String(flags.provider);
  if (kind === "command") {
    if (typeof flags.command !== "string") usage("--provider command needs --command SCRIPT");
    return new CommandProvider({
      command: flags.command,
      timeoutMs: positive(flags, "command-timeout-seconds", 3600) * 1000,
      log: log.with({ provider: "command" }),
    });
  }
  if (kind !== "local") usage("--provider must be local or command");
  if (typeof flags["local-listen"] !== "string") {
    usage("--provider local needs --local-listen HOST:PORT[,...]");
  }
  const runtime = String(flags["local-runtime"]);
  if (runtime !== "deno" && runtime !== "bun") usage("--local-runtime must be deno or bun");
  let slots;
  try {
    slots = parseSlots(flags["local-listen"], Number(flags["local-admin-offset"]));
  } catch (e) {
    usage(`--local-listen: ${(e as Error).message}`);
  }
  const prefix = String(flags["local-id-prefix"]);
  if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(prefix)) {
    usage("--local-id-prefix: lower-case letters, digits and dashes (ids become DNS labels)");
  }
  const deregister = Number(flags["local-deregister-seconds"]);
  const drain = Number(flags["local-drain-seconds"]);
  if (!(deregister >= 0 && deregister <= 3600)) usage("--local-deregister-seconds: 0-3600");
  if (!(drain >= 0 && drain <= 3600)) usage("--local-drain-seconds: 0-3600");
  const dir = path.join(stateDir, "autoscaler", group);
  return new LocalProvider({
    group,
    listener: flags["local-listener"] === true,
    zk,
    runtime: runtime as Runtime,
    slots,
    idPrefix: prefix,
    region: typeof flags["local-region"] === "string" ? flags["local-region"] : null,
    deregisterSeconds: deregister,
    drainSeconds: drain,
    extraArgs: typeof flags["local-extra"] === "string"
      ? flags["local-extra"].split(/\s+/).filter((s) => s !== "")
      : [],
    logDir: path.join(dir, "logs"),
    stateFile: path.join(dir, "instances.json"),
    stopOnExit: flags["local-stop-on-exit"] === true,
    log: log.with({ provider: "local" }),
    ...(typeof flags["local-proxy-script"] === "string"
      ? { script: path.resolve(flags["local-proxy-script"]) }
      : {}),
  });
}

/** Runs the autoscaler role. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseRoleFlags("autoscaler", SUMMARY, argv, AUTOSCALER_FLAGS);
  const id = String(flags.id ?? `autoscaler-${os.hostname()}-${process.pid}`);
  if (!isValidNodeName(id)) usage(`--id ${JSON.stringify(id)} is not a valid node name`);
  const log = roleLogger("autoscaler", id, String(flags["log-level"]));
  let connect;
  let adminListen;
  try {
    connect = zkConnectOptions(flags, env);
    adminListen = parseListen("admin-listen", String(flags["admin-listen"]));
  } catch (e) {
    usage((e as Error).message);
  }
  const sdOut = typeof flags["file-sd-out"] === "string" ? flags["file-sd-out"] : null;
  const policyFile = typeof flags.policy === "string" ? flags.policy : null;
  if (policyFile === null && sdOut === null) {
    usage("give --policy FILE (to scale) and/or --file-sd-out DIR (to write Prometheus targets)");
  }
  const group = typeof flags.group === "string" ? flags.group : null;
  if (policyFile !== null && (group === null || !GROUP_NAME.test(group))) {
    usage("--policy needs --group NAME (a valid group name)");
  }
  const policy = policyFile === null ? null : loadPolicy(policyFile);
  const intervalMs = positive(flags, "interval-seconds", 3600) * 1000;
  const windowSeconds = positive(flags, "window-seconds", 3600);
  const stateDir = env("SWITCHYARD_STATE_DIR") ?? path.join(REPO_ROOT, ".state");
  const acl = connect.digest ? writerOnlyAcl(connect.digest) : null;
  const provider = policy !== null
    ? makeProvider(flags, group!, connect.connectionString, log, stateDir)
    : null;
  let prometheus: PrometheusClient | null = null;
  if (typeof flags.prometheus === "string") {
    if (!/^https?:\/\/[^/\s]+/.test(flags.prometheus)) usage("--prometheus must be http(s)://...");
    prometheus = new PrometheusClient(flags.prometheus, { timeoutMs: 5000 });
  }

  const startedAt = Date.now();
  let election: LeaderElection | null = null;
  const acting = () => election?.status().acting ?? false;
  const metrics = new AutoscalerMetrics(group, policy, acting);
  addProcessMetrics(metrics.registry, startedAt);

  let store: CoordinationStore | null = null;
  let fleetWatch: TreeWatcher | null = null;
  let scaler: Autoscaler | null = null;
  let sd: FileSdWriter | null = null;
  let source: MetricsSource | null = null;
  let stopping = false;

  const fleet = (): FleetMember[] | null => {
    if (fleetWatch === null || !fleetWatch.complete()) return null;
    const out: FleetMember[] = [];
    for (const e of fleetWatch.entries()) {
      const m = parseMember(e.parent, e.name, e.node.data);
      if (m !== null) out.push(m);
    }
    return out;
  };
  const status = () => ({
    role: "autoscaler",
    id,
    runtime: runtimeVersion(),
    started_at: new Date(startedAt).toISOString(),
    zookeeper: store === null
      ? { state: "connecting" }
      : { state: store.state(), session: store.session()?.id ?? null },
    group,
    policy,
    source: source?.status() ?? null,
    provider: provider?.status() ?? null,
    election: election?.status() ?? null,
    fleet: fleet(),
    autoscaler: scaler?.status() ?? null,
    file_sd: sd?.status() ?? null,
    stopping,
  });
  const admin = await listenOrExit("autoscaler", () =>
    serve(
      autoscalerAdminApp(
        metrics.registry,
        () => !stopping && store?.state() === "connected",
        status,
      ).fetch,
      { hostname: adminListen.host, port: adminListen.port },
    ));
  const adminAddress = `${adminListen.host}:${admin.port}`;

  for (let attempt = 0; store === null && !stopping; attempt++) {
    try {
      store = await connectStore({ ...connect, connectTimeoutMs: 10_000 });
    } catch (e) {
      log.warn("cannot reach ZooKeeper yet", { error: String(e) });
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
  const zk = store!;
  zk.onSession((e) => {
    if (e.type === "disconnected") log.warn("ZooKeeper connection lost");
    if (e.type === "expired") log.warn("ZooKeeper session expired");
    if (e.type === "connected") {
      log.info("ZooKeeper connected", { session: e.session.id, new_session: e.newSession });
    }
  });

  const registration = new InstanceRegistration({
    store: zk,
    role: "autoscaler",
    id,
    log,
    acl,
    data: () => ({
      admin: adminAddress,
      group,
      runtime: runtimeVersion(),
      pid: process.pid,
      started_at: new Date(startedAt).toISOString(),
    }),
  });
  registration.start();

  if (sdOut !== null) {
    sd = new FileSdWriter({ store: zk, dir: sdOut, log, onWrite: metrics.onSdWrite });
    sd.start();
  }

  if (policy !== null && provider !== null && group !== null) {
    fleetWatch = new TreeWatcher({
      store: zk,
      root: PROXIES_ROOT,
      parents: [group],
      onChange: () => {},
      onError: (e) => log.debug("fleet watch error", { error: String(e) }),
    });
    fleetWatch.start();
    const scrape = new ScrapeSource({
      group,
      windowMs: windowSeconds * 1000,
      now: Date.now,
    });
    source = prometheus === null ? scrape : new FallbackSource(
      new PrometheusSource({ client: prometheus, group, windowSeconds }),
      scrape,
    );
    election = new LeaderElection({
      store: zk,
      path: `${AUTOSCALER_ROOT}/${group}/election`,
      id,
      log,
      ...(acl ? { acl } : {}),
      onChange: (s) =>
        log.info(s.acting ? "acting autoscaler" : "standing by", {
          leader: s.leaderId,
        }),
    });
    election.start();
    scaler = new Autoscaler({
      group,
      policy,
      fleet,
      source,
      provider,
      now: Date.now,
      log,
      dryRun: flags["dry-run"] === true,
      acting,
      hooks: metrics,
    });
    scaler.start(intervalMs);
  }

  log.info("autoscaler started", {
    admin: adminAddress,
    zk: connect.connectionString,
    group,
    provider: provider?.kind ?? null,
    source: source?.kind ?? null,
    file_sd: sdOut,
    policy: policyFile,
    dry_run: flags["dry-run"] === true,
    runtime: runtimeVersion(),
  });

  onShutdownSignal(async (signal) => {
    log.info("shutting down", { signal });
    stopping = true;
    await scaler?.stop();
    await election?.resign();
    fleetWatch?.stop();
    sd?.stop();
    await provider?.stop();
    await registration.stop();
    await zk.close();
    await admin.shutdown();
    log.info("stopped");
  });
}

/** The autoscaler role's definition for the roles dispatcher. */
export const role: RoleDefinition = {
  name: "autoscaler",
  summary: SUMMARY,
  flags: AUTOSCALER_FLAGS,
  main,
};

if (import.meta.main) await main(args());
