import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { NativeSocket, type RawSocket } from "./native_socket.ts";

/** A raw socket whose kernel takes `room` more bytes (then writes are partial). */
class FakeRaw implements RawSocket {
  readonly remoteAddress = "192.0.2.7";
  room = Infinity;
  sent: number[] = [];
  writes = 0;
  shutdowns = 0;
  terminated = false;
  paused = false;
  noDelay: boolean | undefined;
  closed = false;

  write(data: Uint8Array): number {
    if (this.closed) return -1;
    this.writes++;
    const n = Math.min(data.length, this.room);
    this.room -= n;
    for (let i = 0; i < n; i++) this.sent.push(data[i]!);
    return n;
  }
  shutdown(): void {
    this.shutdowns++;
  }
  terminate(): void {
    this.terminated = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  setNoDelay(v?: boolean): void {
    this.noDelay = v;
  }
  text(): string {
    return Buffer.from(this.sent).toString("latin1");
  }
}

const bytes = (s: string) => Buffer.from(s, "latin1");
const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("NativeSocket.write() is true while the kernel takes everything", () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  assert.equal(s.write(bytes("GET / ")), true);
  assert.equal(s.write("HTTP/1.1\r\n", "latin1"), true);
  assert.equal(s.writableNeedDrain, false);
  assert.equal(raw.text(), "GET / HTTP/1.1\r\n");
  assert.equal(s.remoteAddress, "192.0.2.7");
});

Deno.test("NativeSocket writes strings as latin1, one byte per char", () => {
  const raw = new FakeRaw();
  new NativeSocket(raw).write("caf\u00e9", "latin1");
  assert.deepEqual(raw.sent, [0x63, 0x61, 0x66, 0xe9]);
});

Deno.test("NativeSocket keeps a copy of what a partial write left, sends it in order on drain, then emits drain", () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  let drains = 0;
  s.on("drain", () => drains++);
  raw.room = 3;
  const first = bytes("abcdef");
  assert.equal(s.write(first), false, "partial: wait for drain");
  assert.equal(s.writableNeedDrain, true);
  first.fill(0x7a); // the caller reuses its buffer: what is kept must not change
  const second = bytes("ghi");
  assert.equal(s.write(second), false, "queued behind the rest");
  second.fill(0x7a);
  assert.equal(raw.text(), "abc");
  raw.room = 2;
  s.onDrain(); // still not all: no drain event
  assert.equal(raw.text(), "abcde");
  assert.equal(drains, 0);
  assert.equal(s.writableNeedDrain, true);
  raw.room = Infinity;
  s.onDrain();
  assert.equal(raw.text(), "abcdefghi");
  assert.equal(drains, 1);
  assert.equal(s.writableNeedDrain, false);
  s.onDrain(); // a spurious drain with nothing kept: no event
  assert.equal(drains, 1);
  assert.equal(s.write(bytes("j")), true);
});

Deno.test("NativeSocket.end() sends FIN only after what is kept, then calls back", async () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  raw.room = 1;
  s.write(bytes("xy"));
  let done = 0;
  s.end(() => done++);
  assert.equal(raw.shutdowns, 0, "no FIN before the kept byte");
  assert.equal(s.write(bytes("late")), false, "nothing is written after end");
  raw.room = Infinity;
  s.onDrain();
  assert.equal(raw.text(), "xy");
  assert.equal(raw.shutdowns, 1);
  assert.equal(done, 1);
  s.end(() => done++); // a second end does nothing
  await tick();
  assert.equal(raw.shutdowns, 1);
  assert.equal(done, 1);
});

Deno.test("NativeSocket.end() with nothing kept sends FIN at once and calls back after", async () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  let done = 0;
  s.end(() => done++);
  assert.equal(raw.shutdowns, 1);
  assert.equal(done, 0, "the callback comes after the call, as node:net's");
  await tick();
  assert.equal(done, 1);
});

Deno.test("NativeSocket.cork() gathers writes into one raw write", () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  s.cork();
  s.write("head\r\n\r\n", "latin1");
  s.write(bytes("body1"));
  s.write(bytes("body2"));
  assert.equal(raw.writes, 0);
  s.uncork();
  assert.equal(raw.writes, 1);
  assert.equal(raw.text(), "head\r\n\r\nbody1body2");
  assert.equal(s.writableNeedDrain, false);
  raw.room = 2;
  s.cork();
  s.write(bytes("abc"));
  s.uncork();
  assert.equal(s.writableNeedDrain, true, "a partial uncork says so");
});

Deno.test("NativeSocket.destroy() drops what is kept and closes at once", async () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  let drains = 0;
  const closes: boolean[] = [];
  s.on("drain", () => drains++);
  s.on("close", (hadError) => closes.push(hadError));
  raw.room = 1;
  s.write(bytes("abc"));
  s.destroy();
  assert.equal(raw.terminated, true);
  assert.equal(s.destroyed, true);
  assert.equal(s.writableNeedDrain, false);
  raw.room = Infinity;
  s.onDrain();
  assert.equal(raw.text(), "a");
  assert.equal(drains, 0);
  s.onClose();
  assert.deepEqual(closes, [], "close comes after the call that closed, not inside it");
  await tick();
  assert.deepEqual(closes, [false]);
});

Deno.test("NativeSocket emits close once, to every listener, with hadError", async () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  const seen: string[] = [];
  s.on("close", (e) => seen.push(`a:${e}`));
  s.on("close", (e) => seen.push(`b:${e}`));
  s.on("error", (e) => seen.push(`error:${e.message}`));
  s.onError(new Error("reset"));
  s.onClose(new Error("reset"));
  s.onClose();
  await tick();
  assert.deepEqual(seen, ["error:reset", "a:true", "b:true"]);
  assert.equal(s.destroyed, true);
  assert.equal(s.write(bytes("x")), false);
});

Deno.test("NativeSocket delivers data and end to listeners; removeAllListeners detaches them", () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  const got: string[] = [];
  s.on("data", (c) => got.push(c.toString("latin1")));
  s.on("end", () => got.push("end"));
  s.onData(bytes("one"));
  s.removeAllListeners("data");
  s.on("data", (c) => got.push(`h2:${c.toString("latin1")}`));
  s.onData(bytes("two"));
  s.onEnd();
  assert.deepEqual(got, ["one", "h2:two", "end"]);
});

Deno.test("NativeSocket passes pause, resume and setNoDelay through", () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  s.pause();
  assert.equal(raw.paused, true);
  s.resume();
  assert.equal(raw.paused, false);
  s.setNoDelay(true);
  assert.equal(raw.noDelay, true);
});

Deno.test("NativeSocket.write() on a socket the runtime is closing is false and keeps nothing", () => {
  const raw = new FakeRaw();
  const s = new NativeSocket(raw);
  raw.closed = true;
  assert.equal(s.write(bytes("abc")), false);
  assert.equal(s.writableNeedDrain, false, "nothing kept for a socket that will not drain");
});
