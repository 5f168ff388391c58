/**
 * The admin role: the control-plane API over ZooKeeper (and later the
 * console). Binds 127.0.0.1 by default; every API call needs a bearer token.
 *
 * @module
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { Hono } from "hono";
import { adminApi } from "../lib/admin/api.ts";
import { startConsole } from "../lib/admin/console/mod.ts";
import { ConfigRepo } from "../lib/admin/config_repo.ts";
import { MAX_BODY_BYTES, MAX_CONFIG_BYTES } from "../lib/admin/limits.ts";
import { type AdminToken, parseTokens } from "../lib/admin/tokens.ts";
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
import type { Logger } from "../lib/log.ts";
import { Gauge, PROMETHEUS_CONTENT_TYPE, Registry } from "../lib/metrics/registry.ts";
import { addProcessMetrics, args, env, onShutdownSignal } from "../lib/runtime/process.ts";
import { REPO_ROOT } from "../lib/runtime/role_command.ts";
import { deferredHandler, runtimeVersion, serve } from "../lib/runtime/serve.ts";
import { InstanceRegistration } from "../lib/source/instance_registry.ts";
import { writerOnlyAcl } from "../lib/store/acl.ts";
import { connectStore } from "../lib/store/mod.ts";
import type { CoordinationStore } from "../lib/store/types.ts";

const SUMMARY = "control-plane API (and console) that writes group configs to ZooKeeper";

/** The admin role's flags. */
export const ADMIN_FLAGS: readonly FlagSpec[] = [
  ...ZK_FLAGS,
  {
    name: "listen",
    type: "string",
    value: "HOST:PORT",
    help: "the API (/api/...)",
    default: "127.0.0.1:9300",
  },
  {
    name: "admin-listen",
    type: "string",
    value: "HOST:PORT",
    help: "/healthz, /status, /metrics of this process",
    default: "127.0.0.1:9301",
  },
  {
    name: "token-file",
    type: "string",
    value: "FILE",
    help: "bearer tokens, one `name:token` per line (or env SWITCHYARD_ADMIN_TOKEN; " +
      "else one is generated into .state/admin-token)",
  },
  {
    name: "history-limit",
    type: "number",
    value: "N",
    help: "versions kept in each group's history",
    default: 50,
  },
  ...COMMON_FLAGS,
];

function loadTokens(flags: FlagValues, log: Logger): AdminToken[] {
  try {
    if (typeof flags["token-file"] === "string") {
      return parseTokens(fs.readFileSync(flags["token-file"], "utf8"));
    }
    const fromEnv = env("SWITCHYARD_ADMIN_TOKEN");
    if (fromEnv) return parseTokens(fromEnv);
  } catch (e) {
    usageError("admin", ADMIN_FLAGS, `tokens: ${(e as Error).message}`);
  }
  const file = path.join(
    env("SWITCHYARD_STATE_DIR") ?? path.join(REPO_ROOT, ".state"),
    "admin-token",
  );
  let token: string;
  try {
    token = fs.readFileSync(file, "utf8").trim();
    if (token.length < 8) throw new Error("short");
  } catch {
    token = crypto.randomBytes(24).toString("base64url");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, token + "\n", { mode: 0o600 });
  }
  log.info("no token given: using the generated one", { file });
  return [{ name: "admin", token }];
}

