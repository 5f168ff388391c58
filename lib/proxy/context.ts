/**
 * What a proxy connection needs from the process around it: the group's
 * live state, the upstream pools, metrics, limits, the retry budget and a
 * clock. Built by the proxy server; read on every request.
 *
 * @module
 */
import type { GroupConfig } from "../config/schema.ts";
import type { RequestHead } from "../http1/head.ts";
import { simpleResponse } from "../http1/forward.ts";
import type { BackendView, GroupSnapshot } from "../group/snapshot.ts";
import type { GroupState } from "../group/group_state.ts";
import type { Logger } from "../log.ts";
import type { ProxyErrorCause, ProxyMetrics } from "./metrics.ts";
import type { RouteLane } from "./route_lane.ts";
import type { AccessLog } from "./access_log.ts";
import type { RetryBudget } from "./retry_budget.ts";
import type { UpstreamPool } from "./upstream_pool.ts";

/** How stale the coarse clock may be; deadlines taken from it add this much. */
export const COARSE_SLACK_MS = 100;

/** Protocol limits and timeouts of the client side. */
export interface ProxyLimits {
  /** Largest request head (request line + fields) in bytes; 431 beyond. */
  readonly maxHeaderBytes: number;
  /** Most header fields in a request; 431 beyond. */
  readonly maxHeaderCount: number;
  /** Longest request-target; 414 beyond. */
  readonly maxUriLength: number;
  /** Largest response head accepted from a backend; 502 beyond. */
  readonly maxResponseHeaderBytes: number;
  /** Time allowed to receive a complete request head (slowloris guard); 408 then close. */
  readonly headerTimeoutMs: number;
  /** An idle keep-alive client connection is closed after this long. */
  readonly idleTimeoutMs: number;
  /** Longest pause in a request body's arrival or in the client's reading; 408 (or a cut) then close. */
  readonly bodyTimeoutMs: number;
  /** Largest request body (0 = no limit); 413 beyond. */
  readonly maxBodyBytes: number;
  /** Client connections at once; beyond, 503 and close. */
  readonly maxConnections: number;
  /** Client connections per client IP (0 = no limit); beyond, 429 and close. */
  readonly maxConnectionsPerIp: number;
}

/** Defaults in line with HAProxy/nginx practice (the same as the config schema's). */
export const DEFAULT_LIMITS: ProxyLimits = {
  maxHeaderBytes: 32 * 1024,
  maxHeaderCount: 100,
  maxUriLength: 8 * 1024,
  maxResponseHeaderBytes: 64 * 1024,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  maxBodyBytes: 0,
  maxConnections: 10_000,
  maxConnectionsPerIp: 0,
};

/** The limits a group's config asks for. */
export function limitsOf(config: GroupConfig): ProxyLimits {
  const l = config.limits;
  return {
    maxHeaderBytes: l.max_header_bytes,
    maxHeaderCount: l.max_header_count,
    maxUriLength: l.max_uri_length,
    maxResponseHeaderBytes: DEFAULT_LIMITS.maxResponseHeaderBytes,
    headerTimeoutMs: l.header_timeout_seconds * 1000,
    idleTimeoutMs: l.idle_timeout_seconds * 1000,
    bodyTimeoutMs: l.body_timeout_seconds * 1000,
    maxBodyBytes: l.max_body_bytes,
    maxConnections: l.max_connections,
    maxConnectionsPerIp: l.max_connections_per_ip,
  };
}

/**
 * What an exchange runs in: its group's state, pools, metrics, limits and
 * retry budget, and the listener's clocks and drain flag.
 */
export interface ProxyContext extends ListenerFacts {
  readonly state: GroupState;
  /** The pool for a backend (created on first use). */
  pool(backend: BackendView): UpstreamPool;
  readonly metrics: ProxyMetrics;
  readonly limits: ProxyLimits;
  /** The current retry budget (replaced when the group's retry settings change). */
  budget(): RetryBudget;
}

/**
 * What every connection of a listening socket shares, whatever group a
 * request goes to: the clocks, the drain flag, the logger.
 */
export interface ListenerFacts {
  readonly log: Logger;
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock milliseconds. */
  wallNow(): number;
  /**
   * now() as of the last timeout sweep (at most {@link COARSE_SLACK_MS} old):
   * for deadlines, idle stamps and the retry budget, not for durations.
   */
  readonly coarseNow: number;
  /** wallNow() as of the last sweep. */
  readonly coarseWall: number;
  /** True while shutting down: responses carry `Connection: close`. */
  readonly draining: boolean;
  /** The access log, when one is configured (`--access-log`). */
  readonly accessLog?: AccessLog | null;
}

/** A request that goes to a group: the group's context and snapshot, the head to send. */
export interface Forward {
  /** The group's context (state, pools, budget, its metrics and limits). */
  readonly ctx: ProxyContext;
  readonly snap: GroupSnapshot;
  /** The head to forward (rewritten by the route's policies, if any). */
  readonly head: RequestHead;
  /** The route taken (null for a `--group` proxy: no routes). */
  readonly route: RouteLane | null;
  /** The request id sent upstream (with routes), else null. */
  readonly requestId?: string | null;
}

/** A request the proxy answers itself (no route, a redirect, a direct response, a limit). */
export interface Answer {
  readonly status: number;
  /** Counted as a proxy error of this cause (null: a configured answer, not an error). */
  readonly cause: ProxyErrorCause | null;
  readonly route: RouteLane | null;
  /** Close the connection after it (a proxy without any config does). */
  readonly close?: boolean;
  /** The complete response; `headRequest`: declare the body's length but send none. */
  render(keepAlive: boolean, headRequest: boolean): string | Uint8Array;
}

/**
 * A plain-text {@link Answer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textAnswer } from "./context.ts";
 * const a = textAnswer(404, "no route\n", null, null, null);
 * assert.match(String(a.render(true, false)), /^HTTP\/1.1 404 Not Found\r\n/);
 * ```
 */
export function textAnswer(
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> | null,
  cause: ProxyErrorCause | null,
  route: RouteLane | null,
  close = false,
): Answer {
  return {
    status,
    cause,
    route,
    close,
    render: (keepAlive, headRequest) =>
      simpleResponse(status, body, keepAlive, headers ?? undefined, headRequest),
  };
}

/** Where a request goes. */
export type Dispatch = Forward | Answer;

/** True when the request goes to a group. */
export function isForward(d: Dispatch): d is Forward {
  return (d as Forward).ctx !== undefined;
}

/**
 * What a client connection needs from its listener: the client-side limits,
 * the listener's own metrics (connections, refusals before any routing) and
 * the routing decision for each request.
 */
export interface ListenerContext extends ListenerFacts {
  readonly limits: ProxyLimits;
  readonly metrics: ProxyMetrics;
  /** Where `head` from `clientIp` goes (`secure`: it came over TLS). */
  dispatch(head: RequestHead, clientIp: string, secure: boolean): Dispatch;
}
