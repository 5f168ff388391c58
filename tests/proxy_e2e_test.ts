/**
 * End-to-end: real proxy processes under Deno AND Bun in front of real
 * backend processes. Distribution, hot reload, health ejection, 502/503 and
 * start-up validation.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { contentVersion } from "../lib/source/file.ts";
import { roleCommand } from "../lib/runtime/role_command.ts";
import {
  type Backend,
  freePort,
  RUNTIMES,
  startBackends,
  stopAll,
  waitUntil,
} from "./support/processes.ts";
import { countAnswers, startProxy } from "./support/proxy.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

function group(
  backends: readonly Backend[],
  extra: Record<string, unknown> = {},
  weights?: number[],
) {
  return {
    "lb-group-1": {
      backend_servers: backends.map((b, i) =>
        weights ? { address: b.address, weight: weights[i] } : b.address
      ),
      health_endpoint: "/health",
      health_endpoint_expected_code: 200,
      health_check_frequency_seconds: 0.2,
      ...extra,
    },
  };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `proxy (${runtime}) spreads traffic per WEIGHTED_ROUND_ROBIN weights and ROUND_ROBIN`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(3);
      const proxy = await startProxy(
        runtime,
        group(backends, { algorithm: "WEIGHTED_ROUND_ROBIN" }, [1, 2, 3]),
      );
      try {
        const weighted = await countAnswers(proxy.url, 60);
        assert.deepEqual(Object.fromEntries(weighted), { b1: 10, b2: 20, b3: 30 });
        proxy.writeConfig(group(backends, { algorithm: "ROUND_ROBIN" }, [1, 2, 3]));
        await waitUntil(
          "ROUND_ROBIN applied",
          async () => (await proxy.status()).config?.algorithm === "ROUND_ROBIN",
        );
        const even = await countAnswers(proxy.url, 60);
        assert.deepEqual(Object.fromEntries(even), { b1: 20, b2: 20, b3: 20 });
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) applies a config edit without dropping in-flight requests and rejects an invalid one`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(3);
      const proxy = await startProxy(runtime, group(backends, { algorithm: "ROUND_ROBIN" }));
      try {
        const before = (await proxy.status()).config!.version;
        // a request in flight across the reload
        const slow = fetch(`${proxy.url}/_delay?ms=1500`);
        await waitUntil(
          "the slow request to be in flight",
          async () => (await proxy.status()).backends.some((b) => b.inflight > 0),
          5_000,
          10,
        );
        const t0 = performance.now();
        proxy.writeConfig(group(backends.slice(0, 2), { algorithm: "ROUND_ROBIN" }));
        await waitUntil(
          "the edit to apply",
          async () => (await proxy.status()).config?.version !== before,
          5_000,
          5,
        );
        const applyMs = performance.now() - t0;
        console.log(`  config edit applied after ${applyMs.toFixed(1)} ms (${runtime})`);
        const slowResponse = await slow;
        assert.equal(slowResponse.status, 200);
        await slowResponse.text();
        const after = await countAnswers(proxy.url, 20);
        assert.deepEqual(Object.fromEntries(after), { b1: 10, b2: 10 });

        // invalid edits change nothing and are reported with field and reason
        const good = (await proxy.status()).config!.version;
        proxy.writeConfig({
          "lb-group-1": { backend_servers: [{ address: backends[0]!.address, weight: 0 }] },
        });
        await waitUntil("the rejection", async () => (await proxy.status()).rejected_total >= 1);
        let s = await proxy.status();
        assert.equal(s.config!.version, good);
        assert.match(s.last_rejected!.reason, /lb-group-1.*backend_servers\[0\]\.weight/);
        proxy.writeConfig({ "lb-group-1": { backend_servers: [backends[0]!.address] }, "x": 1 });
        await waitUntil(
          "the second rejection",
          async () => (await proxy.status()).rejected_total >= 2,
        );
        proxy.writeConfig("{ not json" as unknown);
        // positive control: this very edit was read and rejected (its content version is the
        // last rejected one), so the version check below is not made before the proxy saw it
        const notAnObject = contentVersion(fs.readFileSync(proxy.configPath, "utf8"));
        await waitUntil(
          "the third rejection",
          async () => (await proxy.status()).last_rejected?.version === notAnObject,
        );
        s = await proxy.status();
        assert.equal(s.config!.version, good);
        assert.equal(s.rejected_total, 3);
        // the same with text that is not JSON at all
        fs.writeFileSync(`${proxy.configPath}.tmp`, "{ not json");
        fs.renameSync(`${proxy.configPath}.tmp`, proxy.configPath);
        await waitUntil(
          "the rejection of text that is not JSON",
          async () =>
            (await proxy.status()).last_rejected?.version === contentVersion("{ not json"),
        );
        s = await proxy.status();
        assert.equal(s.config!.version, good);
        assert.equal(s.rejected_total, 4);
        const still = await countAnswers(proxy.url, 10);
        assert.deepEqual(Object.fromEntries(still), { b1: 5, b2: 5 });
        const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
        assert.match(metrics, /switchyard_config_rejected_total\{group="lb-group-1"\} [2-9]/);
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) takes a failing backend out of rotation and brings it back`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(3);
      const proxy = await startProxy(runtime, group(backends, { algorithm: "ROUND_ROBIN" }));
      try {
        const b1 = backends[0]!;
        await fetch(`http://${b1.address}/_control/health?status=503`, { method: "POST" })
          .then((r) => r.text());
        await waitUntil(
          "b1 to be marked unhealthy",
          async () =>
            (await proxy.status()).backends.find((b) => b.address === b1.address)?.health ===
              "unhealthy",
        );
        const out = await countAnswers(proxy.url, 30);
        assert.equal(out.get("b1"), undefined);
        assert.equal(out.get("b2"), 15);
        assert.equal(out.get("b3"), 15);
        await fetch(`http://${b1.address}/_control/health?status=200`, { method: "POST" })
          .then((r) => r.text());
        await waitUntil(
          "b1 to come back",
          async () => (await proxy.status()).backends.every((b) => b.health === "healthy"),
        );
        const back = await countAnswers(proxy.url, 30);
        assert.equal(back.get("b1"), 10);
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) answers 502 when backends refuse and 503 when none is healthy`,
    ...E2E,
    fn: async () => {
      const closed1 = await freePort();
      const closed2 = await freePort();
      const proxy = await startProxy(runtime, {
        g: { backend_servers: [`127.0.0.1:${closed1}`, `127.0.0.1:${closed2}`] },
      }, ["--no-health-checks"]);
      const backends = await startBackends(1);
      try {
        const r = await fetch(proxy.url);
        assert.equal(r.status, 502);
        await r.text();
        // every backend failing its checks: 503 with Retry-After
        const checked = await startProxy(runtime, {
          g: {
            backend_servers: [backends[0]!.address],
            health_endpoint_expected_code: 299,
            health_check_frequency_seconds: 0.1,
            unhealthy_threshold: 1,
          },
        });
        try {
          await waitUntil(
            "the backend to fail its check",
            async () => (await checked.status()).backends[0]?.health === "unhealthy",
          );
          const r2 = await fetch(checked.url);
          assert.equal(r2.status, 503);
          assert.equal(r2.headers.get("retry-after"), "1");
          await r2.text();
        } finally {
          await checked.process.stop();
        }
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) refuses to start on an invalid config, naming group, field and reason`,
    ...E2E,
    fn: () => {
      const dir = Deno.makeTempDirSync();
      const file = `${dir}/lb.json`;
      Deno.writeTextFileSync(
        file,
        JSON.stringify({
          "lb-group-1": {
            backend_servers: ["127.0.0.1:9001", "127.0.0.1:9001"],
            algorithm: "FASTEST",
          },
        }),
      );
      const { command, args } = roleCommand(runtime, "proxy", [
        "--config",
        file,
        "--listen",
        "127.0.0.1:0",
      ]);
      const r = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /group "lb-group-1": algorithm: must be one of/);
      const r2 = spawnSync(command, [...args.slice(0, -4), "--config", `${dir}/missing.json`], {
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.notEqual(r2.status, 0);
      assert.match(r2.stderr, /cannot read/);
    },
  });
}
