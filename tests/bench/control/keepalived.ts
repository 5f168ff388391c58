/**
 * keepalived failover in the lab (`deploy/lab/`: network namespaces on
 * 198.18.0.0/15), with the real keepalived, CoreDNS and etcd, as
 * `tests/dns/keepalived_failover_test.ts` runs it: two DNS nodes (CoreDNS +
 * keepalived each) share the VIP; a client in region 1 queries the VIP ten
 * times a second (`tests/support/dns_probe.ts`, 1 s timeout). One cycle:
 *
 * 1. the master's CoreDNS is killed (SIGKILL): its `vrrp_script` fails and
 *    the VIP moves to the other node;
 * 2. that CoreDNS is started again: the node returns as BACKUP and
 *    (`nopreempt`) leaves the VIP where it is (no flap: no failed query);
 * 3. keepalived on the new master is stopped (SIGTERM: a priority-0 advert):
 *    the VIP moves back;
 * 4. it is started again: BACKUP, no flap.
 *
 * The figures are the seconds of failed queries at 1 and 3 (from the first
 * failed query sent to the last, plus one interval), over `trials` cycles.
 * The pair and its client come from `tests/support/vip_pair.ts`, as in the
 * test. Runs under the DNS tests' lock (the lab and the ports are shared).
 *
 * @module
 */
import { pollUntil, type Stop, stopAll, withDnsLock } from "../../support/dns_stack.ts";
import { startVipPair, type StepResult } from "../../support/vip_pair.ts";
import {
  type ControlContext,
  type ControlFigure,
  failedFigure,
  type FigureBase,
  measuredFigure,
  onInterrupt,
  sleep,
} from "./common.ts";
import { LoadWindow } from "./load.ts";

/** Options of {@link keepalivedFailover}. */
export interface KeepalivedOptions {
  readonly trials: number;
}

const SETUP = "the DNS lab (network namespaces, 198.18.0.0/15): two DNS nodes with CoreDNS " +
  "1.15 and keepalived (VRRPv2, advert_int 1 s, both BACKUP with nopreempt, a vrrp_script on " +
  "CoreDNS's /health), etcd in the lab; a client in region 1 queries the VIP every 100 ms " +
  "with a 1 s timeout";

/** The two keepalived figures (CoreDNS death, keepalived stop). */
export async function keepalivedFailover(
  ctx: ControlContext,
  o: KeepalivedOptions,
): Promise<ControlFigure[]> {
  const bases = [
    {
      id: "keepalived-coredns-death",
      section: "keepalived" as const,
      title: "Master's CoreDNS killed -> seconds of failed queries to the VIP",
      unit: "s" as const,
      setup: SETUP,
      expected: "the vrrp_script notices (interval 1 s, fall 1) + the backup takes over on the " +
        "FAULT node's priority-0 advert (~1 advert) + gratuitous ARP: ~1-2 s",
    },
    {
      id: "keepalived-stopped",
      section: "keepalived" as const,
      title: "Master's keepalived stopped (SIGTERM) -> seconds of failed queries to the VIP",
      unit: "s" as const,
      setup: SETUP,
      expected: "a priority-0 advert on exit: the backup takes over at once (~0.1-1 s)",
    },
  ];
  ctx.log("keepalived: waiting for the DNS tests' lock");
  try {
    return await withDnsLock(() => measure(ctx, o, bases));
  } catch (e) {
    ctx.log(`keepalived failed: ${(e as Error).message}`);
    return bases.map((b) => failedFigure(b, e));
  }
}

async function measure(
  ctx: ControlContext,
  o: KeepalivedOptions,
  bases: FigureBase[],
): Promise<ControlFigure[]> {
  const stops: Stop[] = [];
  const unregister = onInterrupt(() => stopAll(stops));
  try {
    const pair = await startVipPair(stops, { namePrefix: "bench-ha", probeSeconds: 900 });
    const { dns1, dns2 } = pair;
    await ctx.waitIdle();
    const w = new LoadWindow();
    const deaths: StepResult[] = [];
    const stopsOut: StepResult[] = [];
    const flaps: number[] = [];
    for (let trial = 1; trial <= o.trials; trial++) {
      const a = await pair.step("kill CoreDNS on the master", () => pair.killDns(dns1), dns2);
      deaths.push(a);
      const b = await pair.step(
        "restart it (no flap)",
        () => pair.startDns(dns1),
        dns2,
        async () => {
          await pollUntil(async () => (await pair.vrrpState(dns1)) === "BACKUP", 15_000);
          await sleep(5000);
        },
      );
      const c = await pair.step(
        "stop keepalived on the new master",
        () => pair.stopKeepalived(dns2),
        dns1,
      );
      stopsOut.push(c);
      const d = await pair.step(
        "restart it (no flap)",
        () => pair.startKeepalived(dns2),
        dns1,
        () => sleep(5000),
      );
      flaps.push(b.failed, d.failed);
      ctx.log(
        `keepalived cycle ${trial}: CoreDNS death ${a.seconds.toFixed(1)} s of failed queries ` +
          `(VIP moved after ${a.vipMovedMs} ms); keepalived stop ${c.seconds.toFixed(1)} s ` +
          `(VIP moved after ${c.vipMovedMs} ms); failed queries on return: ${b.failed}, ${d.failed}`,
      );
    }
    const load = w.end();
    const flapFlag = flaps.some((x) => x > 0)
      ? [`a returning node caused failed queries (${flaps.join(", ")})`]
      : [];
    return [deaths, stopsOut].map((list, i) => {
      const seconds = list.map((x) => x.seconds);
      const after = list.reduce((n, x) => n + x.failedAfterRecovery, 0);
      return measuredFigure(bases[i]!, seconds, {
        digits: 2,
        load,
        maxOthers: ctx.maxOthers,
        flags: [
          ...flapFlag,
          ...(after > 0 ? [`${after} failed queries after the first recovery`] : []),
        ],
        extra: {
          vip_moved_ms: list.map((x) => x.vipMovedMs),
          failed_queries: list.map((x) => x.failed),
          failed_queries_when_a_node_returns: flaps,
        },
      });
    });
  } finally {
    await stopAll(stops).catch((e) => ctx.log(`keepalived cleanup: ${(e as Error).message}`));
    unregister();
  }
}
