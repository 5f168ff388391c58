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
 * Runs under the DNS tests' lock (the lab and the ports are shared).
 *
 * @module
 */
import { Etcd3 } from "etcd3";
import { renderCorefile } from "../../../lib/dns/corefile.ts";
import type { CorefileSpec } from "../../../lib/dns/corefile.ts";
import { encodeRecord, registrationKeys } from "../../../lib/dns/skydns.ts";
import { measureOutage, parseProbeLines, steadyFor } from "../../support/dns_outage.ts";
import type { Outage, ProbeSample } from "../../support/dns_outage.ts";
import {
  pollUntil,
  REPO,
  script,
  startCoreDns,
  startEtcd,
  STATE_DIR,
  type Stop,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../../support/dns_stack.ts";
import { lab, labUp, vipHolders } from "../../support/netns_lab.ts";
import {
  type ControlContext,
  type ControlFigure,
  failedFigure,
  onInterrupt,
  sleep,
  statOf,
} from "./common.ts";
import { busyFlags, LoadWindow } from "./load.ts";

const SERVICE = "api.example.com";
const INTERVAL_MS = 100;
/** How long answers must stay good after a failover before the next step. */
const STEADY_MS = 3000;

interface Node {
  readonly name: string;
  readonly netns: string;
  readonly role: "master" | "backup";
}

/** Options of {@link keepalivedFailover}. */
export interface KeepalivedOptions {
  readonly trials: number;
}

async function vrrpState(node: Node): Promise<string> {
  try {
    const text = await Deno.readTextFile(`${STATE_DIR}/keepalived/${node.name}/vrrp.state`);
    return text.split(" ")[0] ?? "";
  } catch {
    return "";
  }
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
  bases: Pick<ControlFigure, "id" | "section" | "title" | "unit" | "setup" | "expected">[],
): Promise<ControlFigure[]> {
  const stops: Stop[] = [];
  const unregister = onInterrupt(() => stopAll(stops));
  const vip = lab("LAB_VIP");
  const dns1: Node = { name: "bench-ha-dns1", netns: lab("LAB_NS_DNS1"), role: "master" };
  const dns2: Node = { name: "bench-ha-dns2", netns: lab("LAB_NS_DNS2"), role: "backup" };
  const nodes = [dns1, dns2];
  const namespaces = nodes.map((n) => n.netns);
  try {
    stops.push(await labUp());
    stops.push(await startEtcd("lab"));
    const spec = JSON.parse(
      await Deno.readTextFile(`${REPO}/deploy/lab/corefile.lab.json`),
    ) as CorefileSpec;
    const prefix = testPrefix();
    const dir = await tempDir("bench-ha-");
    stops.push(dir.stop);
    const corefile = `${dir.path}/Corefile`;
    await Deno.writeTextFile(corefile, renderCorefile({ ...spec, pathPrefix: prefix }));
    const etcd = new Etcd3({ hosts: spec.etcdEndpoints as string[] });
    stops.push(async () => {
      await etcd.delete().prefix(`${prefix}/`).catch(() => {});
      etcd.close();
    });
    for (const key of registrationKeys(SERVICE, "lb1", { prefix })) {
      await etcd.put(key).value(encodeRecord({ host: "198.18.10.1", port: 80 }));
    }
    const startDns = (node: Node) => startCoreDns(node.name, corefile, node.netns);
    const killDns = (node: Node) =>
      script("deploy/coredns/coredns.sh", "stop", "--name", node.name, "--signal", "KILL");
    const startKeepalived = (node: Node) =>
      script(
        "deploy/keepalived/keepalived.sh",
        "start",
        "--node",
        node.name,
        "--netns",
        node.netns,
      );
    const stopKeepalived = (node: Node) =>
      script("deploy/keepalived/keepalived.sh", "stop", "--node", node.name);
    for (const node of nodes) {
      await stopKeepalived(node);
      stops.push(async () => {
        await stopKeepalived(node);
        await script("deploy/coredns/coredns.sh", "stop", "--name", node.name);
      });
      await startDns(node);
      await script(
        "deploy/keepalived/keepalived.sh",
        "config",
        "--node",
        node.name,
        "--role",
        node.role,
      );
    }
    await startKeepalived(dns1);
    if (await pollUntil(async () => (await vrrpState(dns1)) === "MASTER", 15_000) === undefined) {
      throw new Error("dns1 never became MASTER");
    }
    await startKeepalived(dns2);
    if (await pollUntil(async () => (await vrrpState(dns2)) === "BACKUP", 10_000) === undefined) {
      throw new Error("dns2 never became BACKUP");
    }

    const probeOut = `${dir.path}/probe.jsonl`;
    const stopFile = `${dir.path}/probe.stop`;
    await Deno.writeTextFile(probeOut, "");
    const probe = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        lab("LAB_NS_CLIENT1"),
        Deno.execPath(),
        "run",
        "-A",
        `${REPO}/tests/support/dns_probe.ts`,
        "--server",
        vip,
        "--name",
        SERVICE,
        "--out",
        probeOut,
        "--interval",
        String(INTERVAL_MS),
        "--timeout",
        "1000",
        "--duration",
        "900",
        "--stop-file",
        stopFile,
      ],
      cwd: REPO,
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    stops.push(async () => {
      await Deno.writeTextFile(stopFile, "");
      const timer = setTimeout(() => probe.kill("SIGKILL"), 5000);
      await probe.status;
      clearTimeout(timer);
    });
    const samples = async (): Promise<ProbeSample[]> =>
      parseProbeLines(await Deno.readTextFile(probeOut));
    const waitSteady = async (what: string, since?: number) => {
      const took = await pollUntil(
        async () => steadyFor(await samples(), STEADY_MS, INTERVAL_MS, since),
        30_000,
        200,
      );
      if (took === undefined) throw new Error(`answers never became steady: ${what}`);
    };
    await waitSteady("before the first failure");
    await ctx.waitIdle();
    const w = new LoadWindow();
    const step = async (
      name: string,
      act: () => Promise<unknown>,
      expectHolder: Node,
      settle: () => Promise<void> = async () => {},
    ): Promise<Outage & { vip_moved_ms: number }> => {
      const from = Date.now();
      const t0 = performance.now();
      await act();
      const moved = await pollUntil(
        async () => (await vipHolders(namespaces, vip)).join() === expectHolder.netns,
        15_000,
        20,
      );
      if (moved === undefined) {
        throw new Error(`${name}: the VIP did not end on ${expectHolder.netns}`);
      }
      const movedMs = performance.now() - t0;
      await settle();
      await waitSteady(name, Date.now());
      const outage = measureOutage(await samples(), from, Date.now(), INTERVAL_MS);
      return { ...outage, vip_moved_ms: Math.round(movedMs) };
    };
    const deaths: (Outage & { vip_moved_ms: number })[] = [];
    const stopsOut: (Outage & { vip_moved_ms: number })[] = [];
    const flaps: number[] = [];
    for (let trial = 1; trial <= o.trials; trial++) {
      const a = await step("kill CoreDNS on the master", () => killDns(dns1), dns2);
      deaths.push(a);
      const b = await step("restart it (no flap)", () => startDns(dns1), dns2, async () => {
        await pollUntil(async () => (await vrrpState(dns1)) === "BACKUP", 15_000);
        await sleep(5000);
      });
      const c = await step("stop keepalived on the new master", () => stopKeepalived(dns2), dns1);
      stopsOut.push(c);
      const d = await step("restart it (no flap)", () => startKeepalived(dns2), dns1, async () => {
        await sleep(5000);
      });
      flaps.push(b.failed, d.failed);
      ctx.log(
        `keepalived cycle ${trial}: CoreDNS death ${a.seconds.toFixed(1)} s of failed queries ` +
          `(VIP moved after ${a.vip_moved_ms} ms); keepalived stop ${c.seconds.toFixed(1)} s ` +
          `(VIP moved after ${c.vip_moved_ms} ms); failed queries on return: ${b.failed}, ${d.failed}`,
      );
    }
    const load = w.end();
    const flags = busyFlags(load, ctx.maxOthers);
    const flapFlag = flaps.some((x) => x > 0)
      ? [`a returning node caused failed queries (${flaps.join(", ")})`]
      : [];
    return [deaths, stopsOut].map((list, i) => {
      const seconds = list.map((x) => x.seconds);
      const after = list.reduce((n, x) => n + x.failedAfterRecovery, 0);
      return {
        ...bases[i]!,
        samples: seconds,
        stat: statOf(seconds, 2),
        source: "measured in this run",
        flags: [
          ...flags,
          ...flapFlag,
          ...(after > 0 ? [`${after} failed queries after the first recovery`] : []),
        ],
        error: null,
        load,
        extra: {
          vip_moved_ms: list.map((x) => x.vip_moved_ms),
          failed_queries: list.map((x) => x.failed),
          failed_queries_when_a_node_returns: flaps,
        },
      };
    });
  } finally {
    await stopAll(stops).catch((e) => ctx.log(`keepalived cleanup: ${(e as Error).message}`));
    unregister();
  }
}
