import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { silentLogger } from "../log.ts";
import { contentVersion } from "./config_file.ts";
import { type ConfigUpdate, isIssues } from "./config_source.ts";
import { FileConfigSource, FileGroupSource } from "./file.ts";

const A = { backend_servers: ["127.0.0.1:9001"] };
const A2 = { backend_servers: ["127.0.0.1:9001", "127.0.0.1:9003"] };
const B = { backend_servers: ["127.0.0.1:9002"] };
const FAST = { debounceMs: 5, pollMs: 50 };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-file-source-"));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes the file by renaming a temporary one over it, as editors do. */
function replace(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, typeof value === "string" ? value : JSON.stringify(value));
  fs.renameSync(tmp, file);
}

Deno.test("FileGroupSource.open fails with the file's path when it cannot be read or served", async () => {
  await withDir(async (dir) => {
    const missing = path.join(dir, "missing.json");
    const r1 = FileGroupSource.open(missing, undefined, silentLogger);
    assert.equal(r1.ok, false);
    assert.match((r1 as { message: string }).message, new RegExp(`^cannot read ${missing}: `));
    const two = path.join(dir, "two.json");
    fs.writeFileSync(two, JSON.stringify({ a: A, b: B }));
    const r2 = FileGroupSource.open(two, undefined, silentLogger);
    assert.deepEqual(r2, { ok: false, message: `${two} has 2 groups (a, b): use --group` });
    // positive control: the same file with --group opens
    const r3 = FileGroupSource.open(two, "b", silentLogger);
    assert.ok(r3.ok);
    assert.equal(r3.source.group, "b");
    assert.equal(r3.source.description, `file:${two}`);
    await Promise.resolve();
  });
});

Deno.test("FileGroupSource emits the group's config at start, then one update per edit", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "lb.json");
    fs.writeFileSync(file, JSON.stringify({ a: A, b: B }));
    const opened = FileGroupSource.open(file, "a", silentLogger, FAST);
    assert.ok(opened.ok);
    const seen: ConfigUpdate[] = [];
    opened.source.start((u) => (seen.push(u), !isIssues(u)));
    try {
      assert.deepEqual(seen, [{ version: contentVersion(JSON.stringify(A)), blob: A }]);
      replace(file, { a: A2, b: B });
      await until("the edit", () => seen.length === 2);
      assert.deepEqual(seen[1], { version: contentVersion(JSON.stringify(A2)), blob: A2 });
      replace(file, "{nope");
      await until("the broken edit", () => seen.length === 3);
      const bad = seen[2]!;
      assert.ok(isIssues(bad));
      assert.equal(bad.version, contentVersion("{nope"));
      assert.match(bad.issues[0]!.reason, /^invalid JSON/);
      replace(file, { b: B });
      await until("the removal", () => seen.length === 4);
      assert.ok(isIssues(seen[3]!));
      assert.equal(seen[3].issues[0]!.reason, "group removed from the file");
    } finally {
      await opened.source.stop();
    }
  });
});

Deno.test("FileGroupSource emits nothing after stop", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "lb.json");
    fs.writeFileSync(file, JSON.stringify({ a: A }));
    const opened = FileGroupSource.open(file, undefined, silentLogger, FAST);
    assert.ok(opened.ok);
    const seen: ConfigUpdate[] = [];
    opened.source.start((u) => (seen.push(u), true));
    // positive control: an edit while started is emitted
    replace(file, { a: A2 });
    await until("the edit", () => seen.length === 2);
    await opened.source.stop();
    replace(file, { a: A });
    // a watcher that missed the stop would emit within a few poll periods
    await new Promise((r) => setTimeout(r, 10 * FAST.pollMs));
    assert.equal(seen.length, 2);
  });
});

Deno.test("FileGroupSource does not miss an edit made between open and start", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "lb.json");
    fs.writeFileSync(file, JSON.stringify({ a: A }));
    const opened = FileGroupSource.open(file, undefined, silentLogger, FAST);
    assert.ok(opened.ok);
    replace(file, { a: A2 });
    const seen: ConfigUpdate[] = [];
    opened.source.start((u) => (seen.push(u), true));
    try {
      await until("the edit made before start", () => seen.length === 2);
      assert.deepEqual(seen.map((u) => (u as { blob: unknown }).blob), [A, A2]);
    } finally {
      await opened.source.stop();
    }
  });
});

Deno.test("FileConfigSource.watch ignores a moment without the file and reports the next text", async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, "lb.json");
    fs.writeFileSync(file, "one");
    const source = new FileConfigSource(file, silentLogger, FAST);
    const seen: string[] = [];
    const stop = source.watch((r) => seen.push(r.text!));
    try {
      fs.rmSync(file);
      await new Promise((r) => setTimeout(r, 4 * FAST.pollMs));
      fs.writeFileSync(file, "two");
      await until("the new text", () => seen.length === 1);
      assert.deepEqual(seen, ["two"]);
    } finally {
      stop();
    }
  });
});
