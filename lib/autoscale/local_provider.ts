/**
 * The local provider: grows the fleet by starting proxy processes on this machine and shrinks it
 * by sending SIGTERM to ones it started (the proxy's own `--deregister-seconds` then makes it
 * leave ZooKeeper, and so DNS, first, wait out the TTL, drain and exit 0).
 *
 * Each proxy takes a free *slot*: a listen address (`--local-listen`, e.g. one 127.0.0.x per
 * proxy so DNS A records tell them apart, all on one port) with its admin listener on the same
 * host at `port + admin offset`. A slot is busy until its proxy has exited (a draining proxy
 * still holds its port). Ids are `<prefix>-<slot number>`.
 *
 * The proxies run detached, in their own session, logging to `<log dir>/<id>.log`: they outlive
 * the autoscaler (a restart of the autoscaler does not take capacity away). A state file lists
 * them (id, slot, pid); a restarted autoscaler adopts those still running (checked by pid and
 * command line, never by name), so it can remove them later. With `stopOnExit` it stops them all
 * when it stops (demos and tests).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import type { Logger } from "../log.ts";
import { roleCommand, type Runtime } from "../runtime/role_command.ts";
import type { FleetMember } from "./fleet.ts";
import type { Provider, ScaleRequest } from "./provider.ts";

/** Where one proxy listens. */
export interface Slot {
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
}

/**
 * Parses `--local-listen`: comma-separated `HOST:PORT` or `HOST:PORT-PORT` (a range), IPv6 in
 * brackets; each admin port is the port plus `adminOffset`.
 *
 * @example
 * ```ts
 * import { parseSlots } from "./local_provider.ts";
 * console.log(parseSlots("127.0.0.61:8080,127.0.0.1:9001-9002", 1000).map((s) => s.adminPort));
 * // [9080, 10001, 10002]
 * ```
 */
