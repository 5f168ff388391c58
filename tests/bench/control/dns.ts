/**
 * DNS: a proxy dies (SIGKILL) -> it is gone from CoreDNS's answers. The real
 * stack on loopback, as `tests/dns/dns_role_test.ts` runs it: etcd, the
 * ZooKeeper dev node, the dns role (writes the SkyDNS records and the
 * Corefile), CoreDNS on 127.0.0.1:1053, and two fleet proxies registered on
 * 127.0.0.21 and 127.0.0.22. The victim is killed, `dig` asks every 50 ms
 * until its address is no longer answered; it is then started again (same
 * id and address) and must reappear before the next trial.
 *
 * What bounds the figure is configuration, not code: the proxy's ZooKeeper
 * session timeout (its ephemeral registration lives until then) plus
 * CoreDNS's cache. Runs under the DNS tests' lock (they share the ports).
 *
 * @module
 */
import type { Runtime } from "../../../lib/runtime/role_command.ts";
import { zkSandbox } from "../../support/control_plane.ts";
import {
  answersOf,
  dnsRoleFlags,
  type DnsRoleUnderTest,
  type FleetProxy,
  startDnsRole,
  startFleetProxy,
  writeGroupConfig,
} from "../../support/dns_fleet.ts";
import {
  etcdEndpoints,
  startCoreDns,
  startEtcd,
  type Stop,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../../support/dns_stack.ts";
import { type Backend, startBackends } from "../../support/processes.ts";
import {
  type ControlContext,
  type ControlFigure,
  failedFigure,
  type FigureBase,
  kill,
  measuredFigure,
  onInterrupt,
  sleep,
  stop,
  track,
} from "./common.ts";
import { LoadWindow } from "./load.ts";

const SERVICE = "api.example.com";
const DNS_PORT = 1053;
/** The proxies' ZooKeeper session timeout (what startZkProxy passes). */
const SESSION_S = 4;
const CACHE_S = 2;
const TTL_S = 5;

/** Options of {@link dnsDeath}. */
export interface DnsOptions {
  readonly trials: number;
  readonly runtime: Runtime;
}

/** The DNS figure. */
export async function dnsDeath(ctx: ControlContext, o: DnsOptions): Promise<ControlFigure> {
  const base = {
    id: "dns-proxy-death",
    section: "dns" as const,
    title: "Proxy killed (SIGKILL) -> gone from CoreDNS's answers",
    unit: "s" as const,
    setup: `etcd, CoreDNS 1.15 on loopback, the dns role and 2 registered proxies under ` +
      `${o.runtime}; proxy ZooKeeper session timeout ${SESSION_S} s, CoreDNS cache ` +
      `${CACHE_S} s, record TTL ${TTL_S} s; dig every 50 ms`,
    expected: `session timeout ${SESSION_S} s (+ up to one ZooKeeper tick) + the dns role's ` +
      `etcd write (ms) + up to the ${CACHE_S} s cache: ${SESSION_S}-${
        SESSION_S + CACHE_S + 0.5
      } s` +
      ` (clients may keep it ${TTL_S} s more, the TTL)`,
  };
  ctx.log("dns: waiting for the DNS tests' lock");
  try {
    return await withDnsLock(() => measure(ctx, o, base));
  } catch (e) {
    ctx.log(`dns failed: ${(e as Error).message}`);
    return failedFigure(base, e);
  }
}

async function measure(
  ctx: ControlContext,
  o: DnsOptions,
  base: FigureBase,
): Promise<ControlFigure> {
  const stops: Stop[] = [];
  const unregister = onInterrupt(() => stopAll(stops));
  try {
    stops.push(await startEtcd("single"));
    const endpoints = await etcdEndpoints("single");
    const zk = await zkSandbox();
    stops.push(() => zk.close());
    const dir = await tempDir("bench-dns-");
    stops.push(dir.stop);
    const prefix = testPrefix();
    const backends: Backend[] = await startBackends(1, "bun");
    track(backends[0]!.process);
    stops.push(() => kill(backends[0]!.process));
    await writeGroupConfig(zk.store, "edge", { backend_servers: backends.map((b) => b.address) });
    const corefile = `${dir.path}/Corefile`;
    const dns: DnsRoleUnderTest = await startDnsRole(
      o.runtime,
      dnsRoleFlags(
        {
          zk: zk.connect,
          zkSessionTimeout: 4,
          etcd: endpoints,
          zone: SERVICE,
          prefix,
          ttl: TTL_S,
          corefile,
          corednsListen: `127.0.0.1:${DNS_PORT}`,
          corednsCache: CACHE_S,
        },
        "--sync-seconds",
        "5",
      ),
    );
    track(dns.process);
    stops.push(() => stop(dns.process));
    stops.push(await startCoreDns("bench-dns", corefile));
    const a = () => answersOf({ server: "127.0.0.1", port: DNS_PORT, name: SERVICE });
    const start = async (id: string, host: string): Promise<FleetProxy> => {
      const p = await startFleetProxy(o.runtime, zk.connect, "edge", id, host);
      track(p.proxy.process);
      stops.push(() => kill(p.proxy.process));
      return p;
    };
    const waitAnswers = async (want: string[], what: string) => {
      const deadline = Date.now() + 30_000;
      let last: string[] = [];
      while (JSON.stringify(last = await a()) !== JSON.stringify(want)) {
        if (Date.now() > deadline) throw new Error(`${what}: answers ${last}, want ${want}`);
        await sleep(100);
      }
    };
    await start("lb1", "127.0.0.21");
    let victim = await start("lb2", "127.0.0.22");
    await waitAnswers(["127.0.0.21", "127.0.0.22"], "both proxies answered");
    await ctx.waitIdle();
    const w = new LoadWindow();
    const samples: number[] = [];
    for (let trial = 1; trial <= o.trials; trial++) {
      await sleep(1000 + Math.random() * 1000);
      const t0 = performance.now();
      await kill(victim.proxy.process);
      let gone: number | undefined;
      while (performance.now() - t0 < (SESSION_S + CACHE_S + 20) * 1000) {
        const sent = performance.now();
        if (!(await a()).includes("127.0.0.22")) {
          gone = sent - t0;
          break;
        }
        await sleep(50);
      }
      if (gone === undefined) throw new Error("the killed proxy never left the answers");
      samples.push(Math.round(gone) / 1000);
      ctx.log(`dns trial ${trial}: gone from the answers after ${(gone / 1000).toFixed(2)} s`);
      victim = await start("lb2", "127.0.0.22");
      await waitAnswers(["127.0.0.21", "127.0.0.22"], "the proxy back in the answers");
    }
    const load = w.end();
    return measuredFigure(base, samples, { digits: 2, load, maxOthers: ctx.maxOthers });
  } finally {
    await stopAll(stops).catch((e) => ctx.log(`dns cleanup: ${(e as Error).message}`));
    unregister();
  }
}
