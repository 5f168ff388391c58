/**
 * The single-file executable (`npm run build` -> `dist/bin/switchyard`), run as
 * on an operator's host: installed outside the checkout and started in a mount
 * namespace of its own where the checkout and its node_modules are hidden
 * (empty tmpfs over them), so it can use nothing but what it embeds.
 *
 * - every role is a subcommand and answers `--help`;
 * - `switchyard proxy --config FILE` serves, alone and with `--workers 2` (the
 *   supervisor re-runs the executable itself);
 * - the admin role serves the console and its embedded script;
 * - the dns role publishes a proxy (the executable's, on the real ZooKeeper)
 *   in the real etcd: its etcd client's protocol is inlined at build time
 *   (deploy/etcd_protos.ts); the autoscaler writes the proxy's scrape target,
 *   the orchestrator starts, and `ctl export` reads the group back.
 *
 * Each test compiles the executable first (a fresh clone has no dist/; Bun
 * compiles offline in a few seconds), so it never runs a stale binary.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { compileWithBun, EXECUTABLE } from "../../deploy/executable.ts";
import { EtcdRecordStore } from "../../lib/dns/etcd_store.ts";
import { zonePath } from "../../lib/dns/skydns.ts";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
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
import { writeGroupConfig } from "../support/dns_fleet.ts";
import { run, testPrefix } from "../support/dns_stack.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false } as const;

/** What an operator's host does not have: the checkout, and its node_modules where it links. */
function checkoutDirs(): string[] {
  const root = fs.realpathSync(REPO_ROOT);
  const modules = fs.realpathSync(path.join(REPO_ROOT, "node_modules"));
  return modules.startsWith(`${root}/`) ? [root] : [root, modules];
}

/**
 * The command line that runs `command args` with the checkout hidden: `unshare
 * --mount` (a private mount namespace, so nothing outside changes), an empty
 * tmpfs over each of {@link checkoutDirs}, then exec (the pid stays the
 * command's, so signals reach it).
 */
function withoutCheckout(command: string, args: readonly string[]): [string, string[]] {
  const mounts = checkoutDirs().map((d) => `mount -t tmpfs switchyard-hidden '${d}'`);
  return [
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `${mounts.join(" && ")} && exec "$0" "$@"`,
      command,
      ...args,
    ],
  ];
}

/**
 * Compiles the executable and installs it as an operator would, in a fresh
 * directory outside the checkout; also its state directory.
 */
