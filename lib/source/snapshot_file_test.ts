import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type LocalSnapshot, readSnapshot, writeSnapshot } from "./snapshot_file.ts";

function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-snapshot-"));
    try {
      await fn(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

const snapshot: LocalSnapshot = {
  group: "g",
  version: "3",
  blob: { backend_servers: ["10.0.0.1:80", { address: "10.0.0.2:80", weight: 2 }] },
  unhealthy: ["10.0.0.2:80"],
  writtenAt: "2024-01-02T03:04:05.000Z",
};

Deno.test(
  "writeSnapshot then readSnapshot returns the same snapshot",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    writeSnapshot(file, snapshot);
    assert.deepEqual(readSnapshot(file, "g"), { snapshot, error: null });
  }),
);

Deno.test(
  "writeSnapshot writes indented JSON ending with a newline",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    writeSnapshot(file, snapshot);
    assert.equal(fs.readFileSync(file, "utf8"), JSON.stringify(snapshot, null, 2) + "\n");
  }),
);

Deno.test(
  "writeSnapshot creates missing parent directories",
  withDir((dir) => {
    const file = path.join(dir, "a", "b", "g.json");
    writeSnapshot(file, snapshot);
    assert.equal(readSnapshot(file, "g").snapshot?.version, "3");
  }),
);

Deno.test(
  "writeSnapshot replaces the previous snapshot and leaves no temporary file",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    writeSnapshot(file, snapshot);
    writeSnapshot(file, { ...snapshot, version: "4", unhealthy: [] });
    const r = readSnapshot(file, "g");
    assert.equal(r.snapshot?.version, "4");
    assert.deepEqual(r.snapshot?.unhealthy, []);
    assert.deepEqual(fs.readdirSync(dir), ["g.json"]);
  }),
);

Deno.test(
  "writeSnapshot writes a large blob completely",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    const backends = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 8 & 255}.${i & 255}.1:80`);
    writeSnapshot(file, { ...snapshot, blob: { backend_servers: backends } });
    const blob = readSnapshot(file, "g").snapshot?.blob as { backend_servers: string[] };
    assert.equal(blob.backend_servers.length, 20_000);
  }),
);

Deno.test(
  "writeSnapshot never exposes a partial file: the old one stays until the rename",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    writeSnapshot(file, snapshot);
    const before = fs.statSync(file).ino;
    writeSnapshot(file, { ...snapshot, version: "5" });
    // a rename swaps in a new inode; an in-place rewrite would keep the old one
    assert.notEqual(fs.statSync(file).ino, before);
  }),
);

Deno.test(
  "writeSnapshot throws when the file cannot be written and cleans up its temporary file",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, "keep"), "x");
    assert.throws(() => writeSnapshot(file, snapshot));
    assert.deepEqual(fs.readdirSync(dir), ["g.json"]);
  }),
);

Deno.test(
  "writeSnapshot throws when the directory cannot be created",
  withDir((dir) => {
    fs.writeFileSync(path.join(dir, "plain"), "x");
    assert.throws(() => writeSnapshot(path.join(dir, "plain", "g.json"), snapshot));
  }),
);

Deno.test(
  "readSnapshot of a missing file returns null with the reason",
  withDir((dir) => {
    const r = readSnapshot(path.join(dir, "none.json"), "g");
    assert.equal(r.snapshot, null);
    assert.match(String(r.error), /no such file|not found|ENOENT/i);
  }),
);

Deno.test(
  "readSnapshot refuses a snapshot of another group",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    writeSnapshot(file, snapshot);
    const r = readSnapshot(file, "other");
    assert.equal(r.snapshot, null);
    assert.equal(r.error, `${file} is not a snapshot of group other`);
  }),
);

Deno.test(
  "readSnapshot refuses a corrupt file with the parse error",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    fs.writeFileSync(file, '{"group": "g", "version": "3", "blob": {');
    const r = readSnapshot(file, "g");
    assert.equal(r.snapshot, null);
    assert.ok(r.error?.startsWith(`${file}: `), r.error ?? "");
    fs.writeFileSync(file, "");
    assert.equal(readSnapshot(file, "g").snapshot, null);
  }),
);

Deno.test(
  "readSnapshot refuses JSON that is not a snapshot",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    const cases: unknown[] = [
      null,
      42,
      "g",
      [],
      { group: "g" },
      { group: "g", version: 3, blob: {} },
      { group: "g", version: "3" },
      { version: "3", blob: {} },
    ];
    for (const value of cases) {
      fs.writeFileSync(file, JSON.stringify(value));
      const r = readSnapshot(file, "g");
      assert.equal(r.snapshot, null, JSON.stringify(value));
      assert.match(String(r.error), /is not a snapshot of group g/, JSON.stringify(value));
    }
  }),
);

Deno.test(
  "readSnapshot accepts a null blob as written",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    fs.writeFileSync(file, JSON.stringify({ group: "g", version: "1", blob: null }));
    assert.equal(readSnapshot(file, "g").snapshot?.blob, null);
  }),
);

Deno.test(
  "readSnapshot treats a missing or malformed unhealthy list as empty and drops non-strings",
  withDir((dir) => {
    const file = path.join(dir, "g.json");
    fs.writeFileSync(file, JSON.stringify({ group: "g", version: "1", blob: {} }));
    assert.deepEqual(readSnapshot(file, "g").snapshot?.unhealthy, []);
    fs.writeFileSync(file, JSON.stringify({ group: "g", version: "1", blob: {}, unhealthy: "x" }));
    assert.deepEqual(readSnapshot(file, "g").snapshot?.unhealthy, []);
    fs.writeFileSync(
      file,
      JSON.stringify({ group: "g", version: "1", blob: {}, unhealthy: ["a:1", 2, null, "b:2"] }),
    );
    assert.deepEqual(readSnapshot(file, "g").snapshot?.unhealthy, ["a:1", "b:2"]);
  }),
);
