/**
 * Two DNS nodes sharing the lab's VIP, as the keepalived failover test and
 * the keepalived benchmark both need them: the lab (`deploy/lab/`, network
 * namespaces on 198.18.0.0/15), etcd with one record for {@link SERVICE},
 * CoreDNS and keepalived on each node (dns1 MASTER, dns2 BACKUP, both
 * `nopreempt`), and a client in region 1 querying the VIP every
 * {@link INTERVAL_MS} (`dns_probe.ts`, 1 s timeout). {@link VipPair.step}
 * acts, waits for the VIP to settle on the expected node and for answers to
 * be steady again, and measures the outage from the probe's samples.
 *
 * Call under `withDnsLock` (the lab and its ports are shared).
 *
 * @module
 */
import { Etcd3 } from "etcd3";
import { type CorefileSpec, renderCorefile } from "../../lib/dns/corefile.ts";
import { encodeRecord, registrationKeys } from "../../lib/dns/skydns.ts";
import {
  measureOutage,
  type Outage,
  parseProbeLines,
  type ProbeSample,
  steadyFor,
} from "./dns_outage.ts";
import {
  pollUntil,
  REPO,
  script,
  startCoreDns,
  startEtcd,
  STATE_DIR,
  type Stop,
  tempDir,
  testPrefix,
} from "./dns_stack.ts";
import { lab, labUp, vipHolders } from "./netns_lab.ts";

/** The name the client asks for. */
export const SERVICE = "api.example.com";
/** The client's query interval. */
export const INTERVAL_MS = 100;
/** How long answers must stay good after a failover before it counts as over. */
export const STEADY_MS = 3000;

/** One DNS node: a CoreDNS instance and a keepalived node in a lab namespace. */
export interface VipNode {
  readonly name: string;
  readonly netns: string;
  readonly role: "master" | "backup";
}

/** What one failover step measured. */
export interface StepResult extends Outage {
  readonly step: string;
  /** Act -> the VIP on the expected node only. */
  readonly vipMovedMs: number;
  /** The VIP's holders when answers were steady again. */
  readonly holder: string[];
  readonly from: number;
  readonly to: number;
}

/** The running pair; everything it started is stopped by the `stops` given to {@link startVipPair}. */
export interface VipPair {
  readonly vip: string;
  readonly dns1: VipNode;
  readonly dns2: VipNode;
  startDns(node: VipNode): Promise<unknown>;
  killDns(node: VipNode): Promise<unknown>;
  startKeepalived(node: VipNode): Promise<unknown>;
  stopKeepalived(node: VipNode): Promise<unknown>;
  /** keepalived's state for the node (`MASTER`, `BACKUP`, `FAULT`), or "" if unknown. */
  vrrpState(node: VipNode): Promise<string>;
  /**
   * Runs `act`, waits until only `expectHolder` holds the VIP, runs `settle`,
   * waits for steady answers and returns the outage since `act` began.
   */
  step(
    name: string,
    act: () => Promise<unknown>,
    expectHolder: VipNode,
    settle?: () => Promise<void>,
  ): Promise<StepResult>;
}

/** Options of {@link startVipPair}. */
export interface VipPairOptions {
  /** Prefix of the node names (CoreDNS instances and keepalived nodes), e.g. `test-ha`. */
  readonly namePrefix: string;
  /** How long the client may run at most (seconds). */
  readonly probeSeconds: number;
  /** Where to copy the probe's raw samples when the pair is stopped, if anywhere. */
  readonly keepProbe?: string;
}

async function readVrrpState(node: VipNode): Promise<string> {
  try {
    const text = await Deno.readTextFile(`${STATE_DIR}/keepalived/${node.name}/vrrp.state`);
    return text.split(" ")[0] ?? "";
  } catch {
    return "";
  }
}

