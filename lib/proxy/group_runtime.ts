/**
 * The group runtime with sockets: {@link GroupRuntimeCore} (group state,
 * timers, retry budget, health checker; see group_runtime_core.ts) wired to
 * the TCP/HTTP probe (lib/health/probe.ts), node:net/node:tls connection
 * pools (lib/proxy/upstream_pool.ts) and the upstream TLS loader that reads
 * CA files (lib/tls/upstream_tls_load.ts). The proxy role's instance and the embedded
 * load balancer's socket transport run on it; the fetch transport runs the
 * core without sockets, which is why the core does not import these two.
 *
 * @module
 */
import { probe as tcpProbe } from "../health/probe.ts";
import { loadUpstreamTlsFromDisk } from "../tls/upstream_tls_load.ts";
import { GroupRuntimeCore, type GroupRuntimeOptions } from "./group_runtime_core.ts";
import { H2UpstreamPool } from "./h2_upstream.ts";
import { UpstreamPool } from "./upstream_pool.ts";

export { realEvery, REAP_INTERVAL_MS, TICK_INTERVAL_MS } from "./group_runtime_core.ts";
export type { Every, GroupRuntimeOptions } from "./group_runtime_core.ts";

/**
 * A group's state, pools, retry budget, health checker and timers, over
 * sockets: the probe defaults to the real HTTP/TCP probe, pools to node:net.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GroupRuntime } from "./group_runtime.ts";
 * import { silentLogger } from "../log.ts";
 *
 * const runtime = new GroupRuntime({ group: "api", log: silentLogger });
 * runtime.state.applyConfig("1", { backend_servers: ["127.0.0.1:9001"] });
 * const backend = runtime.state.snapshot!.backends[0]!;
 * assert.equal(runtime.pool(backend), runtime.pool(backend)); // one pool per backend
 * assert.equal(runtime.budget().ratio, 0.2);
 * runtime.close();
 * ```
 */
export class GroupRuntime extends GroupRuntimeCore {
  constructor(options: GroupRuntimeOptions) {
    super({
      probe: tcpProbe,
      newPool: newUpstreamPool,
      loadTls: loadUpstreamTlsFromDisk,
      h2: true,
      ...options,
    });
  }
}

/**
 * A node:net pool for one backend (the default {@link GroupRuntimeOptions.newPool}):
 * an HTTP/2 one (h2_upstream.ts) when the group says `protocol: "h2"`.
 */
export function newUpstreamPool(
  options: ConstructorParameters<typeof UpstreamPool>[0],
): UpstreamPool {
  return options.h2 ? new H2UpstreamPool(options) : new UpstreamPool(options);
}
