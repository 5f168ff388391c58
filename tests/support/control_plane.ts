/**
 * Test support for the control plane: a private chroot on the real
 * ZooKeeper per test, proxies in `--zk` mode, the admin role, and an API
 * client.
 *
 * @module
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { connectStore } from "../../lib/store/mod.ts";
import type { ConnectOptions, CoordinationStore } from "../../lib/store/types.ts";
import { freePort, httpOk, type RoleProcess, startRole, tempDir } from "./processes.ts";
import { acquireZk, type ZkKind } from "./zk_server.ts";
import type { StatusDoc } from "./proxy.ts";

/** A private subtree of a real ZooKeeper for one test. */
export interface ZkSandbox {
  /** Connection string including the chroot (`hosts/chroot`). */
  readonly connect: string;
  readonly hosts: string;
  readonly chroot: string;
  /** A store session inside the chroot (for assertions and direct writes). */
  readonly store: CoordinationStore;
  /** Opens another session inside the chroot (e.g. with credentials). */
  session(options?: Partial<ConnectOptions>): Promise<CoordinationStore>;
  close(): Promise<void>;
}

/** Leases the dev node (or the ensemble) and creates a fresh chroot on it. */
export async function zkSandbox(kind: ZkKind = "single"): Promise<ZkSandbox> {
  const lease = await acquireZk(kind);
  const chroot = `/t-${crypto.randomUUID().slice(0, 8)}`;
  const root = await connectStore({ connectionString: lease.connectionString });
  await root.create(chroot);
  await root.close();
  const connect = `${lease.connectionString}${chroot}`;
  const sessions: CoordinationStore[] = [];
  const session = async (options: Partial<ConnectOptions> = {}) => {
    const s = await connectStore({ connectionString: connect, sessionTimeoutMs: 6000, ...options });
    sessions.push(s);
    return s;
  };
  const store = await session();
  return {
    connect,
    hosts: lease.connectionString,
    chroot,
    store,
    session,
    close: async () => {
      for (const s of sessions) await s.close().catch(() => {});
      const cleanup = await connectStore({ connectionString: lease.connectionString }).catch(() =>
        null
      );
      await cleanup?.deleteTree(chroot).catch(() => {});
      await cleanup?.close();
      await lease.release();
    },
  };
}

/** `/status` of a proxy in `--zk` mode. */
export interface ZkStatusDoc extends StatusDoc {
  zookeeper: {
    state: string;
    session: string | null;
    last_seen_version: string | null;
    registered: string | null;
  };
  health_checks: string;
  orchestrator_unhealthy: string[];
}

/** A proxy in `--zk` mode. */
export interface ZkProxy {
  readonly process: RoleProcess;
  readonly url: string;
  readonly port: number;
  readonly adminPort: number;
  readonly snapshotFile: string;
  readonly flags: readonly string[];
  status(): Promise<ZkStatusDoc>;
}

/** Starts a proxy reading `/lb-configs/<group>` under the sandbox's chroot. */
export async function startZkProxy(
  runtime: Runtime,
  connect: string,
  group: string,
  extra: readonly string[] = [],
  reuse?: { port: number; adminPort: number; snapshotFile: string },
): Promise<ZkProxy> {
  const port = reuse?.port ?? await freePort();
  const adminPort = reuse?.adminPort ?? await freePort();
  const snapshotFile = reuse?.snapshotFile ?? path.join(tempDir("snap"), `${group}.json`);
  const flags = [
    "--zk",
    connect,
    "--group",
    group,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    "--snapshot-file",
    snapshotFile,
    "--zk-session-timeout",
    "4",
    ...extra,
  ];
  const proc = await startRole(runtime, "proxy", flags, {
    ready: () => httpOk(`http://127.0.0.1:${adminPort}/status`),
  });
  return {
    process: proc,
    url: `http://127.0.0.1:${port}`,
    port,
    adminPort,
    snapshotFile,
    flags,
    status: async () =>
      await (await fetch(`http://127.0.0.1:${adminPort}/status`, {
        signal: AbortSignal.timeout(10_000),
      })).json(),
  };
}

/** The admin role under test. */
export interface AdminUnderTest {
  readonly process: RoleProcess;
  readonly url: string;
  /** Its `--admin-listen` (`/healthz`, `/status`, `/metrics`). */
  readonly adminUrl: string;
  readonly token: string;
  /** Calls the API; resolves with status and parsed JSON. */
  api(
    method: string,
    route: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
}

/** Starts the admin role on the sandbox. */
export async function startAdmin(
  runtime: Runtime,
  connect: string,
  extra: readonly string[] = [],
  token = "test-token-" + crypto.randomUUID(),
): Promise<AdminUnderTest> {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = await startRole(runtime, "admin", [
    "--zk",
    connect,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    ...extra,
  ], {
    ready: () => httpOk(`http://127.0.0.1:${adminPort}/healthz`),
    env: { SWITCHYARD_ADMIN_TOKEN: `tester:${token}` },
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    process: proc,
    url,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    token,
    api: async (method, route, body, headers = {}) => {
      const r = await fetch(`${url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await r.text();
      return { status: r.status, json: text ? JSON.parse(text) : {} };
    },
  };
}

/**
 * Runs commands in one `zkCli.sh` session (as an operator would), e.g.
 * `["addauth digest admin:pw", "set /t-1/lb-configs/g '{...}'"]`. Returns the output.
 */
export function zkCli(server: string, commands: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/share/zookeeper/bin/zkCli.sh", ["-server", server], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.stderr.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.on("error", reject);
    child.on("exit", () => resolve(out));
    child.stdin.end([...commands, "quit", ""].join("\n"));
  });
}

/** Which backend names answer `n` sequential GETs. */
export async function answers(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    out.push(r.status === 200 ? (await r.text()).trim() : `status ${r.status}`);
  }
  return out;
}
