/**
 * The game day's faults: each one injects a failure into the running topology and returns what
 * the analysis needs (which proxy addresses it took down, the VIP failover time when it moved the
 * VIP), and restores the system afterwards (restarts what it killed), so faults run one at a time
 * with recovery between them. {@link FAULTS} is the scripted sequence; `quick` marks the subset of
 * `--quick`.
 *
 * @module
 */
import { sampleValue } from "../support/dns_fleet.ts";
import { sleep, waitUntil } from "../support/processes.ts";
import { setControlLink } from "./proxy_netns.ts";
import type { Node, Topology } from "./topology.ts";

/** What an injection reports. */
export interface Injected {
  /** Proxy addresses the fault itself took down (their broken connections count as cut). */
  readonly victims: readonly string[];
  /** Injection -> the VIP held by the other DNS node only, ms (faults that move the VIP). */
  readonly vipFailoverMs?: number;
  /** What exactly was hit, for the report. */
  readonly detail: string;
}

/** One scripted fault. */
export interface Fault {
  readonly name: string;
  /** Part of `--quick`. */
  readonly quick: boolean;
  inject(t: Topology, o: { quick: boolean }): Promise<Injected>;
  /**
   * Undoes the fault (restart, clear); the window goes on until the next fault. A string it
   * resolves with is added to the report's detail (what the recovery showed).
   */
  restore(t: Topology): Promise<string | void>;
  /** How long the fault lasts before `restore` (default: the run's settle time). */
  readonly holdMs?: number;
  /** The group whose last written version every proxy must end on, set by the storm. */
  written?: { key: string; version: number };
}

async function metric(node: Node, name: string): Promise<number | null> {
  try {
    const r = await fetch(`${node.admin}/metrics`, { signal: AbortSignal.timeout(2000) });
    return sampleValue(await r.text(), name);
  } catch {
    return null;
  }
}

async function actingOne(nodes: readonly Node[], name: string, what: string): Promise<Node> {
  let found: Node | undefined;
  await waitUntil(
    `an acting ${what}`,
    async () => {
      for (const n of nodes) if ((await metric(n, name)) === 1) found = n;
      return found !== undefined;
    },
    30_000,
    250,
  );
  return found as Node;
}

async function kill(node: Node): Promise<void> {
  node.process.signal("SIGKILL");
  await node.process.exited;
}

/** The ZooKeeper member (1-3) in `mode`, read with `srvr`. */
async function zkMember(t: Topology, mode: "leader" | "follower"): Promise<number> {
  let found = 0;
  await waitUntil(
    `a ZooKeeper ${mode}`,
    async () => {
      for (const n of [1, 2, 3]) {
        const r = await t.zk("4lw", String(n), "srvr");
        if (new RegExp(`Mode: ${mode}`).test(r.stdout)) {
          found = n;
          return true;
        }
      }
      return false;
    },
    60_000,
    500,
  );
  return found;
}

async function zkRestart(t: Topology, member: number): Promise<void> {
  const r = await t.zk("start-member", String(member));
  if (r.code !== 0) throw new Error(`zk.sh start-member ${member}: ${r.stderr}`);
}

/** Kills a process and restarts it in `restore`. */
function killAndRestart(
  name: string,
  quick: boolean,
  pick: (t: Topology) => Promise<Node>,
  victims: (n: Node) => string[] = () => [],
): Fault {
  let victim: Node | null = null;
  return {
    name,
    quick,
    inject: async (t) => {
      victim = await pick(t);
      await kill(victim);
      return { victims: victims(victim), detail: `${victim.name} (${victim.runtime})` };
    },
    restore: async () => {
      if (victim !== null) await victim.restart();
    },
  };
}

