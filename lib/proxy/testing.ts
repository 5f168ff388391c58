/**
 * A proxy context for in-process tests of the parts that read one (client
 * connection, upstream attempt): the group's state, pools and retry budget
 * come from a real {@link GroupRuntime} (its timers off), with live clocks
 * where the proxy server would keep coarse ones.
 *
 * @module
 */
import { type Logger, silentLogger } from "../log.ts";
import {
  DEFAULT_LIMITS,
  type Dispatch,
  type ListenerContext,
  type ProxyContext,
  type ProxyLimits,
  textAnswer,
} from "./context.ts";
import { GroupRuntime } from "./group_runtime.ts";
import { ProxyMetrics } from "./metrics.ts";

/**
 * A runtime for group "g" without tick or reap timers (nothing to close), with `config` applied
 * when given (none: the group has no config yet).
 */
export function testRuntime(config?: unknown, log: Logger = silentLogger): GroupRuntime {
  const runtime = new GroupRuntime({ group: "g", log, every: () => () => {} });
  if (config !== undefined) {
    const r = runtime.state.applyConfig("1", config);
    if (!r.ok) throw new Error(`test config rejected: ${r.rejected.reason}`);
  }
  return runtime;
}

/**
 * The context a proxy server would hand its connections, over `runtime`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testContext, testRuntime } from "./testing.ts";
 * const runtime = testRuntime({ backend_servers: ["127.0.0.1:9001"] });
 * const ctx = testContext(runtime, { limits: { maxBodyBytes: 10 } });
 * assert.equal(ctx.limits.maxBodyBytes, 10);
 * assert.equal(ctx.pool(runtime.state.snapshot!.backends[0]!), runtime.pools.get("127.0.0.1:9001"));
 * ```
 */
export function testContext(
  runtime: GroupRuntime,
  options: { limits?: Partial<ProxyLimits>; log?: Logger } = {},
): ProxyContext {
  return {
    state: runtime.state,
    pool: (b) => runtime.pool(b),
    metrics: new ProxyMetrics(runtime.state),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    budget: () => runtime.budget(),
    log: options.log ?? runtime.log,
    now: () => performance.now(),
    wallNow: () => Date.now(),
    get coarseNow() {
      return performance.now();
    },
    get coarseWall() {
      return Date.now();
    },
    draining: false,
  };
}

/**
 * The listener context a client connection reads, over a group context: every
 * request goes to that group (a `--group` proxy), or gets 503 while it has no
 * config.
 */
export function testListener(ctx: ProxyContext): ListenerContext {
  return Object.assign(Object.create(ctx) as ProxyContext, {
    dispatch(head: Parameters<ListenerContext["dispatch"]>[0]): Dispatch {
      const snap = ctx.state.snapshot;
      return snap === null
        ? textAnswer(503, "no config loaded\n", { "retry-after": "1" }, "no_backend", null, true)
        : { ctx, snap, head, route: null };
    },
  });
}
