/**
 * A short run of `deno task bench --part tls` against real proxies under Bun
 * and Deno (nginx and HAProxy are the benchmark's own installs, not the test
 * suite's, so they are left out here): the run's certificate, both TLS
 * listeners, the three load generators (s_time, wrk over https, h2load) and
 * the report. It proves the part works end to end, not any figure.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, runtimeBinary } from "../../lib/runtime/role_command.ts";
import type { BenchResults } from "./report.ts";

Deno.test({
  name:
    "deno task bench --part tls: every TLS scenario measured through Switchyard under Bun and Deno",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    const out = Deno.makeTempDirSync({ prefix: "swy-bench-tls-" });
    // its own state directory: a benchmark running from this checkout keeps its processes
    const state = path.join(out, "state");
    try {
      const r = spawnSync(runtimeBinary("deno"), [
        "run",
        "-A",
        path.join(REPO_ROOT, "tests", "bench", "main.ts"),
        ...["--part", "tls", "--targets", "switchyard-bun,switchyard-deno"],
        ...["--duration", "1", "--runs", "1", "--warmup", "0", "--pin", "none"],
        ...["--wait-idle", "0", "--wait-budget", "0", "--retries", "0", "--install=false"],
        ...["--out", out, "--state-dir", state],
      ], { encoding: "utf8", timeout: 180_000, cwd: REPO_ROOT });
      const log = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, log);
      const res = JSON.parse(
        fs.readFileSync(path.join(out, "results.json"), "utf8"),
      ) as BenchResults;
      assert.deepEqual(res.problems, [], log);
      assert.equal(res.meta.tls_settings?.startsWith("TLS 1.2 and 1.3 only"), true);
      for (const t of res.targets) {
        // each TLS listener negotiated TLS 1.3 with OpenSSL's default client offer, h2 by ALPN
        assert.match(t.tls ?? "", /^TLSv1\.3 \S+, .*ALPN h2$/, t.id);
      }
      const got = res.measurements.map((m) => `${m.scenario}/${m.target}`).sort();
      assert.deepEqual(got, [
        "h2-s50/switchyard-bun",
        "h2-s50/switchyard-deno",
        "https-c50/switchyard-bun",
        "https-c50/switchyard-deno",
        "tls-handshakes/switchyard-bun",
        "tls-handshakes/switchyard-deno",
      ]);
      for (const m of res.measurements) {
        const where = `${m.scenario}/${m.target}`;
        assert.ok(m.requests > 0, where);
        assert.equal(m.errors.connect + m.errors.read + m.errors.status, 0, where);
        assert.ok(m.cpu.target_cores > 0, where);
      }
      // without nginx the ratio-based bars have no figure, and say so
      const bars = res.bars.filter((b) => b.issue === 15 || b.issue === 16);
      assert.deepEqual(bars.map((b) => [b.issue, b.pass]), [[15, null], [16, null]]);
      const md = fs.readFileSync(path.join(out, "results.md"), "utf8");
      assert.match(md, /### TLS and HTTP\/2 \(issue 15\)/);
      assert.match(md, /#### New TLS handshakes per second/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  },
});
