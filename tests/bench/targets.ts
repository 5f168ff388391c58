/**
 * What the benchmark measures against: two bench backends, and the targets
 * in front of them (nginx, HAProxy, Switchyard under each runtime, and the
 * backend hit directly), with the configs it generates for each. Every proxy
 * gets the same two backends, round robin, keep-alive on both sides, no
 * access log, one worker/thread; Switchyard is also measured with
 * `--workers 2` (two processes on one port, SO_REUSEPORT). For the TLS
 * scenarios (`--part tls`) nginx, HAProxy and one-process Switchyard also
 * listen over TLS, with the run's certificate and the same settings
 * (`tls_setup.ts`).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { REPO_ROOT, type Runtime, runtimeBinary } from "../../lib/runtime/role_command.ts";
import { freePort, httpOk, waitUntil } from "../support/processes.ts";
import type { Spawned, Supervisor } from "./procs.ts";
import type { Scenario } from "./scenarios.ts";
import { parseSTime, sTimeArgs } from "./tls_tools.ts";
import {
  type BenchTls,
  HAPROXY_TLS_GLOBAL,
  haproxyTlsBind,
  negotiated,
  nginxTlsDirectives,
  switchyardTlsFlags,
} from "./tls_setup.ts";

/** Idle keep-alive connections the proxies may keep to the backends (enough for 256 clients). */
const UPSTREAM_IDLE = 512;

/** A running bench backend. */
export interface BackendInstance {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly url: string;
  readonly proc: Spawned;
}

/** Starts `n` bench backends (Bun.serve, `tests/bench/backend.ts`) named b1..bn. */
export async function startBackends(
  sup: Supervisor,
  n: number,
  cpus: string | null,
): Promise<BackendInstance[]> {
  const out: BackendInstance[] = [];
  for (let i = 1; i <= n; i++) {
    const port = await freePort();
    const name = `b${i}`;
    const proc = sup.spawn(
      `backend ${name}`,
      runtimeBinary("bun"),
      [
        path.join(REPO_ROOT, "tests", "bench", "backend.ts"),
        "--port",
        String(port),
        "--name",
        name,
      ],
      { cpus },
    );
    const url = `http://127.0.0.1:${port}`;
    await ready(proc, url);
    out.push({ name, port, address: `127.0.0.1:${port}`, url, proc });
  }
  return out;
}

/** The kinds of target. */
export type TargetKind = "direct" | "nginx" | "haproxy" | "switchyard" | "relay";

/** A target the benchmark can measure. */
export interface TargetSpec {
  readonly id: string;
  readonly label: string;
  readonly kind: TargetKind;
  readonly runtime?: Runtime;
  /** Another Switchyard checkout to run (`--alt`), for A/B runs of an engine change. */
  readonly root?: string;
  /**
   * Switchyard's `--workers N` (default 1). With pinning, a target with more
   * than one worker may run on every CPU (see `StartContext.allCpus`).
   */
  readonly workers?: number;
  /**
   * Serve the bench group through a listener of this many routes (`--listener`):
   * the routing cost against the one-group figure of the same runtime.
   */
  readonly routes?: number;
}

/** Every known target, in report order. */
export const TARGETS: readonly TargetSpec[] = [
  { id: "direct", label: "backend directly (no proxy)", kind: "direct" },
  { id: "nginx", label: "nginx (1 worker)", kind: "nginx" },
  { id: "haproxy", label: "HAProxy (nbthread 1)", kind: "haproxy" },
  { id: "switchyard-bun", label: "Switchyard under Bun", kind: "switchyard", runtime: "bun" },
  { id: "switchyard-deno", label: "Switchyard under Deno", kind: "switchyard", runtime: "deno" },
  {
    id: "switchyard-bun-w2",
    label: "Switchyard under Bun, --workers 2",
    kind: "switchyard",
    runtime: "bun",
    workers: 2,
  },
  {
    id: "switchyard-deno-w2",
    label: "Switchyard under Deno, --workers 2",
    kind: "switchyard",
    runtime: "deno",
    workers: 2,
  },
  {
    id: "switchyard-bun-routes",
    label: "Switchyard under Bun, 1,000 routes (--listener)",
    kind: "switchyard",
    runtime: "bun",
    routes: 1000,
  },
  {
    id: "switchyard-deno-routes",
    label: "Switchyard under Deno, 1,000 routes (--listener)",
    kind: "switchyard",
    runtime: "deno",
    routes: 1000,
  },
  {
    id: "relay-bun",
    label: "byte relay, node:net under Bun (floor)",
    kind: "relay",
    runtime: "bun",
  },
  {
    id: "relay-deno",
    label: "byte relay, node:net under Deno (floor)",
    kind: "relay",
    runtime: "deno",
  },
];

