/**
 * Soak (issue 12, point 6): a steady sequential keep-alive client loop through
 * a `--zk` proxy, under Deno and Bun, while the real ZooKeeper flips backend
 * health (down to one usable backend), swaps configs (a backend added and
 * removed, so its pool is retired under traffic; algorithms and weights
 * changed) and the orchestrator leaves and returns (the proxy takes the
 * health checks over and hands them back). Every backend answers every data
 * request it reads, but its keep-alive timer races the proxy: a request that
 * arrives on a connection idle for a while is dropped unanswered, as when the
 * timer fires just as the request arrives. Not one request may fail.
 */
import assert from "node:assert/strict";
import {
  configPath,
  healthBackendPath,
  healthGroupPath,
  workerPath,
  WORKERS_PATH,
} from "../../lib/store/layout.ts";
import type { Runtime } from "../../lib/runtime/role_command.ts";
import { startZkProxy, type ZkProxy, zkSandbox } from "../support/control_plane.ts";
import { RUNTIMES, sleep, waitUntil } from "../support/processes.ts";
import { okResponse, RawBackend, RawConnection } from "../support/raw_http.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const enc = new TextEncoder();
const GROUP = "soak";
/** How long the client loop runs under churn, per runtime. */
const SOAK_MS = 15_000;
/** A connection idle this long when a request arrives on it is dropped (the timer won). */
const KEEPALIVE_RACE_MS = 25;

/** A backend whose keep-alive timer races the proxy's reuse of its connections. */
class RacingBackend {
  /** Requests dropped unanswered on an idle connection. */
  dropped = 0;
  answered = 0;
  readonly #lastAnswer = new Map<number, number>();

  private constructor(readonly name: string, readonly raw: RawBackend) {}

  static async start(name: string): Promise<RacingBackend> {
    let self: RacingBackend | null = null;
    const raw = await RawBackend.start((req, c) => self!.#handle(req.seq, c));
    self = new RacingBackend(name, raw);
    return self;
  }

  get address(): string {
    return this.raw.address;
  }

  #handle(seq: number, c: { id: number; write(d: string): void; destroy(): void }): void {
    const now = performance.now();
    const last = this.#lastAnswer.get(c.id);
    if (seq > 1 && last !== undefined && now - last >= KEEPALIVE_RACE_MS) {
      this.dropped++;
      this.#lastAnswer.delete(c.id);
      c.destroy();
      return;
    }
    this.answered++;
    this.#lastAnswer.set(c.id, now);
    c.write(okResponse(`${this.name}\n`));
  }
}

/** Sequential GETs on one keep-alive connection until stopped; every non-200 is a failure. */
function keepAliveLoop(port: number, phase: () => string) {
  let running = true;
  let requests = 0;
  const okByPhase = new Map<string, number>();
  const failures: string[] = [];
  const loop = (async () => {
    let c = await RawConnection.open(port);
    while (running) {
      const p = phase();
      requests++;
      try {
        c.send(`GET /soak/${requests} HTTP/1.1\r\nHost: soak\r\n\r\n`);
        const r = await c.readResponse({ method: "GET", timeoutMs: 10_000 });
        if (r.status === 200) okByPhase.set(p, (okByPhase.get(p) ?? 0) + 1);
        else failures.push(`#${requests} (${p}): ${r.status} ${r.body.toString().trim()}`);
      } catch (e) {
        failures.push(`#${requests} (${p}): ${(e as Error).message}`);
        c.destroy();
        c = await RawConnection.open(port);
      }
      // think time around the backends' keep-alive race, so reuses both win and lose it
      await sleep(Math.random() * 2 * KEEPALIVE_RACE_MS);
    }
    c.destroy();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { requests, okByPhase, failures };
    },
  };
}

/** A group config over `backends`: weight 1 for the first, `weight` for the others. */
function groupConfig(backends: readonly RacingBackend[], algorithm: string, weight: number) {
  return {
    backend_servers: backends.map((b, i) => ({ address: b.address, weight: i === 0 ? 1 : weight })),
    algorithm,
    health_check_frequency_seconds: 0.2,
  };
}

