/**
 * Source-based routing in the lab, with the real CoreDNS (view plugin) and etcd: clients in two
 * namespaces with addresses in two region CIDRs get their region's answers, anyone else gets the
 * global answers, and a region with no live instance falls back to the global answers.
 */
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { renderCorefile } from "../../lib/dns/corefile.ts";
import type { CorefileSpec } from "../../lib/dns/corefile.ts";
import { encodeRecord, registrationKeys } from "../../lib/dns/skydns.ts";
import {
  answerData,
  dig,
  pollUntil,
  REPO,
  startCoreDns,
  startEtcd,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import type { Stop } from "../support/dns_stack.ts";
import { lab, labUp } from "../support/netns_lab.ts";

const SERVICE = "api.example.com";

Deno.test({
  name: "regions: clients in two CIDRs get their region's answers; an empty region falls back",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDnsLock(async () => {
      const stops: Stop[] = [];
      try {
        stops.push(await labUp());
        stops.push(await startEtcd("lab"));
        const spec = JSON.parse(
          await Deno.readTextFile(`${REPO}/deploy/lab/corefile.lab.json`),
        ) as CorefileSpec;
        const prefix = testPrefix();
        const dir = await tempDir("lab-coredns-");
        stops.push(dir.stop);
        const corefile = `${dir.path}/Corefile`;
        await Deno.writeTextFile(
          corefile,
          renderCorefile({ ...spec, pathPrefix: prefix, log: true }),
        );
        const cacheTtl = spec.cacheTtl;
        const r1 = lab("LAB_REGION1_NAME");
        const r2 = lab("LAB_REGION2_NAME");
        assert.deepEqual(spec.regions?.map((r) => r.name), [r1, r2]);

        const etcd = new Etcd3({ hosts: spec.etcdEndpoints as string[] });
        stops.push(async () => {
          await etcd.delete().prefix(prefix).catch(() => {}); // global and regional trees
          etcd.close();
        });
        const register = async (instance: string, host: string, region?: string) => {
          for (const key of registrationKeys(SERVICE, instance, { prefix, region })) {
            await etcd.put(key).value(encodeRecord({ host, port: 80 }));
          }
        };
        await register("g1", "198.18.10.1");
        await register("g2", "198.18.10.2");
        await register("eu1", "198.18.11.1", r1);
        await register("us1", "198.18.12.1", r2);
        await register("us2", "198.18.12.2", r2);

        stops.push(await startCoreDns("test-region-dns1", corefile, lab("LAB_NS_DNS1")));
        const server = lab("LAB_DNS1_IP");
        const ask = async (netns?: string) => {
          const result = await dig({ server, name: SERVICE, netns });
          assert.equal(result.status, "NOERROR", `${netns ?? "host"}: ${JSON.stringify(result)}`);
          return answerData(result);
        };
        const client1 = lab("LAB_NS_CLIENT1");
        const client2 = lab("LAB_NS_CLIENT2");
        const global = ["198.18.10.1", "198.18.10.2", "198.18.11.1", "198.18.12.1", "198.18.12.2"];

        assert.deepEqual(await ask(client1), ["198.18.11.1"], `${client1} in ${r1}`);
        assert.deepEqual(await ask(client2), ["198.18.12.1", "198.18.12.2"], `${client2} in ${r2}`);
        // The host's leg (198.18.0.1) is in no region: the default block, every live instance.
        assert.deepEqual(await ask(), global, "host (no region)");
        console.log(
          `${r1} -> ${await ask(client1)}; ${r2} -> ${await ask(client2)}; other -> global`,
        );
        // Every SRV target a client gets is the instance's own name and resolves (A) for that
        // same client (issue 12, point 3: regional targets were `eu1.api.example.com.r1._region.`).
        const targets = async (netns?: string) => {
          const srv = await dig({ server, name: SERVICE, type: "SRV", netns });
          const out: string[] = [];
          for (const line of answerData(srv, "SRV")) {
            const target = line.split(" ")[3] as string;
            const a = await dig({ server, name: target, netns });
            out.push(`${target} ${a.status} ${answerData(a).join(",")}`);
          }
          return out.sort();
        };
        const resolved = (...pairs: [string, string][]) =>
          pairs.map(([id, ip]) => `${id}.${SERVICE}. NOERROR ${ip}`).sort();
        assert.deepEqual(await targets(client1), resolved(["eu1", "198.18.11.1"]));
        assert.deepEqual(
          await targets(client2),
          resolved(["us1", "198.18.12.1"], ["us2", "198.18.12.2"]),
        );
        assert.deepEqual(
          await targets(),
          resolved(
            ["g1", "198.18.10.1"],
            ["g2", "198.18.10.2"],
            ["eu1", "198.18.11.1"],
            ["us1", "198.18.12.1"],
            ["us2", "198.18.12.2"],
          ),
        );

        // Region r2 loses its instances: its clients fall back to the global answers within the
        // cache TTL, region r1 is untouched.
        for (const instance of ["us1", "us2"]) {
          for (const key of registrationKeys(SERVICE, instance, { prefix, region: r2 })) {
            await etcd.delete().key(key);
          }
        }
        const remaining = ["198.18.10.1", "198.18.10.2", "198.18.11.1"];
        const took = await pollUntil(
          async () => JSON.stringify(await ask(client2)) === JSON.stringify(remaining),
          (cacheTtl + 3) * 1000,
        );
        console.log(
          `${r2} emptied: its clients got the global answers after ${took?.toFixed(0)} ms`,
        );
        assert.ok(took !== undefined, `${r2} did not fall back to the global answers`);
        // bound: the cache TTL, plus generous slack for a loaded 2-core machine
        assert.ok(took <= cacheTtl * 1000 + 3000, `fallback took ${took} ms`);
        assert.deepEqual(await ask(client1), ["198.18.11.1"]);
        assert.deepEqual(await ask(), remaining);

        // An instance appearing in the empty region takes over its answers again.
        await register("us3", "198.18.12.3", r2);
        const back = await pollUntil(
          async () => JSON.stringify(await ask(client2)) === JSON.stringify(["198.18.12.3"]),
          (cacheTtl + 3) * 1000,
        );
        assert.ok(back !== undefined && back <= cacheTtl * 1000 + 3000, `took ${back} ms`);

        // A name nobody registered is NXDOMAIN for a region too (fallback included, no loop).
        const missing = await dig({ server, name: "nope.example.com", netns: client1 });
        assert.equal(missing.status, "NXDOMAIN");
      } finally {
        await stopAll(stops);
      }
    }),
});
