/**
 * The optional JSON access log: one line per request, sampled. Built by
 * string concatenation (strings escaped by `JSON.stringify`), not by
 * serializing an object, so a line costs one string and one Date.
 *
 * @module
 */

/** What one access log line records. */
export interface AccessLogFields {
  /** When the request started (ms since the epoch). */
  readonly timeMs: number;
  /** The route's name, or null when no route matched (404). */
  readonly route: string | null;
  /** The group the request went to, or null (redirect, direct response, 404, 429). */
  readonly group: string | null;
  /** The backend address, or null when none was reached. */
  readonly backend: string | null;
  readonly method: string;
  /** The request path and query as the client sent it. */
  readonly path: string;
  readonly status: number;
  /** From the request head to the last byte of the response. */
  readonly durationMs: number;
  /** From sending to the backend to its response head, or null without one. */
  readonly upstreamMs: number | null;
  /** Response body bytes sent to the client. */
  readonly bytes: number;
  readonly requestId: string;
  /** The client's address. */
  readonly client: string;
}

/** A string or null as JSON. */
const str = (v: string | null) => (v === null ? "null" : JSON.stringify(v));
/** A duration in ms with µs precision, or null. */
const ms = (v: number | null) =>
  v === null || !Number.isFinite(v) ? "null" : String(Math.round(v * 1000) / 1000);

/**
 * One access log line: a JSON object with `time` (ISO 8601), `route`,
 * `group`, `backend`, `method`, `path`, `status`, `duration_ms`,
 * `upstream_ms`, `bytes`, `request_id` and `client`, in that order, without
 * a trailing newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accessLogLine } from "./access_log.ts";
 * const line = accessLogLine({
 *   timeMs: 0, route: "api", group: "api-v1", backend: "10.0.0.1:80", method: "GET", path: "/x?y=1",
 *   status: 200, durationMs: 1.5, upstreamMs: 1.25, bytes: 12, requestId: "r-1", client: "192.0.2.7",
 * });
 * assert.equal(JSON.parse(line).time, "1970-01-01T00:00:00.000Z");
 * assert.equal(JSON.parse(line).upstream_ms, 1.25);
 * ```
 */
export function accessLogLine(f: AccessLogFields): string {
  return `{"time":"${new Date(f.timeMs).toISOString()}","route":${str(f.route)},"group":${
    str(f.group)
  },"backend":${str(f.backend)},"method":${str(f.method)},"path":${str(f.path)},"status":${
    f.status | 0
  },"duration_ms":${ms(f.durationMs)},"upstream_ms":${ms(f.upstreamMs)},"bytes":${
    Number.isFinite(f.bytes) ? f.bytes : 0
  },"request_id":${str(f.requestId)},"client":${str(f.client)}}`;
}

/**
 * Whether to log this request, for a sampling `rate` in [0, 1] and a uniform
 * `r` in [0, 1): 1 logs every request, 0 none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampled } from "./access_log.ts";
 * assert.equal(sampled(1, 0.999), true);
 * assert.equal(sampled(0.01, 0.5), false);
 * ```
 */
export function sampled(rate: number, r: number): boolean {
  return r < rate;
}
