import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { roleCommand, type Runtime } from "./role_command.ts";
import { SIGNAL_COPY_WINDOW_MS } from "./shutdown_signals.ts";

const RUNTIMES: readonly Runtime[] = ["deno", "bun"];
const PROCESS_TS = pathToFileURL(path.join(import.meta.dirname!, "process.ts")).href;

/**
 * A child script using process.ts: prints its args and SWITCHYARD_TEST env as
 * JSON, then, on a shutdown signal, prints `stopping <signal>` and runs the
 * stop `mode` (`ok`: resolves after SWITCHYARD_TEST_STOP_MS, default 1.5 s;
 * `throw`: rejects after it).
 */
const CHILD = `
import { args, env, onShutdownSignal, writeOut } from ${JSON.stringify(PROCESS_TS)};
const mode = env("SWITCHYARD_TEST_STOP") ?? "ok";
const stopMs = Number(env("SWITCHYARD_TEST_STOP_MS") ?? 1500);
onShutdownSignal(async (signal) => {
  writeOut("stopping " + signal);
  await new Promise((r) => setTimeout(r, stopMs));
  if (mode === "throw") throw new Error("stop failed on purpose");
  writeOut("stopped");
});
writeOut(JSON.stringify({ args: args(), env: env("SWITCHYARD_TEST") ?? null }));
setInterval(() => {}, 1000);
`;

interface Child {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function startChild(runtime: Runtime, argv: string[], extraEnv: Record<string, string>): Child {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-process-"));
  const script = path.join(dir, "child.ts");
  fs.writeFileSync(script, CHILD);
  const { command, args } = roleCommand(runtime, "unused", argv, script);
  const proc = spawn(command, args, {
    env: { ...process.env, NO_COLOR: "1", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (c) => (out += c));
  proc.stderr!.on("data", (c) => (err += c));
  const exited = new Promise<number | null>((resolve) => {
    proc.on("exit", (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(code);
    });
  });
  return { proc, out: () => out, err: () => err, exited };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const runtime of RUNTIMES) {
  Deno.test(`process.ts (${runtime}): args() are the arguments after the script, env() reads the environment`, async () => {
    const c = startChild(runtime, ["--one", "two words"], { SWITCHYARD_TEST: "x=1" });
    try {
      await until("the first line", () => c.out().includes("\n"));
      const first = JSON.parse(c.out().split("\n")[0]!);
      assert.deepEqual(first, { args: ["--one", "two words"], env: "x=1" });
    } finally {
      process.kill(c.proc.pid!, "SIGKILL");
      await c.exited;
    }
  });

  Deno.test(`onShutdownSignal (${runtime}): SIGTERM runs stop once, ignores a copy within the window and exits 0`, async () => {
    const c = startChild(runtime, [], {});
    await until("the child to start", () => c.out().includes("\n"));
    process.kill(c.proc.pid!, "SIGTERM");
    await until("stop to start", () => c.out().includes("stopping SIGTERM"));
    process.kill(c.proc.pid!, "SIGTERM"); // a copy, as a wrapper forwarding the group's signal sends
    const code = await c.exited;
    assert.equal(code, 0, c.err());
    assert.equal(c.out().split("stopping").length - 1, 1, c.out());
    assert.match(c.out(), /stopped/);
  });

  Deno.test(`onShutdownSignal (${runtime}): SIGINT also stops; a failing stop exits 1 with its error`, async () => {
    const c = startChild(runtime, [], { SWITCHYARD_TEST_STOP: "throw" });
    await until("the child to start", () => c.out().includes("\n"));
    process.kill(c.proc.pid!, "SIGINT");
    const code = await c.exited;
    assert.equal(code, 1, `out: ${c.out()} err: ${c.err()}`);
    assert.match(c.out(), /stopping SIGINT/);
    assert.match(c.err(), /shutdown failed: Error: stop failed on purpose/);
  });

  Deno.test(`onShutdownSignal (${runtime}): a second signal after the window exits 1 at once`, async () => {
    const c = startChild(runtime, [], { SWITCHYARD_TEST_STOP_MS: "30000" });
    await until("the child to start", () => c.out().includes("\n"));
    process.kill(c.proc.pid!, "SIGTERM");
    await until("stop to start", () => c.out().includes("stopping SIGTERM"));
    // the stop takes 30 s: signal again after the copy window, long before it ends
    await new Promise((r) => setTimeout(r, SIGNAL_COPY_WINDOW_MS + 100));
    process.kill(c.proc.pid!, "SIGTERM");
    const code = await c.exited;
    assert.equal(code, 1, c.err());
    assert.match(c.err(), /SIGTERM again while stopping: exiting at once/);
    assert.doesNotMatch(c.out(), /stopped/);
  });
}