export function parseSlots(text: string, adminOffset: number): Slot[] {
  const out: Slot[] = [];
  const seen = new Set<string>();
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\s]+):(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not HOST:PORT or HOST:PORT-PORT`);
    const from = Number(m[2]);
    const to = m[3] === undefined ? from : Number(m[3]);
    if (to < from || to - from > 1000) throw new Error(`"${part}": bad port range`);
    for (let port = from; port <= to; port++) {
      const adminPort = port + adminOffset;
      if (port < 1 || port > 65535 || adminPort < 1 || adminPort > 65535 || adminOffset === 0) {
        throw new Error(`"${part}": ports must be 1-65535 and differ from the admin ports`);
      }
      const key = `${m[1]}:${port}`;
      if (seen.has(key)) throw new Error(`"${key}" given twice`);
      seen.add(key);
      out.push({ host: m[1]!, port, adminPort });
    }
  }
  if (out.length === 0) throw new Error("no listen address");
  return out;
}

/** Options of {@link LocalProvider}. */
export interface LocalProviderOptions {
  readonly group: string;
  /**
   * The "group" is a listener (`/lb-routes/<name>`, proxies started with `--listener`): listener
   * proxies register under the same `/switchyard/proxies/<name>/` the autoscaler reads.
   */
  readonly listener?: boolean;
  /** The proxies' `--zk` (connection string, chroot included). */
  readonly zk: string;
  readonly runtime: Runtime;
  readonly slots: readonly Slot[];
  /** Ids are `<idPrefix>-<slot number>`. */
  readonly idPrefix: string;
  readonly region: string | null;
  /** The proxies' `--deregister-seconds` (set it to the DNS TTL). */
  readonly deregisterSeconds: number;
  /** The proxies' `--drain-seconds`. */
  readonly drainSeconds: number;
  /** More proxy flags (e.g. `--zk-auth-file F`, `--no-health-checks`). */
  readonly extraArgs: readonly string[];
  /** Where `<id>.log` files go. */
  readonly logDir: string;
  /** The state file (null: none, no adoption). */
  readonly stateFile: string | null;
  /** Stop every proxy it runs when it stops. */
  readonly stopOnExit: boolean;
  readonly log: Logger;
  /** Extra environment of the proxies. */
  readonly env?: Record<string, string>;
  /** Run this script instead of `roles/proxy.ts` (e.g. the bundle `dist/proxy.js`). */
  readonly script?: string;
}

interface Tracked {
  readonly id: string;
  readonly slot: number;
  readonly pid: number;
  readonly startedAt: string;
  readonly child: ChildProcess | null;
  state: "running" | "draining";
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie (exited, not yet reaped) is not alive
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** True when `pid` runs a proxy with this id (guards against a recycled pid). */
function runsProxy(pid: number, id: string): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const i = argv.indexOf("--id");
    return argv.some((a) => a.endsWith("proxy.ts") || a.endsWith("proxy.js")) && argv[i + 1] === id;
  } catch {
    return false;
  }
}

/** Starts and stops proxy processes on this machine. */
export class LocalProvider implements Provider {
  readonly kind = "local";
  readonly #o: LocalProviderOptions;
  readonly #tracked = new Map<string, Tracked>();
  #started = 0;
  #stoppedCount = 0;
  #exits: { id: string; code: number | null; signal: string | null; at: string }[] = [];

  constructor(options: LocalProviderOptions) {
    this.#o = options;
    fs.mkdirSync(options.logDir, { recursive: true });
    this.#adopt();
  }

  /** Only the proxies it started (and that are not already stopping). */
  removable(member: FleetMember): boolean {
    this.#reap();
    const t = this.#tracked.get(member.id);
    return t !== undefined && t.state === "running";
  }

  apply(request: ScaleRequest): Promise<void> {
    try {
      this.#apply(request);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #apply(request: ScaleRequest): void {
    this.#reap();
    if (request.decision.action === "grow") {
      let started = 0;
      for (let k = 0; k < request.add; k++) {
        const slot = this.#freeSlot();
        if (slot === null) break;
        this.#start(slot);
        started++;
      }
      this.#save();
      if (started < request.add) {
        throw new Error(
          `started ${started} of ${request.add}: no free slot (${this.#o.slots.length} in --local-listen)`,
        );
      }
      return;
    }
    const missing: string[] = [];
    for (const m of request.remove) {
      const t = this.#tracked.get(m.id);
      if (t === undefined || t.state !== "running") {
        missing.push(m.id);
        continue;
      }
      t.state = "draining";
      this.#stoppedCount++;
      this.#o.log.info("stopping proxy", { id: t.id, pid: t.pid });
      try {
        process.kill(t.pid, "SIGTERM");
      } catch (e) {
        this.#o.log.warn("cannot signal proxy", { id: t.id, pid: t.pid, error: String(e) });
      }
    }
    if (missing.length > 0) throw new Error(`not started by this provider: ${missing.join(", ")}`);
  }

  status(): Record<string, unknown> {
    this.#reap();
    return {
      kind: this.kind,
      runtime: this.#o.runtime,
      slots: this.#o.slots.length,
      instances: [...this.#tracked.values()].map((t) => ({
        id: t.id,
        pid: t.pid,
        state: t.state,
        listen: `${this.#o.slots[t.slot]!.host}:${this.#o.slots[t.slot]!.port}`,
        admin: `${this.#o.slots[t.slot]!.host}:${this.#o.slots[t.slot]!.adminPort}`,
        started_at: t.startedAt,
        adopted: t.child === null,
      })),
      started: this.#started,
      stopped: this.#stoppedCount,
      recent_exits: this.#exits.slice(-10),
    };
  }

  /** The pids of the proxies it runs now (tests). */
  pids(): number[] {
    this.#reap();
    return [...this.#tracked.values()].map((t) => t.pid);
  }

  async stop(): Promise<void> {
    if (!this.#o.stopOnExit) return;
    const all = [...this.#tracked.values()];
    for (const t of all) {
      try {
        process.kill(t.pid, "SIGTERM");
      } catch { /* gone */ }
    }
    const deadline = Date.now() +
      (this.#o.deregisterSeconds + this.#o.drainSeconds + 5) * 1000;
    while (Date.now() < deadline && all.some((t) => alive(t.pid))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const t of all) {
      if (alive(t.pid)) {
        try {
          process.kill(t.pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
    this.#tracked.clear();
    this.#save();
  }

  #freeSlot(): number | null {
    const busy = new Set([...this.#tracked.values()].map((t) => t.slot));
    for (let i = 0; i < this.#o.slots.length; i++) if (!busy.has(i)) return i;
    return null;
  }

  #start(slotIndex: number): void {
    const slot = this.#o.slots[slotIndex]!;
    const id = `${this.#o.idPrefix}-${slotIndex + 1}`;
    const flags = [
      "--zk",
      this.#o.zk,
      this.#o.listener === true ? "--listener" : "--group",
      this.#o.group,
      "--id",
      id,
      "--listen",
      `${slot.host}:${slot.port}`,
      "--admin-listen",
      `${slot.host}:${slot.adminPort}`,
      "--deregister-seconds",
      String(this.#o.deregisterSeconds),
      "--drain-seconds",
      String(this.#o.drainSeconds),
      ...(this.#o.region !== null ? ["--region", this.#o.region] : []),
      ...this.#o.extraArgs,
    ];
    const { command, args } = roleCommand(this.#o.runtime, "proxy", flags, this.#o.script);
    const logFile = path.join(this.#o.logDir, `${id}.log`);
    const fd = fs.openSync(logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        detached: true,
        stdio: ["ignore", fd, fd],
        env: { ...process.env, ...this.#o.env },
      });
    } finally {
      fs.closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    const tracked: Tracked = {
      id,
      slot: slotIndex,
      pid: child.pid,
      startedAt: new Date().toISOString(),
      child,
      state: "running",
    };
    this.#tracked.set(id, tracked);
    this.#started++;
    child.unref();
    child.on("exit", (code, signal) => {
      if (this.#tracked.get(id) === tracked) this.#tracked.delete(id);
      this.#exits.push({ id, code, signal, at: new Date().toISOString() });
      if (this.#exits.length > 50) this.#exits.shift();
      const fields = { id, pid: tracked.pid, code, signal, log: logFile };
      if (tracked.state === "draining" && code === 0) this.#o.log.info("proxy exited", fields);
      else this.#o.log.warn("proxy exited", fields);
      this.#save();
    });
    this.#o.log.info("started proxy", {
      id,
      pid: child.pid,
      listen: `${slot.host}:${slot.port}`,
      admin: `${slot.host}:${slot.adminPort}`,
      log: logFile,
    });
  }

  /** Forgets adopted proxies that are gone (children report their exit themselves). */
  #reap(): void {
    let changed = false;
    for (const [id, t] of this.#tracked) {
      if (t.child === null && !alive(t.pid)) {
        this.#tracked.delete(id);
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  #save(): void {
    const file = this.#o.stateFile;
    if (file === null) return;
    const data = [...this.#tracked.values()].map((t) => ({
      id: t.id,
      slot: t.slot,
      pid: t.pid,
      started_at: t.startedAt,
      state: t.state,
    }));
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(data, null, 2) + "\n");
      fs.renameSync(`${file}.tmp`, file);
    } catch (e) {
      this.#o.log.warn("cannot write the state file", { file, error: String(e) });
    }
  }

  #adopt(): void {
    const file = this.#o.stateFile;
    if (file === null || !fs.existsSync(file)) return;
    let entries: {
      id?: unknown;
      slot?: unknown;
      pid?: unknown;
      started_at?: unknown;
      state?: unknown;
    }[];
    try {
      entries = JSON.parse(fs.readFileSync(file, "utf8"));
      if (!Array.isArray(entries)) throw new Error("not a list");
    } catch (e) {
      this.#o.log.warn("ignoring an unreadable state file", { file, error: String(e) });
      return;
    }
    for (const e of entries) {
      const { id, slot, pid } = e;
      if (typeof id !== "string" || typeof pid !== "number" || typeof slot !== "number") continue;
      const expected = `${this.#o.idPrefix}-${slot + 1}`;
      if (id !== expected || slot >= this.#o.slots.length) continue;
      if (!alive(pid) || !runsProxy(pid, id)) continue;
      this.#tracked.set(id, {
        id,
        slot,
        pid,
        startedAt: typeof e.started_at === "string" ? e.started_at : new Date().toISOString(),
        child: null,
        state: e.state === "draining" ? "draining" : "running",
      });
      this.#o.log.info("adopted a running proxy", { id, pid });
    }
    this.#save();
  }
}
