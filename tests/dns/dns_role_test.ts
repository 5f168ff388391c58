/**
 * The dns role end to end on loopback, with the real servers: ZooKeeper (proxies register
 * there), etcd and CoreDNS (started from the Corefile the role writes). Proxies are real proxy
 * processes under Bun and Deno, each on its own 127.0.0.x address so A answers tell them apart.
 *
 * - A and SRV answers list exactly the live proxies, with the configured weights; a new proxy
 *   appears; a SIGKILLed one leaves within its ZooKeeper session timeout + the CoreDNS cache; a
 *   SIGTERMed one with `--deregister-seconds` leaves before it stops serving.
 * - `--weight-by-load`: SRV weights follow the proxies' published load, and load noise writes
 *   nothing.
 * - Two dns processes: one leader, zero etcd writes while nothing changes; the leader is killed
 *   and the other takes over without touching the (correct) records.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { EtcdRecordStore } from "../../lib/dns/etcd_store.ts";
import { srvWeights } from "../../lib/dns/skydns.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { proxyInstancePath } from "../../lib/store/layout.ts";
import { zkSandbox } from "../support/control_plane.ts";
import {
  answersOf,
  countEtcdWrites,
  dnsRoleFlags,
  E2E,
  promtoolCheck,
  sampleValue,
  signal,
  startDnsRole,
  startFleetProxy,
  writeGroupConfig,
} from "../support/dns_fleet.ts";
import type { DnsRoleUnderTest, FleetProxy } from "../support/dns_fleet.ts";
import {
  dig,
  etcdEndpoints,
  pollUntil,
  sleep,
  startCoreDns,
  startEtcd,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import type { Stop } from "../support/dns_stack.ts";
import { startBackends } from "../support/processes.ts";

const SERVICE = "api.example.com";
const DNS_PORT = 1053;
/** The proxies' ZooKeeper session timeout (startZkProxy passes 4). */
const SESSION_S = 4;
/** CoreDNS cache, seconds (answers are at most this stale at CoreDNS). */
const CACHE_S = 2;
const TTL_S = 5;

interface Env {
  readonly zk: Awaited<ReturnType<typeof zkSandbox>>;
  readonly endpoints: string[];
  readonly prefix: string;
  readonly corefile: string;
  readonly backend: string;
  readonly stops: Stop[];
  /** The dns role's common flags. */
  dnsFlags(...extra: string[]): string[];
  a(): Promise<string[]>;
  srv(): Promise<string[]>;
}

/** etcd, a ZooKeeper chroot, one backend and a group config; runs `fn`; cleans up. */
function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  return withDnsLock(async () => {
    const stops: Stop[] = [];
    try {
      stops.push(await startEtcd("single"));
      const endpoints = await etcdEndpoints("single");
      const zk = await zkSandbox();
      stops.push(() => zk.close());
      const dir = await tempDir("dns-role-");
      stops.push(dir.stop);
      const prefix = testPrefix();
      const backends = await startBackends(1, "bun");
      stops.push(async () => {
        await Promise.all(backends.map((b) => b.process.stop()));
      });
      await writeGroupConfig(zk.store, "edge", {
        backend_servers: backends.map((b) => b.address),
      });
      const corefile = `${dir.path}/Corefile`;
      const env: Env = {
        zk,
        endpoints,
        prefix,
        corefile,
        backend: backends[0]!.address,
        stops,
        dnsFlags: (...extra) =>
          dnsRoleFlags({
            zk: zk.connect,
            zkSessionTimeout: 4,
            etcd: endpoints,
            zone: SERVICE,
            prefix,
            ttl: TTL_S,
            corefile,
            corednsListen: `127.0.0.1:${DNS_PORT}`,
            corednsCache: CACHE_S,
          }, ...extra),
        a: () => answersOf({ server: "127.0.0.1", port: DNS_PORT, name: SERVICE }),
        srv: () => answersOf({ server: "127.0.0.1", port: DNS_PORT, name: SERVICE, type: "SRV" }),
      };
      await fn(env);
    } finally {
      await stopAll(stops);
    }
  });
}

/** Stops the process (SIGKILL if it has not exited after SIGTERM) at cleanup. */
function stopLater(stops: Stop[], p: { process: { stop(): Promise<unknown> } }): void {
  stops.push(async () => {
    await p.process.stop();
  });
}

