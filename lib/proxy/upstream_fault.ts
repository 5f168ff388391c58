/**
 * What the client is told when the proxy cannot relay a backend's answer:
 * the status, the metric cause, the body, whether the attempt counts against
 * the backend (outlier detection) and whether it may be retried (see
 * `retryDecision()`). Pure: a table of shared constants.
 *
 * Why a table: the mapping is the contract of the README's "Resilience"
 * section (502 refused/reset/garbled, 504 no head in time, 503 no usable
 * backend, 413/400/408 the client's fault) and of the
 * `switchyard_proxy_errors_total{cause}` label; it must not drift between
 * the places that answer.
 *
 * @module
 */
import type { ProxyErrorCause } from "./metrics.ts";

/** Why an exchange could not get a response relayed. */
export enum Fault {
  /** No backend is usable (none healthy, all ejected, none configured). */
  NoBackend,
  /** Every backend tried failed (the last retry found none left). */
  AllBackendsFailed,
  /** The TCP connect was refused, reset or timed out. */
  ConnectFailed,
  /** The backend closed or reset the connection before a complete response head. */
  ConnectionLost,
  /** The backend answered garbage (bad head, bad chunked start, 101 unasked, head too large). */
  BadResponse,
  /** No response head within `response_timeout_seconds` after the request was sent. */
  ResponseTimeout,
  /** The request body is over `limits.max_body_bytes`. */
  BodyTooLarge,
  /** The request's chunked body is malformed. */
  BadRequestBody,
  /** The client paused its request body longer than `limits.body_timeout_seconds`. */
  BodyTimeout,
}

/** The answer to one {@link Fault}. */
export interface FaultAnswer {
  readonly status: number;
  readonly cause: ProxyErrorCause;
  readonly body: string;
  /** Extra response fields. */
  readonly extra: Readonly<Record<string, string>> | undefined;
  /** The attempt counts as a failure of its backend (outlier detection). */
  readonly backendFailure: boolean;
  /** The attempt may go on elsewhere if `retryDecision()` agrees. */
  readonly retryable: boolean;
}

function answer(
  status: number,
  cause: ProxyErrorCause,
  body: string,
  backendFailure: boolean,
  retryable: boolean,
  extra?: Record<string, string>,
): FaultAnswer {
  return Object.freeze({
    status,
    cause,
    body,
    extra: extra ? Object.freeze(extra) : undefined,
    backendFailure,
    retryable,
  });
}

const ANSWERS: readonly FaultAnswer[] = [
  answer(503, "no_backend", "no healthy backend\n", false, false, { "retry-after": "1" }),
  answer(502, "connect_failed", "all backends failed\n", false, false),
  answer(502, "connect_failed", "bad gateway\n", true, true),
  answer(502, "upstream_reset", "bad gateway\n", true, true),
  answer(502, "bad_response", "bad gateway\n", true, false),
  answer(504, "timeout", "gateway timeout\n", true, false),
  answer(413, "limit", "request body too large\n", false, false),
  answer(400, "bad_request", "bad request body\n", false, false),
  answer(408, "timeout", "request body timeout\n", false, false),
];

/**
 * The answer to `fault`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Fault, faultAnswer } from "./upstream_fault.ts";
 * const a = faultAnswer(Fault.ResponseTimeout);
 * assert.equal(a.status, 504);
 * assert.equal(a.cause, "timeout");
 * assert.equal(a.backendFailure, true);
 * ```
 */
export function faultAnswer(fault: Fault): FaultAnswer {
  return ANSWERS[fault]!;
}
