/**
 * The proxy role: serves one group's traffic on `--listen`, reading its
 * config from a watched file (the embedded default), probing backends itself
 * unless told otherwise, with `/healthz`, `/status` and `/metrics` on
 * `--admin-listen`.
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import {
  COMMON_FLAGS,
  parseRoleFlags,
  type RoleDefinition,
  roleLogger,
  usageError,
} from "../lib/cli/role.ts";
import { type FlagSpec, parseListen } from "../lib/cli/flags.ts";
import { formatIssues, parseJsonConfig, validateConfigFile } from "../lib/config/schema.ts";
import { GroupState } from "../lib/group/group_state.ts";
import { HealthChecker } from "../lib/health/checker.ts";
import { probe } from "../lib/health/probe.ts";
import { adminApp } from "../lib/proxy/admin_app.ts";
import { ProxyMetrics } from "../lib/proxy/metrics.ts";
import { ProxyServer } from "../lib/proxy/server.ts";
import {
  addProcessMetrics,
  args,
  exit,
  onShutdownSignal,
  writeErr,
} from "../lib/runtime/process.ts";
import { runtimeVersion, serve } from "../lib/runtime/serve.ts";
import { contentVersion, FileConfigSource } from "../lib/source/file.ts";

const SUMMARY = "L7 HTTP proxy for one group, balancing over its backends";

/** The proxy's flags. */
export const PROXY_FLAGS: readonly FlagSpec[] = [
  {
    name: "config",
    type: "string",
    value: "FILE",
    help: "JSON config file (group name -> config blob), watched for edits",
  },
  {
    name: "group",
    type: "string",
    value: "NAME",
    help: "group to serve (may be omitted when the config has one group)",
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
    help: "probe backends from this proxy (--no-health-checks when an orchestrator writes health)",
    default: true,
  },
  {
    name: "drain-seconds",
    type: "number",
    value: "SECONDS",
    help: "on SIGTERM, how long in-flight requests may take",
    default: 10,
  },
  ...COMMON_FLAGS,
];

/** Runs the proxy role. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseRoleFlags("proxy", SUMMARY, argv, PROXY_FLAGS);
  const id = String(flags.id ?? `proxy-${os.hostname()}-${process.pid}`);
  const log = roleLogger("proxy", id, String(flags["log-level"]));
  const listen = parseListenFlag("listen", String(flags.listen));
  const adminListen = parseListenFlag("admin-listen", String(flags["admin-listen"]));
  if (flags.config === undefined) usageError("proxy", PROXY_FLAGS, "--config FILE is required");

  const source = new FileConfigSource(String(flags.config), log);
  const first = source.read();
  if (first.text === null) fatal(`cannot read ${source.path}: ${first.error}`);
  const parsed = parseJsonConfig(first.text);
  if (!parsed.ok) fatal(`${source.path}: ${formatIssues(parsed.issues)}`);
  const file = validateConfigFile(parsed.value);
  if (!file.ok) fatal(`${source.path}: invalid config\n${formatIssues(file.issues)}`);
  const groups = Object.keys(file.value);
  let group = flags.group === undefined ? undefined : String(flags.group);
  if (group === undefined) {
    if (groups.length !== 1) {
      fatal(
        `${source.path} has ${groups.length} groups (${
          groups.join(", ")
        }): choose one with --group`,
      );
    }
    group = groups[0]!;
  } else if (!groups.includes(group)) {
    fatal(`${source.path} has no group "${group}" (it has: ${groups.join(", ")})`);
  }
  const groupName = group;
  const blobOf = (all: unknown) => (all as Record<string, unknown>)[groupName];

  const startedAt = Date.now();
  const healthChecks = flags["health-checks"] === true;
  let server: ProxyServer | null = null;
  let checker: HealthChecker | null = null;
  const state = new GroupState(groupName, {
    now: Date.now,
    random: Math.random,
    onSwap: (next) => {
      server?.onSnapshot(next);
      checker?.sync(next);
    },
  });
  const metrics = new ProxyMetrics(state);
  addProcessMetrics(metrics.registry, startedAt);
  server = new ProxyServer({ state, log, metrics });
  if (healthChecks) {
    checker = new HealthChecker({
      state,
      probe,
      log,
      random: Math.random,
      now: () => performance.now(),
    });
  }
  const blob = blobOf(parsed.value);
  state.applyConfig(contentVersion(JSON.stringify(blob)), blob);

  const stopWatch = source.watch((read) => {
    const json = parseJsonConfig(read.text!, groupName);
    const version = contentVersion(read.text!);
    if (!json.ok) {
      const r = state.reject(version, json.issues);
      if (!r.ok) {
        log.warn("config rejected; keeping the last good one", { reason: r.rejected.reason });
      }
      return;
    }
    const all = validateConfigFile(json.value);
    if (!all.ok) {
      state.reject(version, all.issues);
      log.warn("config rejected; keeping the last good one", { reason: formatIssues(all.issues) });
      return;
    }
    const next = blobOf(json.value);
    if (next === undefined) {
      state.reject(version, [{
        group: groupName,
        field: "",
        reason: "group removed from the file",
      }]);
      log.warn("config rejected: the group is no longer in the file; keeping the last good one");
      return;
    }
    const r = state.applyConfig(contentVersion(JSON.stringify(next)), next);
    if (r.ok && r.changed) {
      log.info("config applied", { version: state.snapshot?.version });
    }
  });

  const bound = await server.listen(listen.host, listen.port).catch((e) =>
    fatal(`cannot listen on ${flags.listen}: ${e.message}`)
  );
  const admin = await serve(
    adminApp(state, metrics.registry, {
      id,
      runtime: runtimeVersion(),
      startedAt,
      source: `file:${source.path}`,
      listen: `${listen.host}:${bound.port}`,
      healthChecks,
      connections: () => server!.connectionCount,
      draining: () => server!.draining,
    }).fetch,
    { hostname: adminListen.host, port: adminListen.port },
  ).catch((e) => fatal(`cannot listen on ${flags["admin-listen"]}: ${e.message}`));
  if (state.snapshot) {
    server.onSnapshot(state.snapshot);
    checker?.sync(state.snapshot);
  }
  log.info("proxy listening", {
    group: groupName,
    listen: `${listen.host}:${bound.port}`,
    admin: `${adminListen.host}:${admin.port}`,
    runtime: runtimeVersion(),
    backends: state.snapshot?.backends.length ?? 0,
    algorithm: state.snapshot?.config.algorithm,
  });

  onShutdownSignal(async (signal) => {
    log.info("shutting down", { signal, drain_seconds: flags["drain-seconds"] });
    stopWatch();
    checker?.stop();
    await server!.shutdown(Number(flags["drain-seconds"]) * 1000);
    await admin.shutdown();
    log.info("stopped");
  });
}

function parseListenFlag(name: string, value: string): { host: string; port: number } {
  try {
    return parseListen(name, value);
  } catch (e) {
    usageError("proxy", PROXY_FLAGS, (e as Error).message);
  }
}

function fatal(message: string): never {
  writeErr(`proxy: ${message}`);
  exit(1);
}

/** The proxy role's definition for the roles dispatcher. */
export const role: RoleDefinition = { name: "proxy", summary: SUMMARY, flags: PROXY_FLAGS, main };

if (import.meta.main) await main(args());
