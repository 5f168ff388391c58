/**
 * End to end: two orchestrators and two proxies (`--zk ... --no-health-checks`, honouring
 * `/switchyard/health/<group>`) on the real ZooKeeper, three sample backends, steady traffic.
 * Killing a backend takes it out of rotation within fall x interval plus propagation with zero
 * failed client GETs (the proxies' retries cover the gap); starting it again brings it back after
 * rise probes. Everything runs under Deno and then under Bun.
 */
import assert from "node:assert/strict";
import { healthBackendPath } from "../../lib/store/layout.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import {
  freePort,
  httpOk,
  type RoleProcess,
  RUNTIMES,
  startBackends,
  startRole,
  waitUntil,
} from "../support/processes.ts";
import { type Orchestrator, sandbox, sleep, startOrchestrator } from "./_support.ts";

const INTERVAL_S = 0.5;
const FALL = 3;
const RISE = 2;
/** Propagation: ZooKeeper write + watch + proxy snapshot swap, generously. */
const PROPAGATION_MS = 1000;

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `orchestrator end to end under ${runtime}: a killed backend leaves rotation, no failed GET`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => endToEnd(runtime),
  });
}

interface Proxy {
  readonly process: RoleProcess;
  readonly url: string;
  readonly adminPort: number;
}

async function startProxy(runtime: Runtime, connect: string, group: string): Promise<Proxy> {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = await startRole(runtime, "proxy", [
    "--zk",
    connect,
    "--group",
    group,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    "--no-health-checks",
    "--zk-session-timeout",
    "4",
  ], { ready: () => httpOk(`http://127.0.0.1:${adminPort}/healthz`) });
  return { process: proc, url: `http://127.0.0.1:${port}`, adminPort };
}

async function endToEnd(runtime: Runtime): Promise<void> {
  const sb = await sandbox();
  const backends = await startBackends(3, runtime);
  const victim = backends[1]!;
  const procs: RoleProcess[] = backends.map((b) => b.process);
  const orchestrators: Orchestrator[] = [];
  let traffic: Promise<void> | undefined;
  let running = true;
  try {
    await sb.setConfig("web", {
      backend_servers: backends.map((b) => b.address),
      health_check_frequency_seconds: INTERVAL_S,
      health_check_timeout_seconds: 0.4,
      unhealthy_threshold: FALL,
      healthy_threshold: RISE,
    });
    for (const id of ["o1", "o2"]) {
      const o = await startOrchestrator(runtime, sb.connect, id);
      orchestrators.push(o);
      procs.push(o.process);
    }
    const proxies = [
      await startProxy(runtime, sb.connect, "web"),
      await startProxy(runtime, sb.connect, "web"),
    ];
    procs.push(...proxies.map((p) => p.process));
    for (const p of proxies) {
      await waitUntil("the proxy serves all three backends", async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 12; i++) {
          const r = await fetch(p.url, { signal: AbortSignal.timeout(5000) });
          seen.add((await r.text()).trim());
        }
        return seen.size === 3;
      }, 20_000);
    }

    // Steady traffic: two clients, one per proxy.
    const answers: { at: number; proxy: number; body: string; ok: boolean }[] = [];
    const client = async (i: number) => {
      while (running) {
        try {
          const r = await fetch(proxies[i]!.url, { signal: AbortSignal.timeout(10_000) });
          const body = (await r.text()).trim();
          answers.push({ at: Date.now(), proxy: i, body, ok: r.status === 200 });
        } catch (e) {
          answers.push({ at: Date.now(), proxy: i, body: String(e), ok: false });
        }
        await sleep(5);
      }
    };
    traffic = Promise.all([client(0), client(1)]).then(() => {});
    await sleep(1000);

    const t0 = Date.now();
    await victim.process.stop("SIGKILL");
    await waitUntil(
      "the orchestrator marks the killed backend",
      async () => await sb.store.exists(healthBackendPath("web", victim.address)) !== null,
      FALL * INTERVAL_S * 1000 * 2 + 10_000,
    );
    const marked = Date.now() - t0;
    await waitUntil("both proxies take it out of rotation", async () => {
      for (const p of proxies) {
        const s = await (await fetch(`http://127.0.0.1:${p.adminPort}/status`)).json();
        const b = s.backends.find((x: { address: string }) => x.address === victim.address);
        if (b?.usable !== false) return false;
      }
      return true;
    }, 10_000);
    const out = Date.now() - t0;
    const bound = FALL * INTERVAL_S * 1000 * 1.1 + INTERVAL_S * 1000 + PROPAGATION_MS;
    console.log(
      `  [${runtime}] killed ${victim.name}: marked after ${marked} ms, out of both proxies after ` +
        `${out} ms (fall x interval + one interval of phase + propagation = ${bound} ms)`,
    );
    assert.ok(out <= bound + 1000, `left rotation after ${out} ms`);
    await sleep(1000);

    const t1 = Date.now();
    const restarted = await startRole(
      runtime,
      "backend",
      ["--listen", victim.address, "--name", victim.name],
      { ready: () => httpOk(`http://${victim.address}/health`) },
    );
    procs.push(restarted);
    await waitUntil(
      "the orchestrator clears it after rise probes",
      async () => await sb.store.exists(healthBackendPath("web", victim.address)) === null,
      20_000,
    );
    const cleared = Date.now() - t1;
    await waitUntil(
      "traffic reaches it again through both proxies",
      () =>
        [0, 1].every((i) =>
          answers.some((a) => a.at > t1 && a.proxy === i && a.body === victim.name)
        ),
      10_000,
    );
    const back = Date.now() - t1;
    console.log(
      `  [${runtime}] restarted ${victim.name}: cleared after ${cleared} ms (rise ${RISE} x ` +
        `${INTERVAL_S * 1000} ms), serving through both proxies after ${back} ms`,
    );
    assert.ok(cleared >= (RISE - 1) * INTERVAL_S * 1000 * 0.9, "needed rise probes");
    running = false;
    await traffic;
    const failed = answers.filter((a) => !a.ok);
    console.log(`  [${runtime}] ${answers.length} GETs, ${failed.length} failed`);
    assert.deepEqual(failed.slice(0, 5), [], "zero failed client GETs");
  } finally {
    running = false;
    await traffic?.catch(() => {});
    await Promise.all(procs.map((p) => p.stop("SIGKILL")));
    await sb.close();
  }
}
