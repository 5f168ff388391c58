/**
 * Config propagation: a group config written to ZooKeeper (directly, as
 * `zkCli.sh set` would, and through the admin API) until every one of N
 * proxies (`--zk` mode) has applied it. Each proxy stamps when it applied a
 * version (`/status` `config.applied_at`, 1 ms resolution, the same clock as
 * the writer's), so the figure is write start -> the last proxy's apply, and
 * polling `/status` adds nothing to it (it is checked once ~30 ms after the
 * write, then every 10 ms for the proxies still behind, to keep that load
 * small). The proxies are added to the same group: N = 1, then 5, then 20.
 *
 * The proxies run under Bun: 20 proxy processes on this 2-core machine
 * already contend for the CPU (and Bun's start-up and memory are smaller).
 *
 * @module
 */
import type { Runtime } from "../../../lib/runtime/role_command.ts";
import { configPath } from "../../../lib/store/layout.ts";
import {
  type AdminUnderTest,
  startAdmin,
  startZkProxy,
  type ZkProxy,
  zkSandbox,
} from "../../support/control_plane.ts";
import { type Backend, startBackends } from "../../support/processes.ts";
import {
  type ControlContext,
  type ControlFigure,
  failedFigure,
  kill,
  measuredFigure,
  onInterrupt,
  sleep,
  statOf,
  statusOf,
  stop,
  track,
} from "./common.ts";
import { LoadWindow } from "./load.ts";

/** Options of {@link propagation}. */
export interface PropagationOptions {
  /** Proxy counts, ascending (proxies are added to reach each). */
  readonly counts: readonly number[];
  /** Writes per method and count. */
  readonly writes: number;
  readonly runtime: Runtime;
}

interface ProxyStatus {
  config: { version: string; applied_at: string } | null;
}

/** Applied-at (epoch ms) of `version` on every proxy. */
async function appliedOnAll(proxies: readonly ZkProxy[], version: string): Promise<number[]> {
  const out = new Array<number>(proxies.length).fill(NaN);
  await sleep(30);
  const deadline = Date.now() + 20_000;
  for (;;) {
    let missing = 0;
    for (let i = 0; i < proxies.length; i++) {
      if (!Number.isNaN(out[i]!)) continue;
      const s = await statusOf<ProxyStatus>(proxies[i]!.adminPort);
      if (s.config?.version === version) out[i] = Date.parse(s.config.applied_at);
      else missing++;
    }
    if (missing === 0) return out;
    if (Date.now() > deadline) throw new Error(`${missing} proxies never applied ${version}`);
    await sleep(10);
  }
}