/**
 * Starts the pair and its client; returns once dns1 is MASTER, dns2 BACKUP
 * and the answers are steady. Pushes its cleanup onto `stops` as it goes, so
 * a failure half-way still stops what started.
 */
export async function startVipPair(stops: Stop[], o: VipPairOptions): Promise<VipPair> {
  const vip = lab("LAB_VIP");
  const dns1: VipNode = { name: `${o.namePrefix}-dns1`, netns: lab("LAB_NS_DNS1"), role: "master" };
  const dns2: VipNode = { name: `${o.namePrefix}-dns2`, netns: lab("LAB_NS_DNS2"), role: "backup" };
  const namespaces = [dns1.netns, dns2.netns];
  stops.push(await labUp());
  stops.push(await startEtcd("lab"));
  const spec = JSON.parse(
    await Deno.readTextFile(`${REPO}/deploy/lab/corefile.lab.json`),
  ) as CorefileSpec;
  const prefix = testPrefix();
  const dir = await tempDir(`${o.namePrefix}-`);
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

  const startDns = (node: VipNode) => startCoreDns(node.name, corefile, node.netns);
  const killDns = (node: VipNode) =>
    script("deploy/coredns/coredns.sh", "stop", "--name", node.name, "--signal", "KILL");
  const startKeepalived = (node: VipNode) =>
    script("deploy/keepalived/keepalived.sh", "start", "--node", node.name, "--netns", node.netns);
  const stopKeepalived = (node: VipNode) =>
    script("deploy/keepalived/keepalived.sh", "stop", "--node", node.name);
  for (const node of [dns1, dns2]) {
    await stopKeepalived(node); // left running by an interrupted run: start clean
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
  // dns1 first: it becomes MASTER after the advert timeout; then dns2 joins as BACKUP
  await startKeepalived(dns1);
  if (await pollUntil(async () => (await readVrrpState(dns1)) === "MASTER", 15_000) === undefined) {
    throw new Error("dns1 never became MASTER");
  }
  await startKeepalived(dns2);
  if (await pollUntil(async () => (await readVrrpState(dns2)) === "BACKUP", 10_000) === undefined) {
    throw new Error("dns2 never became BACKUP");
  }
  const holders = await vipHolders(namespaces, vip);
  if (holders.join() !== dns1.netns) throw new Error(`the VIP is on ${holders}, not on dns1`);

  // the client: ten queries a second to the VIP from region 1, in its namespace
  const probeOut = `${dir.path}/probe.jsonl`;
  const stopFile = `${dir.path}/probe.stop`;
  await Deno.writeTextFile(probeOut, "");
  const probe = new Deno.Command("ip", {
    args: [
      ...["netns", "exec", lab("LAB_NS_CLIENT1"), Deno.execPath(), "run", "-A"],
      `${REPO}/tests/support/dns_probe.ts`,
      ...["--server", vip, "--name", SERVICE, "--out", probeOut],
      ...["--interval", String(INTERVAL_MS), "--timeout", "1000"],
      ...["--duration", String(o.probeSeconds), "--stop-file", stopFile],
    ],
    cwd: REPO,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  stops.push(async () => {
    await Deno.writeTextFile(stopFile, "");
    if (o.keepProbe) await Deno.copyFile(probeOut, o.keepProbe).catch(() => {});
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

  return {
    vip,
    dns1,
    dns2,
    startDns,
    killDns,
    startKeepalived,
    stopKeepalived,
    vrrpState: readVrrpState,
    step: async (name, act, expectHolder, settle) => {
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
      const vipMovedMs = Math.round(performance.now() - t0);
      await settle?.();
      // good answers for STEADY_MS after the VIP settled, every earlier query accounted for
      await waitSteady(name, Date.now());
      const to = Date.now();
      const outage = measureOutage(await samples(), from, to, INTERVAL_MS);
      return {
        ...outage,
        step: name,
        vipMovedMs,
        holder: await vipHolders(namespaces, vip),
        from,
        to,
      };
    },
  };
}
