/**
 * Health-failure detection: a backend is killed (SIGKILL) under light load
 * (two client loops, one per proxy, ~45 requests/s each) and the time is
 * measured until it is out of rotation on both proxies (`/status`:
 * `usable: false`, polled every 10 ms), two ways:
 *
 * - **orchestrator**: two orchestrator processes probe, ZooKeeper carries the
 *   health, two `--zk` proxies with `--no-health-checks` follow it; outlier
 *   detection is off in the group so that only the orchestrator path acts.
 *   The killed backend is started again on the same address between trials.
 * - **passive ejection**: two proxies on a config file with no active checks
 *   (`--no-health-checks`) and outlier detection at its defaults (5
 *   consecutive failures); each trial adds a fresh backend to the group
 *   (a config-file edit) and kills it, so every ejection is a first one.
 *
 * Client requests that failed meanwhile are counted too: the proxies retry a
 * refused connect on the other backend, within the retry budget (20% of
 * requests + 10/s); while a dead backend stays in rotation without outlier
 * detection, half the requests need a retry and the budget can run out (502).
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import type { Runtime } from "../../../lib/runtime/role_command.ts";
import {
  HealthRecorder,
  type Orchestrator,
  startOrchestrator,
} from "../../orchestrator/_support.ts";
import { startZkProxy, type ZkProxy, zkSandbox } from "../../support/control_plane.ts";
import { writeGroupConfig } from "../../support/dns_fleet.ts";
import {
  type Backend,
  httpOk,
  type RoleProcess,
  startBackends,
  startRole,
} from "../../support/processes.ts";
import { type ProxyUnderTest, startProxy } from "../../support/proxy.ts";
import {
  type ControlContext,
  type ControlFigure,
  failedFigure,
  kill,
  measuredFigure,
  onInterrupt,
  sleep,
  statusOf,
  stop,
  track,
} from "./common.ts";
import { LoadWindow } from "./load.ts";

/** Options of {@link detection}. */
export interface DetectionOptions {
  readonly trials: number;
  readonly runtime: Runtime;
  /** Probe interval of the orchestrator path, seconds. */
  readonly intervalS: number;
  readonly fall: number;
}

interface BackendStatus {
  backends: { address: string; usable: boolean; ejected?: boolean }[];
}

/** Light steady traffic through some proxies; counts answers and failures. */
class Traffic {
  ok = 0;
  failed = 0;
  /** Failures by kind: `status 502`, or the error's name. */
  readonly kinds: Record<string, number> = {};
  readonly #started = performance.now();
  #running = true;
  readonly #done: Promise<unknown>;

  constructor(urls: readonly string[], gapMs: number) {
    this.#done = Promise.all(urls.map(async (url) => {
      while (this.#running) {
        try {
          const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
          await r.text();
          if (r.status === 200) this.ok++;
          else this.#fail(`status ${r.status}`);
        } catch (e) {
          this.#fail((e as Error).name);
        }
        await sleep(gapMs);
      }
    }));
  }

  #fail(kind: string): void {
    this.failed++;
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }

  /** Requests per second per client loop so far. */
  ratePerLoop(loops: number): number {
    return Math.round(
      (this.ok + this.failed) / ((performance.now() - this.#started) / 1000) / loops,
    );
  }
}

/** Ms from `t0` until `address` is unusable on every proxy (polled every 10 ms), per proxy. */
async function outOfRotation(
  adminPorts: readonly number[],
  address: string,
  t0: number,
  timeoutMs: number,
): Promise<number[]> {
  const at = new Array<number>(adminPorts.length).fill(NaN);
  while (at.some(Number.isNaN)) {
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`${address} still in rotation after ${timeoutMs} ms`);
    }
    await Promise.all(adminPorts.map(async (port, i) => {
      if (!Number.isNaN(at[i]!)) return;
      const s = await statusOf<BackendStatus>(port);
      const b = s.backends.find((x) => x.address === address);
      if (b && !b.usable) at[i] = performance.now() - t0;
    }));
    await sleep(10);
  }
  return at;
}

