/**
 * The fetch transport of the embedded load balancer, for runtimes without raw
 * TCP sockets (Deno Deploy, Cloudflare Workers): each attempt is one call of
 * the global `fetch`. Balancing, health, outlier detection, the retry budget
 * and the metrics are the load balancer's and the same as with the socket
 * transport; what differs is what fetch lets a client see and control:
 *
 * - **Retries.** A rejected fetch does not say whether the request went out,
 *   and fetch has read the request body stream. So a failed attempt counts as
 *   sent, with its body sent when it had one ({@link fetchFailure}): only an
 *   idempotent method without a body (GET, HEAD, OPTIONS, DELETE...) is
 *   retried on another backend, never a POST or PATCH, not even when the
 *   connection was refused (the socket transport retries any method then).
 *   There is no "fresh connection" retry: fetch owns its connections.
 * - **Timeouts.** fetch has no connect timeout of its own. A request without
 *   a body gets one timer of `connect_timeout_seconds +
 *   response_timeout_seconds` from the call to the response head; an upload
 *   gets the connect timeout until fetch starts reading the body, and the
 *   response timeout from the end of the body to the head, as the socket
 *   transport. A timeout aborts the fetch (an `AbortSignal`) and answers 504.
 * - **Headers.** Hop-by-hop fields (and those `Connection` lists) are dropped
 *   both ways and the forwarding fields are those of the socket transport
 *   (lib/http1/forwarding.ts), but fetch writes its own framing and may add
 *   fields (`user-agent`, `accept`, `accept-encoding`...). Deno's fetch sends
 *   the backend's address as `Host` (the client's Host is in
 *   `X-Forwarded-Host`); Bun's sends the client's.
 * - **Responses.** Redirects are passed on, not followed. A runtime's fetch
 *   may decompress a compressed response (Deno's does). No interim (1xx)
 *   responses, no trailers, no Upgrade/WebSocket, no `Expect: 100-continue`.
 *
 * The backend counts the attempt in flight until the response body ends, is
 * cancelled or fails: the body is relayed through a stream of ours whose end
 * is the observer's `end` (the lease's release). The client leaving aborts
 * the fetch.
 *
 * This module imports nothing that needs node:net (see the edge module graph
 * test in tests/data_plane/edge_graph_test.ts).
 *
 * @module
 */
import { forwardingFields } from "../http1/forwarding.ts";
import { HOP_BY_HOP, listTokens } from "../http1/syntax.ts";
import { type Attempt, type AttemptProgress, type Transport, UpstreamError } from "./transport.ts";

/** Request fields never passed to fetch: framing (fetch writes its own) and the replaced ones. */
const SKIP_REQUEST = new Set([
  ...HOP_BY_HOP,
  "host",
  "content-length",
  "expect",
  "x-forwarded-for",
  "forwarded",
  "x-forwarded-proto",
  "x-forwarded-host",
]);

/** Statuses whose responses carry no body (a `Response` with one throws). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * The fields to send the backend for `request`: the client's end-to-end
 * fields, `host`, and the forwarding fields with the client appended
 * (the same text the socket transport writes, from `forwardingFields`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchRequestHeaders } from "./fetch_transport.ts";
 * const req = new Request("http://shop.example/api/x", {
 *   headers: { "x-forwarded-for": "198.51.100.1", connection: "x-secret", "x-secret": "1", te: "trailers", "x-a": "b" },
 * });
 * const h = fetchRequestHeaders(req, "192.0.2.7");
 * assert.equal(h.get("x-forwarded-for"), "198.51.100.1, 192.0.2.7");
 * assert.equal(h.get("forwarded"), 'for=192.0.2.7;proto=http;host="shop.example"');
 * assert.equal(h.get("host"), "shop.example");
 * assert.equal(h.get("x-a"), "b");
 * assert.equal(h.has("x-secret") || h.has("te") || h.has("connection"), false);
 * ```
 */
export function fetchRequestHeaders(request: Request, clientIp: string): Headers {
  const url = new URL(request.url);
  const inHeaders = request.headers;
  const connection = inHeaders.get("connection");
  const listed = connection === null ? null : new Set(listTokens(connection));
  const out = new Headers();
  inHeaders.forEach((value, name) => {
    if (!SKIP_REQUEST.has(name) && !listed?.has(name)) out.set(name, value);
  });
  out.set("host", url.host);
  const proto = url.protocol === "https:" ? "https" : "http";
  const lines = forwardingFields(
    inHeaders.get("x-forwarded-for"),
    inHeaders.get("forwarded"),
    clientIp,
    proto,
    url.host,
  ).split("\r\n");
  for (const line of lines) {
    const colon = line.indexOf(": ");
    if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 2));
  }
  return out;
}

