/**
 * `deno task bench:propagation`: how long a config write takes to be applied
 * by every proxy. Starts the dev ZooKeeper node (if needed), backends, the
 * admin role and N proxy processes (alternating Bun and Deno) in `--zk` mode,
 * then writes the group config repeatedly, directly to ZooKeeper and through
 * the admin API, and measures write -> applied on all N (each proxy reports
 * when it applied a version in `/status`). Writes `docs/bench/propagation.json`
 * and `.md`.
 *
 * Flags: `--proxies 5`, `--writes 200`, `--out docs/bench`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { parseFlags } from "../../lib/cli/flags.ts";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import { configPath } from "../../lib/store/layout.ts";
import { startAdmin, startZkProxy, type ZkProxy, zkSandbox } from "../support/control_plane.ts";
import { sleep, startBackends, stopAll } from "../support/processes.ts";

const flags = parseFlags(process.argv.slice(2), [
  { name: "proxies", type: "number", help: "proxy processes", default: 5 },
  { name: "writes", type: "number", help: "writes per method", default: 200 },
  { name: "out", type: "string", help: "output directory", default: "docs/bench" },
]);
const nProxies = Number(flags.proxies);
const nWrites = Number(flags.writes);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

interface Series {
  method: string;
  samples: number[];
  median: number;
  p99: number;
  max: number;
}

function summarize(method: string, samples: number[]): Series {
  const s = [...samples].sort((a, b) => a - b);
  return {
    method,
    samples,
    median: percentile(s, 50),
    p99: percentile(s, 99),
    max: s[s.length - 1]!,
  };
}

/** Applied-at (ms since epoch) of `version` on every proxy; polls until all have it. */
async function appliedOnAll(proxies: readonly ZkProxy[], version: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of proxies) {
    for (let i = 0;; i++) {
      const s = await p.status();
      if (s.config?.version === version) {
        out.push(Date.parse((s.config as unknown as { applied_at: string }).applied_at));
        break;
      }
      if (i > 2000) throw new Error(`proxy never applied version ${version}`);
      await sleep(2);
    }
  }
  return out;
}

const zk = await zkSandbox("single");
const backends = await startBackends(2);
const admin = await startAdmin("bun", zk.connect);
const proxies: ZkProxy[] = [];
try {
  const blob = (i: number) => ({
    backend_servers: [backends[i % 2]!.address, {
      address: backends[(i + 1) % 2]!.address,
      weight: 1 + (i % 7),
    }],
    algorithm: "WEIGHTED_ROUND_ROBIN",
  });
  const created = await admin.api("POST", "/api/groups", { group: "prop", config: blob(0) });
  if (created.status !== 201) throw new Error(JSON.stringify(created.json));
  for (let i = 0; i < nProxies; i++) {
    proxies.push(
      await startZkProxy(i % 2 === 0 ? "bun" : "deno", zk.connect, "prop", ["--no-health-checks"]),
    );
  }
  await appliedOnAll(proxies, "0");
  let version = 0;
  const direct: number[] = [];
  const viaApi: number[] = [];
  const enc = new TextEncoder();
  for (let i = 1; i <= nWrites; i++) {
    const t0 = Date.now();
    await zk.store.set(configPath("prop"), enc.encode(JSON.stringify(blob(i))), version);
    version++;
    const applied = await appliedOnAll(proxies, String(version));
    direct.push(Math.max(...applied) - t0);
  }
  for (let i = 1; i <= nWrites; i++) {
    const t0 = Date.now();
    const r = await admin.api("PUT", "/api/groups/prop", blob(i), { "if-match": `"${version}"` });
    if (r.status !== 200) throw new Error(JSON.stringify(r.json));
    version++;
    const applied = await appliedOnAll(proxies, String(version));
    viaApi.push(Math.max(...applied) - t0);
  }
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model ?? "unknown",
      kernel: os.release(),
    },
    proxies: proxies.length,
    runtimes: proxies.map((_, i) => (i % 2 === 0 ? "bun" : "deno")),
    writes: nWrites,
    clock_resolution_ms: 1,
    series: [
      summarize("zookeeper set (e.g. zkCli.sh)", direct),
      summarize("admin API PUT", viaApi),
    ],
    bar_p99_ms: 25,
  };
  const outDir = path.resolve(REPO_ROOT, String(flags.out));
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "propagation.json"), JSON.stringify(results, null, 2) + "\n");
  const rows = results.series.map((s) =>
    `| ${s.method} | ${s.median} | ${s.p99} | ${s.max} | ${s.p99 < 25 ? "yes" : "no"} |`
  );
  const md = [
    `# Config propagation: write -> applied on all ${proxies.length} proxies`,
    "",
    `${results.date}, ${results.machine.cpus} cores (${results.machine.model}), ${nWrites} writes per method, ` +
    `proxies alternate Bun and Deno, one ZooKeeper node on loopback. Times in ms (1 ms clock).`,
    "",
    "| Write | median | p99 | max | p99 < 25 ms |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(outDir, "propagation.md"), md);
  console.log(md);
} finally {
  await stopAll([...proxies.map((p) => p.process), admin.process, ...backends]);
  await zk.close();
}
