/**
 * Every role, under Deno and Bun, whose port is already taken (a `node:net`
 * server in this test holds it) exits 1 at once with
 * `<role>: listen 127.0.0.1:<port>: address already in use` on stderr,
 * instead of hanging or dying with a stack trace. ZooKeeper and etcd are
 * given as addresses where nothing answers: a role must report its port
 * before it waits for them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeBinary } from "../../lib/runtime/role_command.ts";
import { freePort, type RoleProcess, RUNTIMES, startRole, tempDir } from "../support/processes.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";

/** How long a role may take to start its runtime, fail and exit on a busy 2-core machine. */
const EXIT_BOUND_MS = 30_000;

const E2E = { sanitizeOps: false, sanitizeResources: false } as const;

/** Holds a port on 127.0.0.1 with a plain `node:net` listener until `close()`. */
async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  const addr = server.address();
  assert.ok(typeof addr === "object" && addr);
  return {
    port: addr.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Waits for `proc` to exit, at most {@link EXIT_BOUND_MS}; kills it and fails otherwise. */
async function exitCode(proc: RoleProcess): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), EXIT_BOUND_MS);
  });
  const code = await Promise.race([proc.exited, timeout]);
  clearTimeout(timer);
  if (code === "timeout") {
    await proc.stop("SIGKILL");
    assert.fail(
      `${proc.name} still running ${EXIT_BOUND_MS} ms after its listen failed:\n${proc.log}`,
    );
  }
  return code;
}

/** One role's flags with the taken port (`taken`) in the listener under test. */
interface Case {
  readonly role: string;
  readonly name: string;
  flags(taken: number, dir: string): Promise<string[]>;
  readonly env?: (dir: string) => Record<string, string>;
}

/** An address where nothing listens (ZooKeeper, etcd that never answer). */
const nowhere = async () => `127.0.0.1:${await freePort()}`;
const free = async () => `127.0.0.1:${await freePort()}`;

function configFile(dir: string): string {
  const file = path.join(dir, "lb.json");
  fs.writeFileSync(file, JSON.stringify({ g1: { backend_servers: ["127.0.0.1:9"] } }));
  return file;
}

const CASES: readonly Case[] = [
  {
    role: "proxy",
    name: "--listen",
    flags: async (taken, dir) => [
      "--config",
      configFile(dir),
      "--listen",
      `127.0.0.1:${taken}`,
      "--admin-listen",
      await free(),
    ],
  },
  {
    role: "proxy",
    name: "--admin-listen",
    flags: async (taken, dir) => [
      "--config",
      configFile(dir),
      "--listen",
      await free(),
      "--admin-listen",
      `127.0.0.1:${taken}`,
    ],
  },
  {
    role: "proxy",
    name: "--zk, --listen",
    flags: async (taken, dir) => [
      "--zk",
      await nowhere(),
      "--group",
      "g1",
      "--snapshot-file",
      path.join(dir, "snap.json"),
      "--listen",
      `127.0.0.1:${taken}`,
      "--admin-listen",
      await free(),
    ],
  },
  {
    role: "proxy",
    name: "--workers 2 (supervisor), --listen",
    flags: (taken, dir) =>
      Promise.resolve([
        "--workers",
        "2",
        "--config",
        configFile(dir),
        "--listen",
        `127.0.0.1:${taken}`,
        "--admin-listen",
        "127.0.0.1:0",
      ]),
  },
  {
    role: "backend",
    name: "--listen",
    flags: (taken) => Promise.resolve(["--listen", `127.0.0.1:${taken}`]),
  },
  {
    role: "admin",
    name: "--listen",
    flags: async (taken) => [
      "--zk",
      await nowhere(),
      "--listen",
      `127.0.0.1:${taken}`,
      "--admin-listen",
      await free(),
    ],
    env: (dir) => ({
      SWITCHYARD_ADMIN_TOKEN: "admin:listen-test-token",
      SWITCHYARD_STATE_DIR: dir,
    }),
  },
  {
    role: "admin",
    name: "--admin-listen",
    flags: async (taken) => [
      "--zk",
      await nowhere(),
      "--listen",
      await free(),
      "--admin-listen",
      `127.0.0.1:${taken}`,
    ],
    env: (dir) => ({
      SWITCHYARD_ADMIN_TOKEN: "admin:listen-test-token",
      SWITCHYARD_STATE_DIR: dir,
    }),
  },
  {
    role: "orchestrator",
    name: "--admin-listen",
    flags: async (taken) => ["--zk", await nowhere(), "--admin-listen", `127.0.0.1:${taken}`],
  },
  {
    role: "dns",
    name: "--admin-listen",
    flags: async (taken) => [
      "--zk",
      await nowhere(),
      "--etcd",
      `http://${await nowhere()}`,
      "--zone",
      "api.example.test",
      "--admin-listen",
      `127.0.0.1:${taken}`,
    ],
  },
  {
    role: "autoscaler",
    name: "--admin-listen",
    flags: async (taken, dir) => [
      "--zk",
      await nowhere(),
      "--file-sd-out",
      dir,
      "--admin-listen",
      `127.0.0.1:${taken}`,
    ],
  },
];

for (const runtime of RUNTIMES) {
  for (const c of CASES) {
    Deno.test({
      name: `${c.role} (${runtime}) exits 1 at once naming the address when ${c.name}'s port ` +
        "is taken",
      ...E2E,
      fn: async () => {
        const held = await holdPort();
        const dir = tempDir(`listen-${c.role}`);
        try {
          const proc = await startRole(runtime, c.role, await c.flags(held.port, dir), {
            env: { SWITCHYARD_STATE_DIR: dir, ...c.env?.(dir) },
          });
          const code = await exitCode(proc);
          assert.equal(code, 1, `exit code, log:\n${proc.log}`);
          assert.match(
            proc.log,
            new RegExp(`${c.role}: listen 127\\.0\\.0\\.1:${held.port}: address already in use`),
          );
          // a clear message, not an uncaught exception's stack trace
          assert.doesNotMatch(proc.log, /Uncaught|^\s+at /m);
        } finally {
          await held.close();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    });
  }
}

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), "_start_on_taken_port.ts");

/** Runs the fixture; resolves with its exit code and output, or "hung" after the bound. */
function runFixture(
  runtime: Runtime,
  port: number,
  mode: "server" | "instance",
): Promise<{ code: number | null | "hung"; out: string }> {
  const args = runtime === "deno" ? ["run", "-A", FIXTURE] : [FIXTURE];
  const child = spawn(runtimeBinary(runtime), [...args, String(port), mode], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  child.stderr.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ code: "hung", out });
    }, EXIT_BOUND_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

for (const runtime of RUNTIMES) {
  for (const mode of ["server", "instance"] as const) {
    Deno.test({
      name: `a failed proxy ${mode} listen (${runtime}) leaves nothing running: ` +
        "the process ends by itself",
      ...E2E,
      fn: async () => {
        const held = await holdPort();
        try {
          const r = await runFixture(runtime, held.port, mode);
          assert.equal(r.code, 0, `the process did not end by itself:\n${r.out}`);
          assert.match(r.out, new RegExp(`failed: listen 127\\.0\\.0\\.1:${held.port}: address`));
        } finally {
          await held.close();
        }
      },
    });
  }
}
