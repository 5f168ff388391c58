/**
 * The ZooKeeper store against a real three-member ensemble (127.0.0.1:2281-2283): member
 * failures, leader failure, a client cut off from its only server, and the whole ensemble down.
 * Members are killed and restarted through deploy/zookeeper/zk.sh.
 */

import assert from "node:assert/strict";
import { ConnectionLossError, type SessionEvent } from "../../lib/store/types.ts";
import { connectZooKeeper, type ZooKeeperStore } from "../../lib/store/zookeeper.ts";
import { assertSessionResumed, retrying, textDeliveries } from "../support/zk_harness.ts";
import {
  acquireZk,
  ENSEMBLE,
  ensembleLeader,
  memberOfSession,
  MEMBERS,
  waitUntil,
  zkSh,
} from "../support/zk_server.ts";

const enc = (t: string) => new TextEncoder().encode(t);
const base = `/ensemble-test-${crypto.randomUUID().slice(0, 8)}`;

function sessionLog(store: ZooKeeperStore): SessionEvent[] {
  const events: SessionEvent[] = [];
  store.onSession((e) => events.push(e));
  return events;
}

const kinds = (events: SessionEvent[]) =>
  events.map((e) => e.type === "connected" ? `connected:${e.newSession}` : e.type);

Deno.test("zookeeper store on a real three-member ensemble", async (t) => {
  const lease = await acquireZk("ensemble");
  // The writer sits on members 2 and 3: it keeps working while member 1 is down.
  const writer = await connectZooKeeper({
    connectionString: `${MEMBERS[1]},${MEMBERS[2]}`,
    sessionTimeoutMs: 20_000,
    reconnectWaitMs: 5000,
  });
  try {
    await retrying(() => writer.ensurePath(base));
    await retrying(() => writer.create(`${base}/cfg`, enc("v0")));

    await t.step(
      "killing the client's member: it fails over with the same session, ephemerals survive, watches keep firing",
      async () => {
        const store = await connectZooKeeper({
          connectionString: ENSEMBLE,
          sessionTimeoutMs: 8000,
          reconnectWaitMs: 5000,
        });
        const events = sessionLog(store);
        const d = textDeliveries();
        const w = store.watchData(`${base}/cfg`, d.onChange);
        let killed: 1 | 2 | 3 | undefined;
        try {
          await w.ready;
          const id = store.session()!.id;
          await store.create(`${base}/member-a`, undefined, { mode: "ephemeral" });
          killed = await memberOfSession(id);
          assert.ok(killed !== undefined, "cons shows the session on one member");
          const started = performance.now();
          await zkSh(["kill-member", String(killed)]);
          await retrying(() => writer.set(`${base}/cfg`, enc("after-kill")));
          await waitUntil(() => d.last() === "after-kill", 15_000, "watch after member kill");
          assert.equal(
            (await store.get(`${base}/cfg`))?.data.length,
            "after-kill".length,
            "reads work",
          );
          console.log(`  failover + delivery in ${(performance.now() - started).toFixed(0)}ms`);
          assert.equal(store.session()!.id, id);
          assertSessionResumed(kinds(events));
          const now = await memberOfSession(id);
          assert.ok(now !== undefined && now !== killed, `now on member ${now}`);
          assert.equal((await writer.exists(`${base}/member-a`))?.ephemeralOwner, id);
        } finally {
          w.close();
          await store.close();
          if (killed !== undefined) await zkSh(["start-member", String(killed)]);
        }
      },
    );

    await t.step(
      "killing the leader: after re-election writes resume and watches keep firing",
      async () => {
        const store = await connectZooKeeper({
          connectionString: ENSEMBLE,
          sessionTimeoutMs: 10_000,
          reconnectWaitMs: 5000,
        });
        const events = sessionLog(store);
        const d = textDeliveries();
        const w = store.watchData(`${base}/cfg`, d.onChange);
        let leader: 1 | 2 | 3 | undefined;
        try {
          await w.ready;
          const id = store.session()!.id;
          leader = await ensembleLeader();
          assert.ok(leader !== undefined, "a leader is elected");
          const started = performance.now();
          await zkSh(["kill-member", String(leader)]);
          await retrying(() => writer.set(`${base}/cfg`, enc("after-leader-kill")));
          const writeMs = performance.now() - started;
          await waitUntil(
            () => d.last() === "after-leader-kill",
            15_000,
            "watch after leader kill",
          );
          await retrying(() => store.set(`${base}/cfg`, enc("written-by-store")));
          await waitUntil(() => d.last() === "written-by-store", 15_000, "own write seen");
          assert.equal(store.session()!.id, id);
          assert.ok(!events.some((e) => e.type === "expired"), JSON.stringify(kinds(events)));
          const newLeader = await ensembleLeader();
          assert.ok(newLeader !== undefined && newLeader !== leader);
          console.log(
            `  leader ${leader} -> ${newLeader}; first write after ${writeMs.toFixed(0)}ms`,
          );
        } finally {
          w.close();
          await store.close();
          if (leader !== undefined) await zkSh(["start-member", String(leader)]);
        }
      },
    );

    await t.step(
      "a client cut off from its only server misses nothing and sends nothing late",
      async () => {
        const store = await connectZooKeeper({
          connectionString: MEMBERS[0],
          sessionTimeoutMs: 20_000,
          reconnectWaitMs: 300,
        });
        const events = sessionLog(store);
        const d = textDeliveries();
        const w = store.watchData(`${base}/cfg`, d.onChange);
        const children: string[][] = [];
        const wc = store.watchChildren(base, (s) => children.push(s ? [...s.children] : []));
        let down = false;
        try {
          await w.ready;
          await wc.ready;
          const id = store.session()!.id;
          await store.create(`${base}/member-b`, undefined, { mode: "ephemeral" });
          await zkSh(["kill-member", "1"]);
          down = true;
          await waitUntil(() => store.state() === "disconnected", 5000, "disconnected");
          const t0 = performance.now();
          await assert.rejects(store.get(`${base}/cfg`), ConnectionLossError);
          const failMs = performance.now() - t0;
          assert.ok(failMs < 1500, `read failed after ${failMs}ms`);
          await assert.rejects(store.create(`${base}/never-sent`), ConnectionLossError);
          // Others keep writing while this client is away.
          await retrying(() => writer.set(`${base}/cfg`, enc("while-away")));
          await retrying(() => writer.create(`${base}/added-while-away`));
          await zkSh(["start-member", "1"]);
          down = false;
          await waitUntil(() => d.last() === "while-away", 15_000, "change made while away");
          await waitUntil(
            () => children.at(-1)?.includes("added-while-away") === true,
            15_000,
            "child added while away",
          );
          assert.equal(store.session()!.id, id);
          assertSessionResumed(kinds(events));
          assert.equal(await writer.exists(`${base}/never-sent`), null, "never sent late");
          assert.equal((await writer.exists(`${base}/member-b`))?.ephemeralOwner, id);
        } finally {
          w.close();
          wc.close();
          await store.close();
          if (down) await zkSh(["start-member", "1"]);
        }
      },
    );

    await t.step(
      "whole ensemble down longer than the session timeout: reads fail with connection loss, the session survives the restart and watchData catches up",
      async () => {
        const store = await connectZooKeeper({
          connectionString: ENSEMBLE,
          sessionTimeoutMs: 4000,
          reconnectWaitMs: 500,
        });
        const events = sessionLog(store);
        const d = textDeliveries();
        const w = store.watchData(`${base}/cfg`, d.onChange);
        let down = false;
        try {
          await w.ready;
          const id = store.session()!.id;
          await store.create(`${base}/member-c`, undefined, { mode: "ephemeral" });
          await zkSh(["stop", "ensemble"]);
          down = true;
          await waitUntil(() => store.state() === "disconnected", 5000, "disconnected");
          const outageStart = performance.now();
          // Reads fail fast with ConnectionLossError for the whole outage, never with expiry.
          while (performance.now() - outageStart < 6000) {
            await assert.rejects(store.get(`${base}/cfg`), ConnectionLossError);
          }
          assert.ok(!events.some((e) => e.type === "expired"), "no expiry while nothing answers");
          await zkSh(["start", "ensemble"]);
          down = false;
          const restarted = performance.now();
          await retrying(() => writer.set(`${base}/cfg`, enc("after-restart")));
          await waitUntil(() => d.last() === "after-restart", 20_000, "watch after restart");
          await waitUntil(() => store.state() === "connected", 20_000, "reconnected");
          console.log(
            `  outage ${(restarted - outageStart).toFixed(0)}ms > session timeout 4000ms; ` +
              `events ${JSON.stringify(kinds(events))}`,
          );
          // ZooKeeper restores sessions from its log and restarts their clocks after an election:
          // the session outlives an outage of the whole ensemble, however long.
          assert.equal(store.session()!.id, id);
          assertSessionResumed(kinds(events));
          assert.equal((await writer.exists(`${base}/member-c`))?.ephemeralOwner, id);
        } finally {
          w.close();
          await store.close();
          if (down) await zkSh(["start", "ensemble"]);
        }
      },
    );
  } finally {
    await retrying(() => writer.deleteTree(base)).catch(() => {});
    await writer.close();
    await lease.release();
  }
});
