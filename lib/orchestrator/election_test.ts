import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { ConnectionLossError, MemoryServer, type MemoryStore } from "../store/mod.ts";
import { LeaderElection } from "./election.ts";

const PATH = "/switchyard/orchestrator/election";

async function until(predicate: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function cluster(n: number) {
  const server = new MemoryServer();
  const stores: MemoryStore[] = [];
  const elections: LeaderElection[] = [];
  for (let i = 0; i < n; i++) {
    const store = await server.connect({ reconnectWaitMs: 50 });
    const e = new LeaderElection({ store, path: PATH, id: `o${i + 1}`, log: silentLogger });
    e.start();
    await e.settled();
    stores.push(store);
    elections.push(e);
  }
  const close = async () => {
    for (const e of elections) await e.resign();
    for (const s of stores) await s.close();
  };
  return { server, stores, elections, close };
}

const acting = (es: LeaderElection[]) =>
  es.map((e, i) => (e.status().acting ? i : -1)).filter((i) => i >= 0);

Deno.test("LeaderElection: the first candidate leads, the others each watch only their predecessor", async () => {
  const c = await cluster(4);
  try {
    assert.deepEqual(acting(c.elections), [0]);
    const own = c.elections.map((e) => e.status().own!);
    assert.equal(c.elections[0]!.status().watching, null);
    for (let i = 1; i < 4; i++) {
      assert.equal(c.elections[i]!.status().watching, own[i - 1], "watches its predecessor");
      assert.equal(c.elections[i]!.status().leaderNode, own[0]);
    }
    await until(() => c.elections[3]!.status().leaderId === "o1", "leader id known");
  } finally {
    await c.close();
  }
});

Deno.test("LeaderElection: the leader's session expires -> the next one acts, the old one rejoins last", async () => {
  const c = await cluster(3);
  try {
    const oldOwn = c.elections[0]!.status().own!;
    c.stores[0]!.simulateExpiry();
    await until(() => c.elections[1]!.status().acting, "successor acts");
    assert.deepEqual(acting(c.elections), [1]);
    await until(() => c.elections[0]!.status().own !== null, "old leader rejoined");
    const s0 = c.elections[0]!.status();
    assert.notEqual(s0.own, oldOwn);
    assert.equal(s0.watching, c.elections[2]!.status().own, "at the back of the line");
    assert.equal(c.elections[2]!.status().watching, c.elections[1]!.status().own);
  } finally {
    await c.close();
  }
});

Deno.test("LeaderElection: on connection loss the leader stops acting until it reconnects", async () => {
  const c = await cluster(2);
  const seen: boolean[] = [];
  try {
    const e = c.elections[0]!;
    const off = c.stores[0]!.onSession(() => seen.push(e.status().acting));
    c.stores[0]!.simulateDisconnect();
    assert.equal(e.status().acting, false);
    assert.equal(e.status().leader, true, "still holds its node");
    assert.equal(c.elections[1]!.status().acting, false, "nobody else acts either");
    c.stores[0]!.simulateReconnect();
    await until(() => e.status().acting, "acting again after reconnect");
    off();
    assert.deepEqual(seen, [false, false]);
  } finally {
    await c.close();
  }
});

Deno.test("LeaderElection: a lost create reply is recovered by the guid (one node, not two)", async () => {
  const server = new MemoryServer();
  const store = await server.connect({ reconnectWaitMs: 50 });
  let failed = false;
  const flaky = new Proxy(store, {
    get(target, prop) {
      if (prop === "create" && !failed) {
        return async (...args: Parameters<MemoryStore["create"]>) => {
          failed = true;
          await target.create(...args); // applied on the server...
          target.simulateDisconnect(); // ...but the reply is lost with the connection
          throw new ConnectionLossError(args[0]);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const e = new LeaderElection({ store: flaky, path: PATH, id: "o1", log: silentLogger });
  try {
    e.start();
    await until(() => failed, "create attempted");
    await e.settled();
    assert.equal(e.status().own, null);
    store.simulateReconnect();
    await until(() => e.status().acting, "leads with the recovered node");
    const children = await store.children(PATH);
    assert.equal(children.length, 1);
    assert.equal(children[0], e.status().own);
  } finally {
    await e.resign();
    await store.close();
  }
});

Deno.test("LeaderElection: fence() stops a deposed leader's transaction", async () => {
  const c = await cluster(2);
  try {
    const old = c.elections[0]!;
    const fence = old.fence();
    await c.stores[0]!.transaction([fence, { op: "create", path: "/ok-1" }]);
    // Its node vanishes (as when its session expired while it was paused).
    await c.stores[1]!.delete(fence.path);
    await assert.rejects(
      c.stores[0]!.transaction([fence, { op: "create", path: "/stale-write" }]),
      (e: Error & { failedOpIndex?: number }) => e.name === "NoNodeError" && e.failedOpIndex === 0,
    );
    assert.equal(await c.stores[0]!.exists("/stale-write"), null);
    await until(() => c.elections[1]!.status().acting, "the other one leads");
  } finally {
    await c.close();
  }
});

Deno.test("LeaderElection: resign() hands over at once and removes the node", async () => {
  const c = await cluster(3);
  try {
    const own = c.elections[0]!.ownPath()!;
    await c.elections[0]!.resign();
    assert.equal(await c.stores[1]!.exists(own), null);
    await until(() => c.elections[1]!.status().acting, "successor acts");
    assert.deepEqual(acting(c.elections), [1]);
  } finally {
    await c.close();
  }
});
