/**
 * The game day's monitoring and autoscaling, in the core namespace: Prometheus
 * (deploy/prometheus/prometheus.sh, 1 s scrapes) discovering every role through the target files
 * the autoscaler writes from the registrations, and the autoscaler role acting on listener
 * `public`'s fleet from Prometheus's numbers with the local provider (`--local-listener`): it may
 * add up to two listener proxies in region r1 on `LAB_SCALE_IPS`, and only ever removes those.
 *
 * The policy keeps the clients' steady load in its band (4 proxies at ~25 requests/s each against
 * a capacity of 40: 0.62, between scale-in 0.55 and scale-out 0.9), so the fleet changes only
 * under the full run's load step (a third client): then it grows, and shrinks back afterwards.
 *
 * @module
 */
import { roleCommand } from "../../lib/runtime/role_command.ts";
import { REPO, run } from "../support/dns_stack.ts";
import { RoleProcess, waitUntil } from "../support/processes.ts";
import { spawn } from "node:child_process";

/** The scaling policy (see deploy/autoscaler/README.md). */
export const SCALE_POLICY = {
  min: 1,
  max: 6,
  capacity: { rps: 40 },
  target_utilization: 0.65,
  scale_out: { threshold: 0.9, after_seconds: 3, cooldown_seconds: 15, max_step: 2 },
  scale_in: { threshold: 0.55, after_seconds: 5, cooldown_seconds: 5, max_step: 2 },
  sample_max_age_seconds: 10,
  pending_timeout_seconds: 60,
};

/** One entry of the autoscaler's decision history (its `/status`). */
export interface ScaleDecision {
  readonly at: string;
  readonly action: string;
  readonly reason: string;
  readonly detail: string;
  readonly current: number;
  readonly desired: number;
  readonly remove: readonly string[];
  readonly result?: string;
}

/** What the report shows of Prometheus and the autoscaler. */
export interface MonitoringSummary {
  /** Per Prometheus job: targets up / discovered, at the end of the run. */
  readonly prometheus_targets: Record<string, { up: number; total: number }>;
  readonly autoscaler_evaluations: number;
  /** Grow and shrink decisions (holds left out), oldest first. */
  readonly autoscaler_actions: ScaleDecision[];
  /** The fleet size the autoscaler saw last. */
  readonly fleet_at_end: number | null;
  /** Proxies with a fresh sample from Prometheus in its last evaluation. */
  readonly sampled_at_end: number | null;
}

/** Running Prometheus + autoscaler. */
export interface Monitoring {
  readonly prometheus: string;
  readonly autoscaler: { process: RoleProcess; admin: string };
  /** Autoscaler `/status` (null when it does not answer). */
  status(): Promise<AutoscalerStatus | null>;
  summary(): Promise<MonitoringSummary>;
}

/** The parts of the autoscaler's `/status` the game day reads. */
export interface AutoscalerStatus {
  autoscaler: {
    evaluations: number;
    last: {
      action: string;
      reason: string;
      current: number;
      desired: number;
      sampled: number;
    } | null;
    history: ScaleDecision[];
  } | null;
}

/** Starts Prometheus and the autoscaler in `netns` (the core namespace). */
export async function startMonitoring(o: {
  readonly netns: string;
  readonly coreIp: string;
  readonly zk: string;
  readonly listener: string;
  readonly region: string;
  readonly scaleIps: readonly string[];
  readonly proxyPort: number;
  readonly stateDir: string;
  readonly env: Record<string, string>;
}): Promise<Monitoring> {
  const targets = `${o.stateDir}/prometheus/targets`;
  const prometheus = `http://${o.coreIp}:9095`;
  const started = await run([
    ...["ip", "netns", "exec", o.netns, "bash", `${REPO}/deploy/prometheus/prometheus.sh`],
    ...["start", "--listen", `${o.coreIp}:9095`, "--scrape-interval", "1s"],
    ...["--targets-dir", targets, "--retention", "1h"],
  ], { env: o.env, allowFail: true });
  if (started.code !== 0) throw new Error(`prometheus.sh start: ${started.stderr}`);

  for (const ip of o.scaleIps) {
    await run(["ip", "-n", o.netns, "addr", "replace", `${ip}/32`, "dev", "eth0"]);
  }
  const policy = `${o.stateDir}/scale-policy.json`;
  await Deno.writeTextFile(policy, JSON.stringify(SCALE_POLICY, null, 2));
  const admin = `${o.coreIp}:9490`;
  const { command, args } = roleCommand("deno", "autoscaler", [
    ...["--zk", o.zk, "--group", o.listener, "--id", "autoscaler-1", "--policy", policy],
    ...["--prometheus", prometheus, "--interval-seconds", "1", "--window-seconds", "5"],
    ...["--provider", "local", "--local-listener", "--local-runtime", "bun"],
    ...["--local-listen", o.scaleIps.map((ip) => `${ip}:${o.proxyPort}`).join(",")],
    ...["--local-region", o.region, "--local-id-prefix", "scaled"],
    ...["--local-deregister-seconds", "4", "--local-drain-seconds", "5"],
    "--local-extra=--log-level warn --zk-session-timeout 4",
    ...["--local-stop-on-exit", "--file-sd-out", targets],
    ...["--admin-listen", admin, "--log-level", "warn"],
  ]);
  const child = spawn("ip", ["netns", "exec", o.netns, command, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: REPO,
    env: { ...Deno.env.toObject(), ...o.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  const process = new RoleProcess("autoscaler", child);
  const status = async (): Promise<AutoscalerStatus | null> => {
    try {
      const r = await fetch(`http://${admin}/status`, { signal: AbortSignal.timeout(3000) });
      return r.ok ? await r.json() as AutoscalerStatus : null;
    } catch {
      return null;
    }
  };
  // Prometheus scrapes every role and the autoscaler evaluates the fleet from its numbers
  await waitUntil(
    "the autoscaler to evaluate the fleet",
    async () => {
      if (!process.running) throw new Error(`autoscaler exited:\n${process.log.slice(-2000)}`);
      return ((await status())?.autoscaler?.evaluations ?? 0) > 0;
    },
    90_000,
    500,
  );
  const summary = async (): Promise<MonitoringSummary> => {
    const jobs: Record<string, { up: number; total: number }> = {};
    try {
      const r = await fetch(`${prometheus}/api/v1/targets?state=active`, {
        signal: AbortSignal.timeout(5000),
      });
      const body = await r.json() as {
        data: { activeTargets: { labels: { job: string }; health: string }[] };
      };
      for (const t of body.data.activeTargets) {
        const j = jobs[t.labels.job] ??= { up: 0, total: 0 };
        j.total++;
        if (t.health === "up") j.up++;
      }
    } catch {
      // no answer: the report shows no targets
    }
    const s = (await status())?.autoscaler ?? null;
    return {
      prometheus_targets: jobs,
      autoscaler_evaluations: s?.evaluations ?? 0,
      autoscaler_actions: (s?.history ?? []).filter((h) => h.action !== "hold")
        .sort((a, b) => a.at.localeCompare(b.at)),
      fleet_at_end: s?.last?.current ?? null,
      sampled_at_end: s?.last?.sampled ?? null,
    };
  };
  return { prometheus, autoscaler: { process, admin: `http://${admin}` }, status, summary };
}
