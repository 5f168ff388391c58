/**
 * Session behaviour of the ZooKeeper store against a real single node: forced expiry (the
 * ZooKeeper way), keep-alive while idle, and a frozen server detected by the read watchdog.
 */

import assert from "node:assert/strict";
import type { SessionEvent } from "../../lib/store/types.ts";
import { connectZooKeeper } from "../../lib/store/zookeeper.ts";
import { assertForcedExpiry, expireAndWait, textDeliveries } from "../support/zk_harness.ts";
import { acquireZk, SINGLE, waitUntil, zkSh } from "../support/zk_server.ts";
import { startTcpRelay } from "../support/tcp_relay.ts";

const enc = (t: string) => new TextEncoder().encode(t);
const base = `/session-test-${crypto.randomUUID().slice(0, 8)}`;

Deno.test("zookeeper sessions on a real node", async (t) => {
  const lease = await acquireZk("single");
  const admin = await connectZooKeeper({ connectionString: SINGLE, sessionTimeoutMs: 10_000 });
  try {
    await admin.ensurePath(base);

    await t.step(
      "forced expiry: reported once, a new session opens, owners re-create ephemerals and watchData keeps delivering",
      async () => {
        const store = await connectZooKeeper({ connectionString: SINGLE, sessionTimeoutMs: 4000 });
        const events: SessionEvent[] = [];
        store.onSession((e) => events.push(e));
        // The owner pattern: (re)create the ephemeral on every new session.
        const owner = store.onSession((e) => {
          if (e.type === "connected" && e.newSession) {
            store.create(`${base}/leader`, enc(e.session.id), { mode: "ephemeral" })
              .catch(() => {});
          }
        });
        const first = store.session()!;
        assert.equal(first.password?.length, 16);
        await store.create(`${base}/leader`, enc(first.id), { mode: "ephemeral" });
        await admin.create(`${base}/cfg`, enc("v0"));
        const d = textDeliveries();
        const w = store.watchData(`${base}/cfg`, d.onChange);
        try {
          await w.ready;
          const started = performance.now();
          const expiring = expireAndWait(store, SINGLE);
          await admin.set(`${base}/cfg`, enc("v1-during-expiry"));
          await expiring;
          const tookMs = performance.now() - started;
          const second = store.session()!;
          assert.notEqual(second.id, first.id);
          assertForcedExpiry(
            events.map((e) => e.type === "connected" ? `connected:${e.newSession}` : e.type),
          );
          await waitUntil(
            async () => (await admin.exists(`${base}/leader`))?.ephemeralOwner === second.id,
            5000,
            "ephemeral re-created by the owner in the new session",
          );
          await waitUntil(() => d.last() === "v1-during-expiry", 5000, "change made during expiry");
          await admin.set(`${base}/cfg`, enc("v2"));
          await waitUntil(() => d.last() === "v2", 5000, "change after expiry");
          console.log(`  expiry detected and new session ready in ${tookMs.toFixed(0)}ms`);
        } finally {
          w.close();
          owner();
          await store.close();
        }
      },
    );

    await t.step("an idle session stays alive over several session timeouts (pings)", async () => {
      const IDLE_MS = 7000;
      const store = await connectZooKeeper({ connectionString: SINGLE, sessionTimeoutMs: 2000 });
      const events: SessionEvent[] = [];
      store.onSession((e) => events.push(e));
      // positive control: the same kind of session, idle side by side over the same wait but
      // through a relay that stops forwarding (its pings are lost), is seen to disconnect and
      // its ephemeral to go (the server expired it)
      const relay = await startTcpRelay(SINGLE);
      const control = await connectZooKeeper({
        connectionString: `127.0.0.1:${relay.port}`,
        sessionTimeoutMs: 2000,
      });
      const controlEvents: string[] = [];
      control.onSession((e) => controlEvents.push(e.type));
      try {
        const id = store.session()!.id;
        await store.create(`${base}/idle`, undefined, { mode: "ephemeral" });
        await control.create(`${base}/idle-control`, undefined, { mode: "ephemeral" });
        const started = performance.now();
        relay.freeze();
        await waitUntil(
          async () =>
            controlEvents.includes("disconnected") &&
            (await admin.exists(`${base}/idle-control`)) === null,
          IDLE_MS,
          "control: a session whose pings are lost is dropped and expires",
        );
        console.log(
          `  control session dropped and expired after ${
            (performance.now() - started).toFixed(0)
          }ms: ${controlEvents.join(", ")}`,
        );
        await new Promise((r) => setTimeout(r, Math.max(0, started + IDLE_MS - performance.now())));
        assert.deepEqual(events, [], "no disconnect or expiry while idle");
        assert.equal(store.session()!.id, id);
        assert.equal((await admin.exists(`${base}/idle`))?.ephemeralOwner, id);
      } finally {
        await relay.close();
        await control.close();
        await store.close();
      }
    });

    await t.step(
      "a frozen server (SIGSTOP) is dropped after 2/3 of the session timeout; the session resumes after SIGCONT",
      async () => {
        const store = await connectZooKeeper({
          connectionString: SINGLE,
          sessionTimeoutMs: 6000,
          reconnectWaitMs: 200,
        });
        const events: Array<{ type: string; at: number }> = [];
        store.onSession((e) => events.push({ type: e.type, at: performance.now() }));
        const pid = Number((await zkSh(["pid", "single"])).stdout.trim());
        assert.ok(pid > 0);
        let frozen = false;
        try {
          const id = store.session()!.id;
          await store.create(`${base}/frozen`, undefined, { mode: "ephemeral" });
          await store.get(base); // the server just heard from us: its expiry deadline is ~6s away
          const stoppedAt = performance.now();
          Deno.kill(pid, "SIGSTOP");
          frozen = true;
          await waitUntil(() => events.some((e) => e.type === "disconnected"), 8000, "watchdog");
          const detectedMs = events.find((e) => e.type === "disconnected")!.at - stoppedAt;
          assert.ok(detectedMs >= 3500 && detectedMs <= 7000, `detected after ${detectedMs}ms`);
          await assert.rejects(store.get(base), { name: "ConnectionLossError" });
          Deno.kill(pid, "SIGCONT");
          frozen = false;
          await waitUntil(() => store.state() === "connected", 10_000, "reconnect after SIGCONT");
          assert.equal(store.session()!.id, id, "same session");
          assert.ok(!events.some((e) => e.type === "expired"));
          assert.equal((await admin.exists(`${base}/frozen`))?.ephemeralOwner, id);
          console.log(`  frozen server detected after ${detectedMs.toFixed(0)}ms`);
        } finally {
          if (frozen) Deno.kill(pid, "SIGCONT");
          await store.close();
        }
      },
    );
  } finally {
    await admin.deleteTree(base).catch(() => {});
    await admin.close();
    await lease.release();
  }
});