async function startProxy(
  env: Env,
  runtime: Runtime,
  id: string,
  host: string,
  extra: readonly string[] = [],
): Promise<FleetProxy> {
  const p = await startFleetProxy(runtime, env.zk.connect, "edge", id, host, extra);
  env.stops.push(async () => {
    await p.proxy.process.stop("SIGKILL");
  });
  return p;
}

const same = (a: readonly string[], b: readonly string[]) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

async function waitAnswers(
  env: Env,
  want: readonly string[],
  what: string,
  timeoutMs = 30_000,
): Promise<number> {
  let last: string[] = [];
  const took = await pollUntil(async () => same(last = await env.a(), want), timeoutMs);
  assert.ok(took !== undefined, `${what}: answers ${last}, want ${want}`);
  return took;
}

/** The leader passes a dns role has run successfully, from its metrics. */
async function okPasses(role: DnsRoleUnderTest): Promise<number> {
  return sampleValue(await role.metrics(), 'switchyard_dns_passes_total{result="ok"}') ?? 0;
}

/** Waits until `role` has run `n` successful leader passes in all (the wait of a quiet check). */
async function waitPasses(role: DnsRoleUnderTest, n: number, what: string): Promise<void> {
  let last = 0;
  const took = await pollUntil(async () => (last = await okPasses(role)) >= n, 30_000, 250);
  assert.ok(took !== undefined, `${what}: ${last} of ${n} passes`);
}

/**
 * Positive control of a "no etcd write" check: the leader's passes do write when etcd differs.
 * `key`, deleted by hand, is written back within `passes` more passes of `role`, and the watch
 * that found no writes sees both.
 */
async function handDeletedIsRestored(
  env: Env,
  writes: Awaited<ReturnType<typeof countEtcdWrites>>,
  role: DnsRoleUnderTest,
  key: string,
  passes: number,
): Promise<void> {
  const kv = new EtcdRecordStore({ endpoints: env.endpoints });
  try {
    const value = (await kv.list([key])).get(key);
    assert.ok(value !== undefined, `control: ${key} is there to delete`);
    const mark = writes.events.length;
    const from = await okPasses(role);
    await kv.apply({ puts: [], deletes: [key] });
    await waitPasses(role, from + passes, `control: passes after deleting ${key} by hand`);
    assert.equal((await kv.list([key])).get(key), value, `control: ${key} written back`);
    const seen = await pollUntil(
      () => Promise.resolve(writes.events.length >= mark + 2),
      10_000,
    );
    assert.ok(seen !== undefined, "control: the watch saw the delete and the write-back");
    assert.deepEqual(writes.events.slice(mark).map((e) => `${e.type} ${e.key}`), [
      `delete ${key}`,
      `put ${key}`,
    ]);
  } finally {
    await kv.close();
  }
}

function srvLines(records: { weight: number; port: number; label: string }[]): string[] {
  return srvWeights(records).map((w, i) =>
    `${w.priority} ${w.weight} ${records[i]!.port} ${records[i]!.label}.${SERVICE}.`
  ).sort();
}

