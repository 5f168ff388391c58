/**
 * Graceful shutdown of real proxy processes under Deno and Bun: SIGTERM stops
 * accepting, in-flight requests finish with `Connection: close`, the process
 * exits 0 by the drain deadline, also when the signal goes to the whole
 * process group of `deno task run:proxy` / `bun run roles proxy` (with and
 * without `--workers`); a rolling restart of two proxies behind a client loop
 * loses no request.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT, roleCommand, type Runtime } from "../../lib/runtime/role_command.ts";
import {
  type Backend,
  freePort,
  httpOk,
  processGroupOf,
  type RoleProcess,
  RUNTIMES,
  sleep,
  startBackends,
  startRole,
  stopAll,
  tempDir,
  waitUntil,
} from "../support/processes.ts";
import { E2E, freePortRange, proxyFor, sample, sendSignal } from "../support/http_lab.ts";
import { header, RawConnection } from "../support/raw_http.ts";
import type { ProxyUnderTest } from "../support/proxy.ts";

const WORKERS_SCRIPT = path.join(REPO_ROOT, "tests", "support", "proxy_workers.ts");

/** Resolves true when a TCP connect to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) on SIGTERM stops accepting, finishes in-flight requests with Connection: close and exits 0`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(1);
      const proxy = await proxyFor(runtime, [backends[0]!.address], {}, ["--drain-seconds", "5"]);
      try {
        // an idle keep-alive connection and one with a request in flight
        const idle = await RawConnection.open(proxy.port);
        idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await idle.readResponse()).status, 200);
        const busy = await RawConnection.open(proxy.port);
        busy.send("GET /_delay?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n");
        // a pipelined pair whose first response head goes out before the signal
        const piped = await RawConnection.open(proxy.port);
        piped.send("GET /_bytes?n=10 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await piped.readResponse()).status, 200);
        // a head that is still arriving when the signal comes
        const partial = await RawConnection.open(proxy.port);
        partial.send("GET / HTTP/1.1\r\nHost: x\r\n");
        await sleep(200);
        const t0 = performance.now();
        sendSignal(proxy.process);
        await sleep(150);
        partial.send("X-Late: 1\r\n\r\n");
        const pr = await partial.readResponse();
        assert.equal(pr.status, 200);
        assert.equal(header(pr, "connection"), "close");
        assert.ok(await partial.waitEnded());
        partial.destroy();
        // no new connections
        assert.ok(await refused(proxy.port), "still accepting after SIGTERM");
        // admin says draining
        const hz = await fetch(`http://127.0.0.1:${proxy.adminPort}/healthz`);
        assert.equal(hz.status, 503);
        await hz.body?.cancel();
        // a request sent on the idle connection right after the signal is answered, with close
        idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        const late = await idle.readResponse();
        assert.equal(late.status, 200);
        assert.equal(header(late, "connection"), "close");
        assert.ok(await idle.waitEnded());
        piped.send("GET /_delay?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n");
        const p2 = await piped.readResponse();
        assert.equal(p2.status, 200);
        assert.equal(header(p2, "connection"), "close");
        // the in-flight request completes, told to close
        const r = await busy.readResponse();
        assert.equal(r.status, 200);
        assert.equal(header(r, "connection"), "close");
        assert.ok(await busy.waitEnded());
        const code = await proxy.process.exited;
        const ms = performance.now() - t0;
        assert.equal(code, 0);
        assert.ok(ms < 5_000, `exited after ${ms.toFixed(0)} ms, not before the drain deadline`);
        console.log(`  drained and exited 0 after ${ms.toFixed(0)} ms (${runtime})`);
        for (const c of [idle, busy, piped]) c.destroy();
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) cuts requests still running at the drain deadline and exits 0`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(1);
      const proxy = await proxyFor(runtime, [backends[0]!.address], {}, ["--drain-seconds", "1"]);
      try {
        const slow = await RawConnection.open(proxy.port);
        slow.send("GET /_delay?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n");
        // a client that never closes its side after we end ours
        const stubborn = await RawConnection.open(proxy.port);
        stubborn.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        await stubborn.readResponse();
        await sleep(200);
        const t0 = performance.now();
        sendSignal(proxy.process);
        const code = await proxy.process.exited;
        const ms = performance.now() - t0;
        assert.equal(code, 0);
        assert.ok(ms >= 900 && ms < 4_000, `exited after ${ms.toFixed(0)} ms`);
        assert.ok(await slow.waitEnded(1_000));
        slow.destroy();
        stubborn.destroy();
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name: `a rolling restart of two proxies (${runtime}) behind a client loop loses no request`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(2);
      const proxies: ProxyUnderTest[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          proxies.push(await proxyFor(runtime, backends.map((b) => b.address)));
        }
        const ports = proxies.map((p) => p.port);
        const loop = clientLoop(ports, 4);
        await sleep(500);
        for (let i = 0; i < 2; i++) {
          const old = proxies[i]!;
          sendSignal(old.process);
          assert.equal(await old.process.exited, 0);
          proxies[i] = await restartOn(runtime, old, backends);
          await sleep(500);
        }
        const stats = await loop.stop();
        console.log(
          `  rolling restart (${runtime}): ${stats.ok} requests ok, ${stats.failovers} fail-overs ` +
            `on refused connects, ${stats.lost.length} lost`,
        );
        assert.deepEqual(stats.lost, []);
        assert.ok(stats.ok > 200, `only ${stats.ok} requests`);
        assert.ok(stats.perPort.every((n) => n > 0));
      } finally {
        await stopAll([...proxies, ...backends]);
      }
    },
  });
}

/** Starts a proxy again on the same ports and config file as `old`. */
async function restartOn(
  runtime: Runtime,
  old: ProxyUnderTest,
  _backends: readonly Backend[],
): Promise<ProxyUnderTest> {
  const proc = await startRole(runtime, "proxy", [
    "--config",
    old.configPath,
    "--listen",
    `127.0.0.1:${old.port}`,
    "--admin-listen",
    `127.0.0.1:${old.adminPort}`,
    "--no-health-checks",
    "--log-level",
    "error",
  ], { ready: () => httpOk(`http://127.0.0.1:${old.adminPort}/healthz`) });
  return { ...old, process: proc };
}

