/**
 * Test helpers for the DNS discovery layer: run the deploy scripts (etcd, CoreDNS, keepalived),
 * query with dig, and serialize the tests that share fixed ports and the lab.
 *
 * Every `start*` helper returns an async `stop` that undoes only what it did: a service that was
 * already running before the test (a developer's) is left running.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Where the deploy scripts keep state (the same default as deploy/lib/common.sh). */
export const STATE_DIR = Deno.env.get("SWITCHYARD_STATE_DIR") ?? `${REPO}/.state`;

/** The result of a command. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; throws with its output when it fails (unless `allowFail`). */
export async function run(
  cmd: readonly string[],
  options: { allowFail?: boolean; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const [program, ...args] = cmd;
  const output = await new Deno.Command(program as string, {
    args,
    cwd: REPO,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
  if (result.code !== 0 && !options.allowFail) {
    throw new Error(
      `${
        cmd.join(" ")
      } exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
  }
  return result;
}

/** Runs a deploy script (path relative to the repo). */
export function script(path: string, ...args: string[]): Promise<RunResult> {
  return run(["bash", `${REPO}/${path}`, ...args]);
}

/** An async cleanup. */
export type Stop = () => Promise<void>;

/** Runs cleanups in reverse order; every one runs even if an earlier one throws. */
export async function stopAll(stops: Stop[]): Promise<void> {
  const errors: unknown[] = [];
  for (const stop of [...stops].reverse()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  stops.length = 0;
  if (errors.length > 0) throw errors[0];
}

/** etcd profiles of deploy/etcd/etcd.sh. */
export type EtcdProfile = "single" | "cluster" | "lab";

/** Starts etcd (unless it already runs); the returned stop undoes only what this did. */
export async function startEtcd(profile: EtcdProfile): Promise<Stop> {
  const before = await run(["bash", `${REPO}/deploy/etcd/etcd.sh`, "status", profile], {
    allowFail: true,
  });
  await script("deploy/etcd/etcd.sh", "start", profile);
  if (before.code === 0) return async () => {};
  return async () => {
    await script("deploy/etcd/etcd.sh", "stop", profile);
  };
}

/** The client URLs of an etcd profile. */
export async function etcdEndpoints(profile: EtcdProfile): Promise<string[]> {
  return (await script("deploy/etcd/etcd.sh", "endpoints", profile)).stdout.trim().split(",");
}

/**
 * Starts a CoreDNS instance from a Corefile; the stop always stops it. Instance names are per
 * test, so one still running (left by an interrupted run) is stopped first.
 */
export async function startCoreDns(
  name: string,
  corefile: string,
  netns?: string,
): Promise<Stop> {
  await script("deploy/coredns/coredns.sh", "stop", "--name", name);
  const args = ["start", "--name", name, "--corefile", corefile];
  if (netns) args.push("--netns", netns);
  await script("deploy/coredns/coredns.sh", ...args);
  return async () => {
    await script("deploy/coredns/coredns.sh", "stop", "--name", name);
  };
}

/** One answer line of dig. */
export interface DigAnswer {
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  readonly data: string;
}

/** A dig result: the status (NOERROR, NXDOMAIN, ... or TIMEOUT) and the answer section. */
export interface DigResult {
  readonly status: string;
  readonly answers: DigAnswer[];
}

/** Options for {@link dig}. */
export interface DigOptions {
  readonly server: string;
  readonly port?: number;
  readonly name: string;
  readonly type?: string;
  /** Run dig inside this network namespace. */
  readonly netns?: string;
  /** Source address (`dig -b`). */
  readonly source?: string;
}

/** Parses dig's default output (header status + ANSWER SECTION). */
export function parseDig(output: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(output)?.[1] ?? "TIMEOUT";
  const answers: DigAnswer[] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(output)?.[1] ?? "";
  for (const line of section.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || line.startsWith(";")) continue;
    const [name, ttl, , type, ...data] = fields;
    answers.push({
      name: name as string,
      ttl: Number(ttl),
      type: type as string,
      data: data.join(" "),
    });
  }
  return { status, answers };
}

/** Queries with `dig +time=1 +tries=1` (one UDP try, 1 s timeout). */
export async function dig(options: DigOptions): Promise<DigResult> {
  const cmd = [
    "dig",
    "+time=1",
    "+tries=1",
    "+norecurse",
    `@${options.server}`,
    "-p",
    String(options.port ?? 53),
    options.name,
    options.type ?? "A",
  ];
  if (options.source) cmd.push("-b", options.source);
  const full = options.netns ? ["ip", "netns", "exec", options.netns, ...cmd] : cmd;
  const result = await run(full, { allowFail: true });
  return parseDig(result.stdout);
}

/** The sorted data of the answers of one type (A addresses, SRV "prio weight port target"). */
export function answerData(result: DigResult, type = "A"): string[] {
  return result.answers.filter((a) => a.type === type).map((a) => a.data).sort();
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` every `intervalMs` until it returns true or `timeoutMs` passes. Returns the ms
 * from the call to the start of the first successful probe (when the query that saw the new
 * state was sent), or undefined on timeout.
 */
export async function pollUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<number | undefined> {
  const start = performance.now();
  while (performance.now() - start <= timeoutMs) {
    const attempt = performance.now();
    if (await probe()) return attempt - start;
    await sleep(intervalMs);
  }
  return undefined;
}

/**
 * Runs `fn` holding an exclusive lock shared by every DNS integration test, across processes:
 * they share fixed ports (2379, 1053) and the lab, so they must not overlap even under
 * `deno test --parallel`.
 */
export async function withDnsLock<T>(fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(STATE_DIR, { recursive: true });
  const file = await Deno.open(`${STATE_DIR}/dns-tests.lock`, { create: true, write: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}

/** A fresh temporary directory under the state dir (removed by the returned stop). */
export async function tempDir(prefix: string): Promise<{ path: string; stop: Stop }> {
  await Deno.mkdir(`${STATE_DIR}/tmp`, { recursive: true });
  const path = await Deno.makeTempDir({ dir: `${STATE_DIR}/tmp`, prefix });
  return { path, stop: () => Deno.remove(path, { recursive: true }) };
}

/** A random etcd path prefix so each test sees only its own records. */
export function testPrefix(): string {
  return `/swytest-${crypto.randomUUID().slice(0, 8)}`;
}
