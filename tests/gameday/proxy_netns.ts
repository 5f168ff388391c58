/**
 * Each game day proxy in its own network namespace with two links, as a proxy host with a data
 * and a control network would have:
 *
 * - `eth0` on the lab's DNS bridge (its client-facing address from `LAB_PROXY_IPS`, the router as
 *   default gateway): clients, the backends and the host (admin endpoints) reach it there;
 * - `zk0`, a point-to-point /30 into the core namespace: its only path to the ZooKeeper ensemble
 *   (which listens on every core address, `ZK_CLIENT_ADDRESS=0.0.0.0`).
 *
 * Taking `zk0` down cuts the proxy off from ZooKeeper while clients still reach it: the issue's
 * "proxy cut off from ZooKeeper (its namespace link down)".
 *
 * @module
 */
import { run } from "../support/dns_stack.ts";

/** The link that carries a proxy's ZooKeeper traffic (and nothing else). */
export const CONTROL_LINK = "zk0";

/** The namespace proxy `i` (1-based) runs in. */
export function proxyNamespace(i: number): string {
  return `gd-p${i}`;
}

/** The /30 of proxy `i`'s control link: the core end (ZooKeeper) and the proxy's end. */
export function controlAddresses(prefix: string, i: number): { core: string; proxy: string } {
  return { core: `${prefix}.${4 * i - 3}`, proxy: `${prefix}.${4 * i - 2}` };
}

/** The ZooKeeper connect string proxy `i` uses: the ensemble's ports behind its control link. */
export function controlConnectString(prefix: string, i: number, ports: readonly number[]): string {
  const { core } = controlAddresses(prefix, i);
  return ports.map((p) => `${core}:${p}`).join(",");
}

/** Where the proxy namespaces attach. */
export interface ProxyNetnsPlan {
  readonly routerNs: string;
  readonly bridge: string;
  readonly gateway: string;
  /** The data subnet's prefix length (the bridge's). */
  readonly dataPrefix: string;
  readonly coreNs: string;
  /** First three octets of the control links' /24 (one /30 per proxy). */
  readonly controlPrefix: string;
}

/** Creates proxy `i`'s namespace with its data link (address `ip`) and its control link. */
export async function createProxyNamespace(
  plan: ProxyNetnsPlan,
  i: number,
  ip: string,
): Promise<void> {
  const ns = proxyNamespace(i);
  const { core, proxy } = controlAddresses(plan.controlPrefix, i);
  const port = `p-gp${i}`;
  for (
    const args of [
      ["netns", "add", ns],
      ["-n", ns, "link", "set", "lo", "up"],
      [
        "link",
        "add",
        "eth0",
        "netns",
        ns,
        "type",
        "veth",
        "peer",
        "name",
        port,
        "netns",
        plan.routerNs,
      ],
      ["-n", plan.routerNs, "link", "set", port, "master", plan.bridge],
      ["-n", plan.routerNs, "link", "set", port, "up"],
      ["-n", ns, "addr", "add", `${ip}/${plan.dataPrefix}`, "dev", "eth0"],
      ["-n", ns, "link", "set", "eth0", "up"],
      ["-n", ns, "route", "replace", "default", "via", plan.gateway, "dev", "eth0"],
      [
        ...["link", "add", CONTROL_LINK, "netns", ns, "type", "veth"],
        ...["peer", "name", `zk-p${i}`, "netns", plan.coreNs],
      ],
      ["-n", plan.coreNs, "addr", "add", `${core}/30`, "dev", `zk-p${i}`],
      ["-n", plan.coreNs, "link", "set", `zk-p${i}`, "up"],
      ["-n", ns, "addr", "add", `${proxy}/30`, "dev", CONTROL_LINK],
      ["-n", ns, "link", "set", CONTROL_LINK, "up"],
    ]
  ) {
    await run(["ip", ...args]);
  }
}

/** Takes proxy `i`'s control link down or up (its path to ZooKeeper; clients are unaffected). */
export async function setControlLink(i: number, up: boolean): Promise<void> {
  await run(["ip", "-n", proxyNamespace(i), "link", "set", CONTROL_LINK, up ? "up" : "down"]);
}

/** Ends whatever still runs in the proxy namespaces (by pid) and deletes them. */
export async function deleteProxyNamespaces(count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const ns = proxyNamespace(i);
    if (!(await Deno.stat(`/run/netns/${ns}`).then(() => true, () => false))) continue;
    const pids = await run(["ip", "netns", "pids", ns], { allowFail: true });
    for (const pid of pids.stdout.split("\n").map(Number).filter((p) => p > 0)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await run(["ip", "netns", "del", ns], { allowFail: true });
  }
}