async function usableEverywhere(adminPorts: readonly number[], address: string): Promise<boolean> {
  for (const port of adminPorts) {
    const s = await statusOf<BackendStatus>(port);
    if (!s.backends.find((x) => x.address === address)?.usable) return false;
  }
  return true;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Both detection figures. */
export async function detection(
  ctx: ControlContext,
  o: DetectionOptions,
): Promise<ControlFigure[]> {
  return [await viaOrchestrator(ctx, o), await viaPassive(ctx, o)];
}

async function viaOrchestrator(ctx: ControlContext, o: DetectionOptions): Promise<ControlFigure> {
  const interval = o.intervalS;
  const base = {
    id: "detection-orchestrator",
    section: "detection" as const,
    title: "Backend killed -> out of rotation on both proxies, orchestrator health",
    unit: "ms" as const,
    setup: `2 orchestrators and 2 \`--zk\` proxies (\`--no-health-checks\`) under ${o.runtime}, ` +
      `2 backends; probes every ${interval} s (±10% jitter), timeout 0.5 s, ` +
      `unhealthy_threshold ${o.fall}; outlier detection off; ~45 requests/s per proxy`,
    expected: `${o.fall} failed probes: ${((o.fall - 1) * interval).toFixed(1)}-` +
      `${(o.fall * interval * 1.1).toFixed(1)} s after the kill (the first failing probe ` +
      `comes 0-${interval} s after it), + a ZooKeeper write and watch (ms)`,
  };
  const zk = await zkSandbox("single").catch((e) => e as Error);
  if (zk instanceof Error) return failedFigure(base, zk);
  const unregister = onInterrupt(() => zk.close());
  const procs: RoleProcess[] = [];
  const orchestrators: Orchestrator[] = [];
  const proxies: ZkProxy[] = [];
  let traffic: Traffic | undefined;
  let health: HealthRecorder | undefined;
  try {
    const backends: Backend[] = await startBackends(2, "bun");
    backends.forEach((b) => procs.push(track(b.process)));
    await writeGroupConfig(zk.store, "det", {
      backend_servers: backends.map((b) => b.address),
      health_check_frequency_seconds: interval,
      health_check_timeout_seconds: 0.5,
      unhealthy_threshold: o.fall,
      healthy_threshold: 2,
      outlier_detection: { enabled: false },
    });
    health = new HealthRecorder(zk.store, "det");
    for (const id of ["o1", "o2"]) {
      const orch = await startOrchestrator(o.runtime, zk.connect, id);
      track(orch.process);
      orchestrators.push(orch);
    }
    for (let i = 0; i < 2; i++) {
      const p = await startZkProxy(o.runtime, zk.connect, "det", [
        "--no-health-checks",
        "--log-level",
        "warn",
      ]);
      track(p.process);
      proxies.push(p);
    }
    const ports = proxies.map((p) => p.adminPort);
    const victim = backends[1]!;
    await waitFor("both backends usable on both proxies", async () => {
      for (const b of backends) if (!(await usableEverywhere(ports, b.address))) return false;
      return true;
    }, 20_000);
    await waitFor("the targets assigned", async () => {
      let n = 0;
      for (const x of orchestrators) n += (await x.status()).assignment.size;
      return n === 2;
    }, 20_000);
    traffic = new Traffic(proxies.map((p) => p.url), 20);
    await sleep(2 * interval * 1000);
    await ctx.waitIdle();
    const w = new LoadWindow();
    const samples: number[] = [];
    const marked: number[] = [];
    let current: RoleProcess = victim.process;
    for (let trial = 1; trial <= o.trials; trial++) {
      // a random phase against the probe schedule
      await sleep(Math.random() * interval * 1000);
      const wall0 = Date.now();
      const t0 = performance.now();
      await kill(current);
      const at = await outOfRotation(ports, victim.address, t0, 30_000);
      const out = Math.max(...at);
      const mark = health.changes.find((c) =>
        c.at >= wall0 && c.unhealthy.includes(victim.address)
      );
      samples.push(Math.round(out));
      if (mark) marked.push(mark.at - wall0);
      ctx.log(
        `detection (orchestrator) trial ${trial}: out of rotation after ${Math.round(out)} ms` +
          (mark ? ` (marked in ZooKeeper after ${mark.at - wall0} ms)` : ""),
      );
      current = track(
        await startRole("bun", "backend", ["--listen", victim.address, "--name", victim.name], {
          ready: () => httpOk(`http://${victim.address}/health`),
        }),
      );
      procs.push(current);
      await waitFor(
        "the backend back in rotation",
        () => usableEverywhere(ports, victim.address),
        30_000,
      );
      await sleep(1000);
    }
    const load = w.end();
    const rate = traffic.ratePerLoop(2);
    await traffic.stop();
    return measuredFigure(base, samples, {
      digits: 0,
      load,
      maxOthers: ctx.maxOthers,
      extra: {
        marked_in_zookeeper_ms: marked,
        client_requests: traffic.ok + traffic.failed,
        client_requests_failed: traffic.failed,
        client_failures: traffic.kinds,
        client_rate_per_proxy: rate,
      },
    });
  } catch (e) {
    ctx.log(`detection (orchestrator) failed: ${(e as Error).message}`);
    return failedFigure(base, e);
  } finally {
    await traffic?.stop();
    health?.close();
    await Promise.all([
      ...proxies.map((p) => stop(p.process)),
      ...orchestrators.map((x) => stop(x.process)),
    ]);
    await Promise.all(procs.map((p) => kill(p)));
    await zk.close().catch(() => {});
    unregister();
  }
}

async function viaPassive(ctx: ControlContext, o: DetectionOptions): Promise<ControlFigure> {
  const base = {
    id: "detection-passive",
    section: "detection" as const,
    title: "Backend killed -> out of rotation on both proxies, passive ejection only",
    unit: "ms" as const,
    setup: `2 proxies on a config file under ${o.runtime}, \`--no-health-checks\`, outlier ` +
      `detection at its defaults (5 consecutive failures), 2 backends round robin, ` +
      `~45 requests/s per proxy`,
    expected: "5 failed attempts on the dead backend: with 2 backends round robin about " +
      "10 requests per proxy after the kill (~0.2 s at ~45 requests/s); it scales with " +
      "1 / the request rate",
  };
  const procs: RoleProcess[] = [];
  const proxies: ProxyUnderTest[] = [];
  let traffic: Traffic | undefined;
  try {
    const [stable] = await startBackends(1, "bun");
    procs.push(track(stable!.process));
    const config = (victim: string) => ({ det: { backend_servers: [stable!.address, victim] } });
    let victim = (await startBackends(1, "bun"))[0]!;
    procs.push(track(victim.process));
    for (let i = 0; i < 2; i++) {
      const p = await startProxy(o.runtime, config(victim.address), [
        "--no-health-checks",
        "--log-level",
        "warn",
      ]);
      track(p.process);
      proxies.push(p);
    }
    const ports = proxies.map((p) => p.adminPort);
    traffic = new Traffic(proxies.map((p) => p.url), 20);
    await ctx.waitIdle();
    const w = new LoadWindow();
    const samples: number[] = [];
    for (let trial = 1; trial <= o.trials; trial++) {
      if (trial > 1) {
        victim = (await startBackends(1, "bun"))[0]!;
        procs.push(track(victim.process));
        for (const p of proxies) p.writeConfig(config(victim.address));
      }
      await waitFor(
        "the new backend in rotation",
        () => usableEverywhere(ports, victim.address),
        20_000,
      );
      await sleep(500 + Math.random() * 500);
      const t0 = performance.now();
      await kill(victim.process);
      const at = await outOfRotation(ports, victim.address, t0, 30_000);
      const out = Math.max(...at);
      samples.push(Math.round(out));
      ctx.log(`detection (passive) trial ${trial}: ejected on both after ${Math.round(out)} ms`);
    }
    const load = w.end();
    const rate = traffic.ratePerLoop(2);
    await traffic.stop();
    return measuredFigure(base, samples, {
      digits: 0,
      load,
      maxOthers: ctx.maxOthers,
      extra: {
        client_requests: traffic.ok + traffic.failed,
        client_requests_failed: traffic.failed,
        client_failures: traffic.kinds,
        client_rate_per_proxy: rate,
      },
    });
  } catch (e) {
    ctx.log(`detection (passive) failed: ${(e as Error).message}`);
    return failedFigure(base, e);
  } finally {
    await traffic?.stop();
    await Promise.all(proxies.map((p) => stop(p.process)));
    for (const p of proxies) {
      fs.rmSync(path.dirname(p.configPath), { recursive: true, force: true });
    }
    await Promise.all(procs.map((p) => kill(p)));
  }
}
