/**
 * The shared contract every {@linkcode CoordinationStore} passes, as plain async cases so any
 * runner can run them (`memory_test.ts` for the memory store, `tests/zookeeper/store_test.ts`
 * against a real ZooKeeper). The harness says how to open sessions and how to expire one.
 *
 * Each case works under its own random base path and removes it afterwards, so a real server
 * can be shared between cases.
 *
 * @module
 */

import assert from "node:assert/strict";
import { digestAcl, writerOnlyAcl } from "./acl.ts";
import { MAX_REQUEST_BYTES } from "./request_size.ts";
import {
  NoAuthError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  RequestTooLargeError,
  StoreClosedError,
  StoreError,
  VersionConflictError,
} from "./errors.ts";
import type {
  ChildrenSnapshot,
  CoordinationStore,
  NodeData,
  SessionEvent,
  Timers,
} from "./types.ts";

/** Options a case may ask the harness for. */
export interface HarnessConnectOptions {
  /** Digest credentials `user:password`. */
  readonly digest?: string;
  /** Chroot appended to the harness's connection string. */
  readonly chroot?: string;
  /** Requested session timeout. */
  readonly sessionTimeoutMs?: number;
}

/** How the contract reaches one store implementation. */
export interface ContractHarness {
  /** Shown in test names. */
  readonly name: string;
  /** Opens a new session (a new client). */
  connect(options?: HarnessConnectOptions): Promise<CoordinationStore>;
  /**
   * Expires the store's current session from the outside (as the server would) and resolves
   * once the store has reported `expired` and connected a new session.
   */
  expire(store: CoordinationStore): Promise<void>;
  /** Upper bound of "eventually" waits, ms. Default 10000. */
  readonly eventuallyMs?: number;
}

/** One contract case. */
export interface ContractCase {
  readonly name: string;
  readonly fn: (harness: ContractHarness) => Promise<void>;
}

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

const timers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => timers.setTimeout(resolve, ms));

/**
 * Polls until `predicate` holds (used for asynchronous deliveries).
 *
 * @param predicate condition to wait for
 * @param timeoutMs give up after this long
 * @param what description for the failure message
 */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    }
    await sleep(10);
  }
}

/** Collects session events of a store. */
export function recordSessions(store: CoordinationStore): SessionEvent[] {
  const events: SessionEvent[] = [];
  store.onSession((e) => events.push(e));
  return events;
}

/** Runs a case body with a fresh base path and two sessions, cleaning up whatever happens. */
async function withBase(
  harness: ContractHarness,
  body: (base: string, a: CoordinationStore, b: CoordinationStore) => Promise<void>,
): Promise<void> {
  const base = `/contract-${Math.random().toString(36).slice(2, 10)}`;
  const a = await harness.connect();
  const b = await harness.connect();
  try {
    await a.create(base);
    await body(base, a, b);
  } finally {
    await b.close();
    try {
      await a.deleteTree(base);
    } finally {
      await a.close();
    }
  }
}

const within = (h: ContractHarness): number => h.eventuallyMs ?? 10_000;

function dataText(node: NodeData | null): string | null {
  return node === null ? null : dec(node.data);
}

