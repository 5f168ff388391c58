/**
 * Config changes reach the assignments within a second (real processes, real ZooKeeper, Deno and
 * Bun): a backend added, one removed, the endpoint changed, the interval changed; an invalid blob
 * is skipped (logged) and the last good targets kept.
 */
import assert from "node:assert/strict";
import { type Assignment, decodeAssignment } from "../../lib/orchestrator/assignment.ts";
import { assignmentPath, ASSIGNMENTS_PATH } from "../../lib/store/layout.ts";
import { RUNTIMES, stopAll, waitUntil } from "../support/processes.ts";
import { type Orchestrator, sandbox, startOrchestrator } from "./_support.ts";

const BOUND_MS = 1000;

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `orchestrator under ${runtime}: config changes reach assignments within a second; /metrics passes promtool`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const sb = await sandbox();
      const procs: Orchestrator[] = [];
      const all = async (): Promise<Assignment[]> => {
        const out: Assignment[] = [];
        for (const w of await sb.store.children(ASSIGNMENTS_PATH).catch(() => [])) {
          const node = await sb.store.get(assignmentPath(w));
          const a = node && decodeAssignment(node.data);
          if (a) out.push(a);
        }
        return out;
      };
      const groupView = async () => {
        const backends: string[] = [];
        const settings = new Set<string>();
        for (const a of await all()) {
          const g = a.groups.get("web");
          if (!g) continue;
          backends.push(...g.backends);
          settings.add(JSON.stringify(g.settings));
        }
        return { backends: backends.sort(), settings: [...settings] };
      };
      const blob = (n: number, extra: Record<string, unknown> = {}) => ({
        backend_servers: Array.from({ length: n }, (_, i) => `127.0.0.1:${19001 + i}`),
        health_check_frequency_seconds: 1,
        ...extra,
      });
      const timed = async (
        what: string,
        change: () => Promise<void>,
        ok: () => Promise<boolean>,
      ) => {
        const t0 = Date.now();
        await change();
        await waitUntil(what, ok, 10_000, 10);
        const ms = Date.now() - t0;
        console.log(`  [${runtime}] ${what}: ${ms} ms`);
        assert.ok(ms <= BOUND_MS, `${what} took ${ms} ms`);
      };
      try {
        await sb.setConfig("web", blob(4));
        procs.push(await startOrchestrator(runtime, sb.connect, "o1"));
        procs.push(await startOrchestrator(runtime, sb.connect, "o2"));
        await waitUntil(
          "4 targets assigned",
          async () => (await groupView()).backends.length === 4,
        );

        await timed(
          "backend added",
          () => sb.setConfig("web", blob(5)),
          async () => (await groupView()).backends.length === 5,
        );
        await timed(
          "backend removed",
          () => sb.setConfig("web", blob(3)),
          async () => (await groupView()).backends.length === 3,
        );
        await timed(
          "endpoint changed",
          () => sb.setConfig("web", blob(3, { health_endpoint: "/ready" })),
          async () => (await groupView()).settings.every((s) => JSON.parse(s).path === "/ready"),
        );
        await timed(
          "interval changed",
          () =>
            sb.setConfig(
              "web",
              blob(3, { health_endpoint: "/ready", health_check_frequency_seconds: 2 }),
            ),
          async () => (await groupView()).settings.every((s) => JSON.parse(s).intervalMs === 2000),
        );

        const before = await groupView();
        await sb.setConfig("web", { backend_servers: "not a list" });
        await waitUntil(
          "the invalid config logged",
          () => procs.some((p) => /invalid config skipped/.test(p.process.log)),
          5000,
        );
        assert.deepEqual(await groupView(), before, "last good targets kept");

        // /metrics passes `promtool check metrics` (probes, lag, transitions, leadership...).
        for (const p of procs) {
          const text = await p.metrics();
          for (const name of ["probes_total", "probe_lag_seconds_bucket", "is_master"]) {
            assert.match(text, new RegExp(`switchyard_orchestrator_${name}`));
          }
          assert.match(text, /process_cpu_seconds_total/);
          const check = new Deno.Command(Deno.env.get("PROMTOOL") ?? "promtool", {
            args: ["check", "metrics"],
            stdin: "piped",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const w = check.stdin.getWriter();
          await w.write(new TextEncoder().encode(text));
          await w.close();
          const out = await check.output();
          const msg = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
          assert.equal(out.code, 0, `promtool: ${msg}`);
          assert.equal(msg.trim(), "", `promtool reports problems: ${msg}`);
        }
        const statuses = await Promise.all(procs.map((p) => p.status()));
        assert.equal(statuses.reduce((n, s) => n + s.assignment.size, 0), 3);
      } finally {
        await stopAll(procs.map((p) => p.process));
        await sb.close();
      }
    },
  });
}
