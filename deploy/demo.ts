/**
 * `npm run demo` / `deno task demo`: the embedded default on one machine.
 * Starts three sample backends of different weights and a proxy reading a
 * config file, shows the traffic split, and prints what to try next.
 * Ctrl-C stops everything.
 *
 * Flags: `--runtime deno|bun` (default deno), `--port 8080`, `--admin-port 9090`,
 * `--backend-port 9001` (first of three), `--requests 60`, `--exit` (stop after the check).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseFlags } from "../lib/cli/flags.ts";
import { REPO_ROOT, roleCommand, type Runtime } from "../lib/runtime/role_command.ts";

const flags = parseFlags(process.argv.slice(2), [
  { name: "runtime", type: "string", help: "deno or bun", default: "deno" },
  { name: "port", type: "number", help: "proxy port", default: 8080 },
  { name: "admin-port", type: "number", help: "proxy admin port", default: 9090 },
  { name: "backend-port", type: "number", help: "first backend port", default: 9001 },
  { name: "requests", type: "number", help: "requests sent to show the split", default: 60 },
  { name: "exit", type: "boolean", help: "exit after showing the split", default: false },
]);
const runtime = String(flags.runtime) as Runtime;
if (runtime !== "deno" && runtime !== "bun") {
  console.error("--runtime must be deno or bun");
  process.exit(2);
}
const port = Number(flags.port);
const adminPort = Number(flags["admin-port"]);
const firstBackend = Number(flags["backend-port"]);

const dir = path.join(REPO_ROOT, ".state", "demo");
fs.mkdirSync(dir, { recursive: true });
const configFile = path.join(dir, "lb.json");
const backends = [
  { name: "alpha", port: firstBackend, weight: 1 },
  { name: "bravo", port: firstBackend + 1, weight: 2 },
  { name: "charlie", port: firstBackend + 2, weight: 3 },
];
const config = {
  "demo": {
    backend_servers: backends.map((b) => ({ address: `127.0.0.1:${b.port}`, weight: b.weight })),
    health_endpoint: "/health",
    health_endpoint_expected_code: 200,
    health_check_frequency_seconds: 2,
    algorithm: "WEIGHTED_ROUND_ROBIN",
  },
};
fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n");

const children: ChildProcess[] = [];
function start(role: string, roleFlags: string[], logName: string): ChildProcess {
  const { command, args } = roleCommand(runtime, role, roleFlags);
  const log = fs.openSync(path.join(dir, `${logName}.log`), "w");
  const child = spawn(command, args, { stdio: ["ignore", log, log] });
  children.push(child);
  return child;
}
function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
}
process.on("SIGINT", () => {
  stopAll();
  process.exit(0);
});
process.on("SIGTERM", () => {
  stopAll();
  process.exit(0);
});

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms (logs in ${dir})`);
}

for (const b of backends) {
  start("backend", ["--listen", `127.0.0.1:${b.port}`, "--name", b.name], `backend-${b.name}`);
}
start("proxy", [
  "--config",
  configFile,
  "--listen",
  `127.0.0.1:${port}`,
  "--admin-listen",
  `127.0.0.1:${adminPort}`,
], "proxy");

try {
  for (const b of backends) await waitFor(`http://127.0.0.1:${b.port}/health`, 20_000);
  await waitFor(`http://127.0.0.1:${adminPort}/healthz`, 20_000);
} catch (e) {
  console.error(String(e));
  stopAll();
  process.exit(1);
}

const counts = new Map<string, number>();
const total = Number(flags.requests);
for (let i = 0; i < total; i++) {
  const name = (await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim();
  counts.set(name, (counts.get(name) ?? 0) + 1);
}
console.log(
  `Switchyard demo (${runtime}): proxy on 127.0.0.1:${port}, admin on 127.0.0.1:${adminPort}`,
);
console.log(`config: ${configFile} (WEIGHTED_ROUND_ROBIN, weights 1:2:3)\n`);
console.log(`${total} requests through the proxy:`);
for (const b of backends) {
  const n = counts.get(b.name) ?? 0;
  console.log(
    `  ${b.name.padEnd(8)} weight ${b.weight}  ${String(n).padStart(4)}  ${"#".repeat(n)}`,
  );
}
console.log(`
Try:
  for i in $(seq 12); do curl -s 127.0.0.1:${port}/; done | sort | uniq -c
  curl -s 127.0.0.1:${adminPort}/status            # config version, backends, health, in-flight
  curl -s 127.0.0.1:${adminPort}/metrics           # Prometheus metrics
  curl -s -XPOST '127.0.0.1:${firstBackend}/_control/health?status=503'   # alpha fails its checks: out in ~6 s
  edit ${configFile}                               # saved changes apply at once; invalid ones are rejected
Logs: ${dir}/*.log    Stop: Ctrl-C`);

if (flags.exit) {
  stopAll();
  process.exit(0);
}