interface LoopStats {
  ok: number;
  failovers: number;
  lost: string[];
  perPort: number[];
}

/**
 * `workers` loops sending GETs alternately to each port over keep-alive
 * connections, as a careful client does: a connection the server closed (or
 * announced `Connection: close` on) is not reused, and a refused connect
 * fails over to the other proxy. Anything else is a lost request.
 */
function clientLoop(ports: readonly number[], workers: number): { stop(): Promise<LoopStats> } {
  let running = true;
  const stats: LoopStats = { ok: 0, failovers: 0, lost: [], perPort: ports.map(() => 0) };
  const one = async () => {
    const conns: (RawConnection | null)[] = ports.map(() => null);
    let turn = 0;
    while (running) {
      turn = (turn + 1) % ports.length;
      let done = false;
      for (let attempt = 0; attempt < ports.length * 3 && !done; attempt++) {
        const i = (turn + attempt) % ports.length;
        let c = conns[i];
        if (c && (c.ended || c.isClosed)) {
          c.destroy();
          c = conns[i] = null;
        }
        if (!c) {
          try {
            c = conns[i] = await RawConnection.open(ports[i]!);
          } catch {
            stats.failovers++;
            await sleep(5);
            continue; // refused: the other proxy
          }
        }
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        try {
          const r = await c.readResponse({ timeoutMs: 10_000 });
          if (r.status !== 200) stats.lost.push(`status ${r.status}`);
          else {
            stats.ok++;
            stats.perPort[i]!++;
          }
          if (header(r, "connection") === "close") {
            c.destroy();
            conns[i] = null;
          }
        } catch (e) {
          stats.lost.push(`port ${ports[i]}: ${(e as Error).message}`);
          c.destroy();
          conns[i] = null;
        }
        done = true;
      }
      if (!done) stats.lost.push("no proxy reachable");
    }
    for (const c of conns) c?.destroy();
  };
  const all = Promise.all(Array.from({ length: workers }, one));
  return {
    stop: async () => {
      running = false;
      await all;
      return stats;
    },
  };
}