/**
 * The backend's response fields to pass on: all but the hop-by-hop ones and
 * those its `Connection` lists (a runtime's fetch may leave them in).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchResponseHeaders } from "./fetch_transport.ts";
 * const h = fetchResponseHeaders(new Headers({
 *   connection: "keep-alive, x-hop", "keep-alive": "timeout=5", "transfer-encoding": "chunked",
 *   "x-hop": "1", "content-type": "text/plain",
 * }));
 * assert.deepEqual([...h], [["content-type", "text/plain"]]);
 * ```
 */
export function fetchResponseHeaders(headers: Headers): Headers {
  const connection = headers.get("connection");
  const listed = connection === null ? null : new Set(listTokens(connection));
  const out = new Headers();
  headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name) && !listed?.has(name)) out.append(name, value);
  });
  // Headers.forEach joins repeated Set-Cookie lines; keep them apart
  const cookies = headers.getSetCookie?.();
  if (cookies && cookies.length > 1) {
    out.delete("set-cookie");
    for (const c of cookies) out.append("set-cookie", c);
  }
  return out;
}

/** Why a fetch attempt failed, as far as the transport can tell. */
export type FetchFailureKind = "timeout" | "client_gone" | "refused" | "other";

/**
 * What a rejected fetch tells: our timer fired (`timeout`), the client left
 * (`client_gone`), the connection was refused (`refused`, from the error's
 * code or message: Bun says `ECONNREFUSED`, Deno `Connection refused`), or
 * anything else. Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchFailureKind } from "./fetch_transport.ts";
 * assert.equal(fetchFailureKind(new TypeError("x"), true, false), "timeout");
 * assert.equal(fetchFailureKind(Object.assign(new TypeError("x"), { code: "ECONNREFUSED" }), false, false), "refused");
 * assert.equal(fetchFailureKind(new TypeError("connection closed before message completed"), false, false), "other");
 * ```
 */
export function fetchFailureKind(
  error: unknown,
  timedOut: boolean,
  clientGone: boolean,
): FetchFailureKind {
  if (timedOut) return "timeout";
  if (clientGone) return "client_gone";
  for (
    let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 4;
    e = e.cause as typeof e, i++
  ) {
    if (e.code === "ECONNREFUSED" || e.code === "ConnectionRefused") return "refused";
    if (typeof e.message === "string" && /connection refused/i.test(e.message)) return "refused";
  }
  return "other";
}

/**
 * The {@link UpstreamError} for a failed fetch attempt. fetch cannot say
 * whether the request went out, so every failure counts as sent, with its
 * body when it had one (fetch has read the body stream, it cannot be sent
 * again): `retryDecision()` then retries only an idempotent method without a
 * body, whatever the kind. A client that left counts as body sent too: there
 * is no one to retry for. Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchFailure } from "./fetch_transport.ts";
 * import { retryDecision } from "./retry_policy.ts";
 * const decide = (method: string, hasBody: boolean) => {
 *   const e = fetchFailure("refused", hasBody, "refused");
 *   return retryDecision({ method, upgrade: false, ...e.progress, connectionLost: true,
 *     attempts: 1, maxRetries: 1, backends: 2 });
 * };
 * assert.equal(decide("GET", false), "next_backend");
 * assert.equal(decide("POST", false), "fail"); // even refused: fetch does not say nothing was sent
 * assert.equal(decide("PUT", true), "fail"); // the body stream is spent
 * assert.equal(fetchFailure("timeout", false, "t").cause502, "timeout");
 * ```
 */
export function fetchFailure(
  kind: FetchFailureKind,
  hasBody: boolean,
  message: string,
): UpstreamError {
  const progress: AttemptProgress = {
    headSent: true,
    bodySent: hasBody || kind === "client_gone",
    reusedConnection: false,
    responseStarted: false,
  };
  const cause = kind === "timeout"
    ? "timeout"
    : kind === "refused"
    ? "connect_failed"
    : "upstream_reset";
  return new UpstreamError(cause, message, progress);
}

