/**
 * How the embedded load balancer (`createLoadBalancer`) sends one attempt to
 * one backend: the interface its two transports share.
 *
 * - The socket transport (lib/proxy/socket_transport.ts over
 *   lib/proxy/http_client.ts): our own HTTP/1.1 client on the group's
 *   node:net connection pools, for Deno, Bun and Node.
 * - The fetch transport (lib/proxy/fetch_transport.ts): the global `fetch`,
 *   for runtimes without raw TCP sockets (Deno Deploy, Cloudflare Workers).
 *
 * The load balancer around them is one loop for both (pick, lease, retry
 * decision, retry budget, metrics); a transport only forwards and tells what
 * it knows about a failure ({@link AttemptProgress}). This module imports
 * nothing, so the fetch path's module graph stays free of node:net.
 *
 * @module
 */
import type { BackendView } from "../group/snapshot.ts";

/**
 * Follows one attempt's response once it has begun: where the caller reports
 * the outcome (at the head) and ends the attempt's lease and timing (at the
 * end of the body).
 */
export interface ResponseObserver {
  /** The response head arrived (the body streams afterwards). */
  head(status: number): void;
  /**
   * The response is over: its body was read to the end (`complete`), or it
   * failed or was cancelled by the reader. Called once, after {@link head}.
   */
  end(status: number, complete: boolean): void;
}

/** What had happened when an attempt failed (the facts `retryDecision()` needs). */
export interface AttemptProgress {
  /** The request head went to the backend (false for a failed connect). */
  readonly headSent: boolean;
  /** Bytes of the request body went to the backend. */
  readonly bodySent: boolean;
  /** The attempt ran on a pooled connection that had served an earlier exchange. */
  readonly reusedConnection: boolean;
  /** Some bytes of a response arrived before the failure. */
  readonly responseStarted: boolean;
}

/** A failure before the response head; `progress` says whether it is safe to send again. */
export class UpstreamError extends Error {
  constructor(
    readonly cause502: "connect_failed" | "upstream_reset" | "bad_response" | "timeout",
    message: string,
    readonly progress: AttemptProgress,
  ) {
    super(message);
  }
}

/** Progress of an attempt that failed before anything was sent (a refused connect). */
export const NOTHING_SENT: AttemptProgress = {
  headSent: false,
  bodySent: false,
  reusedConnection: false,
  responseStarted: false,
};

/** One attempt: the backend and how to reach it. */
export interface Attempt {
  readonly backend: BackendView;
  /**
   * Open a new connection even when one is idle in the pool (the retry after
   * a reused connection died under the request, see `retry_policy.ts`).
   */
  readonly fresh: boolean;
  /** Path and query to request on the backend. */
  readonly target: string;
  /** The client's address, for the forwarding fields. */
  readonly clientIp: string;
  readonly connectTimeoutMs: number;
  /** From the end of the request body to the response head. */
  readonly responseTimeoutMs: number;
  readonly observer: ResponseObserver;
}

/**
 * Sends attempts to backends. `forward` resolves with the response once its
 * head has arrived (the body streams afterwards; `attempt.observer` hears of
 * its head and its end) and rejects with {@link UpstreamError} when the
 * attempt fails before a response head.
 */
export interface Transport {
  forward(request: Request, attempt: Attempt): Promise<Response>;
}