/** A proxy with `--workers 2` on a fixed port (admin ports `admin` and `admin + 1`), one backend. */
async function startWorkersProxy(runtime: Runtime) {
  const backends = await startBackends(1);
  const dir = tempDir("workers");
  const configPath = path.join(dir, "lb.json");
  fs.writeFileSync(
    configPath,
    JSON.stringify({ g: { backend_servers: [backends[0]!.address] } }),
  );
  const port = await freePortRange(1);
  const admin = await freePortRange(2);
  const healthy = async (i: number) => await httpOk(`http://127.0.0.1:${admin + i}/healthz`);
  const sup = await startRole(runtime, "proxy", [
    "--config",
    configPath,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${admin}`,
    "--workers",
    "2",
    "--no-health-checks",
    "--log-level",
    "warn",
  ], {
    script: WORKERS_SCRIPT,
    ready: async () => (await healthy(0)) && (await healthy(1)),
  });
  return { backends, configPath, port, admin, sup };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy --workers 2 (${runtime}) serves one port from two processes, restarts a dead worker and drains on SIGTERM`,
    ...E2E,
    fn: async () => {
      const { backends, port, admin, sup } = await startWorkersProxy(runtime);
      try {
        // new connections are spread over both workers
        for (let i = 0; i < 60; i++) {
          const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
          assert.equal(r.status, 200);
          await r.text();
        }
        const accepted = [];
        for (let i = 0; i < 2; i++) {
          const m = await (await fetch(`http://127.0.0.1:${admin + i}/metrics`)).text();
          accepted.push(sample(m, 'switchyard_connections_total{group="g"}') ?? 0);
        }
        console.log(`  connections per worker (${runtime}): ${accepted.join(", ")}`);
        assert.ok(accepted.every((n) => n > 0), `${accepted}`);
        const pids = async () =>
          await Promise.all(
            [0, 1].map(async (i) =>
              ((await (await fetch(`http://127.0.0.1:${admin + i}/status`)).json()) as {
                id: string;
              }).id
            ),
          );
        const before = await pids();
        assert.notEqual(before[0], before[1]);

        // a worker killed outright is replaced
        const status1 = (await (await fetch(`http://127.0.0.1:${admin + 1}/status`)).json()) as {
          pid: number;
        };
        process.kill(status1.pid!, "SIGKILL");
        await waitUntil(
          "worker 1 to be replaced",
          async () => {
            const ids = await pids().catch(() => null);
            return ids !== null && ids[1] !== before[1];
          },
          15_000,
          100,
        );

        // SIGTERM: in-flight requests finish, every worker drains, the supervisor exits 0
        const inflight = await RawConnection.open(port);
        inflight.send("GET /_delay?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
        await sleep(200);
        sendSignal(sup);
        const r = await inflight.readResponse();
        assert.equal(r.status, 200);
        assert.equal(header(r, "connection"), "close");
        inflight.destroy();
        assert.equal(await sup.exited, 0);
        assert.ok(await refused(port));
      } finally {
        await stopAll([sup, ...backends]);
      }
    },
  });

  Deno.test({
    name: `proxy --workers (${runtime}) workers shut down when their supervisor is killed`,
    ...E2E,
    fn: async () => {
      const { backends, configPath, port, admin, sup } = await startWorkersProxy(runtime);
      try {
        sendSignal(sup, "SIGKILL");
        await sup.exited;
        await waitUntil("the workers to stop", () => refused(port), 15_000, 100);
        assert.ok(!(await httpOk(`http://127.0.0.1:${admin}/healthz`)));
        assert.ok(!(await httpOk(`http://127.0.0.1:${admin + 1}/healthz`)));
        // a bad --workers value or port 0 is a usage error
        const { command, args } = roleCommand(runtime, "proxy", [
          "--config",
          configPath,
          "--listen",
          "127.0.0.1:0",
          "--workers",
          "2",
        ], WORKERS_SCRIPT);
        const r = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /fixed --listen port/);
      } finally {
        await stopAll([sup, ...backends]);
      }
    },
  });
}

/**
 * Rounds of each process-group test: the copies of a signal that reach a
 * process twice (from the group and from the wrapper forwarding it) are
 * sometimes merged by the kernel into one, so a single round can pass by luck.
 */
const GROUP_SIGNAL_ROUNDS = 4;

