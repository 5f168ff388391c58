/**
 * The dns role in the lab (network namespaces, deploy/lab), with the real servers: etcd in the
 * lab, CoreDNS in the DNS namespaces from the Corefile the role writes (one `view` block per
 * region), keepalived holding the VIP, ZooKeeper and real proxy processes on the host's lab leg
 * (198.18.0.21-24).
 *
 * - Source-based routing: clients in two region CIDRs get their region's proxies; a region whose
 *   proxies are all gone falls back to every live proxy; a new regions file re-routes clients
 *   (Corefile rewritten, CoreDNS reloads it).
 * - The whole path: a client namespace resolves the zone through the VIP, sends HTTP to the
 *   proxy it got, and is balanced across the backends.
 */
import assert from "node:assert/strict";
import { zkSandbox } from "../support/control_plane.ts";
import {
  dnsRoleFlags,
  E2E,
  signal,
  startDnsRole,
  startFleetProxy,
  writeGroupConfig,
} from "../support/dns_fleet.ts";
import type { FleetProxy } from "../support/dns_fleet.ts";
import type { ClientReport } from "../support/dns_http_client.ts";
import {
  answerData,
  dig,
  pollUntil,
  REPO,
  run,
  startCoreDns,
  startEtcd,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import type { Stop } from "../support/dns_stack.ts";
import { addHostLabAddresses, lab, labUp, startLabDnsPair } from "../support/netns_lab.ts";
import { freePort, startBackends } from "../support/processes.ts";

const SERVICE = "api.example.com";
const CACHE_S = 2;

interface LabEnv {
  readonly zk: Awaited<ReturnType<typeof zkSandbox>>;
  readonly etcd: string;
  readonly prefix: string;
  readonly dir: string;
  readonly stops: Stop[];
  dnsFlags(corefile: string, ...extra: string[]): string[];
  proxy(
    runtime: "deno" | "bun",
    id: string,
    host: string,
    extra?: string[],
    port?: number,
  ): Promise<
    FleetProxy
  >;
}

function withLab(
  backends: { n: number; config: Record<string, unknown> },
  fn: (env: LabEnv, backendAddresses: string[]) => Promise<void>,
): Promise<void> {
  return withDnsLock(async () => {
    const stops: Stop[] = [];
    try {
      stops.push(await labUp());
      stops.push(await startEtcd("lab"));
      stops.push(await addHostLabAddresses(lab("LAB_HOST_SERVICE_IPS").split(",")));
      const zk = await zkSandbox();
      stops.push(() => zk.close());
      const dir = await tempDir("dns-lab-");
      stops.push(dir.stop);
      const started = await startBackends(backends.n, "bun");
      stops.push(async () => {
        await Promise.all(started.map((b) => b.process.stop()));
      });
      const addresses = started.map((b) => b.address);
      const servers = Array.isArray(backends.config.backend_servers)
        ? backends.config.backend_servers.map((s, i) =>
          typeof s === "object" ? { ...s, address: addresses[i] } : addresses[i]
        )
        : addresses;
      await writeGroupConfig(zk.store, "edge", { ...backends.config, backend_servers: servers });
      const etcd = `http://${lab("LAB_ETCD_IP")}:${lab("LAB_ETCD_CLIENT_PORT")}`;
      const prefix = testPrefix();
      const env: LabEnv = {
        zk,
        etcd,
        prefix,
        dir: dir.path,
        stops,
        dnsFlags: (corefile, ...extra) =>
          dnsRoleFlags({
            zk: zk.connect,
            etcd,
            zone: SERVICE,
            prefix,
            corefile,
            corednsListen: `0.0.0.0:${lab("LAB_DNS_PORT")}`,
            corednsCache: CACHE_S,
          }, ...extra),
        proxy: async (runtime, id, host, extra = [], port = 0) => {
          const p = await startFleetProxy(runtime, zk.connect, "edge", id, host, extra, port);
          stops.push(async () => {
            await p.proxy.process.stop("SIGKILL");
          });
          return p;
        },
      };
      await fn(env, addresses);
    } finally {
      await stopAll(stops);
    }
  });
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

Deno.test({
  name: "dns role in the lab: each region's clients get its proxies; an emptied region falls back",
  ...E2E,
  fn: () =>
    withLab({ n: 1, config: {} }, async (env) => {
      const r1 = lab("LAB_REGION1_NAME");
      const r2 = lab("LAB_REGION2_NAME");
      const regionsFile = `${env.dir}/regions.json`;
      await Deno.writeTextFile(
        regionsFile,
        JSON.stringify({ [r1]: [lab("LAB_REGION1_CIDR")], [r2]: [lab("LAB_REGION2_CIDR")] }),
      );
      const corefile = `${env.dir}/Corefile`;
      const dns = await startDnsRole(
        "bun",
        env.dnsFlags(corefile, "--regions-file", regionsFile, "--sync-seconds", "5"),
      );
      env.stops.push(async () => {
        await dns.process.stop();
      });
      const text = await Deno.readTextFile(corefile);
      assert.match(
        text,
        new RegExp(`view ${r1} \\{\\n\\s+expr incidr\\(client_ip\\(\\), '198\\.18\\.1\\.0/24'\\)`),
      );
      assert.match(text, new RegExp(`path ${env.prefix}-region-${r2}\n`));
      env.stops.push(await startCoreDns("test-fleet-dns1", corefile, lab("LAB_NS_DNS1")));

      const [ip1, ip2, ip3, ip4] = lab("LAB_HOST_SERVICE_IPS").split(",") as [
        string,
        string,
        string,
        string,
      ];
      await env.proxy("bun", "r1-a", ip1, ["--region", r1]);
      await env.proxy("deno", "r1-b", ip2, ["--region", r1]);
      const r2Proxy = await env.proxy("bun", "r2-a", ip3, ["--region", r2]);
      await env.proxy("deno", "global-a", ip4);

      const server = lab("LAB_DNS1_IP");
      const client1 = lab("LAB_NS_CLIENT1");
      const client2 = lab("LAB_NS_CLIENT2");
      const ask = async (netns?: string) => answerData(await dig({ server, name: SERVICE, netns }));
      const expect = async (netns: string | undefined, want: string[], what: string) => {
        let last: string[] = [];
        const took = await pollUntil(async () => sameSet(last = await ask(netns), want), 30_000);
        assert.ok(took !== undefined, `${what}: got ${last}, want ${want}`);
        return took;
      };
      await expect(client1, [ip1, ip2], `${client1} in ${r1}`);
      await expect(client2, [ip3], `${client2} in ${r2}`);
      await expect(undefined, [ip1, ip2, ip3, ip4], "the host (no region): every proxy");
      console.log(`${r1} -> ${await ask(client1)}; ${r2} -> ${await ask(client2)}; other -> all`);

      // r2's only proxy stops (SIGTERM: it deletes its registration): r2's clients fall back to
      // every live proxy; r1 is untouched.
      const t0 = performance.now();
      signal(r2Proxy.proxy.process, "SIGTERM");
      await expect(client2, [ip1, ip2, ip4], `${r2} emptied: fallback`);
      const fallbackMs = performance.now() - t0;
      console.log(
        `${r2}'s proxy stopped: its clients got the fallback after ${fallbackMs.toFixed(0)} ms`,
      );
      assert.ok(fallbackMs <= (CACHE_S + 3) * 1000, `fallback after ${fallbackMs} ms`);
      assert.ok(sameSet(await ask(client1), [ip1, ip2]));

      // The operator moves the networks around in the regions file: r1 now serves
      // 198.18.2.0/24. The role rewrites the Corefile, CoreDNS reloads it.
      await Deno.writeTextFile(
        regionsFile,
        JSON.stringify({ [r1]: [lab("LAB_REGION2_CIDR")], [r2]: [lab("LAB_REGION1_CIDR")] }),
      );
      const t1 = performance.now();
      await expect(client2, [ip1, ip2], `${client2} re-mapped to ${r1}`);
      await expect(client1, [ip1, ip2, ip4], `${client1} re-mapped to the empty ${r2}: fallback`);
      console.log(
        `regions file changed: clients re-routed after ${(performance.now() - t1).toFixed(0)} ms`,
      );
      const status = await dns.status() as unknown as {
        regions: { name: string; cidrs: string[] }[];
      };
      assert.deepEqual(status.regions, [
        { name: r1, cidrs: [lab("LAB_REGION2_CIDR")] },
        { name: r2, cidrs: [lab("LAB_REGION1_CIDR")] },
      ]);

      // A broken regions file is refused; the Corefile and routing stay.
      const before = await Deno.readTextFile(corefile);
      await Deno.writeTextFile(regionsFile, '{"r1": ["198.18.2.7/24"]}');
      // the wait: 2.5 s, and until the role shows it has read the file and refused it
      const corefileError = async () =>
        (await dns.status() as unknown as { corefile: { error: string | null } }).corefile.error;
      const [, refused] = await Promise.all([
        new Promise((r) => setTimeout(r, 2500)),
        pollUntil(async () => /host bits set/.test((await corefileError()) ?? ""), 30_000),
      ]);
      assert.ok(
        refused !== undefined,
        `the broken regions file not refused: ${await corefileError()}`,
      );
      assert.equal(await Deno.readTextFile(corefile), before);
      const after = await dns.status() as unknown as { corefile: { error: string | null } };
      assert.match(after.corefile.error ?? "", /host bits set/);
      // positive control: a valid regions file, written the same way, is applied (the Corefile
      // rewritten) within the same 2.5 s
      await Deno.writeTextFile(
        regionsFile,
        JSON.stringify({ [r1]: [lab("LAB_REGION1_CIDR")], [r2]: [lab("LAB_REGION2_CIDR")] }),
      );
      const applied = await pollUntil(
        async () => (await Deno.readTextFile(corefile)) !== before,
        2500,
      );
      assert.ok(applied !== undefined, "control: a valid regions file not applied within 2.5 s");
    }),
});

Deno.test({
  name:
    "the whole path: a lab client resolves through the VIP, reaches a proxy, is balanced over backends",
  ...E2E,
  fn: () =>
    withLab(
      {
        n: 2,
        config: {
          backend_servers: [{ address: "", weight: 1 }, { address: "", weight: 3 }],
          algorithm: "WEIGHTED_ROUND_ROBIN",
        },
      },
      async (env) => {
        const r1 = lab("LAB_REGION1_NAME");
        const corefile = `${env.dir}/Corefile`;
        const dns = await startDnsRole(
          "deno",
          env.dnsFlags(
            corefile,
            "--regions",
            `${r1}=${lab("LAB_REGION1_CIDR")};${lab("LAB_REGION2_NAME")}=${
              lab("LAB_REGION2_CIDR")
            }`,
          ),
        );
        env.stops.push(async () => {
          await dns.process.stop();
        });
        env.stops.push(await startLabDnsPair(corefile, "test-fleet-ha"));

        // Two proxies in region r1, on one port (clients know the service port, as with HTTP).
        const [ip1, ip2] = lab("LAB_HOST_SERVICE_IPS").split(",") as [string, string];
        const port = await freePort();
        await env.proxy("bun", "edge-1", ip1, ["--region", r1], port);
        await env.proxy("deno", "edge-2", ip2, ["--region", r1], port);
        const vip = lab("LAB_VIP");
        const client = lab("LAB_NS_CLIENT1");
        const ready = await pollUntil(
          async () =>
            sameSet(answerData(await dig({ server: vip, name: SERVICE, netns: client })), [
              ip1,
              ip2,
            ]),
          30_000,
        );
        assert.ok(ready !== undefined, "the VIP never answered with both proxies");

        const requests = 80;
        const out = await run([
          "ip",
          "netns",
          "exec",
          client,
          Deno.execPath(),
          "run",
          "-A",
          `${REPO}/tests/support/dns_http_client.ts`,
          "--server",
          vip,
          "--name",
          SERVICE,
          "--port",
          String(port),
          "--requests",
          String(requests),
        ], { env: { DENO_NO_UPDATE_CHECK: "1" } });
        const report = JSON.parse(out.stdout) as ClientReport;
        console.log(`client ${lab("LAB_CLIENT1_IP")} via VIP ${vip}: ${JSON.stringify(report)}`);
        assert.deepEqual(report.failures, []);
        assert.deepEqual(report.answerSets, [[ip1, ip2].sort().join(",")]);
        // Both proxies were used (CoreDNS shuffles the answers; the client takes the first).
        assert.deepEqual(Object.keys(report.proxies).sort(), [ip1, ip2].sort());
        for (const n of Object.values(report.proxies)) {
          assert.ok(n >= requests / 8, `${n} requests`);
        }
        // ...and the backends shared the requests 1:3 (each proxy's smooth weighted round robin
        // is exact per cycle of 4; two proxies leave at most a partial cycle each).
        const b1 = report.backends["b1"] ?? 0;
        const b2 = report.backends["b2"] ?? 0;
        assert.equal(b1 + b2, requests);
        assert.ok(Math.abs(b1 - requests / 4) <= 2, `b1 got ${b1} of ${requests}`);
      },
    ),
});
