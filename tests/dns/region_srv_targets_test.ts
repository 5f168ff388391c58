/**
 * What a client gets from the dns role's CoreDNS, checked the way a client checks it: with dig,
 * from region source addresses on loopback (`--regions "us=127.0.0.2/32;eu=127.0.0.3/32"`), with
 * the real dns role, etcd, CoreDNS (started from the Corefile the role writes) and real proxy
 * processes under Deno and Bun registered in ZooKeeper.
 *
 * - Issue 12, point 3: every SRV target a client receives is `<id>.<zone>` and resolves (A) for
 *   that same client, in every region, in a region's fallback and for everyone else. (Regional
 *   trees used to live at `<prefix>/_region/<region>`, and CoreDNS named their SRV targets
 *   `p1.api.example.test.us._region.`, which it then REFUSED.) Leftover keys of that layout are
 *   deleted by the role.
 * - Issue 12, point 10: what an operator-added deeper key under the zone does to the zone's
 *   answers (the README documents it; this pins it).
 */
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { encodeRecord } from "../../lib/dns/skydns.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { zkSandbox } from "../support/control_plane.ts";
import {
  dnsRoleFlags,
  E2E,
  startDnsRole,
  startFleetProxy,
  writeGroupConfig,
} from "../support/dns_fleet.ts";
import type { DnsRoleUnderTest, FleetProxy } from "../support/dns_fleet.ts";
import {
  answerData,
  dig,
  etcdEndpoints,
  pollUntil,
  startCoreDns,
  startEtcd,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import type { DigResult, Stop } from "../support/dns_stack.ts";
import { startBackends } from "../support/processes.ts";

const ZONE = "api.example.test";
const DNS_PORT = 1053;
const CACHE_S = 1;
const REGIONS = "us=127.0.0.2/32;eu=127.0.0.3/32";
/** Client source addresses: one per region, and one in no region (the default block). */
const US = "127.0.0.2";
const EU = "127.0.0.3";
const OTHER = "127.0.0.4";

interface Env {
  readonly etcd: Etcd3;
  readonly prefix: string;
  readonly dns: DnsRoleUnderTest;
  proxy(runtime: Runtime, id: string, host: string, region?: string): Promise<FleetProxy>;
}

/**
 * etcd, a ZooKeeper chroot, a backend and its group, the dns role (under `runtime`, with the
 * regions above, a full pass every second) and CoreDNS from its Corefile; runs `fn`; cleans up.
 * `before` runs against etcd before the role starts.
 */
function withRegionEnv(
  runtime: Runtime,
  before: (etcd: Etcd3, prefix: string) => Promise<void>,
  fn: (env: Env) => Promise<void>,
): Promise<void> {
  return withDnsLock(async () => {
    const stops: Stop[] = [];
    try {
      stops.push(await startEtcd("single"));
      const endpoints = await etcdEndpoints("single");
      const prefix = testPrefix();
      const etcd = new Etcd3({ hosts: endpoints });
      stops.push(async () => {
        await etcd.delete().prefix(prefix).catch(() => {}); // the global and regional trees
        etcd.close();
      });
      const zk = await zkSandbox();
      stops.push(() => zk.close());
      const dir = await tempDir("dns-srv-");
      stops.push(dir.stop);
      const backends = await startBackends(1, "bun");
      stops.push(async () => {
        await Promise.all(backends.map((b) => b.process.stop()));
      });
      await writeGroupConfig(zk.store, "edge", { backend_servers: [backends[0]!.address] });
      await before(etcd, prefix);
      const corefile = `${dir.path}/Corefile`;
      const flags = dnsRoleFlags(
        {
          zk: zk.connect,
          zkSessionTimeout: 4,
          etcd: endpoints,
          zone: ZONE,
          prefix,
          ttl: 5,
          corefile,
          corednsListen: `127.0.0.1:${DNS_PORT}`,
          corednsCache: CACHE_S,
        },
        "--regions",
        REGIONS,
        "--sync-seconds",
        "1",
      );
      const dns = await startDnsRole(runtime, flags);
      stops.push(async () => {
        await dns.process.stop();
      });
      stops.push(await startCoreDns(`test-srv-targets-${runtime}`, corefile));
      await fn({
        etcd,
        prefix,
        dns,
        proxy: async (proxyRuntime, id, host, region) => {
          const extra = region === undefined ? [] : ["--region", region];
          const p = await startFleetProxy(proxyRuntime, zk.connect, "edge", id, host, extra);
          stops.push(async () => {
            await p.proxy.process.stop("SIGKILL");
          });
          return p;
        },
      });
    } finally {
      await stopAll(stops);
    }
  });
}

function query(source: string, name: string, type = "A"): Promise<DigResult> {
  return dig({ server: "127.0.0.1", port: DNS_PORT, name, type, source });
}

/**
 * What `source` gets: each SRV target of the zone, mapped to what an A query for that target
 * answers the same client (its addresses, or its status when it fails); or the SRV query's
 * status when that fails.
 */
async function targetsSeenBy(source: string): Promise<Record<string, string>> {
  const srv = await query(source, ZONE, "SRV");
  if (srv.status !== "NOERROR") return { [`SRV ${ZONE}`]: srv.status };
  const out: Record<string, string> = {};
  const targets = answerData(srv, "SRV").map((line) => line.split(" ")[3] as string).sort();
  for (const target of targets) {
    const a = await query(source, target);
    out[target] = a.status === "NOERROR" ? answerData(a).join(",") : a.status;
  }
  return out;
}

/** The expected {@link targetsSeenBy} for these proxies. */
function resolving(...proxies: FleetProxy[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of proxies) out[`${p.id}.${ZONE}.`] = p.host;
  return out;
}

/** Waits until `source` sees `want` (every target resolving as listed); asserts it. */
async function expectTargets(
  source: string,
  want: Record<string, string>,
  what: string,
): Promise<void> {
  let last: Record<string, string> = {};
  const canonical = (r: Record<string, string>) => JSON.stringify(Object.entries(r).sort());
  const took = await pollUntil(async () => {
    last = await targetsSeenBy(source);
    return canonical(last) === canonical(want);
  }, 30_000);
  assert.deepEqual(last, want, `${what} (client ${source})`);
  assert.ok(took !== undefined);
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test({
    name: `regions (dns role under ${runtime}): every SRV target a client gets resolves for it`,
    ...E2E,
    fn: () => {
      const legacy = (prefix: string) => `${prefix}/_region/us/test/example/api/stale`;
      return withRegionEnv(
        runtime,
        // A key left where regional records were before this fix: the role must delete it.
        async (etcd, prefix) => {
          await etcd.put(legacy(prefix)).value(encodeRecord({ host: "127.0.0.99" }));
        },
        async (env) => {
          const p1 = await env.proxy("bun", "p1", "127.0.0.21", "us");
          const p2 = await env.proxy("deno", "p2", "127.0.0.22");

          // us has p1; eu has nobody and falls back to every live proxy; so does everyone else.
          await expectTargets(US, resolving(p1), "region us");
          await expectTargets(EU, resolving(p1, p2), "region eu, empty: the fallback");
          await expectTargets(OTHER, resolving(p1, p2), "no region");
          // The issue's exact query: the target from 127.0.0.2 is p1's own name.
          const srv = await query(US, ZONE, "SRV");
          assert.deepEqual(answerData(srv, "SRV").map((l) => l.split(" ").slice(2)), [
            [String(p1.port), `p1.${ZONE}.`],
          ]);

          // A proxy appears in eu: eu's clients now get (and resolve) only it.
          const p3 = await env.proxy("deno", "p3", "127.0.0.23", "eu");
          await expectTargets(EU, resolving(p3), "region eu with p3");
          await expectTargets(US, resolving(p1), "region us, unchanged");
          await expectTargets(OTHER, resolving(p1, p2, p3), "no region, all three");
          // A answers (unchanged behaviour): each region's proxies, everyone's for the rest.
          assert.deepEqual(answerData(await query(US, ZONE)), ["127.0.0.21"]);
          assert.deepEqual(answerData(await query(EU, ZONE)), ["127.0.0.23"]);
          assert.deepEqual(answerData(await query(OTHER, ZONE)), [
            "127.0.0.21",
            "127.0.0.22",
            "127.0.0.23",
          ]);

          // etcd: the regional trees sit next to the global one; the legacy key is gone.
          const keys = Object.keys(await env.etcd.getAll().prefix(env.prefix).strings()).sort();
          assert.deepEqual(keys, [
            `${env.prefix}-region-eu/test/example/api/p3`,
            `${env.prefix}-region-us/test/example/api/p1`,
            `${env.prefix}/test/example/api/p1`,
            `${env.prefix}/test/example/api/p2`,
            `${env.prefix}/test/example/api/p3`,
          ]);
          const corefile = (await env.dns.status()).corefile;
          assert.equal(corefile?.error, null);
        },
      );
    },
  });
}

Deno.test({
  name: "a deeper key an operator adds under the zone joins the zone's answers; the role keeps it",
  ...E2E,
  fn: () =>
    withRegionEnv("deno", async () => {}, async (env) => {
      const p1 = await env.proxy("bun", "p1", "127.0.0.21", "us");
      const p2 = await env.proxy("deno", "p2", "127.0.0.22");
      await expectTargets(OTHER, resolving(p1, p2), "before");
      const zoneKey = `${env.prefix}/test/example/api`;
      const deeper = `${zoneKey}/canary/c1`;
      const value = encodeRecord({ host: "127.0.0.31", port: 9000 });
      await env.etcd.put(deeper).value(value);

      // 1. It is served as a member of the zone: its address joins the zone's A answers, and
      //    `c1.canary.<zone>` joins the SRV answers (weight shared with the proxies), for every
      //    client of the global tree: no region, and a region's fallback (eu is empty).
      const withCanary = { ...resolving(p1, p2), [`c1.canary.${ZONE}.`]: "127.0.0.31" };
      await expectTargets(OTHER, withCanary, "no region, with the deeper key");
      await expectTargets(EU, withCanary, "eu's fallback, with the deeper key");
      assert.deepEqual(answerData(await query(OTHER, ZONE)), [
        "127.0.0.21",
        "127.0.0.22",
        "127.0.0.31",
      ]);
      assert.deepEqual(answerData(await query(OTHER, `canary.${ZONE}`)), ["127.0.0.31"]);
      //    A region with live proxies reads only its own tree: not there.
      await expectTargets(US, resolving(p1), "region us: its own tree only");

      // 2. The role never deletes or rewrites it, while full passes run (--sync-seconds 1).
      //    Positive control: an owned key deleted by hand is restored in that time.
      const owned = `${zoneKey}/p2`;
      await env.etcd.delete().key(owned);
      const restored = await pollUntil(
        async () => (await env.etcd.get(owned).string()) !== null,
        15_000,
      );
      assert.ok(restored !== undefined, "a full pass did not run: the control failed");
      assert.equal(await env.etcd.get(deeper).string(), value);

      // 3. Under a proxy's own label it hides that proxy's A record: CoreDNS answers a name from
      //    the subtree below it when there is one, so p2's SRV target now resolves to the
      //    operator's address (and `x.p2.<zone>` is one more target).
      const under = `${zoneKey}/p2/x`;
      await env.etcd.put(under).value(encodeRecord({ host: "127.0.0.32" }));
      await expectTargets(OTHER, {
        ...withCanary,
        [`p2.${ZONE}.`]: "127.0.0.32",
        [`x.p2.${ZONE}.`]: "127.0.0.32",
      }, "a key under p2's label");
      await env.etcd.delete().key(under);
      await expectTargets(OTHER, withCanary, "the key under p2 removed");

      // 4. A value that is not a JSON record fails every query that reads it: the zone's
      //    answers are SERVFAIL (while names outside that subtree, like p1's, still answer).
      const bad = `${zoneKey}/canary/broken`;
      await env.etcd.put(bad).value("not json");
      // (each answer already cached stays for up to the cache TTL)
      let statuses: string[] = [];
      const failing = await pollUntil(async () => {
        statuses = [(await query(OTHER, ZONE)).status, (await query(OTHER, ZONE, "SRV")).status];
        return statuses.every((s) => s === "SERVFAIL");
      }, (CACHE_S + 10) * 1000);
      assert.ok(failing !== undefined, `a malformed deeper value: A, SRV ${statuses}`);
      assert.deepEqual(answerData(await query(OTHER, `p1.${ZONE}`)), ["127.0.0.21"]);
      assert.equal(await env.etcd.get(bad).string(), "not json", "the role left it alone");
      await env.etcd.delete().key(bad);
      await env.etcd.delete().key(deeper);
      await expectTargets(OTHER, resolving(p1, p2), "deeper keys removed: back to the proxies");
    }),
});
