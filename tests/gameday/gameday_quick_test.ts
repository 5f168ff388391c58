/**
 * `deno task gameday --quick` end to end: the whole topology in its lab, clients under load, the
 * quick subset of faults (a backend, a proxy and the orchestrator master SIGKILLed, a config push
 * storm, CoreDNS on the VIP holder SIGKILLed), and the bars on what it recorded. The
 * positive controls (each fault visible in what the sampler saw) make sure the invariants were
 * checked against a live system. Everything is torn down afterwards.
 */
import assert from "node:assert/strict";
import { REPO, run } from "../support/dns_stack.ts";
import type { Results } from "./report.ts";

Deno.test({
  name: "gameday --quick: every bar held, no duplicated POST, invariants held, all torn down",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "switchyard-gameday-" });
    try {
      const child = new Deno.Command(`${REPO}/node_modules/.bin/deno`, {
        args: ["task", "gameday", "--quick", "--out", out],
        cwd: REPO,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // generous on a busy 2-core machine: the run itself takes ~2.5 minutes
      const timer = setTimeout(() => child.kill("SIGTERM"), 420_000);
      const result = await child.output();
      clearTimeout(timer);
      const log = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
      const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`)) as Results;
      const why = `${JSON.stringify(results.faults, null, 1)}\n--- log\n${log}`;

      assert.equal(results.mode, "quick");
      assert.deepEqual(results.faults.map((f) => f.name.split(" (")[0]), [
        "backend SIGKILL",
        "proxy SIGKILL",
        "orchestrator master SIGKILL",
        "proxy cut off from ZooKeeper",
        "config push storm through the admin API",
        "CoreDNS on the VIP holder SIGKILL",
      ]);
      assert.ok(results.totals.requests > 1000, `only ${results.totals.requests} requests`);
      assert.ok(results.totals.posts_seen > 200, `only ${results.totals.posts_seen} POSTs`);
      assert.deepEqual(results.totals.duplicated_posts, [], "a POST reached a backend twice");
      for (const f of results.faults) {
        assert.equal(f.impact.failedIdempotent, 0, `${f.name}: failed GETs\n${why}`);
        assert.ok(f.impact.cut <= results.cut_bound, `${f.name}: ${f.impact.cut} cut\n${why}`);
        for (const [name, count] of Object.entries(f.invariants)) {
          assert.ok(count === null || count === 0, `${f.name}: ${name} = ${count}\n${why}`);
        }
        // positive controls: a live system was sampled all along
        assert.ok(f.observed.sampler_rounds >= 5, `${f.name}: ${f.observed.sampler_rounds} rounds`);
        assert.ok(f.observed.proxies_reporting.length >= 3, `${f.name}: ${why}`);
        assert.ok(f.observed.orchestrator_masters.length >= 1, `${f.name}: no master seen`);
        assert.ok(f.observed.dns_leaders.length >= 1, `${f.name}: no dns leader seen`);
        assert.ok(f.impact.requests > 100, `${f.name}: ${f.impact.requests} requests`);
      }
      const [backend, proxy, master, cut, storm, vip] = results.faults as [
        Results["faults"][number],
        Results["faults"][number],
        Results["faults"][number],
        Results["faults"][number],
        Results["faults"][number],
        Results["faults"][number],
      ];
      assert.ok(backend.observed.backends_down.includes("b2"), `b2 was not down: ${why}`);
      assert.ok(backend.observed.marked_unhealthy.includes("b2"), `b2 never marked: ${why}`);
      assert.match(proxy.detail, /^p2 /);
      const killed = master.detail.split(" ")[0];
      assert.ok(
        master.observed.orchestrator_masters.some((m) => m !== killed),
        `no successor of ${killed} seen: ${why}`,
      );
      // the cut proxy reported the disconnect, served every direct GET meanwhile, did not see the
      // writes pushed during the cut and, once back, resynced to the last one
      assert.match(cut.detail, /^p4 \(bun\): zookeeper\.state "(disconnected|connecting)"/, why);
      const probes = /served (\d+)\/(\d+) direct GETs/.exec(cut.detail);
      assert.ok(probes && Number(probes[2]) >= 10 && probes[1] === probes[2], cut.detail);
      assert.match(cut.detail, /link back: reconnected and on v\d+ after \d+ ms/);
      assert.equal(cut.invariants.versions_lost, 0);
      assert.equal(storm.invariants.versions_lost, 0);
      // Prometheus scraped every role it discovered, and the autoscaler evaluated from its numbers
      const targets = results.monitoring.prometheus_targets;
      for (const [job, n] of [["switchyard-proxy", 4], ["switchyard-orchestrator", 3]] as const) {
        assert.ok((targets[job]?.up ?? 0) >= n, `${job}: ${JSON.stringify(targets)}`);
      }
      assert.ok(results.monitoring.autoscaler_evaluations > 30, JSON.stringify(results.monitoring));
      assert.ok((results.monitoring.sampled_at_end ?? 0) >= 3, JSON.stringify(results.monitoring));
      assert.ok(vip.vip_failover_ms !== null && vip.vip_failover_ms <= 3000, `VIP: ${why}`);
      assert.equal(results.passed, true, why);
      assert.equal(result.code, 0, log);
      for (const file of ["report.md", "success.svg", "p99.svg"]) {
        assert.ok((await Deno.stat(`${out}/${file}`)).size > 0, file);
      }

      // torn down: no namespace of the lab, no state left
      const namespaces = (await run(["ip", "netns", "list"])).stdout;
      assert.doesNotMatch(namespaces, /^gd-/m);
      await assert.rejects(Deno.stat(`${REPO}/.state/gameday/state`));
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