Deno.test({
  name:
    "dns role: answers list exactly the live proxies; killed and draining proxies leave in time",
  ...E2E,
  fn: () =>
    withEnv(async (env) => {
      const dns = await startDnsRole(
        "deno",
        env.dnsFlags("--weights", "lb1=70,lb2=30", "--sync-seconds", "5"),
      );
      stopLater(env.stops, dns);
      env.stops.push(await startCoreDns("test-dns-role", env.corefile));
      const corefile = await Deno.readTextFile(env.corefile);
      assert.match(corefile, /etcd api\.example\.com \{/);
      assert.match(corefile, new RegExp(`path ${env.prefix}\n`));

      const p1 = await startProxy(env, "bun", "lb1", "127.0.0.21", ["--deregister-seconds", "6"]);
      const p2 = await startProxy(env, "deno", "lb2", "127.0.0.22");
      await waitAnswers(env, ["127.0.0.21", "127.0.0.22"], "two proxies");
      // SRV: the configured weights (70/30), ports and targets; targets resolve.
      const srv = srvLines([
        { weight: 70, port: p1.port, label: "lb1" },
        { weight: 30, port: p2.port, label: "lb2" },
      ]);
      assert.deepEqual(srv.map((l) => l.split(" ").slice(0, 2).join(" ")), ["10 30", "10 70"]);
      assert.ok(await pollUntil(async () => same(await env.srv(), srv), 10_000), "SRV weights");
      assert.deepEqual(
        await answersOf({ server: "127.0.0.1", port: DNS_PORT, name: `lb1.${SERVICE}` }),
        ["127.0.0.21"],
      );
      // Answer TTLs never exceed the cache (nor the record TTL).
      const full = await dig({ server: "127.0.0.1", port: DNS_PORT, name: SERVICE });
      for (const ans of full.answers) assert.ok(ans.ttl <= CACHE_S, `TTL ${ans.ttl}`);
      // The records in etcd: the seed's JSON, plus TTL and a note (`text`: not served as TXT
      // by CoreDNS for address records, there for people and tools reading etcd).
      const kv = new EtcdRecordStore({ endpoints: env.endpoints });
      const stored = await kv.list([`${env.prefix}/`]);
      await kv.close();
      assert.deepEqual(Object.fromEntries(stored), {
        [`${env.prefix}/com/example/api/lb1`]: JSON.stringify({
          host: "127.0.0.21",
          port: p1.port,
          priority: 10,
          weight: 70,
          ttl: TTL_S,
          text: "group=edge",
        }),
        [`${env.prefix}/com/example/api/lb2`]: JSON.stringify({
          host: "127.0.0.22",
          port: p2.port,
          priority: 10,
          weight: 30,
          ttl: TTL_S,
          text: "group=edge",
        }),
      });

      // A new proxy appears (default weight 100).
      const started = performance.now();
      const p3 = await startProxy(env, "bun", "lb3", "127.0.0.23");
      await waitAnswers(env, ["127.0.0.21", "127.0.0.22", "127.0.0.23"], "lb3 appears");
      console.log(`new proxy answered ${(performance.now() - started).toFixed(0)} ms after start`);
      const srv3 = srvLines([
        { weight: 70, port: p1.port, label: "lb1" },
        { weight: 30, port: p2.port, label: "lb2" },
        { weight: 100, port: p3.port, label: "lb3" },
      ]);
      assert.ok(await pollUntil(async () => same(await env.srv(), srv3), 10_000), "SRV with lb3");

      // SIGKILL lb2: its ephemeral node lives until its session times out, then the leader
      // deletes its records, then CoreDNS's cache lets go.
      const killed = performance.now();
      await p2.proxy.process.stop("SIGKILL");
      const bound = (SESSION_S + CACHE_S + 4) * 1000;
      const gone = await waitAnswers(env, ["127.0.0.21", "127.0.0.23"], "lb2 gone", bound + 10_000);
      const goneMs = performance.now() - killed;
      console.log(
        `SIGKILLed proxy left the answers after ${goneMs.toFixed(0)} ms ` +
          `(session ${SESSION_S} s + cache ${CACHE_S} s; bar ${bound} ms)`,
      );
      assert.ok(gone <= bound, `took ${goneMs} ms`);

      // SIGTERM lb1 (--deregister-seconds 6): it deletes its registration first and keeps
      // serving 6 s; DNS must drop it before it stops serving.
      assert.equal((await fetch(p1.url, { signal: AbortSignal.timeout(5000) })).status, 200);
      const termAt = performance.now();
      signal(p1.proxy.process, "SIGTERM");
      let dnsGoneAt: number | undefined;
      let stoppedAt: number | undefined;
      while (performance.now() - termAt < 30_000 && (dnsGoneAt === undefined || !stoppedAt)) {
        const now = performance.now() - termAt;
        if (dnsGoneAt === undefined && !(await env.a()).includes("127.0.0.21")) dnsGoneAt = now;
        if (stoppedAt === undefined) {
          const ok = await fetch(p1.url, {
            signal: AbortSignal.timeout(1000),
            headers: { connection: "close" },
          }).then(async (r) => {
            await r.body?.cancel();
            return r.status === 200;
          }, () => false);
          if (!ok) stoppedAt = now;
        }
        await sleep(100);
      }
      console.log(
        `draining proxy (--deregister-seconds 6): out of DNS after ${dnsGoneAt?.toFixed(0)} ms, ` +
          `stopped serving after ${stoppedAt?.toFixed(0)} ms`,
      );
      assert.ok(dnsGoneAt !== undefined, "the draining proxy never left DNS");
      assert.ok(stoppedAt !== undefined, "the draining proxy never stopped");
      assert.ok(dnsGoneAt < stoppedAt, "DNS still listed the proxy after it stopped serving");
      assert.ok(dnsGoneAt <= (CACHE_S + 2) * 1000, `left DNS after ${dnsGoneAt} ms`);
      assert.deepEqual(await env.a(), ["127.0.0.23"]);

      // The role's own view and metrics.
      const status = await dns.status();
      assert.equal(status.leader.acting, true);
      assert.deepEqual(status.records.map((r) => [r.id, r.host, r.port, r.weight]), [
        ["lb3", "127.0.0.23", p3.port, 100],
      ]);
      assert.equal(status.registrations.count, 1);
      assert.ok(status.corefile?.written_at);
      const metrics = await dns.metrics();
      assert.deepEqual(await promtoolCheck(metrics), { code: 0, output: "" });
      assert.equal(sampleValue(metrics, "switchyard_dns_leader"), 1);
      assert.equal(sampleValue(metrics, 'switchyard_dns_records{region="_global"}'), 1);
      assert.ok(
        (sampleValue(metrics, 'switchyard_dns_record_writes_total{op="delete"}') ?? 0) >= 2,
      );
      const lagCount = sampleValue(metrics, "switchyard_dns_sync_lag_seconds_count") ?? 0;
      const lagSum = sampleValue(metrics, "switchyard_dns_sync_lag_seconds_sum") ?? 0;
      assert.ok(lagCount >= 3);
      console.log(
        `sync lag (registration change seen -> etcd written): mean ${
          (1000 * lagSum / lagCount).toFixed(0)
        } ms over ${lagCount} passes`,
      );
      assert.ok((sampleValue(metrics, "process_resident_memory_bytes") ?? 0) > 0);
    }),
});

/** Opens `n` keep-alive connections to `host:port`, each after one request; returns a closer. */
async function holdConnections(host: string, port: number, n: number): Promise<() => void> {
  const sockets: net.Socket[] = [];
  await Promise.all(Array.from({ length: n }, () =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect({ host, port }, () => {
        s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      });
      sockets.push(s);
      s.once("data", () => resolve());
      s.once("error", reject);
    })));
  return () => {
    for (const s of sockets) s.destroy();
  };
}

