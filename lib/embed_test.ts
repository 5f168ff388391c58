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