/** The contract: every store implementation must pass all of these. */
export const storeContract: readonly ContractCase[] = [
  {
    name: "get() and exists() return null for a missing node; create/get/set/delete round-trip",
    fn: (h) =>
      withBase(h, async (base, a) => {
        const p = `${base}/node`;
        assert.equal(await a.get(p), null);
        assert.equal(await a.exists(p), null);
        assert.equal(await a.create(p, enc("one")), p);
        const got = await a.get(p);
        assert.equal(dataText(got), "one");
        assert.equal(got?.version, 0);
        assert.equal(got?.stat.ephemeralOwner, null);
        const stat = await a.set(p, enc("two"));
        assert.equal(stat.version, 1);
        assert.equal((await a.exists(p))?.version, 1);
        assert.equal(dataText(await a.get(p)), "two");
        await a.create(`${base}/empty`);
        assert.deepEqual((await a.get(`${base}/empty`))?.data, new Uint8Array());
        await a.delete(p);
        assert.equal(await a.get(p), null);
      }),
  },
  {
    name: "create() rejects an existing node and a missing parent; parents and ensurePath() help",
    fn: (h) =>
      withBase(h, async (base, a) => {
        await a.create(`${base}/x`);
        await assert.rejects(a.create(`${base}/x`), NodeExistsError);
        await assert.rejects(a.create(`${base}/missing/child`), NoNodeError);
        assert.equal(
          await a.create(`${base}/p/q/r`, enc("deep"), { parents: true }),
          `${base}/p/q/r`,
        );
        assert.equal(dataText(await a.get(`${base}/p/q/r`)), "deep");
        await a.ensurePath(`${base}/p/q/s/t`);
        await a.ensurePath(`${base}/p/q/s/t`);
        assert.deepEqual(await a.children(`${base}/p/q`), ["r", "s"]);
        await assert.rejects(a.create("relative"), StoreError);
      }),
  },
  {
    name: "stale set() and delete() fail with VersionConflictError carrying the current version",
    fn: (h) =>
      withBase(h, async (base, a, b) => {
        const p = `${base}/cfg`;
        await a.create(p, enc("v0"));
        const seen = await a.get(p);
        assert.equal(seen?.version, 0);
        await b.set(p, enc("by-b"), 0);
        const err = await a.set(p, enc("by-a"), seen!.version).catch((e) => e);
        assert.ok(err instanceof VersionConflictError, String(err));
        assert.equal(err.expectedVersion, 0);
        assert.equal(err.currentVersion, 1);
        assert.equal(dataText(await a.get(p)), "by-b");
        await assert.rejects(a.delete(p, 0), VersionConflictError);
        await a.set(p, enc("by-a"), 1);
        await assert.rejects(a.set(`${base}/none`, enc("x"), 0), NoNodeError);
        await assert.rejects(a.delete(`${base}/none`), NoNodeError);
        await a.create(`${p}/child`);
        await assert.rejects(a.delete(p), NotEmptyError);
        await a.delete(`${p}/child`, 0);
        await a.delete(p, 2);
        assert.equal(await a.exists(p), null);
      }),
  },
  {
    name: "children() lists names sorted and rejects a missing node with NoNodeError",
    fn: (h) =>
      withBase(h, async (base, a) => {
        assert.deepEqual(await a.children(base), []);
        for (const name of ["c", "a", "b"]) await a.create(`${base}/${name}`);
        assert.deepEqual(await a.children(base), ["a", "b", "c"]);
        assert.equal((await a.exists(base))?.numChildren, 3);
        await assert.rejects(a.children(`${base}/none`), NoNodeError);
      }),
  },
  {
    name: "ephemeral nodes belong to their session and vanish when it closes",
    fn: (h) =>
      withBase(h, async (base, a) => {
        const c = await h.connect();
        let closed = false;
        try {
          const p = await c.create(`${base}/leader`, enc("me"), { mode: "ephemeral" });
          assert.equal((await a.exists(p))?.ephemeralOwner, c.session()?.id);
          await assert.rejects(a.create(`${p}/child`), StoreError);
          await c.close();
          closed = true;
          await eventually(async () => (await a.exists(p)) === null, within(h), "ephemeral gone");
        } finally {
          if (!closed) await c.close();
        }
      }),
  },
  {
    name: "session expiry deletes ephemerals, is reported, and a new session is opened",
    fn: (h) =>
      withBase(h, async (base, a) => {
        const c = await h.connect({ sessionTimeoutMs: 4000 });
        try {
          const events = recordSessions(c);
          const before = c.session();
          assert.ok(before !== null && /^[0-9a-f]{16}$/.test(before.id), JSON.stringify(before));
          await c.create(`${base}/eph`, enc("x"), { mode: "ephemeral" });
          await h.expire(c);
          const expired = events.find((e) => e.type === "expired");
          assert.ok(expired && expired.type === "expired");
          assert.equal(expired.session.id, before.id);
          const renewed = events.find((e) => e.type === "connected" && e.newSession);
          assert.ok(renewed && renewed.type === "connected");
          assert.notEqual(renewed.session.id, before.id);
          assert.equal(c.session()?.id, renewed.session.id);
          assert.equal(c.state(), "connected");
          assert.equal(await a.exists(`${base}/eph`), null);
          // The store works in the new session: the owner re-creates its ephemeral.
          await c.create(`${base}/eph`, enc("again"), { mode: "ephemeral" });
          assert.equal((await a.exists(`${base}/eph`))?.ephemeralOwner, renewed.session.id);
        } finally {
          await c.close();
        }
      }),
  },
  {
    name: "sequential creates get increasing 10-digit suffixes from the parent's counter",
    fn: (h) =>
      withBase(h, async (base, a, b) => {
        await a.create(`${base}/q`);
        const first = await a.create(`${base}/q/item-`, enc("1"), {
          mode: "persistent_sequential",
        });
        const second = await b.create(`${base}/q/item-`, enc("2"), {
          mode: "ephemeral_sequential",
        });
        const third = await a.create(`${base}/q/item-`, enc("3"), {
          mode: "persistent_sequential",
        });
        assert.equal(first, `${base}/q/item-0000000000`);
        assert.equal(second, `${base}/q/item-0000000001`);
        assert.equal(third, `${base}/q/item-0000000002`);
        await a.delete(third);
        const fourth = await a.create(`${base}/q/item-`, undefined, {
          mode: "persistent_sequential",
        });
        assert.ok(fourth > third, `${fourth} > ${third}`);
        assert.deepEqual(await a.children(`${base}/q`), [
          "item-0000000000",
          "item-0000000001",
          fourth.slice(`${base}/q/`.length),
        ]);
      }),
  },
  {
    name: "transaction() applies every op or none and names the failing op",
    fn: (h) =>
      withBase(h, async (base, a) => {
        await a.create(`${base}/cfg`, enc("v0"));
        await a.create(`${base}/old`);
        const results = await a.transaction([
          { op: "check", path: `${base}/cfg`, version: 0 },
          { op: "create", path: `${base}/new`, data: enc("n") },
          { op: "set", path: `${base}/cfg`, data: enc("v1"), version: 0 },
          { op: "delete", path: `${base}/old`, version: 0 },
          { op: "create", path: `${base}/seq-`, mode: "persistent_sequential" },
        ]);
        assert.deepEqual(results.map((r) => r.op), ["check", "create", "set", "delete", "create"]);
        assert.deepEqual(results[1], { op: "create", path: `${base}/new` });
        assert.equal(results[2]?.op === "set" && results[2].stat.version, 1);
        assert.ok(results[4]?.op === "create" && results[4].path.startsWith(`${base}/seq-`));
        assert.equal(dataText(await a.get(`${base}/cfg`)), "v1");
        assert.equal(await a.exists(`${base}/old`), null);

        // A stale check (version 0, now 1) must fail the whole transaction.
        const err = await a.transaction([
          { op: "create", path: `${base}/never` },
          { op: "check", path: `${base}/cfg`, version: 0 },
          { op: "set", path: `${base}/new`, data: enc("changed") },
        ]).catch((e) => e);
        assert.ok(err instanceof VersionConflictError, String(err));
        assert.equal(err.failedOpIndex, 1);
        assert.equal(await a.exists(`${base}/never`), null);
        assert.equal(dataText(await a.get(`${base}/new`)), "n");

        const err2 = await a.transaction([
          { op: "set", path: `${base}/new`, data: enc("changed") },
          { op: "create", path: `${base}/new` },
        ]).catch((e) => e);
        assert.ok(err2 instanceof NodeExistsError, String(err2));
        assert.equal(err2.failedOpIndex, 1);
        assert.equal(dataText(await a.get(`${base}/new`)), "n");
      }),
  },
  {
    name:
      "a write over the request limit is refused before it is sent; the session stays connected",
    fn: (h) =>
      withBase(h, async (base, a) => {
        const events = recordSessions(a);
        const session = a.session()?.id;
        const half = (MAX_REQUEST_BYTES - 2_000) / 2;
        // positive control: just under the limit is written, as one transaction
        await a.transaction([
          { op: "create", path: `${base}/fits-1`, data: new Uint8Array(half) },
          { op: "create", path: `${base}/fits-2`, data: new Uint8Array(half) },
        ]);
        assert.equal((await a.get(`${base}/fits-2`))?.data.length, half);
        // over it (together, and alone): refused with the sizes, nothing written
        const big = new Uint8Array(MAX_REQUEST_BYTES);
        const refusals = [
          await a.transaction([
            { op: "create", path: `${base}/never` },
            { op: "set", path: `${base}/fits-1`, data: new Uint8Array(half + 4_000) },
            { op: "create", path: `${base}/never-2`, data: new Uint8Array(half) },
          ]).catch((e) => e),
          await a.create(`${base}/never`, big).catch((e) => e),
          await a.set(`${base}/fits-1`, big).catch((e) => e),
        ];
        for (const e of refusals) {
          assert.ok(e instanceof RequestTooLargeError, String(e));
          assert.equal(e.limit, MAX_REQUEST_BYTES);
          assert.ok(e.bytes > MAX_REQUEST_BYTES, String(e.bytes));
        }
        assert.equal(await a.exists(`${base}/never`), null);
        assert.equal(await a.exists(`${base}/never-2`), null);
        assert.equal((await a.get(`${base}/fits-1`))?.stat.version, 0);
        // the session never noticed: no event, same session, still usable
        assert.deepEqual(events.map((e) => e.type), []);
        assert.equal(a.state(), "connected");
        assert.equal(a.session()?.id, session);
        await a.set(`${base}/fits-1`, enc("small"));
      }),
  },
  {
    name: "watchData() delivers the initial state, every final state, deletion and re-creation",
    fn: (h) =>
      withBase(h, async (base, a, b) => {
        const p = `${base}/watched`;
        const seen: Array<string | null> = [];
        const orders: bigint[] = [];
        const w = a.watchData(p, (node) => {
          seen.push(dataText(node));
          if (node !== null) orders.push(node.stat.mzxid);
        });
        try {
          await w.ready;
          assert.deepEqual([...seen], [null]);
          await b.create(p, enc("v0"));
          await eventually(() => seen.at(-1) === "v0", within(h), "v0");
          // A burst: intermediate states may be skipped, the final one must arrive.
          for (let i = 1; i <= 20; i++) await b.set(p, enc(`v${i}`));
          await eventually(() => seen.at(-1) === "v20", within(h), "v20");
          await b.delete(p);
          await eventually(() => seen.at(-1) === null, within(h), "deletion");
          await b.create(p, enc("again"));
          await eventually(() => seen.at(-1) === "again", within(h), "re-creation");
          // Never backwards, never the same state twice in a row.
          for (let i = 1; i < orders.length; i++) assert.ok(orders[i]! > orders[i - 1]!);
          const vs = seen.filter((s): s is string => s !== null && /^v\d+$/.test(s))
            .map((s) => Number(s.slice(1)));
          for (let i = 1; i < vs.length; i++) assert.ok(vs[i]! > vs[i - 1]!, String(vs));
        } finally {
          w.close();
        }
        const count = seen.length;
        await b.set(p, enc("after-close"));
        await sleep(50);
        assert.equal(seen.length, count, "no delivery after close()");
      }),
  },
  {
    name: "watchData() re-reads after session expiry and keeps delivering",
    fn: (h) =>
      withBase(h, async (base, a, b) => {
        const p = `${base}/cfg`;
        await b.create(p, enc("before"));
        const c = await h.connect({ sessionTimeoutMs: 4000 });
        const seen: Array<string | null> = [];
        const w = c.watchData(p, (node) => seen.push(dataText(node)));
        try {
          await w.ready;
          assert.deepEqual([...seen], ["before"]);
          const expiring = h.expire(c);
          await b.set(p, enc("during-expiry"));
          await expiring;
          await eventually(
            () => seen.at(-1) === "during-expiry",
            within(h),
            "change during expiry",
          );
          await b.set(p, enc("after"));
          await eventually(() => seen.at(-1) === "after", within(h), "change after expiry");
          await b.delete(p);
          await eventually(() => seen.at(-1) === null, within(h), "deletion after expiry");
        } finally {
          w.close();
          await c.close();
        }
        void a;
      }),
  },
  {
    name: "watchChildren() tracks children, null while the parent is absent",
    fn: (h) =>
      withBase(h, async (base, a, b) => {
        const p = `${base}/members`;
        const seen: Array<string[] | null> = [];
        const w = a.watchChildren(p, (snap: ChildrenSnapshot | null) => {
          seen.push(snap === null ? null : [...snap.children]);
        });
        const last = () => JSON.stringify(seen.at(-1));
        try {
          await w.ready;
          assert.deepEqual([...seen], [null]);
          await b.create(p);
          await eventually(() => last() === "[]", within(h), "empty parent");
          await b.create(`${p}/m2`);
          await b.create(`${p}/m1`, undefined, { mode: "ephemeral" });
          await eventually(() => last() === '["m1","m2"]', within(h), "two members");
          await b.set(`${p}/m2`, enc("data changes do not matter"));
          await b.delete(`${p}/m2`);
          await eventually(() => last() === '["m1"]', within(h), "one member");
          await b.close();
          await eventually(() => last() === "[]", within(h), "ephemeral member gone");
        } finally {
          w.close();
        }
      }),
  },
  {
    name: "digest ACL: anyone reads, writes without the credentials fail with NoAuthError",
    fn: (h) =>
      withBase(h, async (base) => {
        const writer = await h.connect({ digest: "control:s3cret" });
        const wrong = await h.connect({ digest: "control:wrong" });
        const anon = await h.connect();
        const p = `${base}/group-1`;
        try {
          await writer.create(p, enc('{"v":1}'), { acl: writerOnlyAcl("control:s3cret") });
          assert.equal(dataText(await anon.get(p)), '{"v":1}');
          assert.deepEqual(await anon.children(p), []);
          await assert.rejects(anon.set(p, enc("hijack")), NoAuthError);
          await assert.rejects(wrong.set(p, enc("hijack")), NoAuthError);
          await assert.rejects(anon.create(`${p}/child`), NoAuthError);
          await assert.rejects(
            anon.transaction([{ op: "set", path: p, data: enc("x") }]),
            NoAuthError,
          );
          await writer.set(p, enc('{"v":2}'), 0);
          assert.equal(dataText(await anon.get(p)), '{"v":2}');
          const aclText = async (s: CoordinationStore) =>
            (await s.getAcl(p)).acl.map((e) => `${e.scheme}:${e.id}:${e.perms.join("|")}`).sort();
          assert.equal((await anon.getAcl(p)).stat.aversion, 0);
          assert.deepEqual(await aclText(writer), [
            `digest:${digestAcl("control:s3cret").id}:read|write|create|delete|admin`,
            "world:anyone:read",
          ]);
          // Without ADMIN the server masks digest hashes.
          assert.deepEqual(await aclText(anon), [
            "digest:control:x:read|write|create|delete|admin",
            "world:anyone:read",
          ]);
          // A node readable only with credentials.
          const secret = `${base}/secret`;
          await writer.create(secret, enc("k"), { acl: [digestAcl("control:s3cret")] });
          await assert.rejects(anon.get(secret), NoAuthError);
          assert.notEqual(await anon.exists(secret), null, "exists() needs no permission");
          assert.equal(dataText(await writer.get(secret)), "k");
          await assert.rejects(
            anon.setAcl(p, [{ scheme: "world", id: "anyone", perms: ["read"] }]),
            NoAuthError,
          );
          // Deleting needs DELETE on the parent (open here), as in ZooKeeper.
          await writer.delete(secret);
        } finally {
          await anon.close();
          await wrong.close();
          await writer.close();
        }
      }),
  },
  {
    name: "a chroot in the connection string scopes every path",
    fn: (h) =>
      withBase(h, async (base, a) => {
        const c = await h.connect({ chroot: base });
        try {
          assert.equal(await c.create("/inside", enc("x")), "/inside");
          assert.equal(dataText(await a.get(`${base}/inside`)), "x");
          assert.deepEqual(await c.children("/"), ["inside"]);
          const seq = await c.create("/s-", undefined, { mode: "ephemeral_sequential" });
          assert.match(seq, /^\/s-\d{10}$/);
          const [r] = await c.transaction([{ op: "create", path: "/t" }]);
          assert.deepEqual(r, { op: "create", path: "/t" });
          const seen: Array<string | null> = [];
          const w = c.watchData("/inside", (n) => seen.push(dataText(n)));
          await w.ready;
          await a.set(`${base}/inside`, enc("y"));
          await eventually(() => seen.at(-1) === "y", within(h), "watch inside chroot");
          w.close();
        } finally {
          await c.close();
        }
      }),
  },
  {
    name: "close() ends the session once, emits closed, and later calls fail with StoreClosedError",
    fn: async (h) => {
      const c = await h.connect();
      const events = recordSessions(c);
      assert.equal(c.state(), "connected");
      await c.close();
      await c.close();
      assert.equal(c.state(), "closed");
      assert.deepEqual(events.map((e) => e.type), ["closed"]);
      await assert.rejects(c.get("/"), StoreClosedError);
      await assert.rejects(c.create("/x"), StoreClosedError);
    },
  },
];
