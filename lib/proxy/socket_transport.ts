/**
 * The socket transport of the embedded load balancer: each attempt goes over
 * the group's node:net connection pools with our HTTP/1.1 client
 * (http_client.ts), and health probes are TCP/HTTP probes on fresh
 * connections (lib/health/probe.ts). The default transport of
 * `createLoadBalancer`.
 *
 * lib/embed.ts loads this module with a dynamic `import()` only when the
 * socket transport is chosen, so that `transport: "fetch"` on a runtime
 * without node:net (Deno Deploy, Cloudflare Workers) never loads it.
 *
 * @module
 */
import { probe } from "../health/probe.ts";
import { newUpstreamPool } from "./group_runtime.ts";
import type { GroupRuntimeCore } from "./group_runtime_core.ts";
import { forwardWebRequest } from "./http_client.ts";
import type { Transport } from "./transport.ts";

export { newUpstreamPool, probe };

/** Largest response head accepted from a backend. */
const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

/**
 * The socket transport over `runtime`'s pools (the runtime must have been
 * built with {@link newUpstreamPool}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GroupRuntimeCore } from "./group_runtime_core.ts";
 * import { newUpstreamPool, probe, socketTransport } from "./socket_transport.ts";
 * import { silentLogger } from "../log.ts";
 *
 * const backend = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response("hi"));
 * const runtime = new GroupRuntimeCore({ group: "g", log: silentLogger, probe, newPool: newUpstreamPool });
 * runtime.state.applyConfig("1", { backend_servers: [`127.0.0.1:${backend.addr.port}`] });
 * const ends: boolean[] = [];
 * const res = await socketTransport(runtime).forward(new Request("http://shop.example/x"), {
 *   backend: runtime.state.snapshot!.backends[0]!, fresh: false, target: "/x", clientIp: "192.0.2.1",
 *   connectTimeoutMs: 2000, responseTimeoutMs: 2000,
 *   observer: { head: () => {}, end: (_status, complete) => ends.push(complete) },
 * });
 * assert.equal(await res.text(), "hi");
 * assert.deepEqual(ends, [true]);
 * runtime.close();
 * await backend.shutdown();
 * ```
 */
export function socketTransport(runtime: GroupRuntimeCore): Transport {
  const now = runtime.now;
  return {
    forward: (request, a) =>
      forwardWebRequest(request, {
        pool: runtime.pool(a.backend),
        fresh: a.fresh,
        connectTimeoutMs: a.connectTimeoutMs,
        responseTimeoutMs: a.responseTimeoutMs,
        clientIp: a.clientIp,
        target: a.target,
        maxResponseHeaderBytes: MAX_RESPONSE_HEAD_BYTES,
        now,
        observer: a.observer,
      }),
  };
}
