/**
 * CoreDNS + etcd on loopback, the real servers: SkyDNS records written with the etcd3 client are
 * what `dig @127.0.0.1 -p 1053` answers. Each test starts etcd and CoreDNS through the deploy
 * scripts and stops them after, even on failure.
 */
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { renderCorefile } from "../../lib/dns/corefile.ts";
import { encodeRecord, instanceKey, srvWeights, zonePath } from "../../lib/dns/skydns.ts";
import type { SkyDnsRecord } from "../../lib/dns/skydns.ts";
import {
  answerData,
  dig,
  etcdEndpoints,
  pollUntil,
  script,
  startCoreDns,
  startEtcd,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import type { EtcdProfile, Stop } from "../support/dns_stack.ts";

const ZONE = "example.com";
const SERVICE = "api.example.com";
const PORT = 1053;
const CACHE_TTL = 2;

interface Stack {
  readonly etcd: Etcd3;
  readonly prefix: string;
  put(instance: string, record: SkyDnsRecord): Promise<void>;
  answers(type?: string): Promise<string[]>;
}

/** Starts etcd (`profile`) and a CoreDNS on 127.0.0.1:1053 reading it, runs `fn`, stops both. */
async function withStack(profile: EtcdProfile, fn: (stack: Stack) => Promise<void>) {
  await withDnsLock(async () => {
    const stops: Stop[] = [];
    try {
      stops.push(await startEtcd(profile));
      const endpoints = await etcdEndpoints(profile);
      const dir = await tempDir("coredns-");
      stops.push(dir.stop);
      const prefix = testPrefix();
      const corefile = `${dir.path}/Corefile`;
      await Deno.writeTextFile(
        corefile,
        renderCorefile({
          zone: ZONE,
          etcdEndpoints: endpoints,
          pathPrefix: prefix,
          port: PORT,
          bind: ["127.0.0.1"],
          cacheTtl: CACHE_TTL,
          health: "127.0.0.1:18053",
          ready: "127.0.0.1:18054",
          prometheus: "127.0.0.1:19153",
          log: true,
          minLeaseTtl: 1,
        }),
      );
      const etcd = new Etcd3({ hosts: endpoints });
      stops.push(async () => {
        await etcd.delete().prefix(`${prefix}/`).catch(() => {});
        etcd.close();
      });
      stops.push(await startCoreDns("test-loopback", corefile));
      const stack: Stack = {
        etcd,
        prefix,
        put: async (instance, record) => {
          await etcd.put(instanceKey(SERVICE, instance, { prefix })).value(encodeRecord(record));
        },
        answers: async (type = "A") =>
          answerData(await dig({ server: "127.0.0.1", port: PORT, name: SERVICE, type }), type),
      };
      await fn(stack);
    } finally {
      await stopAll(stops);
    }
  });
}

const TEST_OPTIONS = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "coredns+etcd: A answers list exactly the live records; a deleted one leaves within the cache TTL",
  ...TEST_OPTIONS,
  fn: () =>
    withStack("single", async (stack) => {
      await stack.put("lb1", { host: "198.18.10.1", port: 80 });
      await stack.put("lb2", { host: "198.18.10.2", port: 80 });
      await stack.put("lb3", { host: "198.18.10.3", port: 80 });
      // A record of another service in the zone must not leak into api's answers.
      await stack.etcd.put(`${zonePath("web.example.com", { prefix: stack.prefix })}/w1`)
        .value(encodeRecord({ host: "198.18.20.1" }));

      const first = await dig({ server: "127.0.0.1", port: PORT, name: SERVICE });
      assert.equal(first.status, "NOERROR");
      assert.deepEqual(answerData(first), ["198.18.10.1", "198.18.10.2", "198.18.10.3"]);
      for (const answer of first.answers) {
        assert.ok(answer.ttl <= CACHE_TTL, `answer TTL ${answer.ttl} exceeds the cache TTL`);
      }
      // Warm the cache right before the delete: the stale answer is served at most CACHE_TTL s.
      assert.equal((await stack.answers()).length, 3);
      await stack.etcd.delete().key(instanceKey(SERVICE, "lb2", { prefix: stack.prefix }));
      const goneAfter = await pollUntil(async () => {
        const now = await stack.answers();
        return now.length === 2 && !now.includes("198.18.10.2");
      }, (CACHE_TTL + 3) * 1000);
      console.log(`deleted record left the answers after ${goneAfter?.toFixed(0)} ms`);
      assert.ok(goneAfter !== undefined, "deleted record still answered");
      // Bar: the cache TTL, plus one poll interval and a dig for measurement slack.
      assert.ok(goneAfter <= CACHE_TTL * 1000 + 3000, `took ${goneAfter} ms > ${CACHE_TTL} s`);
      assert.deepEqual(await stack.answers(), ["198.18.10.1", "198.18.10.3"]);

      // A name nobody registered: NXDOMAIN, not an empty success.
      const missing = await dig({ server: "127.0.0.1", port: PORT, name: "nope.example.com" });
      assert.equal(missing.status, "NXDOMAIN");
    }),
});

