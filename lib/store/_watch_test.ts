import assert from "node:assert/strict";
import { ConnectionLossError, NoAuthError } from "./errors.ts";
import { startWatch, type Versioning, type WatchHost } from "./_watch.ts";
import type { SessionEvent, Timers } from "./types.ts";

interface Value {
  readonly zxid: bigint;
  readonly text: string;
}

const VERSIONING: Versioning<Value> = { order: (v) => v.zxid, key: (v) => String(v.zxid) };

/** A host whose timers only run when the test says so. */
function fakeHost() {
  const listeners = new Set<(e: SessionEvent) => void>();
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      pending.set(next, { fn, ms });
      return next++;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const host: WatchHost = {
    timers,
    onSession: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return {
    host,
    pending,
    emit: (e: SessionEvent) => [...listeners].forEach((l) => l(e)),
    runTimers: () => {
      const due = [...pending.values()];
      pending.clear();
      due.forEach((t) => t.fn());
    },
    listenerCount: () => listeners.size,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const session = { id: "0000000000000001", password: null, timeoutMs: 1000 };

Deno.test("startWatch() drops stale and repeated states and re-reads on every fire", async () => {
  const { host } = fakeHost();
  const answers: Array<Value | null> = [
    { zxid: 5n, text: "a" },
    { zxid: 5n, text: "a" }, // same state again: not delivered twice
    { zxid: 3n, text: "old" }, // older than delivered: stale
    { zxid: 7n, text: "b" },
    null,
    { zxid: 9n, text: "c" },
  ];
  let fire: () => void = () => {};
  const seen: Array<string | null> = [];
  const w = startWatch(
    host,
    (f) => {
      fire = f;
      return Promise.resolve(answers.shift() ?? null);
    },
    VERSIONING,
    (v) => seen.push(v === null ? null : v.text),
  );
  await w.ready;
  for (let i = 0; i < 5; i++) {
    fire();
    await tick();
  }
  assert.deepEqual(seen, ["a", "b", null, "c"]);
  w.close();
});

Deno.test("startWatch() coalesces events that arrive during a read into one more read", async () => {
  const { host } = fakeHost();
  let reads = 0;
  let release: () => void = () => {};
  let fire: () => void = () => {};
  const seen: string[] = [];
  const w = startWatch(
    host,
    (f) => {
      fire = f;
      reads++;
      const n = reads;
      return new Promise((resolve) => {
        release = () => resolve({ zxid: BigInt(n), text: `r${n}` });
      });
    },
    VERSIONING,
    (v) => seen.push(v?.text ?? "null"),
  );
  fire();
  fire();
  fire();
  release();
  await tick();
  assert.equal(reads, 2, "three events during the first read cause one re-read");
  release();
  await w.ready;
  await tick();
  assert.deepEqual(seen, ["r1", "r2"]);
  w.close();
});

Deno.test("startWatch() waits for `connected` after connection loss and backs off on other errors", async () => {
  const { host, emit, runTimers, pending, listenerCount } = fakeHost();
  const script: Array<() => Promise<Value | null>> = [
    () => Promise.reject(new ConnectionLossError()),
    () => Promise.reject(new NoAuthError("/x")),
    () => Promise.resolve({ zxid: 1n, text: "ok" }),
  ];
  const errors: unknown[] = [];
  const seen: string[] = [];
  const w = startWatch(
    host,
    () => script.shift()!(),
    VERSIONING,
    (v) => seen.push(v?.text ?? "null"),
    { onError: (e) => errors.push(e) },
  );
  await tick();
  assert.equal(pending.size, 0, "connection loss schedules nothing: it waits for connected");
  assert.equal(errors.length, 0);
  emit({ type: "connected", session, newSession: false });
  await tick();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof NoAuthError);
  assert.deepEqual([...pending.values()].map((t) => t.ms), [100]);
  runTimers();
  await w.ready;
  assert.deepEqual(seen, ["ok"]);
  w.close();
  assert.equal(listenerCount(), 0, "close() unsubscribes");
});

Deno.test("startWatch() stops on close() and on the store's closed event", async () => {
  const { host, emit } = fakeHost();
  let fire: () => void = () => {};
  let reads = 0;
  const w = startWatch(
    host,
    (f) => {
      fire = f;
      reads++;
      return Promise.resolve({ zxid: BigInt(reads), text: "x" });
    },
    VERSIONING,
    () => {},
  );
  await w.ready;
  emit({ type: "closed" });
  fire();
  await tick();
  assert.equal(reads, 1);
});