async function soak(runtime: Runtime): Promise<void> {
  const zk = await zkSandbox("single");
  const backends = await Promise.all(["b1", "b2", "b3", "b4"].map((n) => RacingBackend.start(n)));
  const [b1, b2, b3, b4] = backends as [RacingBackend, RacingBackend, RacingBackend, RacingBackend];
  const store = zk.store;
  await store.ensurePath("/lb-configs");
  await store.create(
    configPath(GROUP),
    enc.encode(JSON.stringify(groupConfig([b1, b2, b3], "ROUND_ROBIN", 1))),
  );
  // an orchestrator is present: health comes from ZooKeeper
  await store.ensurePath(WORKERS_PATH);
  const orchestrator = await zk.session();
  await orchestrator.create(workerPath("soak-orch"), enc.encode("{}"), { mode: "ephemeral" });
  await store.ensurePath(healthGroupPath(GROUP));
  let proxy: ZkProxy | null = null;
  try {
    proxy = await startZkProxy(runtime, zk.connect, GROUP, ["--resync-seconds", "60"]);
    const p = proxy;
    const usable = async () =>
      (await p.status()).backends.filter((b) => b.usable).map((b) => b.address).sort();
    const expectUsable = async (what: string, want: RacingBackend[]) => {
      const addresses = want.map((b) => b.address).sort();
      await waitUntil(
        what,
        async () => JSON.stringify(await usable()) === JSON.stringify(addresses),
        20_000,
      );
    };
    const expectVersion = async (v: number) =>
      await waitUntil(`config version ${v}`, async () => {
        return (await p.status()).config?.version === String(v);
      }, 20_000);
    const expectHealthChecks = async (by: string) =>
      await waitUntil(`health checks by ${by}`, async () => {
        return (await p.status()).health_checks === by;
      }, 20_000);
    await expectVersion(0);
    await expectHealthChecks("orchestrator");
    await expectUsable("all three usable", [b1, b2, b3]);

    const down = (b: RacingBackend) => store.create(healthBackendPath(GROUP, b.address));
    const up = (b: RacingBackend) => store.delete(healthBackendPath(GROUP, b.address));
    let version = 0;
    const swap = async (members: RacingBackend[], algorithm: string, weight: number) => {
      await store.set(
        configPath(GROUP),
        enc.encode(JSON.stringify(groupConfig(members, algorithm, weight))),
      );
      await expectVersion(++version);
    };
    let phase = "all";
    const steps: [string, () => Promise<void>][] = [
      ["b2 down", async () => {
        await down(b2);
        await expectUsable("b2 down", [b1, b3]);
      }],
      ["b3 down: b1 alone", async () => {
        await down(b3);
        await expectUsable("b1 alone", [b1]);
        phase = "single";
      }],
      ["b4 added", async () => {
        phase = "swap";
        await swap([b1, b2, b3, b4], "LEAST_CONNECTIONS", 2);
        await expectUsable("b1 and b4", [b1, b4]);
      }],
      ["b4 removed: its pool retired", async () => {
        await swap([b1, b2, b3], "WEIGHTED_ROUND_ROBIN", 3);
        await expectUsable("b1 alone again", [b1]);
        phase = "single";
      }],
      ["orchestrator gone: the proxy probes", async () => {
        phase = "takeover";
        await orchestrator.delete(workerPath("soak-orch"));
        await expectHealthChecks("proxy");
      }],
      ["orchestrator back", async () => {
        await orchestrator.create(workerPath("soak-orch"), enc.encode("{}"), {
          mode: "ephemeral",
        });
        await expectHealthChecks("orchestrator");
        await expectUsable("b1 alone from the orchestrator's view", [b1]);
        phase = "single";
      }],
      ["b2 and b3 up", async () => {
        phase = "all";
        await up(b2);
        await up(b3);
        await swap([b1, b2, b3], "ROUND_ROBIN", 1);
        await expectUsable("all three usable again", [b1, b2, b3]);
      }],
    ];

    const client = keepAliveLoop(p.port, () => phase);
    const done: string[] = [];
    const started = Date.now();
    let stepError: unknown = null;
    try {
      // whole cycles only, so the group ends as it began
      for (let i = 0; Date.now() - started < SOAK_MS || i % steps.length !== 0; i++) {
        const [name, step] = steps[i % steps.length]!;
        await step();
        done.push(name);
        await sleep(150 + Math.random() * 250);
      }
    } catch (e) {
      stepError = e;
    }
    const result = await client.stop();
    const dropped = backends.reduce((n, b) => n + b.dropped, 0);
    const summary = `${runtime}: ${result.requests} requests, ${dropped} dropped by the ` +
      `backends' keep-alive race, ${done.length} churn steps (last: ${done.at(-1)}), ok by phase ` +
      JSON.stringify(Object.fromEntries(result.okByPhase));
    console.log(summary);
    if (stepError !== null) {
      throw new Error(`${summary}\n${stepError}\n--- proxy log ---\n${p.process.log}`);
    }
    assert.deepEqual(result.failures, [], `${summary}\n--- proxy log ---\n${p.process.log}`);
    // positive controls: the churn and the race really happened under traffic
    assert.ok(done.length >= steps.length, `${summary}: not one full cycle of churn`);
    assert.ok(dropped >= 20, `${summary}: too few keep-alive races to mean anything`);
    assert.ok((result.okByPhase.get("single") ?? 0) >= 20, `${summary}: single phase idle`);
    assert.ok(b4.answered >= 1, `${summary}: the added backend never served`);
    assert.ok(result.requests >= 200, summary);
  } finally {
    await proxy?.process.stop();
    for (const b of backends) await b.raw.close();
    await zk.close();
  }
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `soak (${runtime}): no request fails while ZooKeeper flips health, swaps configs and the orchestrator comes and goes`,
    ...E2E,
    fn: () => soak(runtime),
  });
}
