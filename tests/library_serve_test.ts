/**
 * `createLoadBalancer` mounted in a Hono app that a real Deno or Bun process
 * serves (tests/support/embedded_lb_app.ts, mounted as the README shows),
 * forwarding to real backends over TCP: every request is answered by a
 * backend, and the backend learns the client's address from
 * `X-Forwarded-For` and `Forwarded` (the client's own elements kept, in
 * order). Also the handler without a connection (`app.request()`).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { Hono } from "hono";
import { createLoadBalancer } from "../mod.ts";
import { REPO_ROOT } from "../lib/runtime/role_command.ts";
import { E2E } from "./support/http_lab.ts";
import { freePort, httpOk, RUNTIMES, startRole } from "./support/processes.ts";
import {
  type BackendRequest,
  header,
  headerAll,
  okResponse,
  RawBackend,
  RawConnection,
} from "./support/raw_http.ts";

const APP = path.join(REPO_ROOT, "tests", "support", "embedded_lb_app.ts");
const SERVED_BY = { deno: "Deno.serve(app.fetch)", bun: "Bun.serve({ fetch: app.fetch })" };

/** The requests both backends received for `target` (health probes left out). */
function seenFor(backends: readonly RawBackend[], target: string): BackendRequest[] {
  return backends.flatMap((b) => b.requests).filter((r) => r.target === target);
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `createLoadBalancer() in a Hono app served by ${
      SERVED_BY[runtime]
    } (${runtime}) forwards every request with the client's address`,
    ...E2E,
    fn: async () => {
      const backends = [
        await RawBackend.start((_r, c) => c.write(okResponse("a\n"))),
        await RawBackend.start((_r, c) => c.write(okResponse("b\n"))),
      ];
      const port = await freePort();
      const port6 = await freePort();
      const app = await startRole(
        runtime,
        "embedded-lb-app",
        [String(port), String(port6), backends.map((b) => b.address).join(",")],
        {
          script: APP,
          ready: async () =>
            await httpOk(`http://127.0.0.1:${port}/`) && await httpOk(`http://[::1]:${port6}/`),
          timeoutMs: 60_000,
        },
      );
      try {
        // every request is answered by a backend, both backends in turn
        const bodies: string[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await fetch(`http://127.0.0.1:${port}/api/items?i=${i}`);
          const text = await r.text();
          assert.equal(r.status, 200, `GET /api/items answered ${r.status} ${text}\n${app.log}`);
          bodies.push(text);
        }
        assert.deepEqual(bodies.toSorted(), ["a\n", "a\n", "b\n", "b\n"]);
        for (let i = 0; i < 4; i++) {
          const [seen] = seenFor(backends, `/items?i=${i}`);
          assert.ok(seen, `no backend saw /items?i=${i}`);
          assert.equal(header(seen, "x-forwarded-for"), "127.0.0.1");
          assert.equal(
            header(seen, "forwarded"),
            `for=127.0.0.1;proto=http;host="127.0.0.1:${port}"`,
          );
        }

        // a client on another address, behind two proxies that each added themselves
        const c = await RawConnection.open(port, { localAddress: "127.0.0.2" });
        c.send(
          "GET /api/chain HTTP/1.1\r\nHost: shop.example\r\n" +
            "X-Forwarded-For: 198.51.100.1\r\nForwarded: for=198.51.100.1\r\n" +
            "X-Forwarded-For: 198.51.100.2\r\nForwarded: for=198.51.100.2;proto=https\r\n" +
            "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n",
        );
        const r = await c.readResponse();
        c.destroy();
        assert.equal(r.status, 200, `${r.head}\n${r.body}\n${app.log}`);
        const [chain] = seenFor(backends, "/chain");
        assert.ok(chain, "no backend saw /chain");
        assert.equal(header(chain, "x-forwarded-for"), "198.51.100.1, 198.51.100.2, 127.0.0.2");
        assert.equal(
          header(chain, "forwarded"),
          'for=198.51.100.1, for=198.51.100.2;proto=https, for=127.0.0.2;proto=http;host="shop.example"',
        );
        assert.equal(header(chain, "x-forwarded-proto"), "http");
        assert.equal(header(chain, "x-forwarded-host"), "shop.example");
        for (const n of ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"]) {
          assert.equal(headerAll(chain, n).length, 1, `${n} once:\n${chain.head}`);
        }

        // an IPv6 client: bracketed and quoted in Forwarded, bare in X-Forwarded-For
        const v6 = await fetch(`http://[::1]:${port6}/api/v6`);
        const v6Text = await v6.text();
        assert.equal(v6.status, 200, `${v6Text}\n${app.log}`);
        const [seen6] = seenFor(backends, "/v6");
        assert.ok(seen6, "no backend saw /v6");
        assert.equal(header(seen6, "x-forwarded-for"), "::1");
        assert.equal(
          header(seen6, "forwarded"),
          `for="[::1]";proto=http;host="[::1]:${port6}"`,
        );
      } finally {
        await app.stop();
        await Promise.all(backends.map((b) => b.close()));
      }
    },
  });
}

Deno.test({
  name: "createLoadBalancer()'s handler forwards app.request() (no connection) as client unknown",
  ...E2E,
  fn: async () => {
    const backend = await RawBackend.start((_r, c) => c.write(okResponse("ok\n")));
    const lb = createLoadBalancer({
      config: { backend_servers: [backend.address] },
      healthChecks: false,
    });
    const app = new Hono();
    app.all("/api/*", lb.handler);
    try {
      const r = await app.request("/api/x", { headers: { forwarded: "for=192.0.2.1" } });
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(await r.text(), "ok\n");
      const seen = backend.requests[0]!;
      assert.equal(header(seen, "x-forwarded-for"), "unknown");
      assert.equal(
        header(seen, "forwarded"),
        'for=192.0.2.1, for=unknown;proto=http;host="localhost"',
      );
    } finally {
      lb.close();
      await backend.close();
    }
  },
});
