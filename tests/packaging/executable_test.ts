/**
 * The single-file executable (`npm run build` -> `dist/bin/switchyard`):
 * every role is a subcommand, and `switchyard proxy --config FILE` serves,
 * alone and with `--workers 2` (the supervisor re-runs the executable itself).
 * The test compiles the executable first (a fresh clone has no dist/; Bun
 * compiles offline in about two seconds), so it never runs a stale binary.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { compileWithBun, EXECUTABLE } from "../../deploy/executable.ts";
import { ROLE_NAMES } from "../../roles/registry.ts";
import {
  freePort,
  httpOk,
  RoleProcess,
  startBackends,
  stopAll,
  tempDir,
  waitUntil,
} from "../support/processes.ts";
import { countAnswers } from "../support/proxy.ts";
import { zkSandbox } from "../support/control_plane.ts";

/** Starts `switchyard proxy` on a config file; resolves once every admin listener answers. */
async function startExecutableProxy(
  config: unknown,
  extra: readonly string[],
  adminListeners: number,
): Promise<{ proc: RoleProcess; url: string; adminPort: number }> {
  const dir = tempDir("executable");
  const file = path.join(dir, "lb.json");
  fs.writeFileSync(file, JSON.stringify(config));
  const port = await freePort();
  // --workers N puts worker i's admin listener on the admin port + i
  let adminPort = await freePort();
  while (adminListeners > 1 && !(await portsFree(adminPort + 1, adminListeners - 1))) {
    adminPort = await freePort();
  }
  const child = spawn(EXECUTABLE, [
    "proxy",
    "--config",
    file,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    ...extra,
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SWITCHYARD_STATE_DIR: dir } });
  const proc = new RoleProcess("switchyard proxy", child);
  try {
    await waitUntil(`the executable's proxy to be ready`, async () => {
      if (!proc.running) throw new Error(`exited early with ${child.exitCode}`);
      for (let i = 0; i < adminListeners; i++) {
        if (!await httpOk(`http://127.0.0.1:${adminPort + i}/healthz`)) return false;
      }
      return true;
    }, 30_000);
  } catch (e) {
    await proc.stop("SIGKILL");
    throw new Error(`${(e as Error).message}\n--- log ---\n${proc.log}`);
  }
  return { proc, url: `http://127.0.0.1:${port}`, adminPort };
}

/** True when the `count` ports from `first` on can be bound now. */
async function portsFree(first: number, count: number): Promise<boolean> {
  const net = await import("node:net");
  for (let p = first; p < first + count; p++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(p, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}

Deno.test({
  name: "dist/bin/switchyard lists every role and runs the proxy, alone and with --workers 2",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await compileWithBun();
    assert.ok(fs.statSync(EXECUTABLE).mode & 0o111, "executable bit set");

    const listing = spawnSync(EXECUTABLE, [], { encoding: "utf8", timeout: 30_000 });
    assert.equal(listing.status, 2, listing.stderr);
    for (const role of ROLE_NAMES) {
      assert.match(listing.stdout, new RegExp(`^${role}: `, "m"), `role ${role} listed`);
    }

    const backends = await startBackends(2);
    const config = {
      g: { backend_servers: backends.map((b) => b.address), algorithm: "ROUND_ROBIN" },
    };
    try {
      for (const workers of [1, 2]) {
        const extra = workers > 1 ? ["--workers", String(workers)] : [];
        const { proc, url, adminPort } = await startExecutableProxy(config, extra, workers);
        try {
          const counts = await countAnswers(url, 10);
          assert.deepEqual(Object.fromEntries(counts), { b1: 5, b2: 5 }, `--workers ${workers}`);
          const status = await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json();
          assert.equal(status.role, "proxy");
          assert.match(status.runtime, /^bun /);
          assert.equal(status.worker, workers > 1 ? 0 : null);
          assert.equal(await proc.stop(), 0, proc.log);
        } finally {
          await proc.stop("SIGKILL");
        }
      }
    } finally {
      await stopAll(backends);
    }
  },
});

Deno.test({
  name: "dist/bin/switchyard admin serves the console page and its embedded script",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await compileWithBun();
    const zk = await zkSandbox();
    const dir = tempDir("executable-admin");
    const port = await freePort();
    const adminPort = await freePort();
    const child = spawn(EXECUTABLE, [
      "admin",
      "--zk",
      zk.connect,
      "--listen",
      `127.0.0.1:${port}`,
      "--admin-listen",
      `127.0.0.1:${adminPort}`,
    ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SWITCHYARD_STATE_DIR: dir } });
    const proc = new RoleProcess("switchyard admin", child);
    try {
      await waitUntil("the executable's admin role", async () => {
        if (!proc.running) throw new Error(`exited early with ${child.exitCode}:\n${proc.log}`);
        return await httpOk(`http://127.0.0.1:${adminPort}/healthz`);
      }, 30_000);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /console\.js/);
      const script = await fetch(`http://127.0.0.1:${port}/console.js`);
      const text = await script.text();
      assert.equal(script.status, 200, `${text}\n--- log ---\n${proc.log}`);
      assert.ok(text.length > 10_000, `the console's script (${text.length} bytes)`);
      assert.equal(await proc.stop(), 0, proc.log);
    } finally {
      await proc.stop("SIGKILL");
      await zk.close();
    }
  },
});
