import assert from "node:assert/strict";
import { countingBackend } from "./backend.ts";

Deno.test("countingBackend: counts served requests but not /health, lists POST ids from an index", async () => {
  const backend = countingBackend("b1", () => new Response("b1\n"));
  const call = async (method: string, path: string, id?: string) => {
    const r = await backend.fetch(
      new Request(`http://b${path}`, {
        method,
        headers: id ? { "x-gameday-id": id } : {},
        body: method === "POST" ? "{}" : undefined,
      }),
    );
    return await r.text();
  };
  assert.equal(await call("GET", "/api/x"), "b1\n");
  await call("GET", "/health");
  await call("POST", "/api/x", "c1-4");
  await call("POST", "/api/x", "c1-4");
  await call("POST", "/api/x"); // no id: served and counted as a POST, no id listed
  const all = JSON.parse(await call("GET", "/_gameday/counts"));
  assert.equal(all.name, "b1");
  assert.equal(all.served, 4);
  assert.equal(all.posts, 3);
  assert.deepEqual(all.ids, ["c1-4", "c1-4"]);
  assert.match(all.boot, /^[0-9a-f]{8}$/);
  const tail = JSON.parse(await call("GET", "/_gameday/counts?since=1"));
  assert.deepEqual(tail.ids, ["c1-4"]);
  assert.equal(tail.served, 4, "reading the counts is not counted");
  assert.notEqual(countingBackend("b1", () => new Response()).counts().boot, all.boot);
});