/** Runs the admin role. */
export async function main(argv: readonly string[]): Promise<void> {
  const flags = parseRoleFlags("admin", SUMMARY, argv, ADMIN_FLAGS);
  const id = String(flags.id ?? `admin-${os.hostname()}-${process.pid}`);
  const log = roleLogger("admin", id, String(flags["log-level"]));
  let connect;
  let listen;
  let adminListen;
  try {
    connect = zkConnectOptions(flags, env);
    listen = parseListen("listen", String(flags.listen));
    adminListen = parseListen("admin-listen", String(flags["admin-listen"]));
  } catch (e) {
    usageError("admin", ADMIN_FLAGS, (e as Error).message);
  }
  const historyLimit = Number(flags["history-limit"]);
  if (!Number.isInteger(historyLimit) || historyLimit < 1) {
    usageError("admin", ADMIN_FLAGS, "--history-limit must be a positive integer");
  }
  const tokens = loadTokens(flags, log);

  // Listen before ZooKeeper answers: a taken port is reported at once. Until the store is
  // connected, both listeners answer 503.
  const apiHandler = deferredHandler();
  const opsHandler = deferredHandler();
  const api = await listenOrExit(
    "admin",
    () => serve(apiHandler.handler, { hostname: listen.host, port: listen.port }),
  );
  const opsServer = await listenOrExit(
    "admin",
    () => serve(opsHandler.handler, { hostname: adminListen.host, port: adminListen.port }),
  );

  let store: CoordinationStore | null = null;
  for (let attempt = 0; store === null; attempt++) {
    try {
      store = await connectStore({ ...connect, connectTimeoutMs: 10_000 });
    } catch (e) {
      log.warn("cannot reach ZooKeeper yet", { error: String(e) });
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
  const zk = store;
  const startedAt = Date.now();
  // for /status: a write that made ZooKeeper drop the connection would show here
  let connectedSince = Date.now();
  let disconnects = 0;
  zk.onSession((e) => {
    if (e.type === "disconnected") disconnects++;
    if (e.type === "connected") connectedSince = Date.now();
  });
  const registry = new Registry();
  addProcessMetrics(registry, startedAt);
  registry.add(
    new Gauge(
      "switchyard_admin_zookeeper_connected",
      "1 while connected to ZooKeeper.",
      [],
      (g) => g.labels().set(zk.state() === "connected" ? 1 : 0),
    ),
  );
  const repo = new ConfigRepo(zk, {
    historyLimit,
    acl: connect.digest ? writerOnlyAcl(connect.digest) : null,
  });
  // the console: live watches + proxy scraping; its routes go first (/, /console.js, /api/session,
  // /api/events, /api/overview), then the API
  const consoleUi = startConsole({ store: zk, tokens, log, registry });
  const app = new Hono();
  app.route("/", consoleUi.app);
  app.route("/", adminApi({ repo, tokens, log, registry }));
  apiHandler.set(app.fetch);
  const ops = new Hono();
  ops.get(
    "/healthz",
    (c) => zk.state() === "connected" ? c.text("ok\n") : c.text("zookeeper down\n", 503),
  );
  ops.get("/status", (c) =>
    c.json({
      role: "admin",
      id,
      runtime: runtimeVersion(),
      started_at: new Date(startedAt).toISOString(),
      api: `${listen.host}:${api.port}`,
      zookeeper: {
        state: zk.state(),
        session: zk.session()?.id ?? null,
        connected_since: new Date(connectedSince).toISOString(),
        disconnects,
      },
      tokens: tokens.map((t) => t.name),
      limits: { max_body_bytes: MAX_BODY_BYTES, max_config_bytes: MAX_CONFIG_BYTES },
    }));
  ops.get(
    "/metrics",
    (c) => c.body(registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );
  opsHandler.set(ops.fetch);
  const registration = new InstanceRegistration({
    store: zk,
    role: "admin",
    id,
    log,
    acl: connect.digest ? writerOnlyAcl(connect.digest) : null,
    data: () => ({
      admin: `${adminListen.host}:${opsServer.port}`,
      api: `${listen.host}:${api.port}`,
      runtime: runtimeVersion(),
      pid: process.pid,
      started_at: new Date(startedAt).toISOString(),
    }),
  });
  registration.start();
  log.info("admin API listening", {
    api: `${listen.host}:${api.port}`,
    admin: `${adminListen.host}:${opsServer.port}`,
    zookeeper: connect.connectionString,
    runtime: runtimeVersion(),
  });
  onShutdownSignal(async () => {
    await registration.stop();
    await consoleUi.stop(); // ends the live streams, or shutdown would wait for them
    await api.shutdown();
    await opsServer.shutdown();
    await zk.close();
  });
}

/** The admin role's definition for the roles dispatcher. */
export const role: RoleDefinition = { name: "admin", summary: SUMMARY, flags: ADMIN_FLAGS, main };

if (import.meta.main) await main(args());