/** Measures propagation for every count; one figure per (count, method). */
export async function propagation(
  ctx: ControlContext,
  o: PropagationOptions,
): Promise<ControlFigure[]> {
  const figures: ControlFigure[] = [];
  // one setup line for every figure: N and the write method are in each figure's title
  const setup = `N proxies under ${o.runtime} (\`--zk\`, \`--no-health-checks\`) on one ` +
    `group, ZooKeeper 3.8 single node on loopback, ${o.writes} writes per N and method ` +
    `(a ZooKeeper \`set\`, as zkCli.sh does, or an admin API PUT), one at a time`;
  const base = (n: number, m: "zk" | "api") => ({
    id: `propagation-${m}-n${n}`,
    section: "propagation" as const,
    title: m === "zk"
      ? `ZooKeeper write -> applied on all ${n} prox${n === 1 ? "y" : "ies"}`
      : `admin API PUT -> applied on all ${n} prox${n === 1 ? "y" : "ies"}`,
    unit: "ms" as const,
    setup,
    expected: null,
  });
  const zk = await zkSandbox("single").catch((e) => e as Error);
  if (zk instanceof Error) {
    return o.counts.flatMap((
      n,
    ) => [failedFigure(base(n, "zk"), zk), failedFigure(base(n, "api"), zk)]);
  }
  let backends: Backend[] = [];
  let admin: AdminUnderTest | undefined;
  const proxies: ZkProxy[] = [];
  const unregister = onInterrupt(() => zk.close());
  try {
    backends = await startBackends(2, "bun");
    backends.forEach((b) => track(b.process));
    admin = await startAdmin(o.runtime, zk.connect);
    track(admin.process);
    const blob = (i: number) => ({
      backend_servers: [backends[i % 2]!.address, {
        address: backends[(i + 1) % 2]!.address,
        weight: 1 + (i % 7),
      }],
      algorithm: "WEIGHTED_ROUND_ROBIN",
    });
    const created = await admin.api("POST", "/api/groups", { group: "prop", config: blob(0) });
    if (created.status !== 201) throw new Error(`admin API: ${JSON.stringify(created.json)}`);
    let version = 0;
    const enc = new TextEncoder();
    for (const n of o.counts) {
      try {
        while (proxies.length < n) {
          const p = await startZkProxy(o.runtime, zk.connect, "prop", [
            "--no-health-checks",
            "--log-level",
            "warn",
          ]);
          track(p.process);
          proxies.push(p);
        }
        await appliedOnAll(proxies, String(version));
        await sleep(500);
        await ctx.waitIdle();
        ctx.log(`propagation: ${n} proxies, ${o.writes} ZooKeeper writes`);
        let w = new LoadWindow();
        const direct: number[] = [];
        const directFirst: number[] = [];
        for (let i = 1; i <= o.writes; i++) {
          const t0 = Date.now();
          await zk.store.set(configPath("prop"), enc.encode(JSON.stringify(blob(i))), version);
          version++;
          const applied = await appliedOnAll(proxies, String(version));
          direct.push(Math.max(...applied) - t0);
          directFirst.push(Math.min(...applied) - t0);
          await sleep(Math.random() * 20);
        }
        let load = w.end();
        figures.push(measuredFigure(base(n, "zk"), direct, {
          digits: 0,
          load,
          maxOthers: ctx.maxOthers,
          extra: { first_proxy_ms: statOf(directFirst, 0) },
        }));
        ctx.log(`propagation: ${n} proxies, ${o.writes} admin API writes`);
        w = new LoadWindow();
        const viaApi: number[] = [];
        const apiFirst: number[] = [];
        for (let i = 1; i <= o.writes; i++) {
          const t0 = Date.now();
          const r = await admin.api("PUT", "/api/groups/prop", blob(i), {
            "if-match": `"${version}"`,
          });
          if (r.status !== 200) throw new Error(`admin API PUT: ${JSON.stringify(r.json)}`);
          version++;
          const applied = await appliedOnAll(proxies, String(version));
          viaApi.push(Math.max(...applied) - t0);
          apiFirst.push(Math.min(...applied) - t0);
          await sleep(Math.random() * 20);
        }
        load = w.end();
        figures.push(measuredFigure(base(n, "api"), viaApi, {
          digits: 0,
          load,
          maxOthers: ctx.maxOthers,
          extra: { first_proxy_ms: statOf(apiFirst, 0) },
        }));
      } catch (e) {
        ctx.log(`propagation with ${n} proxies failed: ${(e as Error).message}`);
        for (const m of ["zk", "api"] as const) {
          if (!figures.some((f) => f.id === base(n, m).id)) {
            figures.push(failedFigure(base(n, m), e));
          }
        }
      }
    }
  } catch (e) {
    ctx.log(`propagation failed: ${(e as Error).message}`);
    for (const n of o.counts) {
      for (const m of ["zk", "api"] as const) {
        if (!figures.some((f) => f.id === base(n, m).id)) figures.push(failedFigure(base(n, m), e));
      }
    }
  } finally {
    await Promise.all([...proxies.map((p) => stop(p.process)), stop(admin?.process)]);
    await Promise.all(backends.map((b) => kill(b.process)));
    await zk.close().catch(() => {});
    unregister();
  }
  return figures;
}