Deno.test({
  name:
    "dns role --weight-by-load: SRV weights follow the proxies' load; load noise writes nothing",
  ...E2E,
  fn: () =>
    withEnv(async (env) => {
      const dns = await startDnsRole(
        "bun",
        env.dnsFlags(
          "--weight-by-load",
          "--load-metric",
          "connections",
          "--load-capacity",
          "100",
          "--sync-seconds",
          "2",
        ),
      );
      stopLater(env.stops, dns);
      env.stops.push(await startCoreDns("test-dns-load", env.corefile));
      const a = await startProxy(env, "deno", "busy", "127.0.0.31");
      const b = await startProxy(env, "bun", "idle", "127.0.0.32");
      await waitAnswers(env, ["127.0.0.31", "127.0.0.32"], "both");
      const srvFor = (wa: number, wb: number) =>
        srvLines([
          { weight: wa, port: a.port, label: "busy" },
          { weight: wb, port: b.port, label: "idle" },
        ]);
      assert.ok(await pollUntil(async () => same(await env.srv(), srvFor(100, 100)), 10_000));

      // 60 connections on "busy" (capacity 100): level 4, weight 40; "idle" stays 100. The
      // proxy publishes its load every 5 s.
      const release = await holdConnections(a.host, a.port, 60);
      try {
        const t0 = performance.now();
        const took = await pollUntil(
          async () => same(await env.srv(), srvFor(40, 100)),
          30_000,
          250,
        );
        assert.ok(took !== undefined, `SRV never followed the load: ${await env.srv()}`);
        console.log(
          `load 60/100 on one proxy: SRV weights ${srvFor(40, 100).map((l) => l.split(" ")[1])} ` +
            `after ${(performance.now() - t0).toFixed(0)} ms`,
        );
        // Noise: the load moves within its level (8 more connections for half the time: the
        // proxy republishes at its next samples; CPU and the counts wobble too): over two load
        // samples, periodic passes write nothing.
        const writes = await countEtcdWrites(env.endpoints, `${env.prefix}/`);
        const busyKey = `${env.prefix}/com/example/api/busy`;
        const registration = proxyInstancePath("edge", "busy");
        const published = async () => (await env.zk.store.get(registration))?.version ?? -1;
        try {
          const passes = await okPasses(dns);
          const version = await published();
          const releaseNoise = await holdConnections(a.host, a.port, 8);
          await sleep(5_500);
          releaseNoise();
          await sleep(5_500);
          // positive observables: the load was republished meanwhile, and passes planned with it
          assert.ok((await published()) > version, "the load was not republished in the window");
          await waitPasses(dns, passes + 5, "the leader's passes while the load wobbled");
          assert.deepEqual(writes.events, [], "records rewritten while the load only wobbled");
          const status = await dns.status();
          assert.deepEqual(status.records.map((r) => [r.id, r.weight]), [["busy", 40], [
            "idle",
            100,
          ]]);
          // positive control: the load goes, and the new weight is written (seen by the same
          // watch) within the same wait
          release();
          const rewritten = await pollUntil(
            () => Promise.resolve(writes.events.some((e) => e.type === "put" && e.key === busyKey)),
            11_000,
          );
          assert.ok(rewritten !== undefined, "control: no re-weight written within 11 s");
        } finally {
          await writes.close();
        }
      } finally {
        release();
      }
      const back = await pollUntil(
        async () => same(await env.srv(), srvFor(100, 100)),
        30_000,
        250,
      );
      assert.ok(back !== undefined, "weights did not return when the load went");
    }),
});

