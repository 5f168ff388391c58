import assert from "node:assert/strict";
import { connectStore } from "./mod.ts";

Deno.test("connectStore() shares one in-process tree between memory sessions", async () => {
  const a = await connectStore({ connectionString: "memory" });
  const b = await connectStore({ connectionString: "memory" });
  try {
    const path = `/mod-test-${Math.random().toString(36).slice(2)}`;
    await a.create(path, new TextEncoder().encode("x"), { mode: "ephemeral" });
    assert.equal(a.kind, "memory");
    assert.equal((await b.get(path))?.stat.ephemeralOwner, a.session()?.id);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("connectStore() rejects a malformed ZooKeeper connection string before connecting", async () => {
  await assert.rejects(connectStore({ connectionString: "host:99999" }), { name: "StoreError" });
});