/** The URL of `target` on `backend`. */
function backendUrl(host: string, port: number, target: string): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}${target}`;
}

/**
 * The fetch transport (see the module doc for what it can and cannot do).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FetchTransport } from "./fetch_transport.ts";
 * import type { BackendView } from "../group/snapshot.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   new Response(`${new URL(req.url).pathname} for ${req.headers.get("x-forwarded-for")}`));
 * const backend = { host: "127.0.0.1", port: server.addr.port } as BackendView;
 * const ends: boolean[] = [];
 * const res = await new FetchTransport().forward(new Request("http://shop.example/api/x"), {
 *   backend, fresh: false, target: "/x", clientIp: "192.0.2.7", connectTimeoutMs: 2000,
 *   responseTimeoutMs: 2000, observer: { head: () => {}, end: (_s, complete) => ends.push(complete) },
 * });
 * assert.equal(await res.text(), "/x for 192.0.2.7");
 * assert.deepEqual(ends, [true]); // the backend's in-flight ends with the body
 * await server.shutdown();
 * ```
 */
export class FetchTransport implements Transport {
  /** @param fetchFn the fetch to use (default the global one, looked up per call). */
  constructor(private readonly fetchFn?: typeof fetch) {}

  async forward(request: Request, a: Attempt): Promise<Response> {
    const method = request.method;
    const hasBody = request.body !== null && method !== "GET" && method !== "HEAD";
    const controller = new AbortController();
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, ms);
    };
    const clientSignal = request.signal;
    const onClientGone = () => controller.abort();
    clientSignal?.addEventListener("abort", onClientGone, { once: true });
    const init: RequestInit & { duplex?: "half" } = {
      method,
      headers: fetchRequestHeaders(request, a.clientIp),
      redirect: "manual",
      signal: controller.signal,
    };
    if (hasBody) {
      arm(a.connectTimeoutMs);
      init.body = relayUpload(
        request.body!,
        () => clearTimeout(timer),
        () => arm(a.responseTimeoutMs),
      );
      init.duplex = "half";
    } else arm(a.connectTimeoutMs + a.responseTimeoutMs);
    const url = backendUrl(a.backend.host, a.backend.port, a.target);
    let res: Response;
    try {
      if (clientSignal?.aborted) throw new Error("the client went away");
      res = await (this.fetchFn ?? fetch)(url, init);
    } catch (e) {
      clearTimeout(timer);
      clientSignal?.removeEventListener("abort", onClientGone);
      const kind = fetchFailureKind(e, timedOut, clientSignal?.aborted === true);
      throw fetchFailure(
        kind,
        hasBody,
        kind === "timeout" ? "no response head in time" : (e as Error).message,
      );
    }
    clearTimeout(timer);
    const status = res.status;
    a.observer.head(status);
    const headers = fetchResponseHeaders(res.headers);
    const init2 = { status, statusText: res.statusText, headers };
    const upstream = res.body;
    if (upstream === null || method === "HEAD" || NULL_BODY_STATUS.has(status)) {
      clientSignal?.removeEventListener("abort", onClientGone);
      if (upstream !== null) await upstream.cancel().catch(() => {});
      a.observer.end(status, true);
      return new Response(null, init2);
    }
    return new Response(
      relayResponse(upstream, (complete) => {
        clientSignal?.removeEventListener("abort", onClientGone);
        a.observer.end(status, complete);
      }),
      init2,
    );
  }
}

/**
 * The request body as fetch reads it: `started` when fetch first reads (the
 * connection is up), `ended` once it has read the last byte (the response
 * timeout starts there).
 */
function relayUpload(
  body: ReadableStream<Uint8Array>,
  started: () => void,
  ended: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (first) {
        first = false;
        started();
      }
      const { value, done } = await reader.read();
      if (done) {
        c.close();
        ended();
      } else c.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/**
 * The response body relayed to the client: `end` is called once, when it has
 * been read to its end (`true`), failed, or was cancelled by the client.
 */
function relayResponse(
  body: ReadableStream<Uint8Array>,
  end: (complete: boolean) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  const finish = (complete: boolean) => {
    if (ended) return;
    ended = true;
    end(complete);
  };
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        finish(false);
        c.error(e);
        return;
      }
      if (r.done) {
        c.close();
        finish(true);
      } else c.enqueue(r.value);
    },
    cancel: async (reason) => {
      finish(false);
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}
