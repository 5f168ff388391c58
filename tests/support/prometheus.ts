/**
 * Test support for Prometheus: a real Prometheus started with `deploy/prometheus/prometheus.sh`
 * (its own state dir and port per test), and instance registrations for roles that do not
 * register themselves yet.
 *
 * @module
 */
import fs from "node:fs";
import { silentLogger } from "../../lib/log.ts";
import { PrometheusClient } from "../../lib/prometheus/api.ts";
import {
  InstanceRegistration,
  instancesRolePath,
  parseInstance,
} from "../../lib/source/instance_registry.ts";
import type { CoordinationStore } from "../../lib/store/types.ts";
import { freePort, sleep, tempDir } from "./processes.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const SCRIPT = `${REPO}deploy/prometheus/prometheus.sh`;

/** Runs `prometheus.sh` with a private state dir. */
export async function prometheusSh(
  stateDir: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("bash", {
    args: [SCRIPT, ...args],
    env: { SWITCHYARD_STATE_DIR: stateDir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: d(out.stdout), stderr: d(out.stderr) };
}

/** A running Prometheus. */
export interface PrometheusUnderTest {
  readonly url: string;
  readonly client: PrometheusClient;
  readonly stateDir: string;
  readonly targetsDir: string;
  stop(): Promise<void>;
}

/** Starts Prometheus on a free port, scraping every second, reading targets from `targetsDir`. */
export async function startPrometheus(targetsDir: string): Promise<PrometheusUnderTest> {
  const stateDir = tempDir("prom");
  const port = await freePort();
  const r = await prometheusSh(stateDir, [
    "start",
    "--listen",
    `127.0.0.1:${port}`,
    "--scrape-interval",
    "1s",
    "--targets-dir",
    targetsDir,
  ]);
  if (r.code !== 0) throw new Error(`prometheus.sh start failed:\n${r.stdout}\n${r.stderr}`);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    client: new PrometheusClient(url, { timeoutMs: 10_000 }),
    stateDir,
    targetsDir,
    stop: async () => {
      const s = await prometheusSh(stateDir, ["stop"]);
      if (s.code !== 0) console.error(s.stderr);
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * Makes sure a role process is registered under `/switchyard/instances/<role>`: waits up to
 * `graceMs` for it to register itself (with `admin` as its address), else registers it on its
 * behalf (id `<id>`) and returns that registration (stop it when done); null when it did.
 */
export async function ensureInstance(
  store: CoordinationStore,
  role: string,
  id: string,
  admin: string,
  graceMs = 1500,
): Promise<InstanceRegistration | null> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    const ids = await store.children(instancesRolePath(role)).catch(() => [] as string[]);
    for (const child of ids) {
      const node = await store.get(`${instancesRolePath(role)}/${child}`).catch(() => null);
      const info = node && parseInstance(role, child, node.data);
      if (info?.admin === admin) return null;
    }
    await sleep(100);
  }
  const reg = new InstanceRegistration({
    store,
    role,
    id,
    log: silentLogger,
    data: () => ({ admin, registered_by: "test" }),
  });
  reg.start();
  await reg.ready;
  return reg;
}