/** Moves the VIP off its holder by `act`, measuring until the other node alone holds it. */
function vipFault(
  name: string,
  quick: boolean,
  act: (t: Topology, holder: { name: string; netns: string }) => Promise<void>,
  undo: (t: Topology, holder: { name: string; netns: string }) => Promise<void>,
): Fault {
  let holder: { name: string; netns: string } | null = null;
  return {
    name,
    quick,
    inject: async (t) => {
      const holders = await t.vipHolders();
      const node = t.dnsNodes.find((n) => holders.length === 1 && n.netns === holders[0]);
      if (node === undefined) throw new Error(`the VIP is on ${holders.join() || "nobody"}`);
      holder = node;
      const other = t.dnsNodes.find((n) => n !== node) as { netns: string };
      const t0 = performance.now();
      await act(t, node);
      await waitUntil(
        `the VIP on ${other.netns}`,
        async () => (await t.vipHolders()).join() === other.netns,
        20_000,
        20,
      );
      return {
        victims: [],
        vipFailoverMs: Math.round(performance.now() - t0),
        detail: `VIP from ${node.netns} to ${other.netns}`,
      };
    },
    restore: async (t) => {
      if (holder !== null) await undo(t, holder);
    },
  };
}

/** The parts of a proxy's `/status` the ZooKeeper cut reads. */
interface ProxyZkStatus {
  zookeeper?: { state?: string };
  groups?: Record<string, { config: { version: string } | null }>;
}

