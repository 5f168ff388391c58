/**
 * The game day's topology, in its own lab (`gameday.env`, 198.19.128.0/17): brings it up, gives
 * handles to every process for the faults, and tears everything down (idempotent; also what runs
 * first, so a run interrupted with SIGKILL leaves nothing behind the next run trips on).
 *
 * - core namespace (`LAB_NS_ETCD`): etcd (deploy/etcd/etcd.sh lab), a 3-node ZooKeeper ensemble
 *   (deploy/zookeeper/zk.sh ensemble, clients on every core address, small heaps), 6 backends in
 *   two groups, the admin role, 3 orchestrators and 2 dns roles;
 * - 4 proxies (Deno and Bun, regions r1 and r2) serving listener `public`'s routes, each in its
 *   own namespace with a data link and a control link to ZooKeeper (proxy_netns.ts);
 * - DNS nodes: CoreDNS (the dns role's Corefile) and keepalived sharing the VIP;
 * - clients: tests/gameday/client.ts in each region's namespace.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { roleCommand, type Runtime } from "../../lib/runtime/role_command.ts";
import { RoleProcess, sleep, waitUntil } from "../support/processes.ts";
import { REPO, run, type RunResult } from "../support/dns_stack.ts";
import { type Monitoring, startMonitoring } from "./monitoring.ts";
import {
  controlConnectString,
  createProxyNamespace,
  deleteProxyNamespaces,
  proxyNamespace,
} from "./proxy_netns.ts";

/** The lab env file of the game day. */
export const ENV_FILE = `${REPO}/tests/gameday/gameday.env`;

/** gameday.env as a map. */
export function gamedayEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of Deno.readTextFileSync(ENV_FILE).split("\n")) {
    const m = /^([A-Z0-9_]+)=(\S*)$/.exec(line.trim());
    if (m) env[m[1] as string] = m[2] as string;
  }
  return env;
}

const LAB = gamedayEnv();
function lab(name: string): string {
  const v = LAB[name];
  if (v === undefined) throw new Error(`gameday.env has no ${name}`);
  return v;
}

export const CORE_NS = lab("LAB_NS_ETCD");
export const CORE_IP = lab("LAB_ETCD_IP");
export const VIP = lab("LAB_VIP");
export const ZONE = "api.gameday.test";
export const ZK = "127.0.0.1:2281,127.0.0.1:2282,127.0.0.1:2283";
const ZK_PORTS = [2281, 2282, 2283];
const PROXY_COUNT = 4;
export const LISTENER = "public";
export const PROXY_PORT = 8080;
const TOKEN = "gameday-token-0123456789";
/** The DNS nodes' VRRP advert interval, seconds (keepalived.sh config --advert-int). */
export const ADVERT_INT = "0.5";

/** A started process with where to reach its admin endpoints. */
export interface Node {
  readonly name: string;
  readonly runtime: Runtime;
  process: RoleProcess;
  /** `http://host:port` of `/status` and `/metrics`. */
  readonly admin: string;
  /** Starts it again with the same flags (after a kill). */
  restart(): Promise<void>;
}

/** A DNS node: CoreDNS + keepalived in its namespace. */
export interface DnsNode {
  readonly name: string;
  readonly netns: string;
  readonly role: "master" | "backup";
}

