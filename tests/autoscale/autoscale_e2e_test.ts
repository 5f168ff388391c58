/**
 * The seed's loop, end to end, with the real pieces: ZooKeeper, etcd, CoreDNS (its Corefile
 * written by the dns role), the dns role, the autoscaler role with the local provider (real
 * proxy processes under Bun, one per 127.0.0.x, all on one port, so DNS A records are the
 * fleet), sample backends, and wrk.
 *
 * 1. The autoscaler brings the fleet to its minimum (1): the proxy appears in DNS.
 * 2. wrk holds 60 connections on it (capacity 40 per proxy, scale-out above 80%): the fleet
 *    grows to the policy's max (3) in one step, the new proxies appear in DNS, and a client
 *    that resolves through DNS before every request gets answers from all three.
 * 3. wrk stops: after the scale-in cooldowns the fleet shrinks back to 1, one proxy at a time;
 *    each removed proxy leaves DNS first, waits out the TTL, drains and exits 0; the client
 *    saw zero failed requests (and wrk none either).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { zkSandbox } from "../support/control_plane.ts";
import { dnsRoleFlags, E2E, startDnsRole, writeGroupConfig } from "../support/dns_fleet.ts";
import {
  etcdEndpoints,
  startCoreDns,
  startEtcd,
  type Stop,
  stopAll as runStops,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import { freePort, startBackends, tempDir, waitUntil } from "../support/processes.ts";
import { type DecisionEntry, startAutoscaler } from "../support/autoscaler.ts";
import { DnsClient, ensureWrk, resolveA, startWrk } from "./_support.ts";

const SERVICE = "api.example.com";
const DNS_PORT = 1053;
const TTL_S = 2;
const CACHE_S = 1;
/** The proxies leave DNS this long before they drain: record TTL + CoreDNS cache + slack. */
const DEREGISTER_S = TTL_S + CACHE_S + 1;
const HOSTS = ["127.0.0.71", "127.0.0.72", "127.0.0.73"];

const POLICY = {
  min: 1,
  max: 3,
  capacity: { connections: 40 },
  target_utilization: 0.5,
  scale_out: { threshold: 0.8, after_seconds: 2, cooldown_seconds: 10, max_step: 2 },
  scale_in: { threshold: 0.25, after_seconds: 3, cooldown_seconds: 6, max_step: 1 },
  sample_max_age_seconds: 5,
  pending_timeout_seconds: 60,
};
/** How long the grown fleet is watched under load for a shrink: a scale-in window + cooldown. */
const HOLD_MS = (POLICY.scale_in.after_seconds + POLICY.scale_in.cooldown_seconds) * 1000;

