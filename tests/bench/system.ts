/**
 * Benchmark support: the tools the benchmark needs (installed from Debian
 * packages when missing), and what a result must record about where it was
 * measured: machine, versions, date, and how busy the machine was.
 *
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { REPO_ROOT, runtimeBinary } from "../../lib/runtime/role_command.ts";
import { coreBusy, coreTimes, machineProcessSeconds } from "./procs.ts";

/** Binaries the benchmark runs, and the Debian package of each (first available wins). */
const TOOLS: readonly { bin: string; packages: readonly string[] }[] = [
  { bin: "nginx", packages: ["nginx-light", "nginx"] },
  { bin: "haproxy", packages: ["haproxy"] },
  { bin: "wrk", packages: ["wrk"] },
  { bin: "curl", packages: ["curl"] },
  // the TLS part: HTTP/2 load, and new handshakes (s_time) and the certificate
  { bin: "h2load", packages: ["nghttp2-client"] },
  { bin: "openssl", packages: ["openssl"] },
  { bin: "taskset", packages: ["util-linux"] },
];

/** Full path of a binary on PATH (plus the sbin directories), or null. */
export function which(bin: string): string | null {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/sbin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${bin}`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

/**
 * Installs the Debian package of every missing tool (`apt-get install -y`,
 * only when the binary is absent; needs root). Returns what it installed.
 */
export function ensureTools(log: (line: string) => void): string[] {
  const missing = TOOLS.filter((t) => which(t.bin) === null);
  if (missing.length === 0) return [];
  if (which("apt-get") === null) {
    throw new Error(`missing ${missing.map((t) => t.bin).join(", ")} and no apt-get to install`);
  }
  const installed: string[] = [];
  let updated = false;
  for (const tool of missing) {
    let ok = false;
    for (const pkg of tool.packages) {
      for (let attempt = 0; attempt < 2 && !ok; attempt++) {
        if (attempt === 1) {
          if (updated) break;
          log("apt-get update");
          spawnSync("apt-get", ["update"], { stdio: "inherit" });
          updated = true;
        }
        log(`installing ${pkg} (for ${tool.bin})`);
        const r = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", pkg], {
          stdio: "inherit",
          env: { ...Deno.env.toObject(), DEBIAN_FRONTEND: "noninteractive" },
        });
        ok = r.status === 0 && which(tool.bin) !== null;
      }
      if (ok) {
        installed.push(pkg);
        break;
      }
    }
    if (!ok) throw new Error(`could not install ${tool.bin} (tried ${tool.packages.join(", ")})`);
  }
  // The nginx package starts a system nginx on :80; the benchmark runs its own instances.
  return installed;
}

function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
}

/** Where a measurement was taken. */
export interface MachineInfo {
  readonly cpu_model: string;
  readonly cpus: number;
  readonly kernel: string;
  readonly os: string;
  readonly memory_gib: number;
  readonly virtualization: string | null;
  readonly hostname: string;
}

/** Machine facts from /proc and os. */
export function machineInfo(): MachineInfo {
  let model = "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    if (m) model = m[1]!.trim();
  } catch { /* not Linux */ }
  let osName = os.type();
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(fs.readFileSync("/etc/os-release", "utf8"));
    if (m) osName = m[1]!;
  } catch { /* keep */ }
  // a VM (what matters for timing) and, separately, a container around the processes
  const detect = (flag: string) => {
    const v = run("systemd-detect-virt", [flag]);
    return v && !v.includes("not found") && !v.includes("No such") && v !== "none" ? v : null;
  };
  let vm = detect("--vm");
  if (vm === null) {
    const hv = /Hypervisor vendor:\s*(.+)/.exec(run("lscpu", []));
    if (hv) vm = hv[1]!.trim();
  }
  const container = detect("--container");
  const virt = vm === null
    ? (container === null ? null : `${container} container`)
    : `${vm.toUpperCase() === "KVM" ? "KVM" : vm} virtual machine${
      container === null ? "" : `, in a ${container} container`
    }`;
  return {
    cpu_model: model,
    cpus: os.cpus().length,
    kernel: `${os.type()} ${os.release()}`,
    os: osName,
    memory_gib: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    virtualization: virt,
    hostname: os.hostname(),
  };
}

/** Versions of everything measured or measuring. */
export function versions(): Record<string, string> {
  const first = (s: string) => s.split("\n")[0]!.trim();
  const git = (...a: string[]) => {
    try {
      return execFileSync("git", ["-C", REPO_ROOT, ...a], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      return "";
    }
  };
  const commit = git("rev-parse", "--short", "HEAD");
  const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
  const version = (text: string, re: RegExp) => re.exec(text)?.[1] ?? first(text);
  return {
    nginx: version(run("nginx", ["-v"]), /nginx\/(\S+)/),
    haproxy: version(run("haproxy", ["-v"]), /HAProxy version (\S+)/),
    wrk: version(run("wrk", ["-v"]), /wrk (?:debian\/)?(\S+)/),
    h2load: version(run("h2load", ["--version"]), /nghttp2\/(\S+)/),
    openssl: version(run("openssl", ["version"]), /OpenSSL (\S+)/),
    deno: version(run(runtimeBinary("deno"), ["--version"]), /deno (\S+)/),
    bun: first(run(runtimeBinary("bun"), ["--version"])),
    switchyard: commit ? `git ${commit}${dirty ? " (with uncommitted changes)" : ""}` : "unknown",
  };
}

/** How busy the machine was over a sampling window. */
export interface LoadSample {
  readonly loadavg: readonly number[];
  /** Busy share of each core (0-1). */
  readonly core_busy: readonly number[];
  /** CPU used by processes other than this one, in cores (1.0 = one full core). */
  readonly others_cores: number;
  /** The busiest other processes: `pid command` and their share of a core. */
  readonly top: readonly { readonly process: string; readonly cores: number }[];
}

/** CPU ticks (user + system) and name of every process, from `/proc/<pid>/stat`. */
export function processTicks(): Map<number, { ticks: number; name: string }> {
  const out = new Map<number, { ticks: number; name: string }>();
  for (const e of fs.readdirSync("/proc")) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    try {
      const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const open = text.indexOf("(");
      const close = text.lastIndexOf(")");
      const f = text.slice(close + 2).split(" ");
      out.set(pid, {
        ticks: Number(f[11]) + Number(f[12]),
        name: text.slice(open + 1, close),
      });
    } catch { /* exited */ }
  }
  return out;
}

/** Samples the machine's load for `ms` (excluding this process). */
export async function sampleLoad(ms: number, tps: number): Promise<LoadSample> {
  const before = coreTimes();
  const procsBefore = processTicks();
  const selfBefore = selfTicks();
  await new Promise((r) => setTimeout(r, ms));
  const after = coreTimes();
  const procsAfter = processTicks();
  const selfAfter = selfTicks();
  const seconds = ms / 1000;
  const machine = machineProcessSeconds(after) - machineProcessSeconds(before);
  const self = (selfAfter - selfBefore) / tps;
  const top: { process: string; cores: number }[] = [];
  for (const [pid, a] of procsAfter) {
    if (pid === Deno.pid) continue;
    const b = procsBefore.get(pid)?.ticks ?? a.ticks;
    const cores = (a.ticks - b) / tps / seconds;
    if (cores >= 0.02) top.push({ process: `${pid} ${a.name}`, cores: round(cores, 2) });
  }
  top.sort((x, y) => y.cores - x.cores);
  return {
    loadavg: os.loadavg().map((x) => round(x, 2)),
    core_busy: coreBusy(before, after).map((x) => round(x, 3)),
    others_cores: round(Math.max(0, (machine - self) / seconds), 3),
    top: top.slice(0, 5),
  };
}

function selfTicks(): number {
  const text = fs.readFileSync(`/proc/${Deno.pid}/stat`, "utf8");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** Rounds to `digits` decimals. */
export function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
