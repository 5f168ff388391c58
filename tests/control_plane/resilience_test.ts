/**
 * Against the real ZooKeeper: a proxy whose session expires gets a new one,
 * re-reads its config and re-registers; a change made while it could not
 * hear is applied afterwards; with the whole ensemble down proxies keep
 * serving, a proxy restarted meanwhile serves from its local snapshot, and
 * changes apply once ZooKeeper returns; losing one of three members under
 * traffic fails no request and changes still propagate.
 */
import assert from "node:assert/strict";
import { configPath, proxiesGroupPath } from "../../lib/store/layout.ts";
import { answers, startAdmin, startZkProxy, zkSandbox } from "../support/control_plane.ts";
import { sleep, startBackends, stopAll, waitUntil } from "../support/processes.ts";
import { zkSh } from "../support/zk_server.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };
const enc = new TextEncoder();

/** Sends GETs in a loop until stopped; counts failures (non-200 or network errors). */
function trafficLoop(url: string): { stop(): Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await r.text();
        if (r.status === 200) ok++;
        else failed.push(`status ${r.status}`);
      } catch (e) {
        failed.push(String(e));
      }
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { ok, failed };
    },
  };
}

Deno.test({
  name:
    "session expiry: the proxy opens a new session, re-reads, re-registers, applies what it missed",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("single");
    const backends = await startBackends(2);
    const [b1, b2] = backends as [typeof backends[0], typeof backends[0]];
    await zk.store.ensurePath("/lb-configs");
    await zk.store.create(
      configPath("ex"),
      enc.encode(JSON.stringify({ backend_servers: [b1.address] })),
    );
    const proxy = await startZkProxy("bun", zk.connect, "ex", [
      "--no-health-checks",
      "--zk-session-timeout",
      "2",
      "--resync-seconds",
      "60",
    ]);
    try {
      await waitUntil("config applied", async () => (await proxy.status()).config?.version === "0");
      const before = await proxy.status();
      await waitUntil(
        "the registration",
        async () => (await zk.store.children(proxiesGroupPath("ex")).catch(() => [])).length === 1,
      );
      // freeze the proxy past its session timeout: ZooKeeper expires the session
      proxy.process.signal("SIGSTOP");
      await sleep(1000);
      await zk.store.set(
        configPath("ex"),
        enc.encode(JSON.stringify({ backend_servers: [b2.address] })),
      );
      await waitUntil(
        "the session to expire (registration gone)",
        async () => (await zk.store.children(proxiesGroupPath("ex"))).length === 0,
        15_000,
      );
      proxy.process.signal("SIGCONT");
      await waitUntil(
        "the change made meanwhile to apply",
        async () => (await proxy.status()).config?.version === "1",
        20_000,
      ).catch((e) => {
        throw new Error(`${e}\n--- proxy log ---\n${proxy.process.log}`);
      });
      const after = await proxy.status();
      assert.notEqual(after.zookeeper.session, before.zookeeper.session);
      assert.equal(after.zookeeper.state, "connected");
      await waitUntil(
        "re-registration",
        async () => (await zk.store.children(proxiesGroupPath("ex"))).length === 1,
        10_000,
      );
      assert.deepEqual(await answers(proxy.url, 3), ["b2", "b2", "b2"]);
      // watches are live again: a new write is pushed
      await zk.store.set(
        configPath("ex"),
        enc.encode(JSON.stringify({ backend_servers: [b1.address] })),
      );
      await waitUntil("the next push", async () => (await proxy.status()).config?.version === "2");
    } finally {
      proxy.process.signal("SIGCONT");
      await stopAll([proxy.process, ...backends]);
      await zk.close();
    }
  },
});

