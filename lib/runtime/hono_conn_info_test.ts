import assert from "node:assert/strict";
import { Hono } from "hono";
import type { GetConnInfo } from "hono/conninfo";
import { clientAddress, loadConnInfo, UNKNOWN_CLIENT } from "./hono_conn_info.ts";

/** What `clientAddress` says for a request to an app, given the adapter and the `env`. */
async function addressOf(getConnInfo: GetConnInfo | null, env?: unknown): Promise<string> {
  const app = new Hono().get("/", (c) => c.text(clientAddress(getConnInfo, c)));
  const r = env === undefined ? await app.request("/") : await app.request("/", {}, env);
  assert.equal(r.status, 200);
  return await r.text();
}

Deno.test("loadConnInfo() loads the adapter of this runtime and none for Node", async () => {
  assert.equal(typeof await loadConnInfo(), "function");
  assert.equal(await loadConnInfo(), await loadConnInfo("deno"));
  assert.equal(await loadConnInfo("node"), null);
});

Deno.test("clientAddress() answers the adapter's address, or unknown without throwing", async () => {
  const deno = await loadConnInfo("deno");
  const tcp = (hostname: string) => ({ remoteAddr: { transport: "tcp", hostname, port: 4000 } });
  const cases: [string, GetConnInfo | null, unknown, string][] = [
    ["Deno.serve's info, IPv4", deno, tcp("192.0.2.1"), "192.0.2.1"],
    ["Deno.serve's info, IPv6", deno, tcp("::1"), "::1"],
    ["app.request() without env", deno, undefined, UNKNOWN_CLIENT],
    ["an env without remoteAddr", deno, {}, UNKNOWN_CLIENT],
    [
      "a Unix socket (no hostname)",
      deno,
      { remoteAddr: { transport: "unix", path: "/s" } },
      UNKNOWN_CLIENT,
    ],
    ["no adapter for the runtime", null, tcp("192.0.2.1"), UNKNOWN_CLIENT],
    ["an adapter with no address", () => ({ remote: {} }), {}, UNKNOWN_CLIENT],
    [
      "an adapter that throws",
      () => {
        throw new TypeError("env has to include the 2nd argument of fetch.");
      },
      {},
      UNKNOWN_CLIENT,
    ],
  ];
  for (const [name, getConnInfo, env, want] of cases) {
    assert.equal(await addressOf(getConnInfo, env), want, name);
  }
});
