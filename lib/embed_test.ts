/**
 * createLoadBalancer's Hono middleware: requests under `stripPrefix` are
 * forwarded (prefix removed), others fall through to the app's own routes.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createLoadBalancer } from "./embed.ts";
import { okResponse, RawBackend } from "../tests/support/raw_http.ts";

Deno.test("lb.middleware() forwards paths under stripPrefix and passes the others to next()", async () => {
  const backend = await RawBackend.start((r, c) => c.write(okResponse(`backend ${r.target}\n`)));
  const lb = createLoadBalancer({
    config: { backend_servers: [backend.address] },
    healthChecks: false,
    stripPrefix: "/api",
  });
  const app = new Hono();
  app.use(lb.middleware());
  app.get("*", (c) => c.text(`app ${c.req.path}\n`));
  try {
    const cases: [string, string][] = [
      ["/api/items?x=1", "backend /items?x=1\n"],
      ["/api", "backend /\n"],
      ["/apiary", "app /apiary\n"],
      ["/home", "app /home\n"],
    ];
    for (const [path, body] of cases) {
      const r = await app.request(path);
      assert.equal(r.status, 200, path);
      assert.equal(await r.text(), body, path);
    }
    assert.equal(backend.requests.length, 2);
  } finally {
    lb.close();
    await backend.close();
  }
});

Deno.test("fetch transport: a client that leaves mid-attempt is no failure of the backend", async () => {
  // the backend answers /slow after 2 s, /fail by cutting the connection (a real failure)
  const backend = await RawBackend.start((r, c) => {
    if (r.target === "/fail") c.destroy();
    else setTimeout(() => c.write(okResponse("late\n")), 2000);
  });
  const lb = createLoadBalancer({
    config: { backend_servers: [backend.address], retry: { max_retries: 0 } },
    healthChecks: false,
    transport: "fetch",
  });
  const failures = () => lb.state.snapshot!.backends[0]!.outlier.consecutiveFailures;
  try {
    for (let i = 0; i < 3; i++) {
      const client = new AbortController();
      const pending = lb.fetch(new Request("http://lb/slow", { signal: client.signal }), "10.0.0.1")
        .catch((e) => e);
      setTimeout(() => client.abort(), 200);
      await pending;
    }
    assert.equal(failures(), 0, "three clients that left count as no failure");
    assert.equal(lb.state.snapshot!.backends[0]!.counters.inflight, 0);
    // positive control: a real failure on the same path is counted
    const r = await lb.fetch(new Request("http://lb/fail"), "10.0.0.1");
    assert.equal(r.status, 502);
    await r.body?.cancel();
    assert.equal(failures(), 1, "a cut connection counts as a failure");
  } finally {
    lb.close();
    await backend.close();
  }
});
