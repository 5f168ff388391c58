import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { silentLogger } from "../log.ts";
import type { Decision } from "./decide.ts";
import type { FleetMember } from "./fleet.ts";
import { parseMember } from "./fleet.ts";
import { LocalProvider, parseSlots } from "./local_provider.ts";
import { CommandProvider, type ScaleRequest } from "./provider.ts";

const member = (id: string, pid: number | null = null): FleetMember => ({
  group: "g",
  id,
  address: `10.0.0.1:80`,
  admin: `10.0.0.1:9090`,
  region: "us",
  pid,
  runtime: "bun 1.4.4",
  startedAt: "2025-01-01T00:00:00.000Z",
  load: null,
});

function decision(patch: Partial<Decision>): Decision {
  return {
    at: Date.UTC(2025, 0, 1),
    action: "grow",
    reason: "scale_out",
    detail: "why",
    current: 1,
    desired: 3,
    utilization: 1.5,
    sampled: 1,
    remove: [],
    loads: [],
    ...patch,
  };
}

function script(body: string): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-cmd-"));
  const file = path.join(dir, "scale.sh");
  fs.writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  return { file, dir };
}

Deno.test("CommandProvider runs the script with args, JSON on stdin and the environment", async () => {
  const { file, dir } = script(
    `cat > "$(dirname "$0")/stdin.json"\n` +
      `echo "$@" > "$(dirname "$0")/args"\n` +
      `env | grep ^SWITCHYARD_SCALE_ | sort > "$(dirname "$0")/env"\n` +
      `echo accepted`,
  );
  try {
    const p = new CommandProvider({ command: file, timeoutMs: 10_000, log: silentLogger });
    assert.equal(p.removable(member("x")), true);
    const request: ScaleRequest = {
      group: "lb-1",
      decision: decision({
        action: "shrink",
        reason: "scale_in",
        current: 3,
        desired: 2,
        remove: ["b"],
      }),
      fleet: [member("a"), member("b", 42)],
      add: 0,
      remove: [member("b", 42)],
    };
    await p.apply(request);
    const input = JSON.parse(fs.readFileSync(path.join(dir, "stdin.json"), "utf8"));
    assert.equal(input.action, "shrink");
    assert.equal(input.group, "lb-1");
    assert.equal(input.from, 3);
    assert.equal(input.to, 2);
    assert.equal(input.count, 1);
    assert.equal(input.reason, "scale_in");
    assert.equal(input.at, "2025-01-01T00:00:00.000Z");
    assert.deepEqual(input.remove, [{
      id: "b",
      address: "10.0.0.1:80",
      admin: "10.0.0.1:9090",
      pid: 42,
      region: "us",
      runtime: "bun 1.4.4",
      started_at: "2025-01-01T00:00:00.000Z",
    }]);
    assert.equal(input.fleet.length, 2);
    assert.equal(fs.readFileSync(path.join(dir, "args"), "utf8"), "shrink lb-1 3 2\n");
    assert.equal(
      fs.readFileSync(path.join(dir, "env"), "utf8"),
      [
        "SWITCHYARD_SCALE_ACTION=shrink",
        "SWITCHYARD_SCALE_COUNT=1",
        "SWITCHYARD_SCALE_FROM=3",
        "SWITCHYARD_SCALE_GROUP=lb-1",
        "SWITCHYARD_SCALE_REMOVE=b",
        "SWITCHYARD_SCALE_TO=2",
        "",
      ].join("\n"),
    );
    const status = p.status() as { runs: number; failures: number; last: { output: string } };
    assert.equal(status.runs, 1);
    assert.equal(status.failures, 0);
    assert.match(status.last.output, /accepted/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("CommandProvider: a non-zero exit, a timeout or a missing script fail the action", async () => {
  const { file, dir } = script(`echo "quota exceeded" >&2\nexit 3`);
  const slow = script(`sleep 10`);
  try {
    const request: ScaleRequest = {
      group: "g",
      decision: decision({}),
      fleet: [member("a")],
      add: 2,
      remove: [],
    };
    const p = new CommandProvider({ command: file, timeoutMs: 10_000, log: silentLogger });
    await assert.rejects(p.apply(request), /exited with 3: quota exceeded/);
    const t0 = Date.now();
    const q = new CommandProvider({ command: slow.file, timeoutMs: 200, log: silentLogger });
    await assert.rejects(q.apply(request), /timed out after 200 ms/);
    assert.ok(Date.now() - t0 < 5000);
    const r = new CommandProvider({
      command: path.join(dir, "missing"),
      timeoutMs: 1000,
      log: silentLogger,
    });
    await assert.rejects(r.apply(request), /exited with null/);
    assert.equal((p.status() as { failures: number }).failures, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(slow.dir, { recursive: true, force: true });
  }
});

Deno.test("parseSlots() expands ranges and puts admin ports at the offset", () => {
  assert.deepEqual(parseSlots("127.0.0.61:18080, 127.0.0.62:18080", 1000), [
    { host: "127.0.0.61", port: 18080, adminPort: 19080 },
    { host: "127.0.0.62", port: 18080, adminPort: 19080 },
  ]);
  assert.deepEqual(
    parseSlots("[::1]:8001-8002", 100).map((s) => `${s.host}:${s.port}/${s.adminPort}`),
    [
      "[::1]:8001/8101",
      "[::1]:8002/8102",
    ],
  );
  assert.throws(() => parseSlots("", 1000), /no listen address/);
  assert.throws(() => parseSlots("host", 1000), /not HOST:PORT/);
  assert.throws(() => parseSlots("h:2-1", 1000), /bad port range/);
  assert.throws(() => parseSlots("h:65000", 1000), /1-65535/);
  assert.throws(() => parseSlots("h:1,h:1", 1000), /given twice/);
  assert.throws(() => parseSlots("h:1", 0), /differ/);
});

Deno.test("LocalProvider only removes what it started, and adopts nothing unknown", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-local-"));
  try {
    const stateFile = path.join(dir, "instances.json");
    // a state file naming a dead pid and a live process that is not a proxy
    fs.writeFileSync(
      stateFile,
      JSON.stringify([
        { id: "auto-1", slot: 0, pid: 2 ** 22 + 12345, started_at: "x" },
        { id: "auto-2", slot: 1, pid: Deno.pid, started_at: "x" },
      ]),
    );
    const p = new LocalProvider({
      group: "g",
      zk: "127.0.0.1:1/none",
      runtime: "bun",
      slots: parseSlots("127.0.0.1:1-2", 1000),
      idPrefix: "auto",
      region: null,
      deregisterSeconds: 0,
      drainSeconds: 1,
      extraArgs: [],
      logDir: dir,
      stateFile,
      stopOnExit: true,
      log: silentLogger,
    });
    assert.deepEqual(p.pids(), []);
    assert.deepEqual(JSON.parse(fs.readFileSync(stateFile, "utf8")), []);
    assert.equal(p.removable(member("auto-1")), false);
    await assert.rejects(
      p.apply({
        group: "g",
        decision: decision({ action: "shrink", remove: ["x"] }),
        fleet: [],
        add: 0,
        remove: [member("x")],
      }),
      /not started by this provider: x/,
    );
    await p.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("parseMember() reads a proxy registration", () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.deepEqual(
    parseMember(
      "g",
      "p1",
      enc({
        id: "p1",
        group: "g",
        address: "127.0.0.61:18080",
        admin: "127.0.0.61:19080",
        region: "us",
        runtime: "bun 1.4.4",
        pid: 7,
        config_version: "3",
        started_at: "t",
        load: { connections: 2, inflight: 0, cpu_percent: 1.5, bad: "x" },
      }),
    ),
    {
      group: "g",
      id: "p1",
      address: "127.0.0.61:18080",
      admin: "127.0.0.61:19080",
      region: "us",
      pid: 7,
      runtime: "bun 1.4.4",
      startedAt: "t",
      load: { connections: 2, inflight: 0, cpu_percent: 1.5 },
    },
  );
  assert.equal(parseMember("g", "p", enc({ admin: "x:1" })), null);
  assert.equal(parseMember("g", "p", new TextEncoder().encode("{")), null);
  assert.equal(parseMember("g", "p", enc({ address: "a:1" }))?.admin, null);
});
