/**
 * Prometheus against a running fleet, with the real server from the Debian package:
 *
 * - `deploy/prometheus/prometheus.sh check`: promtool accepts the rendered config and the rules,
 *   and the rules' unit tests (`promtool test rules`) pass.
 * - A fleet (two proxies under Deno and Bun, the admin role, an orchestrator, the dns role with
 *   etcd, the autoscaler) registered in ZooKeeper; the autoscaler's file_sd writer publishes the
 *   targets; Prometheus (`prometheus.sh start`, 1 s scrapes) finds every one of them up through
 *   `/api/v1/targets`, the recording rules return data through `/api/v1/query`, every role's
 *   process metrics are there, the rules evaluate without error, and the autoscaler reads its
 *   samples from Prometheus. A proxy that stops leaves the targets.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { exactAlternatives, promString } from "../../lib/prometheus/api.ts";
import type { InstanceRegistration } from "../../lib/source/instance_registry.ts";
import { startOrchestrator } from "../orchestrator/_support.ts";
import { startZkProxy, zkSandbox } from "../support/control_plane.ts";
import { E2E, startDnsRole, writeGroupConfig } from "../support/dns_fleet.ts";
import {
  etcdEndpoints,
  startEtcd,
  type Stop,
  stopAll as runStops,
  testPrefix,
  withDnsLock,
} from "../support/dns_stack.ts";
import {
  freePort,
  httpOk,
  startBackends,
  startRole,
  tempDir,
  waitUntil,
} from "../support/processes.ts";
import { startAutoscaler } from "../support/autoscaler.ts";
import { ensureInstance, prometheusSh, startPrometheus } from "../support/prometheus.ts";

Deno.test("prometheus.sh check: promtool accepts the config, the rules and the rules' tests", async () => {
  const state = tempDir("prom-check");
  try {
    const r = await prometheusSh(state, ["check", "--scrape-interval", "1s"]);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out);
    assert.match(out, /is valid prometheus config file syntax/);
    assert.match(out, /SUCCESS: \d+ rules found/);
    assert.match(out, /Unit Testing: .*switchyard_rules_test\.yml\n\s+SUCCESS/);
    const config = fs.readFileSync(path.join(state, "prometheus", "prometheus.yml"), "utf8");
    assert.match(config, /scrape_interval: 1s\n\s+scrape_timeout: 1s/);
    assert.doesNotMatch(config, /@[A-Z_]+@/, "every placeholder is filled in");
    for (const role of ["proxy", "admin", "orchestrator", "dns", "autoscaler"]) {
      assert.match(config, new RegExp(`targets/${role}\\.json`));
    }
  } finally {
    fs.rmSync(state, { recursive: true, force: true });
  }
});

/** The fleet's roles and how many targets of each Prometheus must see up. */
const EXPECTED: Record<string, number> = {
  proxy: 2,
  admin: 1,
  orchestrator: 1,
  dns: 1,
  autoscaler: 1,
  prometheus: 1,
};

