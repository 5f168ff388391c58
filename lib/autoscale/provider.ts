/**
 * How the autoscaler acts: a {@link Provider} adds or removes proxy instances. Two ship:
 * `local_provider.ts` (starts and stops proxy processes on this machine) and
 * {@link CommandProvider} (runs an operator's script with the decision, so any cloud API can be
 * plugged in).
 *
 * ## The command contract
 *
 * The script is run as `SCRIPT ACTION GROUP FROM TO` (`ACTION` is `grow` or `shrink`; `FROM` and
 * `TO` the fleet sizes before and after), with the whole request as one JSON document on stdin:
 *
 * ```json
 * {"action": "shrink", "group": "lb-1", "from": 3, "to": 2, "count": 1,
 *  "reason": "scale_in", "detail": "utilization 0.02 (mean of 3) < 0.25 for 4.0 s: 3 -> 2 ...",
 *  "utilization": 0.02, "at": "2025-01-01T00:00:00.000Z",
 *  "remove": [{"id": "lb-7", "address": "10.0.0.7:80", "admin": "10.0.0.7:9090", "pid": 4242,
 *              "region": "us", "runtime": "bun 1.4.4", "started_at": "..."}],
 *  "fleet": [ ...every registered proxy, same shape... ]}
 * ```
 *
 * and the same facts in the environment (`SWITCHYARD_SCALE_ACTION`, `_GROUP`, `_FROM`, `_TO`,
 * `_COUNT`, `_REMOVE` as comma-separated ids). Exit status 0 means the request was accepted;
 * anything else (or running past the timeout, which kills it) is a failure: logged, counted,
 * and the fleet is re-evaluated on the next round (after the cooldown).
 *
 * - **grow**: start `count` proxies of the group (`--zk ... --group GROUP
 *   --deregister-seconds <DNS TTL>`); they count as launching until they register in
 *   ZooKeeper, for at most the policy's `pending_timeout_seconds`.
 * - **shrink**: stop each proxy in `remove` gracefully: send it SIGTERM (or whatever makes the
 *   instance's init system do so); with `--deregister-seconds` it leaves DNS first, waits out
 *   the TTL, drains its in-flight requests and exits. The script should return once the stop is
 *   under way, not wait for it.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import type { Logger } from "../log.ts";
import type { Decision } from "./decide.ts";
import type { FleetMember } from "./fleet.ts";

/** What to do, with its context. */
export interface ScaleRequest {
  readonly group: string;
  readonly decision: Decision;
  /** The registered proxies of the group. */
  readonly fleet: readonly FleetMember[];
  /** Grow: how many to add (0 for shrink). */
  readonly add: number;
  /** Shrink: the members to remove (empty for grow). */
  readonly remove: readonly FleetMember[];
}

/** Adds and removes proxy instances. */
export interface Provider {
  /** `local` or `command`. */
  readonly kind: string;
  /** Whether the autoscaler may choose this registered proxy for removal. */
  removable(member: FleetMember): boolean;
  /**
   * Carries out a grow or shrink; resolves once it is under way.
   *
   * @throws when it could not be done (nothing or only part started)
   */
  apply(request: ScaleRequest): Promise<void>;
  /** Facts for `/status`. */
  status(): Record<string, unknown>;
  /** Releases what it holds (the local provider may also stop its proxies). */
  stop(): Promise<void>;
}

/** The JSON a member becomes in the command's input. */
export function memberJson(m: FleetMember): Record<string, unknown> {
  return {
    id: m.id,
    address: m.address,
    admin: m.admin,
    pid: m.pid,
    region: m.region,
    runtime: m.runtime,
    started_at: m.startedAt,
  };
}

/** The command's stdin document for a request. */
export function commandInput(r: ScaleRequest): Record<string, unknown> {
  const d = r.decision;
  return {
    action: d.action,
    group: r.group,
    from: d.current,
    to: d.desired,
    count: d.action === "grow" ? r.add : r.remove.length,
    reason: d.reason,
    detail: d.detail,
    utilization: d.utilization,
    at: new Date(d.at).toISOString(),
    remove: r.remove.map(memberJson),
    fleet: r.fleet.map(memberJson),
  };
}

/** Options of {@link CommandProvider}. */
export interface CommandProviderOptions {
  /** The executable (a path, or a name on PATH). */
  readonly command: string;
  /** Kill it after this long (ms). */
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Extra environment. */
  readonly env?: Record<string, string>;
}

const OUTPUT_LIMIT = 16_384;

/** Runs the operator's script for every action (see the module doc for the contract). */
export class CommandProvider implements Provider {
  readonly kind = "command";
  readonly #o: CommandProviderOptions;
  #runs = 0;
  #failures = 0;
  #last: Record<string, unknown> | null = null;

  constructor(options: CommandProviderOptions) {
    this.#o = options;
  }

  /** The command may remove any registered proxy of the group. */
  removable(_member: FleetMember): boolean {
    return true;
  }

  async apply(request: ScaleRequest): Promise<void> {
    const input = commandInput(request);
    const args = [String(input.action), request.group, String(input.from), String(input.to)];
    const started = Date.now();
    this.#runs++;
    const result = await runCommand(this.#o.command, args, JSON.stringify(input) + "\n", {
      timeoutMs: this.#o.timeoutMs,
      env: {
        ...this.#o.env,
        SWITCHYARD_SCALE_ACTION: String(input.action),
        SWITCHYARD_SCALE_GROUP: request.group,
        SWITCHYARD_SCALE_FROM: String(input.from),
        SWITCHYARD_SCALE_TO: String(input.to),
        SWITCHYARD_SCALE_COUNT: String(input.count),
        SWITCHYARD_SCALE_REMOVE: request.remove.map((m) => m.id).join(","),
      },
    });
    this.#last = {
      at: new Date(started).toISOString(),
      args,
      code: result.code,
      timed_out: result.timedOut,
      ms: Date.now() - started,
      output: result.output.slice(-2000),
    };
    const fields = { command: this.#o.command, args, code: result.code, ms: Date.now() - started };
    if (result.code === 0 && !result.timedOut) {
      this.#o.log.info("scale command done", { ...fields, output: result.output.slice(-500) });
      return;
    }
    this.#failures++;
    this.#o.log.warn("scale command failed", { ...fields, output: result.output.slice(-2000) });
    throw new Error(
      result.timedOut
        ? `${this.#o.command} timed out after ${this.#o.timeoutMs} ms`
        : `${this.#o.command} exited with ${result.code}: ${result.output.slice(-300)}`,
    );
  }

  status(): Record<string, unknown> {
    return {
      kind: this.kind,
      command: this.#o.command,
      runs: this.#runs,
      failures: this.#failures,
      last: this.#last,
    };
  }

  async stop(): Promise<void> {}
}

/** Runs a command with `input` on stdin; resolves with its exit code and (bounded) output. */
export function runCommand(
  command: string,
  args: readonly string[],
  input: string,
  options: { timeoutMs: number; env?: Record<string, string> },
): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    const append = (d: Uint8Array) => {
      output += new TextDecoder().decode(d);
      if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
    };
    let child;
    try {
      // its own process group, so a timeout kills the script and whatever it started
      child = spawn(command, [...args], {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, ...options.env },
        detached: true,
      });
    } catch (e) {
      resolve({ code: null, output: String(e), timedOut: false });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, options.timeoutMs);
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, output: output + String(e), timedOut });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
    child.stdin?.on("error", () => {}); // a script that ignores stdin may close it early
    child.stdin?.end(input);
  });
}