Deno.test({
  name:
    "whole ensemble down: proxies keep serving, a restarted proxy serves its snapshot, changes apply on return",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("ensemble");
    const backends = await startBackends(2);
    const [b1, b2] = backends as [typeof backends[0], typeof backends[0]];
    await zk.store.ensurePath("/lb-configs");
    await zk.store.create(
      configPath("st"),
      enc.encode(JSON.stringify({ backend_servers: [b1.address] })),
    );
    const p1 = await startZkProxy("deno", zk.connect, "st", ["--no-health-checks"]);
    let p2 = await startZkProxy("bun", zk.connect, "st", ["--no-health-checks"]);
    let ensembleDown = false;
    try {
      await waitUntil(
        "both applied",
        async () =>
          (await p1.status()).config?.version === "0" &&
          (await p2.status()).config?.version === "0",
      );
      const t1 = trafficLoop(p1.url);
      const t2 = trafficLoop(p2.url);
      await zkSh(["stop", "ensemble"]);
      ensembleDown = true;
      await sleep(1500);
      // restart p2 while ZooKeeper is gone: it must serve from its local snapshot
      await p2.process.stop();
      p2 = await startZkProxy("bun", zk.connect, "st", ["--no-health-checks"], {
        port: p2.port,
        adminPort: p2.adminPort,
        snapshotFile: p2.snapshotFile,
      });
      const t3 = trafficLoop(p2.url);
      await sleep(2000);
      const s2 = await p2.status();
      assert.equal(s2.config?.version, "0");
      assert.notEqual(s2.zookeeper.state, "connected");
      await zkSh(["start", "ensemble"]);
      ensembleDown = false;
      const writer = await zk.session();
      await writer.set(
        configPath("st"),
        enc.encode(JSON.stringify({ backend_servers: [b2.address] })),
      );
      await waitUntil(
        "both to apply the change after the outage",
        async () =>
          (await p1.status()).config?.version === "1" &&
          (await p2.status()).config?.version === "1",
        30_000,
      );
      const r1 = await t1.stop();
      const r3 = await t3.stop();
      const r2 = await t2.stop(); // p2's first life ended with its process: its loop saw the stop
      console.log(`  served during the outage: ${r1.ok} + ${r3.ok} requests`);
      assert.deepEqual(r1.failed, []);
      assert.deepEqual(r3.failed, []);
      assert.ok(r1.ok > 50 && r3.ok > 20, `${r1.ok}, ${r3.ok}`);
      assert.ok(r2.ok > 10);
      assert.deepEqual(await answers(p1.url, 2), ["b2", "b2"]);
      assert.deepEqual(await answers(p2.url, 2), ["b2", "b2"]);
    } finally {
      if (ensembleDown) await zkSh(["start", "ensemble"], false);
      await stopAll([p1.process, p2.process, ...backends]);
      await zk.close();
    }
  },
});

Deno.test({
  name:
    "one of three ensemble members killed under traffic: no failed request, changes still propagate",
  ...E2E,
  fn: async () => {
    const zk = await zkSandbox("ensemble");
    const backends = await startBackends(2);
    const [b1, b2] = backends as [typeof backends[0], typeof backends[0]];
    const admin = await startAdmin("deno", zk.connect);
    await admin.api("POST", "/api/groups", {
      group: "en",
      config: { backend_servers: [b1.address] },
    });
    const proxy = await startZkProxy("bun", zk.connect, "en", ["--no-health-checks"]);
    let killed = 0;
    try {
      await waitUntil("applied", async () => (await proxy.status()).config?.version === "0");
      const traffic = trafficLoop(proxy.url);
      await sleep(500);
      const session = (await proxy.status()).zookeeper.session;
      const { memberOfSession } = await import("../support/zk_server.ts");
      killed = (session ? await memberOfSession(session) : undefined) ?? 1;
      await zkSh(["kill-member", String(killed)]);
      await sleep(1000);
      const put = await admin.api("PUT", "/api/groups/en", { backend_servers: [b2.address] }, {
        "if-match": '"0"',
      });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      await waitUntil(
        "the change to reach the proxy",
        async () => (await proxy.status()).config?.version === "1",
        20_000,
      );
      await sleep(500);
      const r = await traffic.stop();
      assert.deepEqual(r.failed, []);
      assert.ok(r.ok > 50);
      assert.deepEqual(await answers(proxy.url, 2), ["b2", "b2"]);
    } finally {
      if (killed) await zkSh(["start-member", String(killed)], false);
      await stopAll([proxy.process, admin.process, ...backends]);
      await zk.close();
    }
  },
});