Deno.test({
  name: "Prometheus finds the whole fleet through file_sd: every target up, rules return data",
  ...E2E,
  fn: () =>
    withDnsLock(async () => {
      const stops: Stop[] = [];
      const started = performance.now();
      const mark = (what: string) =>
        console.log(`  ${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      try {
        const zk = await zkSandbox();
        stops.push(() => zk.close());
        stops.push(await startEtcd("single"));
        const endpoints = await etcdEndpoints("single");
        const backends = await startBackends(1, "bun");
        stops.push(async () => void await Promise.all(backends.map((b) => b.process.stop())));
        await writeGroupConfig(zk.store, "edge", { backend_servers: [backends[0]!.address] });

        // the fleet
        const p1 = await startZkProxy("deno", zk.connect, "edge", ["--log-level", "warn"]);
        stops.push(async () => void await p1.process.stop());
        const p2 = await startZkProxy("bun", zk.connect, "edge", ["--log-level", "warn"]);
        stops.push(async () => void await p2.process.stop());
        const adminPort = await freePort();
        const admin = await startRole("bun", "admin", [
          "--zk",
          zk.connect,
          "--listen",
          `127.0.0.1:${await freePort()}`,
          "--admin-listen",
          `127.0.0.1:${adminPort}`,
          "--log-level",
          "warn",
        ], {
          ready: () => httpOk(`http://127.0.0.1:${adminPort}/healthz`),
          env: { SWITCHYARD_ADMIN_TOKEN: "tester:prometheus-test-token" },
        });
        stops.push(async () => void await admin.stop());
        const orch = await startOrchestrator("bun", zk.connect, "orch-1", {
          extra: ["--log-level", "warn"],
        });
        stops.push(async () => void await orch.process.stop());
        const dns = await startDnsRole("deno", [
          "--zk",
          zk.connect,
          "--etcd",
          endpoints.join(","),
          "--zone",
          "api.example.com",
          "--prefix",
          testPrefix(),
          "--log-level",
          "warn",
        ]);
        stops.push(async () => void await dns.process.stop());
        mark("fleet started");

        // Roles that do not register themselves (yet) are registered on their behalf.
        const registrations: InstanceRegistration[] = [];
        stops.push(async () => {
          for (const r of registrations) await r.stop();
        });
        const own = await Promise.all(
          ([
            ["admin", "admin-1", adminPort],
            ["orchestrator", "orch-1", orch.adminPort],
            ["dns", "dns-1", dns.adminPort],
          ] as const).map(async ([role, id, port]) => {
            const reg = await ensureInstance(zk.store, role, id, `127.0.0.1:${port}`);
            if (!reg) console.log(`  ${role} registered itself`);
            return reg;
          }),
        );
        for (const reg of own) if (reg) registrations.push(reg);

        // The autoscaler writes the target files (and registers itself); Prometheus reads them.
        const scratch = tempDir("prom-fleet");
        stops.push(() => Promise.resolve(fs.rmSync(scratch, { recursive: true, force: true })));
        const targets = path.join(scratch, "targets");
        const prom = await startPrometheus(targets);
        stops.push(() => prom.stop());
        mark("prometheus ready");
        const policy = path.join(scratch, "policy.json");
        fs.writeFileSync(
          policy,
          JSON.stringify({
            min: 1,
            max: 4,
            capacity: { connections: 100, cpu_percent: 90 },
            target_utilization: 0.5,
            scale_out: { threshold: 0.8, after_seconds: 5, cooldown_seconds: 30, max_step: 1 },
            scale_in: { threshold: 0.2, after_seconds: 30, cooldown_seconds: 60, max_step: 1 },
          }),
        );
        const scaler = await startAutoscaler("deno", [
          "--zk",
          zk.connect,
          "--group",
          "edge",
          "--policy",
          policy,
          "--prometheus",
          prom.url,
          "--window-seconds",
          "5",
          "--interval-seconds",
          "1",
          "--provider",
          "command",
          "--command",
          "/bin/false",
          "--dry-run",
          "--file-sd-out",
          targets,
          "--log-level",
          "warn",
        ]);
        stops.push(async () => void await scaler.process.stop());

        // some traffic through both proxies, for the rates
        let sending = true;
        const traffic = (async () => {
          while (sending) {
            for (const p of [p1, p2]) {
              await fetch(p.url, { signal: AbortSignal.timeout(5000) }).then(
                (r) => r.body?.cancel(),
                () => {},
              );
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        stops.push(async () => {
          sending = false;
          await traffic;
        });

        // every target up, and exactly the expected ones
        let last = "";
        await waitUntil(
          "every target up",
          async () => {
            const active = await prom.client.targets();
            const up: Record<string, number> = {};
            for (const t of active) {
              if (t.health === "up") {
                up[t.labels.role ?? "?"] = (up[t.labels.role ?? "?"] ?? 0) + 1;
              }
            }
            last = JSON.stringify(
              active.map((t) => [t.labels.role, t.labels.instance, t.health, t.lastError]),
            );
            return active.length === Object.values(EXPECTED).reduce((a, b) => a + b) &&
              Object.entries(EXPECTED).every(([role, n]) => up[role] === n);
          },
          60_000,
          250,
        ).catch((e) => {
          throw new Error(`${(e as Error).message}\ntargets: ${last}`);
        });
        mark("all targets up");
        const active = await prom.client.targets();
        const proxyTargets = active.filter((t) => t.labels.role === "proxy");
        assert.deepEqual(
          proxyTargets.map((t) => t.labels.instance).sort(),
          [`127.0.0.1:${p1.adminPort}`, `127.0.0.1:${p2.adminPort}`].sort(),
        );
        for (const t of proxyTargets) {
          assert.equal(t.labels.proxy_group, "edge");
          assert.equal(t.scrapePool, "switchyard-proxy");
          assert.ok(t.labels.instance_id, "instance_id label");
        }

        // recording rules return data
        await waitUntil(
          "group:switchyard_requests:rate1m",
          async () => {
            const v = await prom.client.query('group:switchyard_requests:rate1m{group="edge"}');
            return v.length === 1 && v[0]!.value > 0;
          },
          30_000,
          250,
        );
        mark("recording rule has data");
        const rate = await prom.client.query('group:switchyard_requests:rate1m{group="edge"}');
        console.log(
          `  group:switchyard_requests:rate1m{group="edge"} = ${rate[0]!.value.toFixed(1)}`,
        );
        await waitUntil(
          "fleet size and up ratio",
          async () => {
            const count = await prom.client.query('group:switchyard_proxies:count{group="edge"}');
            const up = await prom.client.query("role:up:ratio");
            return count[0]?.value === 2 && up.length === 6 && up.every((e) => e.value === 1);
          },
          20_000,
          250,
        );
        await waitUntil(
          "p99 and saturation",
          async () => {
            const p99 = await prom.client.query(
              'group:switchyard_request_duration_seconds:p99_1m{group="edge"}',
            );
            const sat = await prom.client.query("instance:switchyard_proxy_saturation:ratio");
            return p99.length === 1 && p99[0]!.value > 0 && sat.length === 2;
          },
          20_000,
          250,
        );
        const errors = await prom.client.query(
          'group:switchyard_request_errors:ratio_rate1m{group="edge"}',
        );
        assert.equal(errors[0]?.value, 0, "no 5xx");

        // every role's process metrics; the role-specific families are there
        const perRole = await prom.client.query("count by (role) (process_resident_memory_bytes)");
        assert.deepEqual(perRole.map((e) => e.metric.role).sort(), Object.keys(EXPECTED).sort());
        const names = new Set(
          (await prom.client.query('count by (__name__) ({__name__=~"switchyard_.+"})'))
            .map((e) => e.metric.__name__),
        );
        for (
          const name of [
            "switchyard_requests_total",
            "switchyard_request_duration_seconds_bucket",
            "switchyard_active_connections",
            "switchyard_connections_total",
            "switchyard_config_last_apply_timestamp_seconds",
            "switchyard_orchestrator_is_master",
            "switchyard_orchestrator_assigned_targets",
            "switchyard_dns_leader",
            "switchyard_dns_records",
            "switchyard_admin_zookeeper_connected",
            "switchyard_autoscaler_decisions_total",
            "switchyard_autoscaler_capacity",
            "switchyard_sd_targets",
          ]
        ) {
          assert.ok(names.has(name), `${name} missing from Prometheus`);
        }
        // the rules all evaluate
        const groups = await prom.client.rules();
        const rules = groups.flatMap((g) => g.rules);
        assert.ok(rules.length >= 20, `${rules.length} rules loaded`);
        for (const r of rules) assert.notEqual(r.health, "err", `rule ${r.name} fails`);

        // the autoscaler reads its samples from Prometheus
        await waitUntil(
          "autoscaler samples from Prometheus",
          async () => {
            const s = await scaler.status();
            const ids = (s.autoscaler?.samples ?? [])
              .filter((x) => x.values.connections !== null && x.values.cpu_percent !== null)
              .map((x) => x.id);
            return s.source?.kind === "prometheus" && ids.length === 2;
          },
          30_000,
          250,
        );
        const s = await scaler.status();
        console.log(`  autoscaler: ${s.autoscaler?.last?.reason}: ${s.autoscaler?.last?.detail}`);
        mark("autoscaler sampled through Prometheus");
        // the queries it runs are valid PromQL against this server
        const sel = `instance=~${promString(exactAlternatives([`127.0.0.1:${p1.adminPort}`]))}`;
        const one = await prom.client.query(
          `sum by (instance) (switchyard_active_connections{${sel}})`,
        );
        assert.equal(one.length, 1);

        // a proxy stops: it leaves the target files, then Prometheus's targets
        await p2.process.stop();
        await waitUntil(
          "the stopped proxy to leave the targets",
          async () => {
            const t = await prom.client.targets();
            return t.filter((x) => x.labels.role === "proxy").length === 1;
          },
          30_000,
          250,
        );
        mark("stopped proxy left the targets");
        const file = JSON.parse(fs.readFileSync(path.join(targets, "proxy.json"), "utf8"));
        assert.deepEqual(file.map((g: { targets: string[] }) => g.targets[0]), [
          `127.0.0.1:${p1.adminPort}`,
        ]);
      } finally {
        await runStops(stops);
      }
    }),
});