/** A config file with one live backend and one address nothing listens on, probed every 0.2 s. */
function configWithDeadBackend(live: Backend, deadPort: number): string {
  const configPath = path.join(tempDir("pgroup"), "lb.json");
  fs.writeFileSync(
    configPath,
    JSON.stringify({
      g: {
        backend_servers: [live.address, `127.0.0.1:${deadPort}`],
        health_check_frequency_seconds: 0.2,
        health_check_timeout_seconds: 1,
        unhealthy_threshold: 2,
      },
    }),
  );
  return configPath;
}

interface ProxyStatus {
  pid: number;
  backends: { address: string; health: string; inflight: number }[];
}

async function proxyStatus(adminPort: number): Promise<ProxyStatus> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/status`, {
    signal: AbortSignal.timeout(10_000),
  });
  return await r.json() as ProxyStatus;
}

/**
 * Waits until the proxy behind `adminPort` has marked the dead backend
 * unhealthy (its probes fail with ECONNREFUSED, and keep failing through the
 * shutdown) and returns the proxy's pid.
 */
async function waitForDeadBackend(adminPort: number, deadPort: number): Promise<number> {
  let pid = 0;
  await waitUntil(
    "the dead backend to be marked unhealthy",
    async () => {
      const s = await proxyStatus(adminPort);
      pid = s.pid;
      return s.backends.some((b) =>
        b.address === `127.0.0.1:${deadPort}` && b.health === "unhealthy"
      );
    },
    20_000,
    50,
  );
  return pid;
}

/** Waits until some proxy behind `adminPorts` has a request in flight to a backend. */
async function waitForInflight(adminPorts: readonly number[]): Promise<void> {
  await waitUntil(
    "the request to be in flight",
    async () => {
      for (const admin of adminPorts) {
        if ((await proxyStatus(admin)).backends.some((b) => b.inflight > 0)) return true;
      }
      return false;
    },
    10_000,
    20,
  );
}

/** Reads the response to the in-flight request, or fails naming the round and the log. */
async function drainedResponse(c: RawConnection, round: number, proc: RoleProcess) {
  try {
    return await c.readResponse({ timeoutMs: 15_000 });
  } catch (e) {
    await proc.exited;
    assert.fail(
      `round ${round}: the in-flight request got no response (${(e as Error).message}; ` +
        `socket error ${c.error}); exit status ${proc.child.exitCode}\n--- log ---\n${proc.log}`,
    );
  }
}

for (const runtime of RUNTIMES) {
  const wrapper = runtime === "deno" ? "deno task run:proxy" : "bun run roles proxy";
  Deno.test({
    name: `proxy (${runtime}) started by \`${wrapper}\` drains and exits 0 when its whole ` +
      "process group gets SIGTERM or SIGINT, with a backend down",
    ...E2E,
    fn: async () => {
      const backends = await startBackends(1);
      const deadPort = await freePort();
      const configPath = configWithDeadBackend(backends[0]!, deadPort);
      try {
        for (let round = 1; round <= GROUP_SIGNAL_ROUNDS; round++) {
          const port = await freePort();
          const admin = await freePort();
          const proc = await startRole(runtime, "proxy", [
            "--config",
            configPath,
            "--listen",
            `127.0.0.1:${port}`,
            "--admin-listen",
            `127.0.0.1:${admin}`,
            "--drain-seconds",
            "5",
          ], {
            viaPackageScript: true,
            processGroup: true,
            ready: () => httpOk(`http://127.0.0.1:${admin}/healthz`),
          });
          try {
            const pid = await waitForDeadBackend(admin, deadPort);
            // the signal reaches two processes: the wrapper and the proxy it started
            assert.notEqual(pid, proc.child.pid, "no wrapper between the test and the proxy");
            assert.equal(processGroupOf(pid), proc.child.pid, "the proxy is not in the group");
            const busy = await RawConnection.open(port);
            busy.send("GET /_delay?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n");
            await waitForInflight([admin]);
            // the last round is Ctrl-C in a terminal: SIGINT to the group
            const signal = round === GROUP_SIGNAL_ROUNDS ? "SIGINT" : "SIGTERM";
            const t0 = performance.now();
            proc.signalGroup(signal);
            const r = await drainedResponse(busy, round, proc);
            assert.equal(r.status, 200);
            assert.equal(header(r, "connection"), "close");
            busy.destroy();
            const code = await proc.exited;
            const ms = performance.now() - t0;
            assert.equal(code, 0, `round ${round}: exit status ${code}\n--- log ---\n${proc.log}`);
            assert.match(proc.log, /"msg":"stopped"/, `round ${round}: no "stopped" line`);
            assert.ok(ms < 5_000, `round ${round}: exited after ${ms.toFixed(0)} ms`);
          } finally {
            await proc.stop();
          }
        }
      } finally {
        await stopAll(backends);
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) exits at once with status 1 on a second SIGTERM a while after ` +
      "the first",
    ...E2E,
    fn: async () => {
      // the control for the tests above: copies of the first signal are ignored, a later one is not
      const backends = await startBackends(1);
      const proxy = await proxyFor(runtime, [backends[0]!.address], {}, ["--drain-seconds", "30"]);
      try {
        const slow = await RawConnection.open(proxy.port);
        slow.send("GET /_delay?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n");
        await waitForInflight([proxy.adminPort]);
        sendSignal(proxy.process);
        // draining: the proxy stops accepting
        await waitUntil("the proxy to stop accepting", () => refused(proxy.port), 10_000, 50);
        await sleep(1_500); // past SIGNAL_COPY_WINDOW_MS
        assert.ok(proxy.process.running, "the drain did not wait for the slow request");
        const t0 = performance.now();
        sendSignal(proxy.process);
        assert.equal(await proxy.process.exited, 1);
        const ms = performance.now() - t0;
        assert.ok(ms < 5_000, `exited ${ms.toFixed(0)} ms after the second signal`);
        assert.match(proxy.process.log, /SIGTERM again while stopping: exiting at once/);
        assert.ok(await slow.waitEnded(5_000));
        slow.destroy();
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name: `proxy --workers 2 (${runtime}) started by \`${wrapper}\` drains and exits 0 when ` +
      "its process group (and, as systemd does, every worker) gets SIGTERM, with a backend down",
    ...E2E,
    fn: async () => {
      const backends = await startBackends(1);
      const deadPort = await freePort();
      const configPath = configWithDeadBackend(backends[0]!, deadPort);
      try {
        for (let round = 1; round <= GROUP_SIGNAL_ROUNDS; round++) {
          const port = await freePortRange(1);
          const admin = await freePortRange(2);
          const admins = [admin, admin + 1];
          const proc = await startRole(runtime, "proxy", [
            "--config",
            configPath,
            "--listen",
            `127.0.0.1:${port}`,
            "--admin-listen",
            `127.0.0.1:${admin}`,
            "--workers",
            "2",
            "--drain-seconds",
            "5",
          ], {
            viaPackageScript: true,
            processGroup: true,
            ready: async () =>
              (await httpOk(`http://127.0.0.1:${admin}/healthz`)) &&
              (await httpOk(`http://127.0.0.1:${admin + 1}/healthz`)),
          });
          try {
            const workers = [];
            for (const a of admins) workers.push(await waitForDeadBackend(a, deadPort));
            // workers lead groups of their own: a terminal's signal reaches only the wrapper
            // and the supervisor, which forwards it
            for (const w of workers) assert.equal(processGroupOf(w), w);
            const busy = await RawConnection.open(port);
            busy.send("GET /_delay?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n");
            await waitForInflight(admins);
            // odd rounds: Ctrl-C in a terminal (the group); even rounds: systemd's
            // KillMode=control-group, which signals every process of the unit, workers too
            proc.signalGroup("SIGTERM");
            if (round % 2 === 0) { for (const w of workers) process.kill(w, "SIGTERM"); }
            const r = await drainedResponse(busy, round, proc);
            assert.equal(r.status, 200);
            assert.equal(header(r, "connection"), "close");
            busy.destroy();
            const code = await proc.exited;
            assert.equal(code, 0, `round ${round}: exit status ${code}\n--- log ---\n${proc.log}`);
            assert.match(proc.log, /"msg":"all workers stopped"[^\n]*"codes":\[0,0\]/);
            assert.ok(await refused(port));
          } finally {
            await proc.stop();
          }
        }
      } finally {
        await stopAll(backends);
      }
    },
  });
}
