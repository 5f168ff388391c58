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

Deno.test("countingBackend: the game day's own control calls (/_control/*, /_gameday/*) are not served traffic", async () => {
  // the 5xx fault flips b5 back with two /_control calls while proxies still show it unhealthy:
  // counted as served, they were the "2 requests to an unhealthy backend" of every full run
  const backend = countingBackend("b1", () => new Response("ok\n"));
  const call = async (method: string, path: string) =>
    await (await backend.fetch(new Request(`http://b${path}`, { method }))).text();
  await call("POST", "/_control/fail?status=0");
  await call("POST", "/_control/health?status=200");
  await call("POST", "/_gameday/slow?ms=0");
  assert.equal(JSON.parse(await call("GET", "/_gameday/counts")).served, 0);
  assert.equal(JSON.parse(await call("GET", "/_gameday/counts")).posts, 0);
  await call("GET", "/api/x"); // positive control
  assert.equal(JSON.parse(await call("GET", "/_gameday/counts")).served, 1);
});

Deno.test("countingBackend: /_gameday/slow delays every request but /health, 0 clears", async () => {
  const backend = countingBackend("b1", () => new Response("b1\n"));
  const timed = async (method: string, path: string) => {
    const t0 = performance.now();
    const r = await backend.fetch(new Request(`http://b${path}`, { method }));
    return { status: r.status, text: await r.text(), ms: performance.now() - t0 };
  };
  assert.equal((await timed("POST", "/_gameday/slow?ms=x")).status, 400);
  assert.equal((await timed("POST", "/_gameday/slow?ms=300")).text, "slow 300 ms\n");
  const slow = await timed("GET", "/api/x");
  assert.equal(slow.text, "b1\n");
  assert.ok(slow.ms >= 290, `${slow.ms} ms`);
  assert.ok((await timed("GET", "/health")).ms < 200, "/health stays fast");
  await timed("POST", "/_gameday/slow?ms=0");
  assert.ok((await timed("GET", "/api/x")).ms < 200, "cleared");
});