async function installExecutable(): Promise<{ bin: string; dir: string; remove(): void }> {
  await compileWithBun();
  assert.ok(fs.statSync(EXECUTABLE).mode & 0o111, "executable bit set");
  const dir = tempDir("installed");
  for (const hidden of checkoutDirs()) {
    assert.ok(!dir.startsWith(`${hidden}/`), `${dir} is outside the checkout (${hidden})`);
  }
  const bin = path.join(dir, "switchyard");
  fs.copyFileSync(EXECUTABLE, bin);
  fs.chmodSync(bin, 0o755);
  return { bin, dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the installed executable with the checkout hidden. */
function spawnInstalled(bin: string, args: readonly string[], stateDir: string): RoleProcess {
  const [command, argv] = withoutCheckout(bin, args);
  const child = spawn(command, argv, {
    cwd: stateDir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir },
  });
  return new RoleProcess(`switchyard ${args[0]}`, child);
}

/** Waits until `url` answers 200 while `proc` runs; on failure, the process's log. */
async function waitServing(proc: RoleProcess, what: string, urls: readonly string[]) {
  try {
    await waitUntil(what, async () => {
      if (!proc.running) throw new Error(`exited early with ${proc.child.exitCode}`);
      for (const url of urls) if (!await httpOk(url)) return false;
      return true;
    }, 60_000);
  } catch (e) {
    await proc.stop("SIGKILL");
    throw new Error(`${(e as Error).message}\n--- log ---\n${proc.log}`);
  }
}

Deno.test("the test's isolation hides the checkout and node_modules from the executable", () => {
  const probe = path.join(fs.realpathSync(path.join(REPO_ROOT, "node_modules")), "etcd3", "proto");
  const seen = (command: string, args: string[]) =>
    spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  // positive control: outside the namespace both are there
  assert.equal(seen("test", ["-e", path.join(probe, "rpc.proto")]).status, 0);
  assert.equal(seen("test", ["-e", path.join(REPO_ROOT, "package.json")]).status, 0);
  const [command, args] = withoutCheckout("sh", [
    "-c",
    `ls -A '${probe}' '${REPO_ROOT}' 2>&1; test ! -e '${path.join(probe, "rpc.proto")}' && ` +
    `test ! -e '${path.join(REPO_ROOT, "package.json")}'`,
  ]);
  const inside = seen(command, args);
  assert.equal(inside.status, 0, `${inside.stdout}${inside.stderr}`);
});

/** Starts `switchyard proxy` on a config file; resolves once every admin listener answers. */
async function startExecutableProxy(
  bin: string,
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
  const proc = spawnInstalled(bin, [
    "proxy",
    "--config",
    file,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    ...extra,
  ], dir);
  const admins = Array.from(
    { length: adminListeners },
    (_, i) => `http://127.0.0.1:${adminPort + i}/healthz`,
  );
  await waitServing(proc, "the executable's proxy to be ready", admins);
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
  name: "dist/bin/switchyard lists every role, each answers --help, and it runs the proxy, " +
    "alone and with --workers 2",
  ...E2E,
  fn: async () => {
    const installed = await installExecutable();
    try {
      const runInstalled = (args: string[]) => {
        const [command, argv] = withoutCheckout(installed.bin, args);
        return spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
      };
      const listing = runInstalled([]);
      assert.equal(listing.status, 2, listing.stderr);
      for (const role of ROLE_NAMES) {
        assert.match(listing.stdout, new RegExp(`^${role}: `, "m"), `role ${role} listed`);
        const help = runInstalled([role, "--help"]);
        assert.equal(help.status, 0, `${role} --help: ${help.stderr}`);
        assert.match(help.stdout, role === "ctl" ? /^usage: ctl / : new RegExp(`^${role}: `));
      }

      const backends = await startBackends(2);
      const config = {
        g: { backend_servers: backends.map((b) => b.address), algorithm: "ROUND_ROBIN" },
      };
      try {
        for (const workers of [1, 2]) {
          const extra = workers > 1 ? ["--workers", String(workers)] : [];
          const { proc, url, adminPort } = await startExecutableProxy(
            installed.bin,
            config,
            extra,
            workers,
          );
          try {
            const counts = await countAnswers(url, 10);
            assert.deepEqual(
              Object.fromEntries(counts),
              { b1: 5, b2: 5 },
              `--workers ${workers}`,
            );
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
    } finally {
      installed.remove();
    }
  },
});

Deno.test({
  name: "dist/bin/switchyard admin serves the console page and its embedded script",
  ...E2E,
  fn: async () => {
    const installed = await installExecutable();
    const zk = await zkSandbox();
    const port = await freePort();
    const adminPort = await freePort();
    const proc = spawnInstalled(installed.bin, [
      "admin",
      "--zk",
      zk.connect,
      "--listen",
      `127.0.0.1:${port}`,
      "--admin-listen",
      `127.0.0.1:${adminPort}`,
    ], installed.dir);
    try {
      await waitServing(proc, "the executable's admin role", [
        `http://127.0.0.1:${adminPort}/healthz`,
      ]);
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
      installed.remove();
    }
  },
});

/**
 * An etcd of the test's own (state directory and ports), started with
 * deploy/etcd/etcd.sh: the shared loopback etcd (port 2379) may be in use by
 * another test run.
 */
async function privateEtcd(): Promise<{ url: string; stop(): Promise<void> }> {
  const state = tempDir("etcd");
  const env = {
    SWITCHYARD_STATE_DIR: state,
    SWITCHYARD_ETCD_CLIENT_PORT: String(await freePort()),
    SWITCHYARD_ETCD_PEER_PORT: String(await freePort()),
  };
  const script = (...args: string[]) =>
    run(["bash", path.join(REPO_ROOT, "deploy", "etcd", "etcd.sh"), ...args], { env });
  await script("start", "single");
  const url = (await script("endpoints", "single")).stdout.trim();
  return {
    url,
    stop: async () => {
      await script("stop", "single");
      fs.rmSync(state, { recursive: true, force: true });
    },
  };
}

Deno.test({
  name: "dist/bin/switchyard's roles on the real ZooKeeper: dns publishes the executable's proxy " +
    "in the real etcd (no node_modules: the etcd protocol is embedded), the autoscaler writes " +
    "its scrape target, the orchestrator starts, ctl exports the group",
  ...E2E,
  fn: async () => {
    const installed = await installExecutable();
    const zk = await zkSandbox();
    const etcd = await privateEtcd();
    const kv = new EtcdRecordStore({ endpoints: [etcd.url] });
    const procs: RoleProcess[] = [];
    const [backend] = await startBackends(1);
    try {
      await writeGroupConfig(zk.store, "edge", { backend_servers: [backend!.address] });
      const port = await freePort();
      const proxyAdmin = await freePort();
      const proxy = spawnInstalled(installed.bin, [
        "proxy",
        "--zk",
        zk.connect,
        "--group",
        "edge",
        "--id",
        "exe-proxy",
        "--listen",
        `127.0.0.1:${port}`,
        "--admin-listen",
        `127.0.0.1:${proxyAdmin}`,
      ], installed.dir);
      procs.push(proxy);
      await waitServing(proxy, "the executable's proxy on ZooKeeper", [
        `http://127.0.0.1:${proxyAdmin}/healthz`,
      ]);
      const counts = await countAnswers(`http://127.0.0.1:${port}`, 2);
      assert.deepEqual(Object.fromEntries(counts), { b1: 2 }, "the proxy serves");

      const zone = "api.example.com";
      const prefix = testPrefix();
      const dnsAdmin = await freePort();
      const dns = spawnInstalled(installed.bin, [
        "dns",
        "--zk",
        zk.connect,
        "--etcd",
        etcd.url,
        "--zone",
        zone,
        "--prefix",
        prefix,
        "--admin-listen",
        `127.0.0.1:${dnsAdmin}`,
      ], installed.dir);
      procs.push(dns);
      await waitServing(dns, "the executable's dns role", [`http://127.0.0.1:${dnsAdmin}/healthz`]);
      let records = new Map<string, string>();
      try {
        await waitUntil("the proxy's record in etcd", async () => {
          records = await kv.list([`${zonePath(zone, { prefix })}/`]);
          return records.size > 0;
        }, 60_000);
      } catch (e) {
        const status = await (await fetch(`http://127.0.0.1:${dnsAdmin}/status`)).text();
        throw new Error(
          `${(e as Error).message}\n--- status ---\n${status}\n--- log ---\n${dns.log}`,
        );
      }
      assert.deepEqual(
        [...records.values()].map((v) => JSON.parse(v)).map(({ host, port }) => ({ host, port })),
        [{ host: "127.0.0.1", port }],
      );

      // the autoscaler, without a policy, writes Prometheus targets from the registrations
      const sd = path.join(installed.dir, "sd");
      const autoscalerAdmin = await freePort();
      const autoscaler = spawnInstalled(installed.bin, [
        "autoscaler",
        "--zk",
        zk.connect,
        "--group",
        "edge",
        "--file-sd-out",
        sd,
        "--admin-listen",
        `127.0.0.1:${autoscalerAdmin}`,
      ], installed.dir);
      procs.push(autoscaler);
      await waitServing(autoscaler, "the executable's autoscaler", [
        `http://127.0.0.1:${autoscalerAdmin}/healthz`,
      ]);
      const targets = path.join(sd, "proxy.json");
      await waitUntil(
        "the proxy's scrape target",
        () =>
          fs.existsSync(targets) && fs.readFileSync(targets, "utf8").includes(`:${proxyAdmin}"`),
        60_000,
      );

      const orchestratorAdmin = await freePort();
      const orchestrator = spawnInstalled(installed.bin, [
        "orchestrator",
        "--zk",
        zk.connect,
        "--admin-listen",
        `127.0.0.1:${orchestratorAdmin}`,
      ], installed.dir);
      procs.push(orchestrator);
      await waitServing(orchestrator, "the executable's orchestrator", [
        `http://127.0.0.1:${orchestratorAdmin}/healthz`,
      ]);

      const [command, argv] = withoutCheckout(installed.bin, [
        "ctl",
        "export",
        "-",
        "--zk",
        zk.connect,
      ]);
      const exported = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
      assert.equal(exported.status, 0, exported.stderr);
      assert.deepEqual(JSON.parse(exported.stdout).groups, {
        edge: { backend_servers: [backend!.address] },
      });

      for (const p of procs) assert.equal(await p.stop(), 0, `${p.name}: ${p.log}`);
    } finally {
      for (const p of procs) await p.stop("SIGKILL");
      await stopAll([backend!]);
      await kv.close();
      await etcd.stop();
      await zk.close();
      installed.remove();
    }
  },
});
