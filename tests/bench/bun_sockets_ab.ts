/**
 * A/B of Switchyard's sockets under Bun: native `Bun.listen`/`Bun.connect`
 * (the default) against `node:net` (`SWITCHYARD_BUN_SOCKETS=node`), in
 * alternating rounds, so a shared machine's noise falls on both alike.
 *
 * Pinned as `deno task bench` pins (each proxy on CPU 1, wrk and the two
 * backends on CPU 0). Per run: requests/s at 50 connections and the proxy's
 * exact CPU time per request from `/proc/<pid>/stat` (utime + stime over the
 * requests wrk counted). With `--profile`, each proxy runs under Bun's
 * sampling profiler and the breakdown is printed as
 * docs/bench/profile.md's sections are.
 *
 *     deno run -A tests/bench/bun_sockets_ab.ts [--rounds 5] [--duration 10] [--profile]
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Supervisor } from "./procs.ts";
import { type RunningTarget, startBackends, startTarget } from "./targets.ts";
import { runWrk, type WrkRun } from "./wrk.ts";
import { profileMarkdown, summarizeProfile } from "./profile.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "5" },
    profile: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const profile = values.profile;
const stateDir = path.join(REPO_ROOT, ".state", "bench", "bun-sockets");
fs.mkdirSync(stateDir, { recursive: true });

const sup = new Supervisor(stateDir);
sup.reapStale();
const LOAD_CPUS = "0";
const TARGET_CPUS = "1";

interface Variant {
  readonly id: string;
  readonly label: string;
  readonly env: string | null;
  target?: RunningTarget;
  readonly runs: WrkRun[];
}
const variants: Variant[] = [
  { id: "bun-native", label: "Bun.listen/Bun.connect", env: null, runs: [] },
  { id: "bun-node-net", label: "node:net (SWITCHYARD_BUN_SOCKETS=node)", env: "node", runs: [] },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const usPerRequest = (r: WrkRun) => (r.cpu.target_cores * r.cpu.wall_s * 1e6) / r.requests;
const sysUsPerRequest = (r: WrkRun) => (r.cpu.target_sys_cores * r.cpu.wall_s * 1e6) / r.requests;

try {
  const backends = await startBackends(sup, 2, LOAD_CPUS);
  for (const v of variants) {
    // the Supervisor passes this process's environment on: set the switch for this start only
    if (v.env !== null) Deno.env.set("SWITCHYARD_BUN_SOCKETS", v.env);
    else Deno.env.delete("SWITCHYARD_BUN_SOCKETS");
    v.target = await startTarget(
      { id: `switchyard-${v.id}`, label: v.label, kind: "switchyard", runtime: "bun" },
      { sup, stateDir, backends, cpus: TARGET_CPUS, profile },
    );
  }
  Deno.env.delete("SWITCHYARD_BUN_SOCKETS");
  const run = (v: Variant, seconds: number) =>
    runWrk(sup, {
      url: `${v.target!.url}/`,
      connections: 50,
      threads: 1,
      durationS: seconds,
      cpus: LOAD_CPUS,
      method: "GET",
      bodyBytes: 0,
    }, { target: v.target!.proc, backends: backends.map((b) => b.proc), all: sup.processes });
  for (const v of variants) await run(v, warmup);
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const r = await run(v, duration);
      v.runs.push(r);
      const errs = Object.values(r.errors).reduce((a, b) => a + b, 0);
      console.log(
        `round ${i + 1} ${v.id}: ${Math.round(r.rps)} req/s, ${
          usPerRequest(r).toFixed(1)
        } us CPU/request (${
          sysUsPerRequest(r).toFixed(1)
        } in the kernel), p50 ${r.latency_us.p50} us, p99 ${r.latency_us.p99} us, others ${
          r.cpu.others_cores.toFixed(2)
        } cores, errors ${errs}`,
      );
    }
  }
  console.log(
    "\n| Sockets under Bun | req/s (median) | range | CPU µs/request (median) | range | kernel µs/request | p50 | p99 |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const v of variants) {
    const rps = v.runs.map((r) => r.rps);
    const us = v.runs.map(usPerRequest);
    console.log(
      `| ${v.label} | ${Math.round(median(rps))} | ${Math.round(Math.min(...rps))}-${
        Math.round(Math.max(...rps))
      } | ${median(us).toFixed(1)} | ${Math.min(...us).toFixed(1)}-${
        Math.max(...us).toFixed(1)
      } | ${median(v.runs.map(sysUsPerRequest)).toFixed(1)} | ${
        median(v.runs.map((r) => r.latency_us.p50))
      } µs | ${median(v.runs.map((r) => r.latency_us.p99))} µs |`,
    );
  }
  const [a, b] = variants;
  const ratios = a!.runs.map((r, i) => usPerRequest(r) / usPerRequest(b!.runs[i]!));
  console.log(
    `\nCPU per request, native / node:net, per round: ${
      ratios.map((x) => x.toFixed(3)).join(", ")
    }; median ${median(ratios).toFixed(3)}`,
  );
  fs.writeFileSync(
    path.join(stateDir, "results.json"),
    JSON.stringify(variants.map((v) => ({ id: v.id, label: v.label, runs: v.runs })), null, 2),
  );
  if (profile) {
    for (const v of variants) {
      await sup.stop(v.target!.proc, 10_000);
      await new Promise((r) => setTimeout(r, 500));
      const dir = v.target!.profileDir!;
      const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error(`no .cpuprofile in ${dir}`);
      const summary = summarizeProfile(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")));
      console.log(
        "\n" + profileMarkdown(
          `Switchyard under Bun, ${v.label}`,
          summary,
          `Whole process life (start-up, ${warmup} s warm-up, ${rounds} × ${duration} s at 50 connections). ` +
            `Raw profile: \`${path.relative(REPO_ROOT, dir)}/\`.`,
        ),
      );
    }
  }
} finally {
  await sup.stopAll();
}
