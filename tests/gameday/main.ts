/**
 * `deno task gameday [--quick] [--out DIR] [--only TEXT]...`: brings up the whole topology in the game day's lab,
 * runs steady client load, injects the scripted faults one at a time with recovery between them,
 * samples the invariants throughout, and writes results.json, report.md and the SVG timelines.
 *
 * The full run writes to docs/gameday/ (commit it); `--quick` (the CI subset, shorter waits)
 * writes to .state/gameday/quick/ and refuses docs/gameday/. Exit status: 0 when every bar held,
 * 1 when one did not, 2 when the run itself failed. Everything started is torn down at the end,
 * on failure and on Ctrl-C (and first, should an earlier run have been killed). `--only` runs just
 * the faults whose name contains TEXT (full timings unless `--quick`), to work on one fault.
 *
 * @module
 */
import path from "node:path";
import { REPO } from "../support/dns_stack.ts";
import { sleep } from "../support/processes.ts";
import {
  duplicatedPosts,
  faultBars,
  faultImpact,
  type FaultWindow,
  lostVersions,
  perSecond,
  succeeded,
  twoActing,
  unhealthyTraffic,
  versionRegressions,
} from "./analysis.ts";
import { CLIENT_BEHAVIOUR, type ClientSample } from "./client.ts";
import { type Fault, faults } from "./faults.ts";
import { type FaultResult, renderReport, renderTimelines, type Results } from "./report.ts";
import { Sampler } from "./sampler.ts";
import { bringUp, teardown, type Topology } from "./topology.ts";

/** Connections a single fault may cut (its victims' in-flight and pooled requests). */
export const CUT_BOUND = 10;
/** Failed client requests kept per fault in results.json (for whoever investigates). */
const FAILURES_KEPT = 30;
/** From a backend's unhealthy mark on a proxy to no more traffic reaching it. */
export const UNHEALTHY_BOUND_MS = 2000;

/** Parsed command line. */
export interface GamedayArgs {
  readonly quick: boolean;
  readonly out: string;
  /** `--only TEXT` (repeatable): only the faults whose name contains one of them (development). */
  readonly only?: readonly string[];
}

/** Parses `--quick` and `--out DIR`; a quick run never writes docs/gameday/. */
export function parseGamedayArgs(argv: readonly string[]): GamedayArgs {
  let quick = false;
  let out: string | undefined;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") quick = true;
    else if (a === "--out") {
      out = argv[++i];
      if (out === undefined || out === "") throw new Error("--out: needs a directory");
    } else if (a === "--only") {
      const text = argv[++i];
      if (text === undefined || text === "") {
        throw new Error("--only: needs a part of a fault's name");
      }
      only.push(text);
    } else {
      throw new Error(`unknown argument ${a} (usage: gameday [--quick] [--out DIR] [--only TEXT])`);
    }
  }
  const docs = path.join(REPO, "docs/gameday");
  const dir = path.resolve(out ?? (quick ? path.join(REPO, ".state/gameday/quick") : docs));
  if (quick && dir === docs) {
    throw new Error(
      "--out: docs/gameday/ holds the full run's report; a --quick run writes elsewhere",
    );
  }
  if (only.length > 0 && dir === docs) {
    throw new Error("--only: a partial run does not write docs/gameday/ (give --out)");
  }
  return only.length > 0 ? { quick, out: dir, only } : { quick, out: dir };
}

const NOT_COVERED_YET: string[] = [];

function distinct(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}

function log(s: string): void {
  console.log(`${new Date().toISOString()} gameday: ${s}`);
}

