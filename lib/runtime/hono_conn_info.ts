/**
 * The client's address of a request a Hono app serves, from Hono's own
 * `getConnInfo` for the runtime's adapter (`hono/bun` under Bun, `hono/deno`
 * under Deno) instead of guessing the shape of `c.env`: under Bun, `c.env`
 * is the server and `requestIP` must be called on it (called bare it throws
 * `Expected this to be instanceof ...`, which answered 500 to every request).
 *
 * The adapter is imported dynamically, for the runtime at hand only: each
 * adapter module reads its runtime's global when it is evaluated (`hono/bun`
 * runs `const { write } = Bun`, `hono/deno` `const { open } = Deno`), so a
 * static import of both fails under either runtime.
 *
 * @module
 */
import type { Context } from "hono";
import type { GetConnInfo } from "hono/conninfo";
import { type RuntimeName, runtimeName } from "./serve.ts";

/** What a request's client is called when its address cannot be known (RFC 7239 §6.3). */
export const UNKNOWN_CLIENT = "unknown";

/**
 * Loads `getConnInfo` of Hono's adapter for `runtime`; null for a runtime
 * without one here (Node needs `@hono/node-server`, which is not a dependency).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConnInfo } from "./hono_conn_info.ts";
 * assert.equal(await loadConnInfo("node"), null);
 * assert.equal(typeof await loadConnInfo("deno"), "function");
 * ```
 */
export async function loadConnInfo(
  runtime: RuntimeName = runtimeName(),
): Promise<GetConnInfo | null> {
  switch (runtime) {
    case "bun":
      return (await import("hono/bun")).getConnInfo;
    case "deno":
      return (await import("hono/deno")).getConnInfo;
    default:
      return null;
  }
}

/**
 * The client's address for `c`, or {@link UNKNOWN_CLIENT} when the adapter
 * has none: no adapter, a request without a connection (`app.request()` in
 * tests, a handler called with another `env`, a Unix socket), which the
 * adapters answer by throwing. Never throws: the address only informs the
 * backend and the hash key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { clientAddress, loadConnInfo } from "./hono_conn_info.ts";
 * const getConnInfo = await loadConnInfo("deno");
 * const app = new Hono().get("/", (c) => c.text(clientAddress(getConnInfo, c)));
 * const info = { remoteAddr: { transport: "tcp", hostname: "192.0.2.1", port: 4000 } };
 * assert.equal(await (await app.request("/", {}, info)).text(), "192.0.2.1");
 * assert.equal(await (await app.request("/")).text(), "unknown");
 * ```
 */
export function clientAddress(getConnInfo: GetConnInfo | null, c: Context): string {
  if (getConnInfo === null) return UNKNOWN_CLIENT;
  try {
    return getConnInfo(c).remote.address || UNKNOWN_CLIENT;
  } catch {
    return UNKNOWN_CLIENT;
  }
}
