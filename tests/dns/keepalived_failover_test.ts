/**
 * keepalived failover in the lab, with the real keepalived, CoreDNS and etcd: two DNS nodes
 * (CoreDNS + keepalived each) share the VIP; a client in region 1 queries the VIP ten times a
 * second. Measured: seconds of failed queries when the master's CoreDNS dies (the vrrp_script
 * moves the VIP) and when the new master's keepalived dies; bar 3 s each, then zero failures.
 * The old master coming back must not take the VIP back (nopreempt: no second outage).
 */
import assert from "node:assert/strict";
import { pollUntil, sleep, STATE_DIR, stopAll, withDnsLock } from "../support/dns_stack.ts";
import type { Stop } from "../support/dns_stack.ts";
import { startVipPair, type StepResult } from "../support/vip_pair.ts";

const BAR_SECONDS = 3;

Deno.test({
  name: "keepalived: the VIP follows CoreDNS health and keepalived death within 3 s, no flap",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDnsLock(async () => {
      const stops: Stop[] = [];
      try {
        const pair = await startVipPair(stops, {
          namePrefix: "test-ha",
          probeSeconds: 300,
          // the raw samples, for a person to look at after the run
          keepProbe: `${STATE_DIR}/dns-failover-probe.jsonl`,
        });
        const { dns1, dns2 } = pair;
        const results: StepResult[] = [];
        const step = async (...args: Parameters<typeof pair.step>) => {
          const r = await pair.step(...args);
          results.push(r);
          return r;
        };

        // 1. The master's CoreDNS dies (SIGKILL): its vrrp_script fails, dns1 goes FAULT and
        //    releases the VIP; dns2 takes it.
        const o1 = await step("kill CoreDNS on the master (dns1)", () => pair.killDns(dns1), dns2);
        // 2. dns1's CoreDNS comes back: dns1 returns to BACKUP and, nopreempt, leaves the VIP
        //    where it is although its priority is higher. Wait well past a master-down timer.
        const o2 = await step(
          "restart CoreDNS on dns1 (no flap)",
          () => pair.startDns(dns1),
          dns2,
          async () => {
            const backup = await pollUntil(
              async () => (await pair.vrrpState(dns1)) === "BACKUP",
              15_000,
            );
            assert.ok(backup !== undefined, "dns1 did not return to BACKUP");
            await sleep(5000);
          },
        );
        // 3. The new master's keepalived dies (SIGTERM: it sends a priority-0 advert on exit):
        //    the VIP moves back to dns1.
        const o3 = await step(
          "kill keepalived on the new master (dns2)",
          () => pair.stopKeepalived(dns2),
          dns1,
        );
        // 4. dns2's keepalived comes back: BACKUP, no flap.
        const o4 = await step(
          "restart keepalived on dns2 (no flap)",
          () => pair.startKeepalived(dns2),
          dns1,
          () => sleep(5000),
        );

        console.log("\nDNS VIP failover, client queries every 100 ms (1 s timeout):");
        for (const r of results) {
          console.log(
            `  ${r.step.padEnd(44)} failed ${String(r.failed).padStart(3)}/` +
              `${String(r.queries).padEnd(4)} = ${r.seconds.toFixed(1)} s of failed queries; ` +
              `failures after recovery ${r.failedAfterRecovery}; VIP moved after ` +
              `${r.vipMovedMs} ms, on ${r.holder} [${r.from}..${r.to}]`,
          );
        }
        const states = await Promise.all(
          [dns1, dns2].map(async (n) => `${n.name}=${await pair.vrrpState(n)}`),
        );
        console.log(`  final VRRP states: ${states.join(" ")}`);

        assert.ok(o1.seconds <= BAR_SECONDS, `CoreDNS death: ${o1.seconds} s of failed queries`);
        assert.ok(o3.seconds <= BAR_SECONDS, `keepalived death: ${o3.seconds} s of failed queries`);
        for (const o of [o1, o3]) assert.equal(o.failedAfterRecovery, 0, "failures after recovery");
        assert.equal(o2.failed, 0, "dns1 returning caused failed queries (flap)");
        assert.equal(o4.failed, 0, "dns2 returning caused failed queries (flap)");
        assert.deepEqual(o4.holder, [dns1.netns]);
        // positive observables of the two no-flap checks: the client kept querying through each
        // watched window (ten a second, 5 s of settling at least: half of them is plenty), and
        // the VIP is still where it was (a flap that moved it would show here)
        for (const o of [o2, o4]) {
          assert.ok(o.queries >= 25, `${o.step}: only ${o.queries} queries in the window`);
        }
        assert.deepEqual(o2.holder, [dns2.netns]);
        // positive control: the same client does count failed queries when answers stop (step
        // 1: the VIP's CoreDNS dead until the VIP moves), so a flap's outage would be seen
        assert.ok(
          o1.failed > 0,
          `no failed query while the master's CoreDNS was dead: ${o1.queries}`,
        );
      } finally {
        await stopAll(stops);
      }
    }),
});
