import assert from "node:assert/strict";
import net from "node:net";
import { ListenError } from "./listen.ts";
import { deferredHandler, serve } from "./serve.ts";

Deno.test("serve() rejects with a ListenError naming the address when the port is taken", async () => {
  const held = net.createServer();
  await new Promise<void>((resolve) => held.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const port = (held.address() as net.AddressInfo).port;
  try {
    const e = await serve(() => new Response("x"), { hostname: "127.0.0.1", port }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(e instanceof ListenError, String(e));
    assert.equal(e.message, `listen 127.0.0.1:${port}: address already in use`);
    assert.equal(e.code, "EADDRINUSE");
  } finally {
    await new Promise((resolve) => held.close(resolve));
  }
});

Deno.test("deferredHandler() answers 503 until the real handler is set, then delegates", async () => {
  const d = deferredHandler();
  const env = { remoteAddr: "127.0.0.1" };
  const before = await d.handler(new Request("http://x/status"), env);
  assert.equal(before.status, 503);
  assert.equal(await before.text(), "starting\n");
  d.set((req, e) => new Response(`${new URL(req.url).pathname} ${e.remoteAddr}`));
  const after = await d.handler(new Request("http://x/status"), env);
  assert.equal(after.status, 200);
  assert.equal(await after.text(), "/status 127.0.0.1");
});