/** What `deno task bench` measures unless told otherwise (issues 3 and 9's targets). */
export const DEFAULT_TARGETS: readonly string[] = [
  "direct",
  "nginx",
  "haproxy",
  "switchyard-bun",
  "switchyard-deno",
  "switchyard-bun-routes",
  "switchyard-bun-w2",
  "switchyard-deno-w2",
];

/**
 * Switchyard targets running other checkouts' `roles/proxy.ts` (`--alt DIR,DIR`),
 * for A/B runs of an engine change: `switchyard-bun@<dir name>`...
 */
export function altTargets(roots: string): TargetSpec[] {
  return roots.split(",").filter(Boolean).flatMap((root) => {
    const name = path.basename(path.resolve(root));
    return (["bun", "deno"] as const).map((runtime): TargetSpec => ({
      id: `switchyard-${runtime}@${name}`,
      label: `Switchyard under ${runtime === "bun" ? "Bun" : "Deno"} (${name})`,
      kind: "switchyard",
      runtime,
      root: path.resolve(root),
    }));
  });
}

/**
 * The targets measured over TLS (`--part tls`): nginx, HAProxy and
 * Switchyard as one process serving one group (issue 15 compares one nginx
 * worker with one proxy process).
 */
export function servesTls(spec: TargetSpec): boolean {
  return (spec.kind === "nginx" || spec.kind === "haproxy" || spec.kind === "switchyard") &&
    (spec.workers ?? 1) === 1 && spec.routes === undefined;
}

/** Resolves a `--targets` list (`default`, or `all` for every one). */
export function selectTargets(list: string): TargetSpec[] {
  if (list === "all") return [...TARGETS];
  if (list === "default") return TARGETS.filter((t) => DEFAULT_TARGETS.includes(t.id));
  return list.split(",").map((s) => s.trim()).filter(Boolean).map((id) => {
    const t = TARGETS.find((x) => x.id === id);
    if (!t) {
      throw new Error(`unknown target "${id}" (known: ${TARGETS.map((x) => x.id).join(", ")})`);
    }
    return t;
  });
}

/** A started target. */
export interface RunningTarget {
  readonly spec: TargetSpec;
  /** Base URL wrk and curl use (no trailing slash). */
  readonly url: string;
  /** Base URL of its TLS listener (`https://127.0.0.1:port`), or null without one. */
  readonly tlsUrl: string | null;
  /** What it negotiated with OpenSSL's default client offer (see `tls_setup.ts`), or null. */
  readonly tlsNegotiated: string | null;
  /** The process whose tree is the target's CPU (the backend itself for `direct`). */
  readonly proc: Spawned;
  /** Generated config file, if any. */
  readonly configPath: string | null;
  /** Where a CPU profile goes (Switchyard with `profile`). */
  readonly profileDir: string | null;
  /** The `taskset -c` list it runs on (null: not pinned). */
  readonly cpus: string | null;
  /** It may run on more than one core (so "its core" means nothing to the checks). */
  readonly spread: boolean;
}

/** What starting a target needs. */
export interface StartContext {
  readonly sup: Supervisor;
  readonly stateDir: string;
  readonly backends: readonly BackendInstance[];
  /** `taskset -c` list for the target, or null. */
  readonly cpus: string | null;
  /**
   * `taskset -c` list for targets with several workers (every CPU: on a
   * 2-CPU machine a second worker can only run beside wrk and the backends),
   * or null.
   */
  readonly allCpus?: string | null;
  /** Start Switchyard with the runtime's CPU profiler writing here (`--cpu-prof`). */
  readonly profile?: boolean;
  /** With the run's certificate: targets that {@link servesTls} also listen over TLS. */
  readonly tls?: BenchTls | null;
}

