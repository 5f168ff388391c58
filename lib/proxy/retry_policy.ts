/**
 * What to do after an upstream attempt failed before any response byte was
 * relayed: try again on a fresh connection to the same backend, try another
 * backend, or answer 502. Pure; the caller holds the retry budget.
 *
 * A pooled keep-alive connection can die between two exchanges without the
 * proxy having seen it yet: the backend's idle timer fires just as the next
 * request is written on it. That is the pool's fault, not the backend's, so
 * the request gets one more try on a new connection to the same backend,
 * outside `retry.max_retries` and the retry budget and without counting as a
 * backend failure (nginx gives a cached connection's error an extra try the
 * same way; Go's HTTP client retries a reused connection that died). Without
 * it, a request whose backend was the only usable one (one backend, or the
 * others unhealthy during a health flip) got a 502 while every backend was up.
 *
 * @module
 */

/** Methods that may be sent twice (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "PUT",
  "DELETE",
  "TRACE",
]);

/** The facts of one failed attempt. */
export interface FailedAttempt {
  readonly method: string;
  /** An Upgrade (WebSocket) request: never retried. */
  readonly upgrade: boolean;
  /** Bytes of the request body went to the backend. */
  readonly bodySent: boolean;
  /** The request head went to the backend (false for a failed connect). */
  readonly headSent: boolean;
  /** The attempt ran on a pooled connection that had served an earlier exchange. */
  readonly reusedConnection: boolean;
  /** Some bytes of a response arrived before the failure. */
  readonly responseStarted: boolean;
  /** The connection was closed or reset (not a timeout or a garbled answer). */
  readonly connectionLost: boolean;
  /** Attempts made so far for this request (backends tried), this one included. */
  readonly attempts: number;
  readonly maxRetries: number;
  /** Backends in the snapshot the request is served from. */
  readonly backends: number;
}

/**
 * `fresh_connection`: same backend, new connection, not a backend failure.
 * `next_backend`: another backend, if the retry budget allows.
 * `fail`: answer 502.
 */
export type RetryDecision = "fresh_connection" | "next_backend" | "fail";

/**
 * Decides how a failed attempt goes on.
 *
 * Safe to send again: nothing was sent (any method), or an idempotent method
 * none of whose body was sent. A dead reused connection is retried once per
 * backend (the new connection is fresh, so its own failure is a real one).
 *
 * @example
 * ```ts
 * import { retryDecision } from "./retry_policy.ts";
 * const d = retryDecision({
 *   method: "GET", upgrade: false, bodySent: false, headSent: true, reusedConnection: true,
 *   responseStarted: false, connectionLost: true, attempts: 1, maxRetries: 0, backends: 1,
 * });
 * console.log(d); // fresh_connection
 * ```
 */
export function retryDecision(f: FailedAttempt): RetryDecision {
  const safe = !f.upgrade && !f.bodySent && (!f.headSent || IDEMPOTENT_METHODS.has(f.method));
  if (!safe) return "fail";
  if (f.reusedConnection && f.connectionLost && !f.responseStarted) return "fresh_connection";
  if (f.attempts <= f.maxRetries && f.attempts < f.backends) return "next_backend";
  return "fail";
}

/** The facts of one attempt whose backend answered with a final status. */
export interface AnsweredAttempt {
  readonly method: string;
  /** An Upgrade (WebSocket) request: never retried. */
  readonly upgrade: boolean;
  /** The request has a body (Content-Length > 0, or chunked). */
  readonly hasBody: boolean;
  /** The answer's status. */
  readonly status: number;
  /** `retry.on_status`: the statuses that go to another backend. */
  readonly onStatus: readonly number[];
  /** Attempts made so far for this request (backends tried), this one included. */
  readonly attempts: number;
  readonly maxRetries: number;
  /** Backends in the snapshot the request is served from. */
  readonly backends: number;
}

/**
 * Whether an answer with a status listed in `retry.on_status` is discarded
 * and the request sent to another backend (`next_backend`, if the retry
 * budget allows) instead of relayed (`relay`).
 *
 * Only a request that is safe to send again goes on: an idempotent method
 * (RFC 9110 §9.2.2) without a body and without an Upgrade, so a POST or
 * PATCH, or anything whose body was streamed to the backend, is never sent
 * twice (nginx's `proxy_next_upstream` skips non-idempotent requests the same
 * way; a body is not buffered for replay here). Attempts are bounded as for
 * failures: `retry.max_retries`, and never more than the group's backends;
 * the last attempt's answer is relayed as it is. Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { statusRetryDecision } from "./retry_policy.ts";
 * const answer = { method: "GET", upgrade: false, hasBody: false, status: 503,
 *   onStatus: [502, 503], attempts: 1, maxRetries: 2, backends: 3 };
 * assert.equal(statusRetryDecision(answer), "next_backend");
 * assert.equal(statusRetryDecision({ ...answer, method: "POST" }), "relay");
 * assert.equal(statusRetryDecision({ ...answer, status: 500 }), "relay");
 * assert.equal(statusRetryDecision({ ...answer, attempts: 3 }), "relay"); // the last one
 * ```
 */
export function statusRetryDecision(a: AnsweredAttempt): "next_backend" | "relay" {
  if (!a.onStatus.includes(a.status)) return "relay";
  if (a.upgrade || a.hasBody || !IDEMPOTENT_METHODS.has(a.method)) return "relay";
  if (a.attempts <= a.maxRetries && a.attempts < a.backends) return "next_backend";
  return "relay";
}