Deno.test({
  name:
    "two dns roles: one leader, zero writes while quiet; the leader dies and the other takes over without deleting",
  ...E2E,
  fn: () =>
    withEnv(async (env) => {
      const roles: DnsRoleUnderTest[] = [];
      for (const runtime of ["deno", "bun"] as const) {
        const r = await startDnsRole(
          runtime,
          env.dnsFlags("--sync-seconds", "2", "--id", `dns-${runtime}`),
        );
        roles.push(r);
        stopLater(env.stops, r);
      }
      env.stops.push(await startCoreDns("test-dns-pair", env.corefile));
      await startProxy(env, "bun", "p1", "127.0.0.41");
      await startProxy(env, "deno", "p2", "127.0.0.42");
      await waitAnswers(env, ["127.0.0.41", "127.0.0.42"], "both proxies");
      const leaders = async () => {
        const s = await Promise.all(roles.map((r) => r.status()));
        return s.filter((x) => x.leader.acting).map((x) => x.id);
      };
      assert.deepEqual(await leaders(), ["dns-deno"], "the first one leads, alone");
      const follower = await roles[1]!.status();
      assert.equal(follower.leader.leader_id, "dns-deno");

      // Nothing changes for 6 s (three periodic passes, followers' reads): no etcd write.
      const writes = await countEtcdWrites(env.endpoints, `${env.prefix}/`);
      const p1Key = `${env.prefix}/com/example/api/p1`;
      try {
        const passes = await okPasses(roles[0]!);
        await sleep(6000);
        // positive observable: the leader did run its three passes meanwhile
        await waitPasses(roles[0]!, passes + 3, "the leader's passes while quiet");
        assert.deepEqual(writes.events, [], "writes while nothing changed");
        // positive control: the leader's passes do write (and the watch sees it) when etcd
        // differs, within the same number of passes
        await handDeletedIsRestored(env, writes, roles[0]!, p1Key, 3);
        const mark = writes.events.length;

        // The leader dies without a word (SIGKILL): its election node goes with its session.
        const killed = performance.now();
        await roles[0]!.process.stop("SIGKILL");
        const took = await pollUntil(async () => (await roles[1]!.status()).leader.acting, 20_000);
        assert.ok(took !== undefined, "the follower never took over");
        console.log(
          `dns leader SIGKILLed: the follower acted after ${
            (performance.now() - killed).toFixed(0)
          } ms`,
        );
        // its first passes: at least 3 s, and until it has run two (the one at the takeover and
        // a periodic one)
        await Promise.all([sleep(3000), waitPasses(roles[1]!, 2, "the new leader's first passes")]);
        assert.deepEqual(
          writes.events.slice(mark),
          [],
          "the new leader rewrote or deleted live records",
        );
        // positive control: the new leader's passes do write when etcd differs
        await handDeletedIsRestored(env, writes, roles[1]!, p1Key, 2);
        assert.deepEqual(await env.a(), ["127.0.0.41", "127.0.0.42"]);
      } finally {
        await writes.close();
      }
      // The new leader does its job.
      await startProxy(env, "bun", "p3", "127.0.0.43");
      await waitAnswers(env, ["127.0.0.41", "127.0.0.42", "127.0.0.43"], "p3 via the new leader");
      const metrics = await roles[1]!.metrics();
      assert.equal(sampleValue(metrics, "switchyard_dns_leader"), 1);
      assert.deepEqual(await promtoolCheck(metrics), { code: 0, output: "" });
    }),
});