/** Starts one target and waits until it answers. */
export async function startTarget(spec: TargetSpec, ctx: StartContext): Promise<RunningTarget> {
  switch (spec.kind) {
    case "direct": {
      const b = ctx.backends[0]!;
      return {
        spec,
        url: b.url,
        tlsUrl: null,
        tlsNegotiated: null,
        proc: b.proc,
        configPath: null,
        profileDir: null,
        cpus: b.proc.cpus,
        spread: false,
      };
    }
    case "nginx":
      return await startNginx(spec, ctx);
    case "haproxy":
      return await startHaproxy(spec, ctx);
    case "switchyard":
      return await startSwitchyard(spec, ctx);
    case "relay":
      return await startRelay(spec, ctx);
  }
}

/** A TLS listener's port and the certificate it serves. */
export interface TlsListen {
  readonly port: number;
  readonly files: BenchTls;
}

/**
 * nginx as a reverse proxy: 1 worker, upstream keep-alive, round robin, no
 * access log; with `tls`, also HTTPS and HTTP/2 (ALPN) on its port.
 */
export function nginxConfig(
  dir: string,
  port: number,
  backends: readonly string[],
  tls: TlsListen | null = null,
): string {
  return `# generated by tests/bench (Switchyard benchmark)
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
worker_rlimit_nofile 16384;
events {
  worker_connections 8192;
}
http {
  access_log off;
  # wrk keeps its connections for the whole run, as it does with the other targets
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path ${dir}/client_body;
  client_body_buffer_size 128k;
  proxy_temp_path ${dir}/proxy_temp;
  # never spill a response to disk (the 1 MiB scenario): relay through memory like the others
  proxy_max_temp_file_size 0;
  upstream backends {
${backends.map((b) => `    server ${b};`).join("\n")}
    keepalive ${UPSTREAM_IDLE * 2};
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port} backlog=1024;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    # WebSocket (the echo scenario): nginx passes an upgrade only when told to
    location /ws {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 75s;
    }
  }${
    tls
      ? `
  server {
    listen 127.0.0.1:${tls.port} ssl http2 backlog=1024;
${nginxTlsDirectives(tls.files)}
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`
      : ""
  }
}
`;
}

/** A TLS listener on a free port when the target serves TLS in this run, else null. */
async function tlsListen(spec: TargetSpec, ctx: StartContext): Promise<TlsListen | null> {
  return ctx.tls && servesTls(spec) ? { port: await freePort(), files: ctx.tls } : null;
}

/** The TLS fields of a started target: its URL, and what it negotiates (checked now). */
function tlsFields(tls: TlsListen | null): Pick<RunningTarget, "tlsUrl" | "tlsNegotiated"> {
  if (!tls) return { tlsUrl: null, tlsNegotiated: null };
  return { tlsUrl: `https://127.0.0.1:${tls.port}`, tlsNegotiated: negotiated(tls.port) };
}

async function startNginx(spec: TargetSpec, ctx: StartContext): Promise<RunningTarget> {
  const dir = path.join(ctx.stateDir, "nginx");
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const configPath = path.join(dir, "nginx.conf");
  const tls = await tlsListen(spec, ctx);
  fs.writeFileSync(configPath, nginxConfig(dir, port, ctx.backends.map((b) => b.address), tls));
  const args = ["-p", `${dir}/`, "-e", path.join(dir, "nginx-error.log"), "-c", configPath];
  checkConfig("nginx", ["-t", ...args]);
  const proc = ctx.sup.spawn(spec.id, "nginx", args, { cpus: ctx.cpus });
  const url = `http://127.0.0.1:${port}`;
  await ready(proc, url);
  return {
    spec,
    url,
    ...tlsFields(tls),
    proc,
    configPath,
    profileDir: null,
    cpus: ctx.cpus,
    spread: false,
  };
}

/**
 * HAProxy: one thread, keep-alive both sides with connection reuse, round
 * robin, no log; with `tls`, also a TLS frontend (HTTP/2 by ALPN).
 */
export function haproxyConfig(
  port: number,
  backends: readonly string[],
  tls: TlsListen | null = null,
): string {
  return `# generated by tests/bench (Switchyard benchmark)
global
  nbthread 1
  maxconn 4096
${tls ? `${HAPROXY_TLS_GLOBAL}\n` : ""}defaults
  mode http
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 5s
  timeout client 75s
  timeout server 75s
  timeout http-keep-alive 75s
frontend bench
  bind 127.0.0.1:${port}
  default_backend backends
${
    tls
      ? `frontend bench_tls
  bind 127.0.0.1:${tls.port} ${haproxyTlsBind(tls.files)}
  default_backend backends
`
      : ""
  }backend backends
  balance roundrobin
${backends.map((b, i) => `  server b${i + 1} ${b}`).join("\n")}
`;
}

async function startHaproxy(spec: TargetSpec, ctx: StartContext): Promise<RunningTarget> {
  const dir = path.join(ctx.stateDir, "haproxy");
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const configPath = path.join(dir, "haproxy.cfg");
  const tls = await tlsListen(spec, ctx);
  fs.writeFileSync(configPath, haproxyConfig(port, ctx.backends.map((b) => b.address), tls));
  checkConfig("haproxy", ["-c", "-f", configPath]);
  // -db: foreground, one process (no master-worker), logs to stderr
  const proc = ctx.sup.spawn(spec.id, "haproxy", ["-db", "-f", configPath], { cpus: ctx.cpus });
  const url = `http://127.0.0.1:${port}`;
  await ready(proc, url);
  return {
    spec,
    url,
    ...tlsFields(tls),
    proc,
    configPath,
    profileDir: null,
    cpus: ctx.cpus,
    spread: false,
  };
}

/** Switchyard's config file for the bench group. */
export function switchyardConfig(backends: readonly string[]): Record<string, unknown> {
  return {
    bench: {
      backend_servers: backends,
      algorithm: "ROUND_ROBIN",
      health_check_frequency_seconds: 3600,
      upstream_keepalive: { max_idle: UPSTREAM_IDLE, idle_timeout_seconds: 120 },
    },
  };
}

/**
 * The bench group behind a listener of `n` routes: `n - 1` routes over
 * `(n - 1) / 2` hosts (an exact path and a prefix each, as a real table has),
 * then the catch-all route the benchmark's requests take.
 */
export function switchyardRoutesConfig(
  backends: readonly string[],
  n: number,
): Record<string, unknown> {
  const routes: unknown[] = [];
  for (let i = 0; routes.length < n - 1; i++) {
    const host = `svc-${i}.bench.example`;
    routes.push({
      name: `r${routes.length}`,
      match: { host, path: { exact: `/v1/items/${i}` } },
      forward: { group: "bench" },
    });
    if (routes.length < n - 1) {
      routes.push({
        name: `r${routes.length}`,
        match: { host, path: { prefix: `/api/${i}` } },
        forward: { group: "bench" },
      });
    }
  }
  routes.push({ name: "all", match: { path: { prefix: "/" } }, forward: { group: "bench" } });
  return {
    groups: switchyardConfig(backends),
    listeners: { bench: { routes } },
  };
}

async function startSwitchyard(spec: TargetSpec, ctx: StartContext): Promise<RunningTarget> {
  const runtime = spec.runtime!;
  const dir = path.join(ctx.stateDir, spec.id);
  fs.mkdirSync(dir, { recursive: true });
  const configPath = path.join(dir, "lb.json");
  const addresses = ctx.backends.map((b) => b.address);
  fs.writeFileSync(
    configPath,
    JSON.stringify(
      spec.routes ? switchyardRoutesConfig(addresses, spec.routes) : switchyardConfig(addresses),
      null,
      2,
    ),
  );
  const port = await freePort();
  const tls = await tlsListen(spec, ctx);
  const workers = spec.workers ?? 1;
  // worker i serves its admin endpoints on the admin port + i
  const adminPort = await freePorts(workers);
  const root = spec.root ?? REPO_ROOT;
  const script = path.join(root, "roles", "proxy.ts");
  const flags = [
    "--config",
    configPath,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    ...(spec.routes ? ["--listener", "bench"] : []),
    "--no-health-checks",
    "--log-level",
    "warn",
    "--drain-seconds",
    "1",
    ...(workers > 1 ? ["--workers", String(workers)] : []),
    ...(tls ? switchyardTlsFlags(tls.files, tls.port) : []),
  ];
  let profileDir: string | null = null;
  const prof: string[] = [];
  if (ctx.profile) {
    profileDir = path.join(dir, "profile");
    fs.rmSync(profileDir, { recursive: true, force: true });
    fs.mkdirSync(profileDir, { recursive: true });
    prof.push("--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profileDir}`);
  }
  const args = runtime === "deno"
    ? ["run", ...prof, "-A", script, ...flags]
    : [...prof, script, ...flags];
  const spread = workers > 1 && ctx.allCpus !== undefined && ctx.allCpus !== ctx.cpus;
  const cpus = spread ? ctx.allCpus! : ctx.cpus;
  // the checkout's own deno.json / node_modules apply (cwd = its root)
  const proc = ctx.sup.spawn(spec.id, runtimeBinary(runtime), args, { cpus, cwd: root });
  for (let i = 0; i < workers; i++) {
    await ready(proc, `http://127.0.0.1:${adminPort + i}/healthz`);
  }
  return {
    spec,
    url: `http://127.0.0.1:${port}`,
    ...tlsFields(tls),
    proc,
    configPath,
    profileDir,
    cpus,
    spread: spread || (workers > 1 && cpus === null),
  };
}

/** The first of `n` consecutive free ports (re-tried a few times). */
async function freePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await freePort();
    if (n === 1) return first;
    let ok = true;
    for (let i = 1; i < n && ok; i++) ok = await portFree(first + i);
    if (ok) return first;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function startRelay(spec: TargetSpec, ctx: StartContext): Promise<RunningTarget> {
  const port = await freePort();
  const script = path.join(REPO_ROOT, "tests", "bench", "relay.ts");
  const flags = [
    "--port",
    String(port),
    "--backends",
    ctx.backends.map((b) => b.address).join(","),
  ];
  const args = spec.runtime === "deno" ? ["run", "-A", script, ...flags] : [script, ...flags];
  const proc = ctx.sup.spawn(spec.id, runtimeBinary(spec.runtime!), args, { cpus: ctx.cpus });
  const url = `http://127.0.0.1:${port}`;
  await ready(proc, url);
  return {
    spec,
    url,
    tlsUrl: null,
    tlsNegotiated: null,
    proc,
    configPath: null,
    profileDir: null,
    cpus: ctx.cpus,
    spread: false,
  };
}

function checkConfig(bin: string, args: readonly string[]): void {
  const r = spawnSync(bin, args, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${bin} ${args.join(" ")} failed:\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  }
}

async function ready(proc: Spawned, url: string): Promise<void> {
  try {
    await waitUntil(`${proc.name} to answer ${url}`, async () => {
      if (!proc.running) throw new Error(`${proc.name} exited early`);
      return await httpOk(url);
    }, 30_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- ${proc.name} output ---\n${proc.log}`);
  }
}

/**
 * Checks with curl that a target really proxies the scenario's request to
 * the backends: every answer is a 200 with the backend's body, and a proxy
 * spreads requests over both backends. A TLS scenario's requests go to the
 * TLS listener, verified against the run's CA, over the scenario's HTTP
 * version; the handshake scenario's client (`s_time`) must get answers too.
 * Returns a problem, or null.
 */
export function sanityCheck(
  target: RunningTarget,
  s: Scenario,
  backends: readonly BackendInstance[],
  stateDir: string,
  tls: BenchTls | null = null,
): string | null {
  if (s.tls && (!tls || !target.tlsUrl)) return "no TLS listener";
  const port = s.tls ? new URL(target.tlsUrl!).port : "";
  const url = s.tls ? `https://${tls!.host}:${port}${s.path}` : `${target.url}${s.path}`;
  if (s.tool === "ws") return wsSanityCheck(url);
  if (s.tool === "s_time") {
    const r = spawnSync("bash", sTimeArgs("127.0.0.1", Number(port), s.path, 1, 1).slice(1), {
      encoding: "utf8",
      timeout: 30_000,
    });
    const got = parseSTime(r.stdout ?? "", 1, 1);
    if (got.requests === 0 || got.errors.connect + got.errors.read > 0) {
      return `openssl s_time -new against ${target.tlsUrl}: ${(r.stdout ?? "").slice(-300)}`;
    }
  }
  const n = 4;
  const args = [
    "-sS",
    "--max-time",
    "10",
    "-w",
    "|%{http_code}|%{size_download}|%{http_version}\n",
  ];
  if (s.tls) {
    args.push("--resolve", `${tls!.host}:${port}:127.0.0.1`, "--cacert", tls!.ca);
    args.push(s.tls === "h2" ? "--http2" : "--http1.1");
  }
  if (s.method === "POST") {
    const file = path.join(stateDir, `body-${s.bodyBytes}.bin`);
    if (!fs.existsSync(file)) fs.writeFileSync(file, new Uint8Array(s.bodyBytes).fill(120));
    args.push("-X", "POST", "-H", "content-type: application/octet-stream");
    args.push("--data-binary", `@${file}`);
  }
  for (let i = 0; i < n; i++) args.push(url);
  const r = spawnSync("curl", args, { encoding: "latin1", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) return `curl ${url} failed: ${(r.stderr ?? "").trim()}`;
  const out = r.stdout ?? "";
  const answers: { body: string; code: string; size: number; version: string }[] = [];
  const re = /\|(\d{3})\|(\d+)\|([\d.]+)\n/g;
  let start = 0;
  for (let m = re.exec(out); m !== null; m = re.exec(out)) {
    answers.push({
      body: out.slice(start, m.index),
      code: m[1]!,
      size: Number(m[2]),
      version: m[3]!,
    });
    start = re.lastIndex;
  }
  if (answers.length !== n) return `curl ${url}: expected ${n} answers, got ${answers.length}`;
  const seen = new Set<string>();
  for (const a of answers) {
    if (a.code !== "200") return `${url} answered ${a.code}: ${a.body.slice(0, 200)}`;
    if (s.tls === "h2" && a.version !== "2") return `${url}: HTTP/${a.version}, expected HTTP/2`;
    if (s.path === "/1m") {
      if (a.size !== 1024 * 1024) return `${url}: ${a.size} bytes, expected 1048576`;
      continue;
    }
    if (s.path === "/upload") {
      if (a.body !== `${s.bodyBytes}\n`) return `${url}: body ${JSON.stringify(a.body)}`;
      continue;
    }
    const name = backends.find((b) => a.body === `${b.name}\n`)?.name;
    if (!name) return `${url}: unexpected body ${JSON.stringify(a.body.slice(0, 200))}`;
    seen.add(name);
  }
  // a proxy balances each request; the relay pins a connection to one backend
  const balances = target.spec.kind !== "direct" && target.spec.kind !== "relay";
  if (s.path === "/" && balances && seen.size < backends.length) {
    return `${url}: only ${[...seen].join(", ")} answered; expected round robin over ${
      backends.map((b) => b.name).join(", ")
    }`;
  }
  return null;
}

/** The WebSocket echo works through the target: a short run of the load client, no errors. */
function wsSanityCheck(url: string): string | null {
  const ws = url.replace(/^http:/, "ws:");
  const r = spawnSync(runtimeBinary("bun"), [
    path.join(REPO_ROOT, "tests", "bench", "ws_load.ts"),
    "--url",
    ws,
    "--connections",
    "2",
    "--duration",
    "0.5",
  ], { encoding: "utf8", timeout: 20_000 });
  const line = /^WS_JSON (.+)$/m.exec(r.stdout ?? "");
  if (r.status !== 0 || !line) {
    return `WebSocket client against ${ws} failed: ${(r.stderr ?? "").trim().slice(0, 300)}`;
  }
  const out = JSON.parse(line[1]!) as { requests: number; errors: Record<string, number> };
  const errors = Object.entries(out.errors).filter(([, v]) => v > 0);
  if (errors.length > 0 || out.requests === 0) {
    return `${ws}: ${out.requests} echoes, errors ${JSON.stringify(Object.fromEntries(errors))}`;
  }
  return null;
}
