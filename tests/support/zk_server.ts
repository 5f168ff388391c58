/**
 * Test access to real ZooKeeper nodes through `deploy/zookeeper/zk.sh`.
 *
 * Test files take a lease on the dev node or the ensemble: the first lease starts it (if it is
 * not already running), the last release stops it, but only if tests started it, so a node an
 * engineer started by hand is left alone. Leases are files named after the holding process, so
 * a crashed run's lease is ignored. Set SWITCHYARD_ZK_KEEP=1 to keep nodes running between runs.
 *
 * @module
 */

const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The provisioning script. */
export const ZK_SCRIPT = `${REPO_ROOT}deploy/zookeeper/zk.sh`;

/** Client address of the single dev node. */
export const SINGLE = "127.0.0.1:2181";

/** Client addresses of the three ensemble members, member N at index N-1. */
export const MEMBERS = ["127.0.0.1:2281", "127.0.0.1:2282", "127.0.0.1:2283"] as const;

/** Connection string of the whole ensemble. */
export const ENSEMBLE = MEMBERS.join(",");

/** Which deployment a test needs. */
export type ZkKind = "single" | "ensemble";

/** Result of one script run. */
export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function stateRoot(): string {
  return `${Deno.env.get("SWITCHYARD_STATE_DIR") ?? `${REPO_ROOT}.state`}/zookeeper`;
}

/**
 * Runs `zk.sh` with arguments.
 *
 * @param args command and arguments
 * @param check throw when the exit code is not 0
 */
export async function zkSh(args: string[], check = true): Promise<ScriptResult> {
  const out = await new Deno.Command("bash", {
    args: [ZK_SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (check && out.code !== 0) {
    throw new Error(`zk.sh ${args.join(" ")} exited ${out.code}\n${result.stderr}${result.stdout}`);
  }
  return result;
}

/** Sends a four-letter word to the single node (`single`) or to member 1-3. */
export async function fourLetter(target: "single" | 1 | 2 | 3, word: string): Promise<string> {
  return (await zkSh(["4lw", String(target), word], false)).stdout;
}

/** The ensemble member (1-3) holding the session, found with `cons`, or undefined. */
export async function memberOfSession(sessionId: string): Promise<1 | 2 | 3 | undefined> {
  const id = sessionId.replace(/^0+/, "");
  for (const n of [1, 2, 3] as const) {
    const cons = await fourLetter(n, "cons");
    if (new RegExp(`sid=0x0*${id}\\b`).test(cons)) return n;
  }
  return undefined;
}

/** The current leader (1-3) of the ensemble, or undefined. */
export async function ensembleLeader(): Promise<1 | 2 | 3 | undefined> {
  for (const n of [1, 2, 3] as const) {
    if (/Mode: leader/.test(await fourLetter(n, "srvr"))) return n;
  }
  return undefined;
}

async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${stateRoot()}/${name}.lock`;
  await Deno.mkdir(stateRoot(), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await Deno.mkdir(lock);
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const age = Date.now() - ((await Deno.stat(lock).catch(() => null))?.mtime?.getTime() ?? 0);
      if (age > 180_000) await Deno.remove(lock).catch(() => {});
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

async function liveLeases(dir: string): Promise<string[]> {
  const live: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("lease-")) continue;
    const pid = entry.name.split("-")[1];
    if (pid !== undefined && (await Deno.stat(`/proc/${pid}`).catch(() => null)) !== null) {
      live.push(entry.name);
    } else {
      await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
  }
  return live;
}

/** A held lease; `release()` is idempotent. */
export interface ZkLease {
  readonly kind: ZkKind;
  readonly connectionString: string;
  release(): Promise<void>;
}

/**
 * Makes sure the dev node or the ensemble runs (starting it through zk.sh, which installs
 * nothing: CI runs `zk.sh install` first) and holds it until `release()`.
 */
export function acquireZk(kind: ZkKind): Promise<ZkLease> {
  const dir = `${stateRoot()}/leases-${kind}`;
  const lease = `lease-${Deno.pid}-${crypto.randomUUID()}`;
  return withLock(kind, async () => {
    await Deno.mkdir(dir, { recursive: true });
    await liveLeases(dir);
    const status = await zkSh(["status", kind], false);
    if (status.code !== 0) {
      await zkSh(["start", kind]);
      await Deno.writeTextFile(`${dir}/started-by-tests`, String(Date.now()));
    }
    await Deno.writeTextFile(`${dir}/${lease}`, "");
    let released = false;
    return {
      kind,
      connectionString: kind === "single" ? SINGLE : ENSEMBLE,
      release: async () => {
        if (released) return;
        released = true;
        await withLock(kind, async () => {
          await Deno.remove(`${dir}/${lease}`).catch(() => {});
          if ((await liveLeases(dir)).length > 0) return;
          const marker = `${dir}/started-by-tests`;
          if ((await Deno.stat(marker).catch(() => null)) === null) return;
          if (Deno.env.get("SWITCHYARD_ZK_KEEP") === "1") return;
          await zkSh(["stop", kind]);
          await Deno.remove(marker).catch(() => {});
        });
      },
    };
  });
}

/** Polls `predicate` every 25ms until it holds or `timeoutMs` passes. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