/** Everything running. */
export interface Topology {
  readonly stateDir: string;
  /** The router's address on the DNS subnet (the DNS nodes' default gateway). */
  readonly routerIp: string;
  readonly backends: Node[];
  readonly orchestrators: Node[];
  /** `index`: 1-based, the number of its namespace (proxy_netns.ts). */
  readonly proxies:
    (Node & { readonly ip: string; readonly region: string; readonly index: number })[];
  readonly dnsRoles: Node[];
  readonly admin: Node;
  readonly dnsNodes: DnsNode[];
  readonly clients: { name: string; netns: string; out: string; process: RoleProcess }[];
  /** What the service resolves to through the VIP from a client's namespace (sorted; [] on error). */
  resolveFrom(netns: string): Promise<string[]>;
  /** Calls the admin API. */
  api(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Runs deploy/zookeeper/zk.sh inside the core namespace with the game day's state dir. */
  zk(...args: string[]): Promise<RunResult>;
  /** Runs a deploy script with the game day's lab env and state dir. */
  script(path: string, ...args: string[]): Promise<RunResult>;
  /** The namespaces holding the VIP now. */
  vipHolders(): Promise<string[]>;
  /** Tells the clients to stop; resolves when they have written their last samples. */
  stopClients(): Promise<void>;
  /** Prometheus and the autoscaler. */
  readonly monitoring: Monitoring;
  /**
   * Starts one more client (a load step) in `netns`; `stop` resolves once it wrote its last
   * samples. Its samples file is in `extraOuts` (the analysis reads them with the others').
   */
  startClient(name: string, netns: string, rate: number): { stop(): Promise<void> };
  readonly extraOuts: string[];
}

/** The environment every deploy script gets. */
export function scriptEnv(stateDir: string): Record<string, string> {
  return {
    SWITCHYARD_LAB_ENV: ENV_FILE,
    SWITCHYARD_STATE_DIR: stateDir,
    ZK_JVMFLAGS: "-Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
    // the proxies connect from their own namespaces, over their control links
    ZK_CLIENT_ADDRESS: "0.0.0.0",
  };
}

function deployScript(stateDir: string, path: string, ...args: string[]): Promise<RunResult> {
  return run(["bash", `${REPO}/${path}`, ...args], { env: scriptEnv(stateDir) });
}

/** Spawns a command inside a namespace; `ip netns exec` execs it, so the pid is the command's. */
function spawnIn(netns: string, name: string, command: string, args: readonly string[]) {
  const child = spawn("ip", ["netns", "exec", netns, command, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: REPO,
    env: { ...Deno.env.toObject(), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  return new RoleProcess(name, child);
}

async function ok(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

async function startNode(
  name: string,
  runtime: Runtime,
  start: () => RoleProcess,
  admin: string,
  readyPath: string,
): Promise<Node> {
  const node: Node = {
    name,
    runtime,
    process: start(),
    admin,
    restart: async () => {
      node.process = start();
      await waitReady(node, readyPath);
    },
  };
  await waitReady(node, readyPath);
  return node;
}

async function waitReady(node: Node, readyPath: string): Promise<void> {
  await waitUntil(
    `${node.name} to be ready`,
    async () => {
      if (!node.process.running) {
        throw new Error(`${node.name} exited:\n${node.process.log.slice(-2000)}`);
      }
      return await ok(`${node.admin}${readyPath}`);
    },
    90_000,
    200,
  );
}

function role(
  netns: string,
  name: string,
  runtime: Runtime,
  roleName: string,
  flags: readonly string[],
) {
  return () => {
    const { command, args } = roleCommand(runtime, roleName, flags);
    return spawnIn(netns, name, command, args);
  };
}

/** Tears the game day's lab down: every process in it, the namespaces, then its state dir. */
export async function teardown(stateDir: string, log: (s: string) => void): Promise<void> {
  const env = scriptEnv(stateDir);
  const q = (path: string, ...args: string[]) =>
    run(["bash", `${REPO}/${path}`, ...args], { env, allowFail: true });
  if (await Deno.stat(`/run/netns/${CORE_NS}`).then(() => true, () => false)) {
    await run([
      "ip",
      "netns",
      "exec",
      CORE_NS,
      "bash",
      `${REPO}/deploy/zookeeper/zk.sh`,
      "stop",
      "ensemble",
    ], {
      env,
      allowFail: true,
    });
  }
  await deleteProxyNamespaces(PROXY_COUNT);
  // lab.sh down stops keepalived, CoreDNS and etcd by their pid files, then ends anything left
  // in the lab's namespaces (roles, backends, clients) and deletes them.
  const down = await q("deploy/lab/lab.sh", "down");
  if (down.code !== 0) log(`lab down: ${down.stderr.trim()}`);
  // nothing runs any more: the state (ZooKeeper and etcd data, Corefiles, snapshots, pid files)
  // goes, so every run starts from empty stores
  else await Deno.remove(stateDir, { recursive: true }).catch(() => {});
}

async function resolveFrom(netns: string): Promise<string[]> {
  const r = await run(
    ["ip", "netns", "exec", netns, "dig", "+short", "+time=1", "+tries=1", `@${VIP}`, ZONE, "A"],
    { allowFail: true },
  );
  return r.code === 0 ? r.stdout.trim().split("\n").filter((l) => l !== "").sort() : [];
}

/** Options of {@link bringUp}. */
export interface BringUpOptions {
  readonly stateDir: string;
  readonly outDir: string;
  readonly clientRate: number;
  readonly log: (s: string) => void;
}

/** Brings the whole topology up (after a teardown of leftovers). */
export async function bringUp(o: BringUpOptions): Promise<Topology> {
  const { stateDir, log } = o;
  await teardown(stateDir, log);
  await Deno.mkdir(stateDir, { recursive: true });
  const sh = (path: string, ...args: string[]) => deployScript(stateDir, path, ...args);
  await sh("deploy/lab/lab.sh", "up");
  const netnsPlan = {
    routerNs: lab("LAB_NS_ROUTER"),
    bridge: lab("LAB_BR_DNS"),
    gateway: lab("LAB_ROUTER_DNS_IP"),
    dataPrefix: lab("LAB_DNS_PREFIX"),
    coreNs: CORE_NS,
    controlPrefix: lab("LAB_PROXY_CONTROL_PREFIX"),
  };
  for (const [i, ip] of lab("LAB_PROXY_IPS").split(",").entries()) {
    await createProxyNamespace(netnsPlan, i + 1, ip);
  }
  log("lab up (and a namespace per proxy)");
  await sh("deploy/etcd/etcd.sh", "start", "lab");
  const zk = (...args: string[]) =>
    run(["ip", "netns", "exec", CORE_NS, "bash", `${REPO}/deploy/zookeeper/zk.sh`, ...args], {
      env: scriptEnv(stateDir),
      allowFail: true,
    });
  const started = await zk("start", "ensemble");
  if (started.code !== 0) throw new Error(`zk.sh start ensemble: ${started.stderr}`);
  log("etcd and the ZooKeeper ensemble up");

  const backends: Node[] = [];
  for (let i = 1; i <= 6; i++) {
    const listen = `${CORE_IP}:${7000 + i}`;
    const name = `b${i}`;
    backends.push(
      await startNode(
        name,
        "deno",
        () =>
          spawnIn(CORE_NS, name, Deno.execPath(), [
            "run",
            "-A",
            `${REPO}/tests/gameday/backend.ts`,
            "--listen",
            listen,
            "--name",
            name,
          ]),
        `http://${listen}`,
        "/health",
      ),
    );
  }
  const groups = {
    api: backends.slice(0, 3).map((b) => b.admin.slice("http://".length)),
    web: backends.slice(3).map((b) => b.admin.slice("http://".length)),
  };

  const admin = await startNode(
    "admin",
    "deno",
    () => {
      const { command, args } = roleCommand("deno", "admin", [
        ...["--zk", ZK, "--listen", `${CORE_IP}:9300`, "--admin-listen", `${CORE_IP}:9301`],
        ...["--log-level", "warn"],
      ]);
      const child = spawn("ip", ["netns", "exec", CORE_NS, command, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        cwd: REPO,
        env: { ...Deno.env.toObject(), SWITCHYARD_ADMIN_TOKEN: `gameday:${TOKEN}` },
      });
      return new RoleProcess("admin", child);
    },
    `http://${CORE_IP}:9301`,
    "/healthz",
  );
  const api = async (method: string, route: string, body?: unknown) => {
    const r = await fetch(`http://${CORE_IP}:9300${route}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : {} };
  };
  for (const [group, servers] of Object.entries(groups)) {
    const r = await api("POST", "/api/groups", {
      group,
      config: {
        backend_servers: servers,
        health_check_frequency_seconds: 1,
        health_check_timeout_seconds: 1,
        unhealthy_threshold: 2,
        healthy_threshold: 2,
        // a backend's 5xx to an idempotent request is tried on another backend (the "backend
        // answers 5xx" fault); POSTs are never sent twice
        retry: { on_status: [500, 502, 503, 504] },
      },
    });
    if (r.status !== 201 && r.status !== 200) {
      throw new Error(`create ${group}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  }
  const routes = await api("PUT", `/api/listeners/${LISTENER}`, {
    routes: [
      { name: "api", match: { path: { prefix: "/api" } }, forward: { group: "api" } },
      { name: "web", match: { path: { prefix: "/" } }, forward: { group: "web" } },
    ],
  });
  if (routes.status >= 300) {
    throw new Error(`listener: ${routes.status} ${JSON.stringify(routes.json)}`);
  }
  log("admin up; groups api, web and listener public written through it");

  const orchestrators: Node[] = [];
  const orchRuntimes: Runtime[] = ["deno", "bun", "deno"];
  for (let i = 1; i <= 3; i++) {
    const runtime = orchRuntimes[i - 1] as Runtime;
    const adminAddr = `${CORE_IP}:${9190 + i}`;
    orchestrators.push(
      await startNode(
        `orch-${i}`,
        runtime,
        role(CORE_NS, `orch-${i}`, runtime, "orchestrator", [
          ...["--zk", ZK, "--id", `orch-${i}`, "--admin-listen", adminAddr],
          ...["--log-level", "warn"],
        ]),
        `http://${adminAddr}`,
        "/status",
      ),
    );
  }
  log("3 orchestrators up");

  const proxyIps = lab("LAB_PROXY_IPS").split(",");
  const proxies: Topology["proxies"] = [];
  const proxyRuntimes: Runtime[] = ["deno", "bun", "deno", "bun"];
  for (let i = 1; i <= PROXY_COUNT; i++) {
    const runtime = proxyRuntimes[i - 1] as Runtime;
    const ip = proxyIps[i - 1] as string;
    const region = i <= 2 ? lab("LAB_REGION1_NAME") : lab("LAB_REGION2_NAME");
    const adminAddr = `${ip}:${9090 + i}`;
    const zk = controlConnectString(lab("LAB_PROXY_CONTROL_PREFIX"), i, ZK_PORTS);
    const snapshotDir = `${stateDir}/snapshots/p${i}`;
    await Deno.mkdir(snapshotDir, { recursive: true });
    const node = await startNode(
      `p${i}`,
      runtime,
      role(proxyNamespace(i), `p${i}`, runtime, "proxy", [
        ...["--zk", zk, "--listener", LISTENER, "--id", `p${i}`, "--region", region],
        ...["--listen", `${ip}:${PROXY_PORT}`, "--admin-listen", adminAddr],
        ...["--snapshot-file", `${snapshotDir}/snapshot.json`, "--zk-session-timeout", "4"],
        ...["--log-level", "warn"],
      ]),
      `http://${adminAddr}`,
      "/status",
    );
    proxies.push(Object.assign(node, { ip, region, index: i }));
  }
  log("4 proxies up (Deno and Bun, two regions)");

  const regions = `${lab("LAB_REGION1_NAME")}=${lab("LAB_REGION1_CIDR")};${
    lab("LAB_REGION2_NAME")
  }=${lab("LAB_REGION2_CIDR")}`;
  const dnsRoles: Node[] = [];
  const dnsNodes: DnsNode[] = [
    { name: "gd-dns1", netns: lab("LAB_NS_DNS1"), role: "master" },
    { name: "gd-dns2", netns: lab("LAB_NS_DNS2"), role: "backup" },
  ];
  const dnsRuntimes: Runtime[] = ["deno", "bun"];
  for (let i = 1; i <= 2; i++) {
    const runtime = dnsRuntimes[i - 1] as Runtime;
    const adminAddr = `${CORE_IP}:${9390 + i}`;
    await Deno.mkdir(`${stateDir}/dns${i}`, { recursive: true });
    dnsRoles.push(
      await startNode(
        `dns-${i}`,
        runtime,
        role(CORE_NS, `dns-${i}`, runtime, "dns", [
          ...["--zk", ZK, "--id", `dns-${i}`, "--zk-session-timeout", "4"],
          ...["--etcd", `http://${CORE_IP}:2379`, "--zone", ZONE, "--regions", regions],
          ...["--ttl", "2", "--coredns-cache", "1", "--coredns-listen", "0.0.0.0:53"],
          ...["--corefile-out", `${stateDir}/dns${i}/Corefile`, "--admin-listen", adminAddr],
          ...["--log-level", "warn"],
        ]),
        `http://${adminAddr}`,
        "/healthz",
      ),
    );
  }
  for (let i = 1; i <= 2; i++) {
    await waitUntil(
      `dns-${i}'s Corefile`,
      () => Deno.stat(`${stateDir}/dns${i}/Corefile`).then(() => true, () => false),
      30_000,
      200,
    );
  }
  for (const [i, node] of dnsNodes.entries()) {
    await sh(
      "deploy/coredns/coredns.sh",
      ...["start", "--name", node.name, "--corefile", `${stateDir}/dns${i + 1}/Corefile`],
      ...["--netns", node.netns],
    );
    // VRRPv3 with 0.5 s adverts: a master lost without a last advert (link down) is replaced
    // after 3 x 0.5 s + skew (~1.7 s) instead of VRRPv2's 3.4 s, inside the issue's 3 s bar
    await sh(
      "deploy/keepalived/keepalived.sh",
      ...["config", "--node", node.name, "--role", node.role, "--advert-int", ADVERT_INT],
    );
  }
  const vipHolders = async () => {
    const out: string[] = [];
    for (const n of dnsNodes) {
      const r = await run(["ip", "-n", n.netns, "-4", "-o", "addr", "show"], { allowFail: true });
      if (r.stdout.includes(` ${VIP}/`)) out.push(n.netns);
    }
    return out;
  };
  const [master, backup] = dnsNodes as [DnsNode, DnsNode];
  await sh(
    "deploy/keepalived/keepalived.sh",
    "start",
    "--node",
    master.name,
    "--netns",
    master.netns,
  );
  await waitUntil(
    "dns1 to hold the VIP",
    async () => (await vipHolders()).join() === master.netns,
    30_000,
    100,
  );
  await sh(
    "deploy/keepalived/keepalived.sh",
    "start",
    "--node",
    backup.name,
    "--netns",
    backup.netns,
  );
  log("DNS nodes up (CoreDNS + keepalived), VIP on dns1");

  // every region's client resolves its region's two proxies through the VIP
  for (
    const [ns, want] of [
      [lab("LAB_NS_CLIENT1"), proxyIps.slice(0, 2)],
      [lab("LAB_NS_CLIENT2"), proxyIps.slice(2)],
    ] as const
  ) {
    await waitUntil(
      `${ns} to resolve ${ZONE} to ${want}`,
      async () => (await resolveFrom(ns)).join() === [...want].sort().join(),
      60_000,
      500,
    );
  }
  log("both regions resolve their proxies through the VIP");

  const monitoring = await startMonitoring({
    netns: CORE_NS,
    coreIp: CORE_IP,
    zk: ZK,
    listener: LISTENER,
    region: lab("LAB_REGION1_NAME"),
    scaleIps: lab("LAB_SCALE_IPS").split(","),
    proxyPort: PROXY_PORT,
    stateDir,
    env: scriptEnv(stateDir),
  });
  log("Prometheus (every role discovered) and the autoscaler (listener public) up");

  await Deno.mkdir(o.outDir, { recursive: true });
  const stopFile = `${stateDir}/clients.stop`;
  const spawnClient = (name: string, ns: string, rate: number, out: string, stop: string) =>
    spawnIn(ns, name, Deno.execPath(), [
      ...["run", "-A", `${REPO}/tests/gameday/client.ts`, "--client", name],
      ...["--vip", VIP, "--service", ZONE, "--port", String(PROXY_PORT)],
      ...["--rate", String(rate), "--out", out, "--stop-file", stop],
    ]);
  const waitStopped = async (p: RoleProcess) => {
    const timer = setTimeout(() => p.signal("SIGKILL"), 20_000);
    await p.exited;
    clearTimeout(timer);
  };
  const extraOuts: string[] = [];
  await Deno.remove(stopFile).catch(() => {});
  const clients: Topology["clients"] = [];
  for (const [name, ns] of [["c1", lab("LAB_NS_CLIENT1")], ["c2", lab("LAB_NS_CLIENT2")]]) {
    const out = `${stateDir}/${name}.jsonl`;
    await Deno.writeTextFile(out, "");
    const process = spawnClient(name as string, ns as string, o.clientRate, out, stopFile);
    clients.push({ name: name as string, netns: ns as string, out, process });
  }
  await sleep(1000);
  log("clients started");

  return {
    stateDir,
    routerIp: lab("LAB_ROUTER_DNS_IP"),
    backends,
    orchestrators,
    proxies,
    dnsRoles,
    admin,
    dnsNodes,
    clients,
    api,
    zk: async (...args) => await zk(...args),
    script: (path, ...args) =>
      run(["bash", `${REPO}/${path}`, ...args], { env: scriptEnv(stateDir), allowFail: true }),
    vipHolders,
    resolveFrom,
    stopClients: async () => {
      await Deno.writeTextFile(stopFile, "");
      await Promise.all(clients.map((c) => waitStopped(c.process)));
    },
    monitoring,
    extraOuts,
    startClient: (name, ns, rate) => {
      const out = `${stateDir}/${name}.jsonl`;
      const stop = `${stateDir}/${name}.stop`;
      extraOuts.push(out);
      const p = spawnClient(name, ns, rate, out, stop);
      return {
        stop: async () => {
          await Deno.writeTextFile(stop, "");
          await waitStopped(p);
        },
      };
    },
  };
}
