/**
 * keepalived failover in the lab, with the real keepalived, CoreDNS and etcd: two DNS nodes
 * (CoreDNS + keepalived each) share the VIP; a client in region 1 queries the VIP ten times a
 * second. Measured: seconds of failed queries when the master's CoreDNS dies (the vrrp_script
 * moves the VIP) and when the new master's keepalived dies; bar 3 s each, then zero failures.
 * The old master coming back must not take the VIP back (nopreempt: no second outage).
 */
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { renderCorefile } from "../../lib/dns/corefile.ts";
import type { CorefileSpec } from "../../lib/dns/corefile.ts";
import { encodeRecord, registrationKeys } from "../../lib/dns/skydns.ts";
import { measureOutage, parseProbeLines, steadyFor } from "../support/dns_outage.ts";
import type { Outage, ProbeSample } from "../support/dns_outage.ts";
import {
  pollUntil,
  REPO,
  script,
  sleep,
  startCoreDns,
  startEtcd,
  STATE_DIR,
  stopAll,
  tempDir,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import type { Stop } from "../support/dns_stack.ts";
import { lab, labUp, vipHolders } from "../support/netns_lab.ts";

const SERVICE = "api.example.com";
const INTERVAL_MS = 100;
const BAR_SECONDS = 3;
/** How long answers must stay good after a failover before the next step. */
const STEADY_MS = 3000;

interface Node {
  readonly name: string; // keepalived node / CoreDNS instance suffix
  readonly netns: string;
  readonly role: "master" | "backup";
}

async function vrrpState(node: Node): Promise<string> {
  try {
    const text = await Deno.readTextFile(`${STATE_DIR}/keepalived/${node.name}/vrrp.state`);
    return text.split(" ")[0] ?? "";
  } catch {
    return "";
  }
}

Deno.test({
  name: "keepalived: the VIP follows CoreDNS health and keepalived death within 3 s, no flap",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDnsLock(async () => {
      const stops: Stop[] = [];
      const vip = lab("LAB_VIP");
      const dns1: Node = { name: "test-ha-dns1", netns: lab("LAB_NS_DNS1"), role: "master" };
      const dns2: Node = { name: "test-ha-dns2", netns: lab("LAB_NS_DNS2"), role: "backup" };
      const nodes = [dns1, dns2];
      const namespaces = nodes.map((n) => n.netns);
      try {
        stops.push(await labUp());
        stops.push(await startEtcd("lab"));
        const spec = JSON.parse(
          await Deno.readTextFile(`${REPO}/deploy/lab/corefile.lab.json`),
        ) as CorefileSpec;
        const prefix = testPrefix();
        const dir = await tempDir("ha-");
        stops.push(dir.stop);
        const corefile = `${dir.path}/Corefile`;
        await Deno.writeTextFile(corefile, renderCorefile({ ...spec, pathPrefix: prefix }));

        const etcd = new Etcd3({ hosts: spec.etcdEndpoints as string[] });
        stops.push(async () => {
          await etcd.delete().prefix(`${prefix}/`).catch(() => {});
          etcd.close();
        });
        for (const key of registrationKeys(SERVICE, "lb1", { prefix })) {
          await etcd.put(key).value(encodeRecord({ host: "198.18.10.1", port: 80 }));
        }

        const startDns = (node: Node) => startCoreDns(node.name, corefile, node.netns);
        const stopDnsKill = (node: Node) =>
          script("deploy/coredns/coredns.sh", "stop", "--name", node.name, "--signal", "KILL");
        const startKeepalived = (node: Node) =>
          script(
            "deploy/keepalived/keepalived.sh",
            "start",
            "--node",
            node.name,
            "--netns",
            node.netns,
          );
        const stopKeepalived = (node: Node) =>
          script("deploy/keepalived/keepalived.sh", "stop", "--node", node.name);
        for (const node of nodes) {
          await stopKeepalived(node); // left running by an interrupted run: start clean
          stops.push(async () => {
            await stopKeepalived(node);
            await script("deploy/coredns/coredns.sh", "stop", "--name", node.name);
          });
          await startDns(node);
          await script(
            "deploy/keepalived/keepalived.sh",
            "config",
            "--node",
            node.name,
            "--role",
            node.role,
          );
        }

        // dns1 first: it becomes MASTER after the advert timeout; then dns2 joins as BACKUP.
        await startKeepalived(dns1);
        const elected = await pollUntil(async () => (await vrrpState(dns1)) === "MASTER", 15_000);
        assert.ok(elected !== undefined, "dns1 never became MASTER");
        await startKeepalived(dns2);
        assert.ok(await pollUntil(async () => (await vrrpState(dns2)) === "BACKUP", 10_000));
        assert.deepEqual(await vipHolders(namespaces, vip), [dns1.netns]);

        // The client: ten queries a second to the VIP from region 1, in its namespace.
        const probeOut = `${dir.path}/probe.jsonl`;
        const stopFile = `${dir.path}/probe.stop`;
        await Deno.writeTextFile(probeOut, "");
        const probe = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            lab("LAB_NS_CLIENT1"),
            Deno.execPath(),
            "run",
            "-A",
            `${REPO}/tests/support/dns_probe.ts`,
            "--server",
            vip,
            "--name",
            SERVICE,
            "--out",
            probeOut,
            "--interval",
            String(INTERVAL_MS),
            "--timeout",
            "1000",
            "--duration",
            "300",
            "--stop-file",
            stopFile,
          ],
          cwd: REPO,
          env: { DENO_NO_UPDATE_CHECK: "1" },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        stops.push(async () => {
          await Deno.writeTextFile(stopFile, "");
          // Keep the raw samples for a person to look at after the run.
          await Deno.copyFile(probeOut, `${STATE_DIR}/dns-failover-probe.jsonl`).catch(() => {});
          const timer = setTimeout(() => probe.kill("SIGKILL"), 5000);
          await probe.status;
          clearTimeout(timer);
          await probe.stderr.cancel().catch(() => {});
        });
        const samples = async (): Promise<ProbeSample[]> =>
          parseProbeLines(await Deno.readTextFile(probeOut));
        const waitSteady = async (what: string, since?: number) => {
          const took = await pollUntil(
            async () => steadyFor(await samples(), STEADY_MS, INTERVAL_MS, since),
            30_000,
            200,
          );
          assert.ok(took !== undefined, `answers never became steady: ${what}`);
        };
        await waitSteady("before the first failure");

        const results: {
          step: string;
          outage: Outage;
          holder: string[];
          from: number;
          to: number;
        }[] = [];
        const step = async (
          name: string,
          act: () => Promise<unknown>,
          expectHolder: Node,
          settle: () => Promise<void> = async () => {},
        ) => {
          const from = Date.now();
          await act();
          const moved = await pollUntil(
            async () => (await vipHolders(namespaces, vip)).join() === expectHolder.netns,
            15_000,
          );
          assert.ok(moved !== undefined, `${name}: the VIP did not end on ${expectHolder.netns}`);
          await settle();
          // Good answers for STEADY_MS after the VIP settled, every earlier query accounted for.
          await waitSteady(name, Date.now());
          const to = Date.now();
          const outage = measureOutage(await samples(), from, to, INTERVAL_MS);
          const holder = await vipHolders(namespaces, vip);
          results.push({ step: name, outage, holder, from, to });
          return outage;
        };

        // 1. The master's CoreDNS dies (SIGKILL): its vrrp_script fails, dns1 goes FAULT and
        //    releases the VIP; dns2 takes it.
        const o1 = await step("kill CoreDNS on the master (dns1)", () => stopDnsKill(dns1), dns2);
        // 2. dns1's CoreDNS comes back: dns1 returns to BACKUP and, nopreempt, leaves the VIP
        //    where it is although its priority is higher. Wait well past a master-down timer.
        const o2 = await step(
          "restart CoreDNS on dns1 (no flap)",
          () => startDns(dns1),
          dns2,
          async () => {
            const backup = await pollUntil(
              async () => (await vrrpState(dns1)) === "BACKUP",
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
          () => stopKeepalived(dns2),
          dns1,
        );
        // 4. dns2's keepalived comes back: BACKUP, no flap.
        const o4 = await step(
          "restart keepalived on dns2 (no flap)",
          () => startKeepalived(dns2),
          dns1,
          async () => {
            await sleep(5000);
          },
        );

        console.log("\nDNS VIP failover, client queries every 100 ms (1 s timeout):");
        for (const r of results) {
          console.log(
            `  ${r.step.padEnd(44)} failed ${String(r.outage.failed).padStart(3)}/` +
              `${String(r.outage.queries).padEnd(4)} = ${
                r.outage.seconds.toFixed(1)
              } s of failed ` +
              `queries; failures after recovery ${r.outage.failedAfterRecovery}; VIP on ${r.holder}` +
              ` [${r.from}..${r.to}]`,
          );
        }
        const states = await Promise.all(nodes.map(async (n) => `${n.name}=${await vrrpState(n)}`));
        console.log(`  final VRRP states: ${states.join(" ")}`);

        assert.ok(o1.seconds <= BAR_SECONDS, `CoreDNS death: ${o1.seconds} s of failed queries`);
        assert.ok(o3.seconds <= BAR_SECONDS, `keepalived death: ${o3.seconds} s of failed queries`);
        for (const o of [o1, o3]) assert.equal(o.failedAfterRecovery, 0, "failures after recovery");
        assert.equal(o2.failed, 0, "dns1 returning caused failed queries (flap)");
        assert.equal(o4.failed, 0, "dns2 returning caused failed queries (flap)");
        assert.deepEqual(await vipHolders(namespaces, vip), [dns1.netns]);
      } finally {
        await stopAll(stops);
      }
    }),
});