Deno.test({
  name: "autoscaling: wrk load grows the fleet to max, new proxies join DNS and take traffic; " +
    "it shrinks back with zero failed requests",
  ...E2E,
  fn: () =>
    withDnsLock(async () => {
      await ensureWrk();
      const stops: Stop[] = [];
      const t0 = performance.now();
      const secs = (from = t0) => ((performance.now() - from) / 1000).toFixed(1);
      try {
        stops.push(await startEtcd("single"));
        const endpoints = await etcdEndpoints("single");
        const zk = await zkSandbox();
        stops.push(() => zk.close());
        const backends = await startBackends(2, "bun");
        stops.push(async () => void await Promise.all(backends.map((b) => b.process.stop())));
        await writeGroupConfig(zk.store, "edge", {
          backend_servers: backends.map((b) => b.address),
        });
        const work = tempDir("autoscale");
        stops.push(() => Promise.resolve(fs.rmSync(work, { recursive: true, force: true })));

        // DNS: the dns role writes the records and the Corefile; CoreDNS serves them.
        const corefile = path.join(work, "Corefile");
        const dns = await startDnsRole(
          "deno",
          dnsRoleFlags(
            {
              zk: zk.connect,
              zkSessionTimeout: 4,
              etcd: endpoints,
              zone: SERVICE,
              prefix: testPrefix(),
              ttl: TTL_S,
              corefile,
              corednsListen: `127.0.0.1:${DNS_PORT}`,
              corednsCache: CACHE_S,
            },
            "--sync-seconds",
            "5",
          ),
        );
        stops.push(async () => void await dns.process.stop());
        stops.push(await startCoreDns("test-autoscale", corefile));
        const a = () => resolveA("127.0.0.1", DNS_PORT, SERVICE).catch(() => [] as string[]);

        // The autoscaler: local provider, one proxy per 127.0.0.7x, all on one port.
        const port = await freePort();
        const policyFile = path.join(work, "policy.json");
        fs.writeFileSync(policyFile, JSON.stringify(POLICY));
        const stateDir = path.join(work, "state");
        const scaler = await startAutoscaler("deno", [
          "--zk",
          zk.connect,
          "--group",
          "edge",
          "--policy",
          policyFile,
          "--interval-seconds",
          "1",
          "--window-seconds",
          "5",
          "--provider",
          "local",
          "--local-listen",
          HOSTS.map((h) => `${h}:${port}`).join(","),
          "--local-runtime",
          "bun",
          "--local-deregister-seconds",
          String(DEREGISTER_S),
          "--local-drain-seconds",
          "5",
          "--local-extra=--log-level warn --zk-session-timeout 4",
          "--local-stop-on-exit",
          "--log-level",
          "info",
        ], { SWITCHYARD_STATE_DIR: stateDir });
        stops.push(async () => {
          await scaler.process.stop("SIGTERM", 30_000);
          killLeftovers(path.join(stateDir, "autoscaler", "edge", "instances.json"), zk.chroot);
        });
        const status = () => scaler.status();
        const log = () => scaler.process.log.split("\n").slice(-40).join("\n");

        // 1. the minimum
        await waitUntil(
          "the first proxy in DNS",
          async () => same(await a(), [HOSTS[0]!]),
          60_000,
          200,
        )
          .catch((e) => fail(e, log()));
        console.log(`  min 1: first proxy in DNS after ${secs()} s`);
        const client = new DnsClient(
          { server: "127.0.0.1", port: DNS_PORT, name: SERVICE },
          port,
          40,
        );
        client.start();
        stops.push(() => client.stop());

        // 2. load on that proxy, once the scale-out cooldown of the initial launch allows a
        // reaction within `after_seconds` (so what is measured is the policy's reaction time)
        const first = (await status()).autoscaler!.history.find((h) => h.action === "grow")!;
        const readyAt = Date.parse(first.at) +
          (POLICY.scale_out.cooldown_seconds - POLICY.scale_out.after_seconds) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(0, readyAt - Date.now())));
        const loadAt = performance.now();
        const wrk = startWrk(`http://${HOSTS[0]}:${port}/`, 60, 100);
        let wrkStopped = false;
        stops.push(async () => void (wrkStopped || await wrk.stop().catch(() => {})));
        let grow: DecisionEntry | undefined;
        await waitUntil(
          "a scale-out",
          async () => {
            const s = await status();
            const g = s.autoscaler?.history.find((h) =>
              h.action === "grow" && h.reason === "scale_out"
            );
            if (g) grow = g;
            return g !== undefined;
          },
          60_000,
          200,
        ).catch((e) => fail(e, log()));
        const growAt = performance.now();
        console.log(`  scale-out decided ${secs(loadAt)} s after wrk started: ${grow!.detail}`);
        assert.equal(grow!.current, 1);
        assert.equal(grow!.desired, POLICY.max);
        assert.equal(grow!.result, "ok");
        await waitUntil("three proxies in DNS", async () => same(await a(), HOSTS), 60_000, 200)
          .catch((e) => fail(e, log()));
        console.log(
          `  3 proxies in DNS ${secs(growAt)} s after the decision (${secs(loadAt)} s after load)`,
        );
        // they take traffic: the DNS-following client reaches each of them
        const before = client.counts();
        await waitUntil(
          "traffic on every proxy",
          () => {
            const now = client.counts();
            return HOSTS.every((h) => (now[h] ?? 0) - (before[h] ?? 0) >= 3);
          },
          30_000,
          100,
        );
        console.log(`  client answers per proxy: ${JSON.stringify(client.counts())}`);
        // under the same load the grown fleet holds (mean utilization 1.5 / 3 is in the band):
        // no shrink while wrk runs, over a window that starts once a shrink would be allowed
        // (the scale-in cooldown after the grow is over, the three proxies take traffic) and
        // lasts a scale-in window plus a cooldown
        await new Promise((r) =>
          setTimeout(
            r,
            Math.max(0, growAt + POLICY.scale_in.cooldown_seconds * 1000 - performance.now()),
          )
        );
        const holdStart = performance.now();
        const evaluationsBefore = (await status()).autoscaler!.evaluations;
        await new Promise((r) => setTimeout(r, HOLD_MS));
        const held = await status();
        const heldMs = performance.now() - holdStart;
        // positive control (1): the autoscaler kept deciding through the window, on fresh
        // samples of all three (control (2), after the load stops, shows a shrink comes in time)
        const evaluated = held.autoscaler!.evaluations - evaluationsBefore;
        assert.ok(
          evaluated >= POLICY.scale_in.after_seconds + 1,
          `${evaluated} evaluations in ${heldMs.toFixed(0)} ms under load`,
        );
        assert.equal(held.autoscaler!.last?.sampled, 3, JSON.stringify(held.autoscaler!.last));
        assert.deepEqual(
          held.autoscaler!.history.filter((h) => h.action === "shrink"),
          [],
          "no shrink under load",
        );
        assert.equal(held.autoscaler!.last?.current, 3);
        console.log(
          `  under load with 3: ${held.autoscaler!.last?.reason}: ${held.autoscaler!.last?.detail}`,
        );
        const metricsText = await scaler.metrics();
        assert.match(
          metricsText,
          /switchyard_autoscaler_actions_total\{group="edge",action="grow",result="ok"\} 2/,
          "the initial grow to min, then the scale-out",
        );

        // 3. the load stops; the fleet shrinks back
        const unloadedAt = Date.now();
        const wrkResult = await wrk.stop();
        wrkStopped = true;
        const stopAt = performance.now();
        console.log(
          `  wrk: ${wrkResult.requests} requests, errors ${JSON.stringify(wrkResult.errors)}`,
        );
        await waitUntil(
          "the fleet back at min",
          async () => {
            const s = await status();
            return s.autoscaler?.last?.current === 1 &&
              (s.provider?.instances?.length ?? 0) === 1 &&
              (await a()).length === 1;
          },
          120_000,
          250,
        ).catch((e) => fail(e, log()));
        console.log(`  back to 1 proxy ${secs(stopAt)} s after the load stopped`);
        // let the last drain finish while the client keeps going
        await new Promise((r) => setTimeout(r, (DEREGISTER_S + 1) * 1000));
        await client.stop();

        const s = await status();
        const actions = s.autoscaler!.history.filter((h) => h.action !== "hold");
        console.log(
          "  actions:\n" +
            actions.map((h) =>
              `    ${h.at} ${h.action} ${h.current}->${h.desired} ${h.reason} ${h.result}`
            )
              .join("\n"),
        );
        const shrinks = actions.filter((h) => h.action === "shrink");
        assert.equal(shrinks.length, 2, "3 -> 2 -> 1, one at a time");
        // positive control (2) of "no shrink under load": without the load, the same history
        // shows a shrink within a wait no longer than the one watched under load
        const shrinkMs = Date.parse(shrinks[0]!.at) - unloadedAt;
        console.log(`  first shrink ${shrinkMs} ms after the load stopped`);
        assert.ok(
          shrinkMs <= heldMs,
          `first shrink ${shrinkMs} ms after the load stopped; watched ${heldMs.toFixed(0)} ms`,
        );
        for (const h of shrinks) {
          assert.equal(h.reason, "scale_in");
          assert.equal(h.result, "ok");
          assert.equal(h.remove.length, 1);
        }
        const gap = Date.parse(shrinks[1]!.at) - Date.parse(shrinks[0]!.at);
        assert.ok(gap >= POLICY.scale_in.cooldown_seconds * 1000, `shrinks ${gap} ms apart`);
        // the removed proxies drained and exited 0
        const exits = s.provider?.recent_exits ?? [];
        assert.equal(exits.length, 2, JSON.stringify(exits));
        for (const e of exits) assert.equal(e.code, 0, JSON.stringify(e));
        console.log(
          `  client: ${client.requests} requests, ${client.failures.length} failed, ` +
            `per proxy ${JSON.stringify(client.counts())}; total ${secs()} s`,
        );
        assert.deepEqual(client.failures, [], "no client request failed");
        assert.ok(client.requests > 100, `${client.requests} requests`);
        assert.deepEqual(wrkResult.errors, {
          connect: 0,
          read: 0,
          write: 0,
          status: 0,
          timeout: 0,
        });
      } finally {
        await runStops(stops);
      }
    }),
});

const same = (a: readonly string[], b: readonly string[]) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

function fail(e: unknown, log: string): never {
  throw new Error(`${(e as Error).message}\n--- autoscaler log (tail) ---\n${log}`);
}

/** SIGKILLs proxies the autoscaler left behind (its state file; command line checked). */
function killLeftovers(stateFile: string, chroot: string): void {
  let entries: { pid: number }[] = [];
  try {
    entries = JSON.parse(fs.readFileSync(stateFile, "utf8"));
  } catch {
    return;
  }
  for (const { pid } of entries) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes("proxy.ts") && cmd.includes(chroot)) process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}
