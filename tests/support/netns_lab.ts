/**
 * Test helpers for the DNS lab (deploy/lab/lab.sh): its names and addresses, bringing it up and
 * down, and which node holds the VIP.
 *
 * @module
 */
import { REPO, run, script } from "./dns_stack.ts";
import type { Stop } from "./dns_stack.ts";

/** deploy/lab/lab.env as a map (NAME=value lines). */
export function labEnv(): Record<string, string> {
  const text = Deno.readTextFileSync(`${REPO}/deploy/lab/lab.env`);
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(\S*)$/.exec(line.trim());
    if (match) env[match[1] as string] = match[2] as string;
  }
  return env;
}

/** One value of lab.env; throws when missing. */
export function lab(name: string): string {
  const value = labEnv()[name];
  if (value === undefined) throw new Error(`deploy/lab/lab.env has no ${name}`);
  return value;
}

/** Brings the lab up (idempotent); the stop tears it down only if this call built it. */
export async function labUp(): Promise<Stop> {
  const before = await run(["bash", `${REPO}/deploy/lab/lab.sh`, "status"], { allowFail: true });
  await script("deploy/lab/lab.sh", "up");
  if (before.code === 0) return async () => {};
  return async () => {
    await script("deploy/lab/lab.sh", "down");
  };
}

/** True when the VIP is configured in the namespace. */
export async function holdsVip(netns: string, vip: string): Promise<boolean> {
  const result = await run(["ip", "-n", netns, "-4", "-o", "addr", "show"], { allowFail: true });
  return result.stdout.includes(` ${vip}/`);
}

/** The namespaces (of those given) that hold the VIP now. */
export async function vipHolders(namespaces: readonly string[], vip: string): Promise<string[]> {
  const out: string[] = [];
  for (const ns of namespaces) if (await holdsVip(ns, vip)) out.push(ns);
  return out;
}

/**
 * Adds addresses (/32) on the host's lab leg for services clients in the lab reach (proxies on
 * the host); the stop removes them. Only addresses listed in `LAB_HOST_SERVICE_IPS`.
 */
export async function addHostLabAddresses(ips: readonly string[]): Promise<Stop> {
  const allowed = lab("LAB_HOST_SERVICE_IPS").split(",");
  const dev = lab("LAB_HOST_IF");
  const added: string[] = [];
  for (const ip of ips) {
    if (!allowed.includes(ip)) throw new Error(`${ip} is not in LAB_HOST_SERVICE_IPS`);
    await run(["ip", "addr", "del", `${ip}/32`, "dev", dev], { allowFail: true });
    await run(["ip", "addr", "add", `${ip}/32`, "dev", dev]);
    added.push(ip);
  }
  return async () => {
    for (const ip of added) {
      await run(["ip", "addr", "del", `${ip}/32`, "dev", dev], { allowFail: true });
    }
  };
}

/** One DNS node of the lab: a CoreDNS instance and a keepalived node in a DNS namespace. */
export interface LabDnsNode {
  /** CoreDNS instance name and keepalived node name. */
  readonly name: string;
  readonly netns: string;
  readonly role: "master" | "backup";
}

/**
 * Starts CoreDNS (from `corefile`) and keepalived on both lab DNS nodes, the master first, and
 * waits until the master holds the VIP. The stop stops both (keepalived first).
 */
export async function startLabDnsPair(corefile: string, prefix: string): Promise<Stop> {
  const nodes: LabDnsNode[] = [
    { name: `${prefix}-dns1`, netns: lab("LAB_NS_DNS1"), role: "master" },
    { name: `${prefix}-dns2`, netns: lab("LAB_NS_DNS2"), role: "backup" },
  ];
  const stops: Stop[] = [];
  const stop = async () => {
    for (const s of [...stops].reverse()) await s().catch(() => {});
  };
  try {
    for (const node of nodes) {
      await script("deploy/keepalived/keepalived.sh", "stop", "--node", node.name);
      stops.push(async () => {
        await script("deploy/coredns/coredns.sh", "stop", "--name", node.name);
      });
      await script("deploy/coredns/coredns.sh", "stop", "--name", node.name);
      await script(
        "deploy/coredns/coredns.sh",
        "start",
        "--name",
        node.name,
        "--corefile",
        corefile,
        "--netns",
        node.netns,
      );
      await script(
        "deploy/keepalived/keepalived.sh",
        "config",
        "--node",
        node.name,
        "--role",
        node.role,
      );
      stops.push(async () => {
        await script("deploy/keepalived/keepalived.sh", "stop", "--node", node.name);
      });
    }
    const vip = lab("LAB_VIP");
    const [master, backup] = nodes as [LabDnsNode, LabDnsNode];
    await script(
      "deploy/keepalived/keepalived.sh",
      "start",
      "--node",
      master.name,
      "--netns",
      master.netns,
    );
    const deadline = Date.now() + 20_000;
    while (!(await holdsVip(master.netns, vip))) {
      if (Date.now() > deadline) throw new Error(`${master.netns} never took the VIP ${vip}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await script(
      "deploy/keepalived/keepalived.sh",
      "start",
      "--node",
      backup.name,
      "--netns",
      backup.netns,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return stop;
}
