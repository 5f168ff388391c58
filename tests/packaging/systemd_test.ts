/**
 * The systemd units in deploy/systemd/ pass `systemd-analyze verify` and
 * carry the sandbox, restart and stop settings the operator's guide promises.
 *
 * `verify` requires each ExecStart binary to exist: the test copies the units
 * into a temporary directory with `/usr/local/bin/switchyard` replaced by a
 * stub script it creates there, and verifies instances of the templates
 * (`switchyard-proxy@g1.service`). systemd-analyze is at /usr/bin (installed
 * with systemd; provisioned like the other tools the tests use).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import { ROLE_NAMES } from "../../roles/registry.ts";
import { tempDir } from "../support/processes.ts";

const UNITS = path.join(REPO_ROOT, "deploy", "systemd");
const INSTALLED = "/usr/local/bin/switchyard";

function unitFiles(): string[] {
  return fs.readdirSync(UNITS).filter((f) => f.endsWith(".service")).sort();
}

/** Copies the units with the stub binary; returns the unit paths to verify. */
function stage(dir: string, extra: Record<string, string> = {}): string[] {
  const stub = path.join(dir, "bin", "switchyard");
  fs.mkdirSync(path.dirname(stub), { recursive: true });
  fs.writeFileSync(stub, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const out: string[] = [];
  for (const f of unitFiles()) {
    const text = fs.readFileSync(path.join(UNITS, f), "utf8").replaceAll(INSTALLED, stub);
    const name = f.replace("@.service", "@g1.service");
    fs.writeFileSync(path.join(dir, name), text);
    out.push(path.join(dir, name));
  }
  for (const [name, text] of Object.entries(extra)) {
    fs.writeFileSync(path.join(dir, name), text.replaceAll(INSTALLED, stub));
    out.push(path.join(dir, name));
  }
  return out;
}

function verify(units: string[]) {
  return spawnSync("systemd-analyze", ["verify", "--man=no", ...units], {
    encoding: "utf8",
    timeout: 60_000,
    cwd: path.dirname(units[0]!),
  });
}

Deno.test("systemd-analyze verify passes every unit without a warning (and flags a bad one)", () => {
  const dir = tempDir("systemd");
  try {
    const ok = verify(stage(dir));
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr.trim(), "", ok.stderr);
    // positive control: the same check does see a mistake
    const bad = verify(stage(dir, {
      "switchyard-bad.service": `[Service]\nExecStart=${INSTALLED} proxy\nKillModee=mixed\n`,
    }));
    assert.match(bad.stderr, /Unknown key 'KillModee'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** `Key=value` lines of a unit (the last value of a key wins, continuation lines joined). */
function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.replaceAll("\\\n", " ").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

Deno.test("every unit runs a role of the executable, sandboxed, restarted on failure", () => {
  const roles = new Set<string>();
  for (const f of unitFiles()) {
    const s = settings(fs.readFileSync(path.join(UNITS, f), "utf8"));
    const one = (k: string) => s.get(k)?.at(-1);
    const exec = one("ExecStart")!;
    const role = exec.split(/\s+/)[1]!;
    assert.ok(exec.startsWith(`${INSTALLED} `), `${f}: ${exec}`);
    assert.ok(ROLE_NAMES.includes(role), `${f}: unknown role ${role}`);
    roles.add(role);
    assert.equal(one("DynamicUser"), "yes", f);
    assert.equal(one("ProtectSystem"), "strict", f);
    assert.equal(one("NoNewPrivileges"), "yes", f);
    assert.equal(one("Restart"), "on-failure", f);
    assert.equal(one("KillMode"), "mixed", f);
    assert.match(one("MemoryMax") ?? "", /^[0-9]+[KMG]$/, f);
    assert.ok(s.get("EnvironmentFile")?.some((e) => e.startsWith("/etc/switchyard/")), f);
    assert.equal(
      one("CapabilityBoundingSet"),
      role === "proxy" ? "CAP_NET_BIND_SERVICE" : "",
      `${f}: only the proxy may bind low ports`,
    );
    // stop: the main process gets SIGTERM, and systemd waits longer than the role's own stop
    const flag = (name: string) => Number(new RegExp(`--${name} ([0-9]+)`).exec(exec)?.[1] ?? 0);
    const stopSeconds = flag("deregister-seconds") + flag("drain-seconds");
    assert.ok(Number(one("TimeoutStopSec")) >= stopSeconds + 10, `${f}: TimeoutStopSec`);
  }
  assert.deepEqual(
    [...roles].sort(),
    ["admin", "autoscaler", "dns", "orchestrator", "proxy"],
    "a unit per service role (ctl is a command, backend a sample)",
  );
});

/** The signals the code (lib/, roles/; not tests) installs a handler for: `process.on("SIG...")`. */
function handledSignals(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const text = fs.readFileSync(p, "utf8");
        for (const m of text.matchAll(/\.(?:on|once|addSignalListener)\(\s*"(SIG[A-Z0-9]+)"/g)) {
          out.add(m[1]!);
        }
      }
    }
  };
  walk(path.join(REPO_ROOT, "lib"));
  walk(path.join(REPO_ROOT, "roles"));
  return out;
}

Deno.test("a unit has ExecReload exactly when its role has a reload signal (none has: SIGHUP)", () => {
  const signals = handledSignals();
  // positive control: the scan finds the stop signals every role handles
  assert.ok(signals.has("SIGTERM") && signals.has("SIGINT"), [...signals].join(","));
  const reloads = signals.has("SIGHUP");
  for (const f of unitFiles()) {
    const text = fs.readFileSync(path.join(UNITS, f), "utf8");
    const s = settings(text);
    assert.equal(s.has("ExecReload"), reloads, `${f}: ExecReload`);
    // the unit says why there is none (operators look for it)
    if (!reloads) assert.match(text, /^# No ExecReload: /m, f);
  }
});
