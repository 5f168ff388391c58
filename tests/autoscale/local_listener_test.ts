/**
 * `autoscaler --provider local --local-listener`: the fleet of a listener (routes over many
 * groups) grown with real listener proxies, under Deno and Bun, against the real ZooKeeper. Below
 * `min` the autoscaler starts one at once: it must start with `--listener NAME` (a `--group NAME`
 * proxy would serve a group that does not exist), register under `/switchyard/proxies/NAME/`, and
 * serve the listener's routes. Without the flag it started `--group` proxies only.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { proxiesGroupPath } from "../../lib/store/layout.ts";
import { startAutoscaler } from "../support/autoscaler.ts";
import { zkSandbox } from "../support/control_plane.ts";
import { E2E } from "../support/dns_fleet.ts";
import { freePortPair, RUNTIMES, startBackends, tempDir, waitUntil } from "../support/processes.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

const POLICY = {
  min: 1,
  max: 1,
  capacity: { connections: 40 },
  target_utilization: 0.5,
  scale_out: { threshold: 0.8, after_seconds: 0, cooldown_seconds: 1, max_step: 1 },
  scale_in: { threshold: 0.25, after_seconds: 1, cooldown_seconds: 1, max_step: 1 },
};

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `autoscaler --local-listener (${runtime}): grows a listener's fleet with listener proxies`,
    ...E2E,
    fn: async () => {
      const zk = await zkSandbox();
      const [api, web] = await startBackends(2, "deno");
      const dir = tempDir("local-listener");
      let scaler: Awaited<ReturnType<typeof startAutoscaler>> | null = null;
      try {
        await zk.store.create("/lb-configs/api", enc({ backend_servers: [api!.address] }), {
          parents: true,
        });
        await zk.store.create("/lb-configs/web", enc({ backend_servers: [web!.address] }));
        await zk.store.create(
          "/lb-routes/front",
          enc({
            routes: [
              { name: "api", match: { path: { prefix: "/api" } }, forward: { group: "api" } },
              { name: "web", forward: { group: "web" } },
            ],
          }),
          { parents: true },
        );
        const policy = path.join(dir, "policy.json");
        fs.writeFileSync(policy, JSON.stringify(POLICY));
        // the proxy's admin listener is at port + 1 (--local-admin-offset 1): both must be free
        const port = await freePortPair(1);
        scaler = await startAutoscaler(runtime, [
          ...["--zk", zk.connect, "--group", "front", "--policy", policy],
          ...["--provider", "local", "--local-listener", "--local-runtime", runtime],
          ...["--local-listen", `127.0.0.1:${port}`, "--local-admin-offset", "1"],
          ...["--local-deregister-seconds", "0", "--local-drain-seconds", "1"],
          "--local-extra=--log-level warn --no-health-checks",
          ...["--local-stop-on-exit", "--interval-seconds", "0.5", "--log-level", "warn"],
        ], { SWITCHYARD_STATE_DIR: path.join(dir, "state") });
        const log = () => scaler?.process.log.slice(-3000) ?? "";

        // below min: one started at once, registered under the listener's name
        await waitUntil(
          "a registration under /switchyard/proxies/front",
          async () => (await zk.store.children(proxiesGroupPath("front"))).length === 1,
          60_000,
          200,
        ).catch((e) => {
          throw new Error(`${e}\n${log()}`);
        });
        // it serves the listener's routes: each path to its group's backend
        const body = async (p: string) => {
          const r = await fetch(`http://127.0.0.1:${port}${p}`, {
            signal: AbortSignal.timeout(5000),
          });
          return await r.text();
        };
        await waitUntil(
          "the routes to serve",
          async () => {
            try {
              return (await body("/api/x")) === `${api!.name}\n`;
            } catch {
              return false;
            }
          },
          30_000,
          200,
        );
        assert.equal(await body("/other"), `${web!.name}\n`);
        const status = await scaler.status();
        const grow = status.autoscaler!.history.find((h) => h.action === "grow");
        assert.equal(grow?.reason, "below_min");
        assert.equal(grow?.result, "ok");
        const started = status.provider?.instances ?? [];
        assert.equal(started.length, 1);
        const cmdline = fs.readFileSync(`/proc/${started[0]!.pid}/cmdline`, "utf8").split("\0");
        assert.equal(cmdline[cmdline.indexOf("--listener") + 1], "front");
        assert.equal(cmdline.includes("--group"), false);
        assert.equal(await scaler.process.stop(), 0);
        scaler = null;
      } finally {
        await scaler?.process.stop("SIGKILL");
        await Promise.all([api, web].map((b) => b?.process.stop()));
        await zk.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}