Deno.test({
  name: "coredns+etcd: SRV answers carry the configured weights and priorities",
  ...TEST_OPTIONS,
  fn: () =>
    withStack("single", async (stack) => {
      const records: [string, SkyDnsRecord][] = [
        ["lb1", { host: "198.18.10.1", port: 8443, weight: 70 }],
        ["lb2", { host: "198.18.10.2", port: 8443, weight: 30 }],
        ["lb3", { host: "198.18.10.3", port: 8443, priority: 20, weight: 5 }],
      ];
      for (const [instance, record] of records) await stack.put(instance, record);
      const expected = srvWeights(records.map(([, r]) => r)).map((w, i) =>
        `${w.priority} ${w.weight} 8443 ${records[i]?.[0]}.${SERVICE}.`
      );
      assert.deepEqual(expected.sort(), [
        `10 30 8443 lb2.${SERVICE}.`,
        `10 70 8443 lb1.${SERVICE}.`,
        `20 100 8443 lb3.${SERVICE}.`,
      ]);
      const srv = await dig({ server: "127.0.0.1", port: PORT, name: SERVICE, type: "SRV" });
      assert.equal(srv.status, "NOERROR");
      assert.deepEqual(answerData(srv, "SRV"), expected.sort());
      // The SRV targets resolve to the instances' addresses.
      const target = await dig({ server: "127.0.0.1", port: PORT, name: `lb1.${SERVICE}` });
      assert.deepEqual(answerData(target), ["198.18.10.1"]);

      // Re-weighting is a put: within the cache TTL the answer carries the new weights.
      await stack.put("lb2", { host: "198.18.10.2", port: 8443, weight: 70 });
      const took = await pollUntil(async () => {
        const now = await stack.answers("SRV");
        return now.includes(`10 50 8443 lb1.${SERVICE}.`) &&
          now.includes(`10 50 8443 lb2.${SERVICE}.`);
      }, (CACHE_TTL + 3) * 1000);
      assert.ok(took !== undefined && took <= CACHE_TTL * 1000 + 3000, `re-weight took ${took} ms`);
    }),
});

Deno.test({
  name: "coredns+etcd: a record under a lease disappears when the lease expires",
  ...TEST_OPTIONS,
  fn: () =>
    withStack("single", async (stack) => {
      const LEASE_TTL = 3;
      await stack.put("lb1", { host: "198.18.10.1" });
      const lease = stack.etcd.lease(LEASE_TTL, { autoKeepAlive: false });
      const key = instanceKey(SERVICE, "lb-leased", { prefix: stack.prefix });
      await lease.put(key).value(encodeRecord({ host: "198.18.10.9" }));
      const granted = performance.now();
      assert.deepEqual(await stack.answers(), ["198.18.10.1", "198.18.10.9"]);
      const gone = await pollUntil(async () => {
        const now = await stack.answers();
        return now.length === 1 && now[0] === "198.18.10.1";
      }, (LEASE_TTL + CACHE_TTL + 5) * 1000);
      assert.ok(gone !== undefined, "leased record outlived its lease");
      const sinceGrant = performance.now() - granted;
      console.log(`leased record (TTL ${LEASE_TTL} s) gone ${sinceGrant.toFixed(0)} ms after put`);
      // Not before the lease could have expired, and within lease TTL + cache TTL (+1 s slack
      // for etcd's lease expiry tick).
      assert.ok(sinceGrant >= (LEASE_TTL - 1) * 1000, `gone too early: ${sinceGrant} ms`);
      assert.ok(sinceGrant <= (LEASE_TTL + CACHE_TTL + 1) * 1000, `gone late: ${sinceGrant} ms`);
      assert.equal(await stack.etcd.get(key).string(), null);
      await lease.revoke().catch(() => {});
    }),
});

Deno.test({
  name: "coredns+etcd cluster: answers continue while one etcd member is down, and it rejoins",
  ...TEST_OPTIONS,
  fn: () =>
    withStack("cluster", async (stack) => {
      await stack.put("lb1", { host: "198.18.10.1" });
      await stack.put("lb2", { host: "198.18.10.2" });
      assert.deepEqual(await stack.answers(), ["198.18.10.1", "198.18.10.2"]);
      // The member CoreDNS lists first goes away; a write through the others must show up.
      await script("deploy/etcd/etcd.sh", "stop", "cluster", "--member", "1");
      try {
        await stack.put("lb3", { host: "198.18.10.3" });
        const took = await pollUntil(
          async () => (await stack.answers()).length === 3,
          (CACHE_TTL + 15) * 1000,
          200,
        );
        console.log(`with member 1 down, a new record was answered after ${took?.toFixed(0)} ms`);
        assert.ok(took !== undefined, "CoreDNS did not fail over to the other etcd members");
      } finally {
        await script("deploy/etcd/etcd.sh", "start", "cluster", "--member", "1");
      }
      const status = await script("deploy/etcd/etcd.sh", "status", "cluster");
      assert.equal(status.stdout.match(/healthy/g)?.length, 3, status.stdout);
    }),
});