async function proxyStatus(p: Node): Promise<ProxyZkStatus | null> {
  try {
    const r = await fetch(`${p.admin}/status`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? await r.json() as ProxyZkStatus : null;
  } catch {
    return null;
  }
}

/**
 * One proxy's control link (its only path to ZooKeeper) taken down while clients still reach it
 * on its data link; configs are pushed meanwhile, after its session expired. It must keep serving
 * its last config (direct probes through it, and the clients), report the disconnect in
 * `/status`, and once the link is back resync to the last version written, in order (the
 * sampler's version invariants; `written` makes the analysis check it ended on it).
 */
function zkCut(): Fault {
  const group = "web";
  let victim: Topology["proxies"][number] | null = null;
  let dns: DnsWatch | null = null;
  const fault: Fault = {
    name: "proxy cut off from ZooKeeper (its control link down) while serving",
    quick: true,
    inject: async (t, o) => {
      const p = t.proxies[3]!;
      victim = p;
      const versionOf = (s: ProxyZkStatus | null) => Number(s?.groups?.[group]?.config?.version);
      const before = versionOf(await proxyStatus(p));
      const t0 = performance.now();
      await setControlLink(p.index, false);
      // its session expires, so its registration goes and DNS stops handing it out meanwhile
      dns = watchDns(t, t.clients[1]!.netns, p.ip);
      let state = "";
      await waitUntil(
        `${p.name} to report the ZooKeeper disconnect`,
        async () => {
          state = (await proxyStatus(p))?.zookeeper?.state ?? "";
          return state !== "" && state !== "connected";
        },
        30_000,
        100,
      );
      const noticedMs = Math.round(performance.now() - t0);
      // direct GETs through it all along the cut: it serves its last config
      let probes = 0;
      let served = 0;
      let probing = true;
      const prober = (async () => {
        while (probing) {
          probes++;
          try {
            const r = await fetch(`http://${p.ip}:8080/web/page`, {
              signal: AbortSignal.timeout(3000),
            });
            await r.arrayBuffer();
            if (r.ok) served++;
          } catch {
            // counted as not served
          }
          await sleep(250);
        }
      })();
      // past its session timeout (4 s): the ensemble expires the session, so the proxy comes back
      // on a new one and must re-read everything
      await sleep(5000);
      const target = t.backends[3]!.admin.slice("http://".length);
      const writes = o.quick ? 3 : 5;
      for (let i = 0; i < writes; i++) {
        await t.api("PATCH", `/api/groups/${group}/backends/${target}`, { weight: (i % 3) + 2 });
        await sleep(300);
      }
      const now = await t.api("GET", `/api/groups/${group}`);
      const written = Number(now.json.version);
      fault.written = { key: `group:${group}`, version: written };
      const during = versionOf(await proxyStatus(p));
      await sleep(1000);
      probing = false;
      await prober;
      if (during === written) throw new Error(`${p.name} applied v${written} while cut off`);
      return {
        victims: [],
        detail: `${p.name} (${p.runtime}): zookeeper.state "${state}" in /status ${noticedMs} ms ` +
          `after the link went down; served ${served}/${probes} direct GETs during the cut; ` +
          `${writes} writes to ${group} meanwhile (v${before} -> v${written}), still on v${during}`,
      };
    },
    restore: async () => {
      const p = victim;
      if (p === null) return;
      const want = fault.written?.version;
      const t0 = performance.now();
      await setControlLink(p.index, true);
      await waitUntil(
        `${p.name} to resync to ${group} v${want}`,
        async () => {
          const s = await proxyStatus(p);
          return s?.zookeeper?.state === "connected" &&
            Number(s.groups?.[group]?.config?.version) === want;
        },
        60_000,
        100,
      );
      const resynced = `link back: reconnected and on v${want} after ${
        Math.round(performance.now() - t0)
      } ms`;
      return dns === null ? resynced : `${resynced}; ${await dns.resumed()}`;
    },
  };
  return fault;
}

/** Watches one address in what a client's namespace resolves, from a fault's injection on. */
interface DnsWatch {
  /** After the fault is undone: waits for the address back, says when it left and came back. */
  resumed(): Promise<string>;
}

function watchDns(t: Topology, netns: string, address: string): DnsWatch {
  const t0 = performance.now();
  let goneMs: number | null = null;
  let polling = true;
  const poll = (async () => {
    while (polling && goneMs === null) {
      if (!(await t.resolveFrom(netns)).includes(address)) goneMs = performance.now() - t0;
      else await sleep(100);
    }
  })();
  return {
    resumed: async () => {
      polling = false;
      await poll;
      const back = performance.now();
      let backMs = -1;
      await waitUntil(
        `${address} back in DNS`,
        async () => {
          const got = (await t.resolveFrom(netns)).includes(address);
          if (got) backMs = performance.now() - back;
          return got;
        },
        60_000,
        100,
      );
      const gone = goneMs === null
        ? "still answered until undone"
        : `dropped after ${Math.round(goneMs)} ms`;
      return `DNS (from ${netns}): ${address} ${gone}, back ${Math.round(backMs)} ms after undone`;
    },
  };
}

/**
 * A load step: a third client in region r1 at `rate` requests/s, so the autoscaler (acting on
 * Prometheus's request rates) grows listener public's fleet; once the step ends it shrinks it
 * back. The decisions and how long they took go into the detail; a decision that does not come
 * within the bound is reported as such (and shows in the report's autoscaler table).
 */
function loadStep(rate: number): Fault {
  let step: { stop(): Promise<void> } | null = null;
  const decided = async (t: Topology, action: string, since: number, boundMs: number) => {
    let found: { current: number; desired: number; reason: string; at: string } | undefined;
    await waitUntil(
      `the autoscaler to ${action}`,
      async () => {
        const history = (await t.monitoring.status())?.autoscaler?.history ?? [];
        found = history.find((h) => h.action === action && Date.parse(h.at) >= since);
        return found !== undefined;
      },
      boundMs,
      500,
    ).catch(() => {});
    return found === undefined
      ? `no ${action} within ${boundMs / 1000} s`
      : `${action} ${found.current} -> ${found.desired} (${found.reason}) ${
        ((Date.parse(found.at) - since) / 1000).toFixed(1)
      } s after`;
  };
  return {
    name:
      `load step: a third client in r1 at ${rate} requests/s (the autoscaler scales out, then in)`,
    quick: false,
    holdMs: 10_000,
    inject: async (t) => {
      const t0 = Date.now();
      step = t.startClient("c3", t.clients[0]!.netns, rate);
      return { victims: [], detail: `c3 started: ${await decided(t, "grow", t0, 60_000)}` };
    },
    restore: async (t) => {
      if (step === null) return;
      const t0 = Date.now();
      await step.stop();
      step = null;
      return `c3 stopped: ${await decided(t, "shrink", t0, 90_000)}`;
    },
  };
}

/** The scripted sequence, in order. */
export function faults(): Fault[] {
  const storm: Fault = {
    name: "config push storm through the admin API",
    quick: true,
    inject: async (t, o) => {
      const writes = o.quick ? 30 : 100;
      const spanMs = o.quick ? 3000 : 10_000;
      const target = t.backends[0]!.admin.slice("http://".length);
      const t0 = Date.now();
      let failed = 0;
      for (let i = 0; i < writes; i++) {
        await sleep(Math.max(0, t0 + (i * spanMs) / writes - Date.now()));
        const r = await t.api("PATCH", `/api/groups/api/backends/${target}`, {
          weight: (i % 3) + 1,
        });
        if (r.status >= 300) failed++;
      }
      const now = await t.api("GET", "/api/groups/api");
      storm.written = { key: "group:api", version: Number(now.json.version) };
      return {
        victims: [],
        detail: `${writes} weight writes in ${
          Date.now() - t0
        } ms, ${failed} refused; last version ${now.json.version}`,
      };
    },
    restore: async () => {},
  };
  return [
    killAndRestart("backend SIGKILL", true, (t) => Promise.resolve(t.backends[1]!)),
    {
      name: "backend answers 5xx (requests and /health)",
      quick: false,
      inject: async (t) => {
        const b = t.backends[4]!;
        await fetch(`${b.admin}/_control/health?status=500`, { method: "POST" }).then((r) =>
          r.text()
        );
        await fetch(`${b.admin}/_control/fail?status=500`, { method: "POST" }).then((r) =>
          r.text()
        );
        return { victims: [], detail: b.name };
      },
      restore: async (t) => {
        const b = t.backends[4]!;
        await fetch(`${b.admin}/_control/fail?status=0`, { method: "POST" }).then((r) => r.text());
        await fetch(`${b.admin}/_control/health?status=200`, { method: "POST" }).then((r) =>
          r.text()
        );
      },
    },
    killAndRestart(
      "proxy SIGKILL",
      true,
      (t) => Promise.resolve(t.proxies[1]!),
      (n) => [(n as Node & { ip: string }).ip],
    ),
    killAndRestart(
      "orchestrator master SIGKILL",
      true,
      (t) => actingOne(t.orchestrators, "switchyard_orchestrator_is_master", "orchestrator master"),
    ),
    zkCut(),
    (() => {
      let member = 0;
      return {
        name: "ZooKeeper follower SIGKILL",
        quick: false,
        inject: async (t: Topology) => {
          member = await zkMember(t, "follower");
          await t.zk("kill-member", String(member));
          return { victims: [], detail: `member ${member}` };
        },
        restore: (t: Topology) => zkRestart(t, member),
      };
    })(),
    (() => {
      let member = 0;
      return {
        name: "ZooKeeper leader SIGKILL",
        quick: false,
        inject: async (t: Topology) => {
          member = await zkMember(t, "leader");
          await t.zk("kill-member", String(member));
          return { victims: [], detail: `member ${member}` };
        },
        restore: (t: Topology) => zkRestart(t, member),
      };
    })(),
    {
      name: "backend turns slow (2 s per request, health checks still pass)",
      quick: false,
      inject: async (t) => {
        const b = t.backends[2]!;
        await fetch(`${b.admin}/_gameday/slow?ms=2000`, { method: "POST" }).then((r) => r.text());
        return { victims: [], detail: b.name };
      },
      restore: async (t) => {
        const b = t.backends[2]!;
        await fetch(`${b.admin}/_gameday/slow?ms=0`, { method: "POST" }).then((r) => r.text());
      },
    },
    (() => {
      let victim: (Node & { ip: string }) | null = null;
      let watch: DnsWatch | null = null;
      return {
        name: "proxy SIGSTOP for 20 s (its session expires), then SIGCONT",
        quick: false,
        holdMs: 20_000,
        inject: (t: Topology) => {
          const p = t.proxies[2]!;
          victim = p;
          p.process.signal("SIGSTOP");
          // the detection bound clients depend on: how long DNS still hands out its address
          watch = watchDns(t, t.clients[1]!.netns, p.ip);
          return Promise.resolve({ victims: [p.ip], detail: `${p.name} (${p.runtime})` });
        },
        restore: async () => {
          victim?.process.signal("SIGCONT");
          if (watch === null) return;
          const w = watch;
          watch = null;
          return await w.resumed();
        },
      };
    })(),
    {
      name: "whole ZooKeeper ensemble down for 60 s",
      quick: false,
      holdMs: 60_000,
      inject: async (t) => {
        for (const n of [1, 2, 3]) await t.zk("kill-member", String(n));
        return { victims: [], detail: "members 1-3 SIGKILLed" };
      },
      restore: async (t) => {
        const r = await t.zk("start", "ensemble");
        if (r.code !== 0) throw new Error(`zk.sh start ensemble: ${r.stderr}`);
      },
    },
    storm,
    loadStep(150),
    killAndRestart(
      "dns leader SIGKILL",
      false,
      (t) => actingOne(t.dnsRoles, "switchyard_dns_leader", "dns leader"),
    ),
    vipFault(
      "CoreDNS on the VIP holder SIGKILL (VIP failover)",
      true,
      async (t, n) => {
        await t.script("deploy/coredns/coredns.sh", "stop", "--name", n.name, "--signal", "KILL");
      },
      async (t, n) => {
        const i = t.dnsNodes.findIndex((d) => d.name === n.name) + 1;
        await t.script(
          "deploy/coredns/coredns.sh",
          ...["start", "--name", n.name, "--corefile", `${t.stateDir}/dns${i}/Corefile`],
          ...["--netns", n.netns],
        );
      },
    ),
    vipFault(
      "DNS master node's link down (VIP failover)",
      false,
      async (_t, n) => {
        await new Deno.Command("ip", { args: ["-n", n.netns, "link", "set", "eth0", "down"] })
          .output();
      },
      async (t, n) => {
        await new Deno.Command("ip", { args: ["-n", n.netns, "link", "set", "eth0", "up"] })
          .output();
        // the lab's default route goes with the link: put it back
        const gw = t.routerIp;
        await new Deno.Command("ip", {
          args: ["-n", n.netns, "route", "replace", "default", "via", gw, "dev", "eth0"],
        }).output();
      },
    ),
    {
      name: "rolling restart of every proxy (SIGTERM, restart, next)",
      quick: false,
      inject: async (t) => {
        // as an operator rolls a fleet (one unavailable at a time): the next proxy goes down only
        // once the restarted one is handed out by DNS again, plus the clients' re-resolve period.
        // Without that wait, a region's client could be left with one address just as it went
        // down (a run with a fixed 3 s pause had a GET refused with no other address to try).
        const t0 = Date.now();
        const backInDns: number[] = [];
        for (const p of t.proxies) {
          await p.process.stop("SIGTERM");
          await p.restart();
          const netns = t.clients[p.index <= 2 ? 0 : 1]!.netns; // p1, p2 in region 1
          const restarted = performance.now();
          await waitUntil(
            `${p.name} back in DNS`,
            async () => (await t.resolveFrom(netns)).includes(p.ip),
            60_000,
            100,
          );
          backInDns.push(Math.round(performance.now() - restarted));
          await sleep(2000);
        }
        return {
          victims: t.proxies.map((p) => p.ip),
          detail: `${t.proxies.map((p) => p.name).join(", ")} in ${Date.now() - t0} ms ` +
            `(each back in DNS ${backInDns.join(", ")} ms after its restart)`,
        };
      },
      restore: async () => {},
    },
  ];
}