async function readSamples(file: string): Promise<ClientSample[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** Where the running game day keeps its state (pid files, data, client samples). */
export const STATE_DIR = path.join(REPO, ".state/gameday/state");

/** Runs the game day; resolves with the results (also written to `args.out`). */
export async function gameday(args: GamedayArgs): Promise<Results> {
  const stateDir = STATE_DIR;
  // one game day at a time on a machine (they share the lab's names and addresses): a second run
  // waits for the first
  await Deno.mkdir(path.join(REPO, ".state"), { recursive: true });
  const lock = await Deno.open(path.join(REPO, ".state/gameday.lock"), {
    create: true,
    write: true,
  });
  await lock.lock(true);
  try {
    return await runLocked(args, stateDir);
  } finally {
    lock.close();
  }
}

async function runLocked(args: GamedayArgs, stateDir: string): Promise<Results> {
  const clientRate = args.quick ? 25 : 50;
  const settleMs = args.quick ? 8_000 : 20_000;
  const recoverMs = args.quick ? 8_000 : 20_000;
  const selected = faults().filter((f) =>
    args.only ? args.only.some((o) => f.name.includes(o)) : !args.quick || f.quick
  );
  let topo: Topology | null = null;
  try {
    topo = await bringUp({ stateDir, outDir: args.out, clientRate, log });
    const sampler = new Sampler(topo);
    sampler.start();
    const t0 = Date.now();
    log(
      `load running; ${selected.length} faults, ${settleMs / 1000} s + ${recoverMs / 1000} s each`,
    );
    await sleep(settleMs);
    const windows: {
      fault: Fault;
      injectedAt: number;
      detail: string;
      victims: readonly string[];
      vip: number | null;
    }[] = [];
    for (const fault of selected) {
      const injectedAt = Date.now();
      log(`fault: ${fault.name}`);
      const injected = await fault.inject(topo, { quick: args.quick });
      log(
        `  ${injected.detail}${
          injected.vipFailoverMs === undefined ? "" : `, VIP moved in ${injected.vipFailoverMs} ms`
        }`,
      );
      windows.push({
        fault,
        injectedAt,
        detail: injected.detail,
        victims: injected.victims,
        vip: injected.vipFailoverMs ?? null,
      });
      await sleep(fault.holdMs ?? settleMs);
      const restored = await fault.restore(topo);
      const w = windows[windows.length - 1]!;
      if (restored) w.detail = `${w.detail}; ${restored}`;
      log(`  restored${restored ? `: ${restored}` : ""}`);
      await sleep(recoverMs);
    }
    const end = Date.now();
    const monitoring = await topo.monitoring.summary();
    await topo.stopClients();
    await sampler.stop();
    await sampler.sample();
    const samples = (await Promise.all(
      [...topo.clients.map((c) => c.out), ...topo.extraOuts].map(readSamples),
    )).flat().sort((a, b) => a.t - b.t);
    const seconds = perSecond(samples, t0, Math.ceil((end - t0) / 1000));
    const results: FaultResult[] = windows.map((w, i) => {
      const windowEnd = windows[i + 1]?.injectedAt ?? end;
      const fw: FaultWindow = {
        name: w.fault.name,
        injectedAt: w.injectedAt,
        end: windowEnd,
        victims: w.victims,
      };
      const inWindow = <T extends { t: number }>(list: readonly T[]) =>
        list.filter((s) => s.t >= w.injectedAt && s.t < windowEnd);
      const impact = faultImpact(samples, fw);
      const versions = inWindow(sampler.versions);
      let lost: number | null = null;
      if (w.fault.written) {
        const last = new Map<string, (typeof versions)[number]>();
        for (const v of versions) if (v.key === w.fault.written.key) last.set(v.proxy, v);
        lost =
          lostVersions([...last.values()], w.fault.written.key, w.fault.written.version).length +
          (topo!.proxies.length - last.size);
      }
      const twoMasters = twoActing(inWindow(sampler.orchestrators));
      const twoLeaders = twoActing(inWindow(sampler.dnsLeaders));
      const regressions = versionRegressions(versions);
      const toUnhealthy = unhealthyTraffic(inWindow(sampler.backends), UNHEALTHY_BOUND_MS);
      const duplicates = inWindow(sampler.duplicates);
      return {
        name: w.fault.name,
        detail: w.detail,
        injected_at_s: Math.round((w.injectedAt - t0) / 100) / 10,
        window_s: Math.round((windowEnd - w.injectedAt) / 100) / 10,
        impact,
        vip_failover_ms: w.vip,
        invariants: {
          two_orchestrator_masters: twoMasters.length,
          two_dns_leaders: twoLeaders.length,
          versions_out_of_order: regressions.length,
          versions_lost: lost,
          unhealthy_backend_traffic: toUnhealthy.reduce((n, v) => n + v.requests, 0),
          duplicated_posts: duplicates.length,
        },
        failures: inWindow(samples).filter((s) => !succeeded(s)).slice(0, FAILURES_KEPT),
        violations: {
          two_acting: [...twoMasters, ...twoLeaders],
          versions_out_of_order: regressions,
          unhealthy_backend_traffic: toUnhealthy,
          duplicated_posts: duplicates.map((d) => d.id),
        },
        observed: {
          sampler_rounds: inWindow(sampler.orchestrators).length,
          orchestrator_masters: distinct(inWindow(sampler.orchestrators).flatMap((s) => s.acting)),
          dns_leaders: distinct(inWindow(sampler.dnsLeaders).flatMap((s) => s.acting)),
          proxies_reporting: distinct(versions.map((v) => v.proxy)),
          marked_unhealthy: distinct(
            inWindow(sampler.backends).filter((b) => b.unhealthyOn > 0).map((b) => b.backend),
          ),
          backends_down: distinct(
            inWindow(sampler.backends).filter((b) => b.served === null).map((b) => b.backend),
          ),
        },
        bars: faultBars(impact, CUT_BOUND, w.vip),
      };
    });
    const duplicated = duplicatedPosts(sampler.arrivals);
    const invariantsHeld = results.every((r) =>
      Object.values(r.invariants).every((v) => v === null || v === 0)
    );
    const out: Results = {
      started_at: new Date(t0).toISOString(),
      mode: args.quick ? "quick" : "full",
      duration_s: Math.round((end - t0) / 1000),
      topology:
        "3-node ZooKeeper ensemble, 3 orchestrators (Deno, Bun, Deno), admin role, 2 dns roles " +
        "(Deno, Bun) + CoreDNS + keepalived VIP + etcd, 4 proxies (Deno/Bun, regions r1/r2, each " +
        "in its own network namespace with a control link to ZooKeeper) on listener `public` " +
        "(routes /api -> group api, / -> group web), 6 backends (3 per group), Prometheus " +
        "(1 s scrapes, every role discovered from the registrations) and the autoscaler " +
        "(listener public's fleet, local provider, up to 2 more proxies in r1), a client per region",
      client_rate_per_s: clientRate,
      client_behaviour: CLIENT_BEHAVIOUR,
      cut_bound: CUT_BOUND,
      unhealthy_bound_ms: UNHEALTHY_BOUND_MS,
      faults: results,
      monitoring,
      totals: {
        requests: samples.length,
        ok: samples.filter((s) => s.status >= 200 && s.status < 400).length,
        duplicated_posts: duplicated,
        posts_seen: sampler.arrivals.size,
      },
      passed: duplicated.length === 0 && invariantsHeld &&
        results.every((r) => r.bars.every((b) => b.held)),
      not_covered: [
        ...(args.quick
          ? faults().filter((f) => !f.quick).map((f) => `${f.name} (full run only)`)
          : []),
        ...NOT_COVERED_YET,
      ],
      seconds,
    };
    await Deno.mkdir(args.out, { recursive: true });
    await Deno.writeTextFile(
      path.join(args.out, "results.json"),
      JSON.stringify(out, null, 2) + "\n",
    );
    await Deno.writeTextFile(path.join(args.out, "report.md"), renderReport(out));
    const svgs = renderTimelines(out);
    await Deno.writeTextFile(path.join(args.out, "success.svg"), svgs.success);
    await Deno.writeTextFile(path.join(args.out, "p99.svg"), svgs.p99);
    log(`report in ${args.out} (${out.passed ? "every bar held" : "some bars did not hold"})`);
    return out;
  } finally {
    if (topo !== null) {
      for (
        const n of [
          ...topo.proxies,
          ...topo.orchestrators,
          ...topo.dnsRoles,
          topo.admin,
          ...topo.backends,
          topo.monitoring.autoscaler,
        ]
      ) {
        if (n.process.running) n.process.signal("SIGKILL");
      }
    }
    await teardown(stateDir, log);
    log("torn down");
  }
}

if (import.meta.main) {
  let args: GamedayArgs;
  try {
    args = parseGamedayArgs(Deno.args);
  } catch (e) {
    console.error(`gameday: ${(e as Error).message}`);
    Deno.exit(2);
  }
  // Ctrl-C or SIGTERM: tear everything down before leaving
  const onSignal = () => {
    log("interrupted: tearing down");
    teardown(STATE_DIR, log).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const results = await gameday(args);
    Deno.exit(results.passed ? 0 : 1);
  } catch (e) {
    console.error(`gameday: the run failed: ${(e as Error).stack ?? e}`);
    Deno.exit(2);
  }
}
