/**
 * The autoscaler role as a process, under Deno and Bun, against the real ZooKeeper, with the
 * command provider and a stand-in fleet (registrations whose `/metrics` the test serves), so
 * the whole path from samples to the operator's script is exercised without starting proxies:
 *
 * - load above the threshold: the script is run with `grow GROUP 1 3` and the decision as JSON;
 * - the load goes: `shrink` with the instance to remove;
 * - `/metrics` is clean for `promtool check metrics`; `/status` explains; the role registers
 *   itself under `/switchyard/instances/autoscaler/` and leaves on SIGTERM (exit 0);
 * - an invalid policy is refused at start with the field and the reason (exit 1).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { instancesRolePath } from "../../lib/source/instance_registry.ts";
import { proxyInstancePath } from "../../lib/store/layout.ts";
import { startAutoscaler } from "../support/autoscaler.ts";
import { zkSandbox } from "../support/control_plane.ts";
import { E2E, promtoolCheck } from "../support/dns_fleet.ts";
import { freePort, RUNTIMES, startRole, tempDir, waitUntil } from "../support/processes.ts";

const POLICY = {
  min: 1,
  max: 3,
  capacity: { connections: 40 },
  target_utilization: 0.5,
  scale_out: { threshold: 0.8, after_seconds: 0, cooldown_seconds: 1, max_step: 2 },
  scale_in: { threshold: 0.25, after_seconds: 1, cooldown_seconds: 1, max_step: 1 },
  sample_max_age_seconds: 5,
};

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

Deno.test("autoscaler role refuses an invalid policy, naming the field and the reason", async () => {
  const dir = tempDir("policy");
  const file = path.join(dir, "policy.json");
  fs.writeFileSync(file, JSON.stringify({ ...POLICY, target_utilization: 0.9 }));
  const proc = await startRole("deno", "autoscaler", [
    "--zk",
    "memory",
    "--group",
    "edge",
    "--policy",
    file,
    "--provider",
    "command",
    "--command",
    "/bin/true",
    "--admin-listen",
    `127.0.0.1:${await freePort()}`,
  ]);
  assert.equal(await proc.exited, 1);
  assert.match(proc.log, /invalid policy/);
  assert.match(proc.log, /scale_out\.threshold: must be above target_utilization/);
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `autoscaler role (${runtime}) runs the operator's command with the decision`,
    ...E2E,
    fn: async () => {
      const zk = await zkSandbox();
      const dir = tempDir("cmd");
      let connections = 100;
      const metrics = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () =>
          new Response(
            "# TYPE switchyard_active_connections gauge\n" +
              `switchyard_active_connections{group="edge"} ${connections}\n`,
          ),
      );
      const admin = `127.0.0.1:${metrics.addr.port}`;
      let scaler: Awaited<ReturnType<typeof startAutoscaler>> | null = null;
      try {
        const register = (id: string) =>
          zk.store.create(proxyInstancePath("edge", id), enc({ address: "127.0.0.1:1", admin }), {
            mode: "ephemeral",
            parents: true,
          });
        await register("fake-1");
        const script = path.join(dir, "scale.sh");
        fs.writeFileSync(
          script,
          `#!/usr/bin/env bash\nn=$(ls "${dir}"/call-*.json 2>/dev/null | wc -l)\n` +
            `cat > "${dir}/call-$n.json"\necho "$@" > "${dir}/args-$n"\n`,
          { mode: 0o755 },
        );
        const policy = path.join(dir, "policy.json");
        fs.writeFileSync(policy, JSON.stringify(POLICY));
        scaler = await startAutoscaler(runtime, [
          "--zk",
          zk.connect,
          "--group",
          "edge",
          "--policy",
          policy,
          "--provider",
          "command",
          "--command",
          script,
          "--interval-seconds",
          "0.5",
          "--log-level",
          "warn",
        ]);
        const calls = () =>
          fs.readdirSync(dir).filter((f) => f.startsWith("call-")).sort().map((f) =>
            JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"))
          );
        await waitUntil("a grow command", () => calls().length >= 1, 30_000, 100);
        const grow = calls()[0];
        assert.equal(grow.action, "grow");
        assert.equal(grow.group, "edge");
        assert.equal(grow.from, 1);
        assert.equal(grow.to, 3);
        assert.equal(grow.count, 2);
        assert.equal(grow.reason, "scale_out");
        assert.deepEqual(grow.fleet.map((m: { id: string }) => m.id), ["fake-1"]);
        assert.equal(fs.readFileSync(path.join(dir, "args-0"), "utf8"), "grow edge 1 3\n");

        // the "cloud" brings two more up; the load goes
        await register("fake-2");
        await register("fake-3");
        connections = 0;
        await waitUntil("a shrink command", () => calls().length >= 2, 30_000, 100);
        const shrink = calls()[1];
        assert.equal(shrink.action, "shrink");
        assert.equal(shrink.from, 3);
        assert.equal(shrink.to, 2);
        assert.equal(shrink.remove.length, 1);
        assert.equal(shrink.remove[0].admin, admin);

        const status = await scaler.status();
        assert.equal(status.election?.acting, true);
        assert.deepEqual(
          status.autoscaler!.history.filter((h) => h.action !== "hold").slice(0, 2).map((h) =>
            `${h.action}:${h.reason}:${h.result}`
          ),
          ["grow:scale_out:ok", "shrink:scale_in:ok"],
        );
        const text = await scaler.metrics();
        assert.deepEqual(await promtoolCheck(text), { code: 0, output: "" });
        assert.match(text, /switchyard_autoscaler_leader\{group="edge"\} 1/);
        assert.match(text, /process_resident_memory_bytes \d+/);
        const own = await zk.store.children(instancesRolePath("autoscaler"));
        assert.equal(own.length, 1);
        assert.equal(await scaler.process.stop(), 0);
        scaler = null;
        assert.deepEqual(await zk.store.children(instancesRolePath("autoscaler")), []);
      } finally {
        await scaler?.process.stop("SIGKILL");
        await metrics.shutdown();
        await zk.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}
