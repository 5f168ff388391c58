/**
 * One request forwarded to a backend and its response relayed back: the
 * coordinator of an attempt's parts.
 *
 * Its {@link UpstreamAttempt} picks a backend (holding a lease for the
 * attempt), gets a connection (pooled or new) and retries a failed attempt
 * when safe; the exchange writes the request head on the connection, hands
 * the body to a {@link RequestBodyPump} and the answer to a
 * {@link ResponseRelay} (or, after a 101, the connection pair to a
 * {@link Tunnel}). An answer whose status `retry.on_status` lists may be
 * discarded for another attempt (`answerDiscarded`). When no attempt is
 * left, `faultAnswer()` says what the client is told: 502 for
 * refused/reset/garbled, 504 for no response head in time, 503 when no
 * backend is usable. Every end path releases the lease.
 *
 * @module
 */
import { latin1With } from "../http1/bytes.ts";
import {
  clientResponseHead,
  type ForwardContext,
  NO_BODY,
  simpleResponse,
  upstreamRequestHead,
} from "../http1/forward.ts";
import type { RequestHead, ResponseHead } from "../http1/head.ts";
import { requestFraming } from "../http1/request_framing.ts";
import type { GroupSnapshot } from "../group/snapshot.ts";
import { COARSE_SLACK_MS, type ProxyContext } from "./context.ts";
import type { ClientSide } from "./client_side.ts";
import { clientKeepAlive } from "./keep_alive.ts";
import { type PumpOwner, RequestBodyPump } from "./request_body_pump.ts";
import { type RelayOwner, ResponseRelay } from "./response_relay.ts";
import { Tunnel } from "./tunnel.ts";
import { type AttemptOwner, UpstreamAttempt } from "./upstream_attempt.ts";
import { Fault, faultAnswer } from "./upstream_fault.ts";
import { discardedBodyLeft } from "./discarded_response.ts";
import type { ResponseFraming } from "../http1/response_framing.ts";
import type { UpstreamConnection } from "./upstream_pool.ts";
import type { RouteLane } from "./route_lane.ts";
import { applyResponsePolicy } from "../routing/response_policy.ts";
import { setCookieLine, stickyValue } from "../routing/sticky.ts";

export type { ClientSide };

const enum Phase {
  /** No request head on a connection yet (picking, connecting, or between attempts). */
  Connecting,
  /** The request head went out on the current attempt's connection. */
  Sent,
  /** Over (answered, relayed, cut, or handed to a tunnel). */
  Done,
}

/** Forwards one request. Created by the client connection once the head is parsed. */
export class Exchange implements AttemptOwner, PumpOwner, RelayOwner {
  readonly #ctx: ProxyContext;
  readonly #client: ClientSide;
  readonly #req: RequestHead;
  readonly #snap: GroupSnapshot;
  readonly #start: number;
  /** Created only for a request with a body. */
  readonly #pump: RequestBodyPump | null;
  readonly #relay: ResponseRelay;

  readonly #attempt: UpstreamAttempt;
  /** The route taken, for its metrics (null for a `--group` proxy). */
  readonly #route: RouteLane | null;
  /** The request id sent upstream and echoed to the client, or null (pass the client's). */
  readonly #requestId: string | null;

  #phase = Phase.Connecting;
  /** This request goes to the access log (sampled at its start). */
  readonly #logged: boolean;
  /** When the request head went to the backend, and its answer's head came (ms, 0 = not). */
  #sentAt = 0;
  #headAt = 0;
  /** Monotonic deadline for the response head (0 = none). */
  responseDeadline = 0;

  constructor(
    ctx: ProxyContext,
    client: ClientSide,
    req: RequestHead,
    snap: GroupSnapshot,
    route: RouteLane | null = null,
    requestId: string | null = null,
  ) {
    this.#ctx = ctx;
    this.#route = route;
    this.#requestId = requestId;
    this.#client = client;
    this.#req = req;
    this.#snap = snap;
    this.#start = ctx.now();
    this.#logged = ctx.accessLog?.sample() ?? false;
    this.#pump = req.chunked || req.contentLength > 0
      ? new RequestBodyPump(this, client, req, ctx.limits.maxBodyBytes)
      : null;
    this.#relay = new ResponseRelay(this, ctx, client, req);
    this.#attempt = new UpstreamAttempt(
      this,
      ctx,
      req,
      snap,
      client.clientIp,
      route?.policy ?? null,
    );
  }

  /** Every byte of the client's request body has been read. */
  get bodyDone(): boolean {
    return this.#pump === null || this.#pump.done;
  }

  get requestBodyRead(): boolean {
    return this.bodyDone;
  }

  get requestId(): string | null {
    return this.#requestId;
  }

  get backendAddress(): string | undefined {
    return this.#attempt.lease?.address;
  }

  /** Starts the first attempt. */
  begin(): void {
    const max = this.#ctx.limits.maxBodyBytes;
    if (max > 0 && this.#req.contentLength > max) {
      // refuse before connecting anywhere; the body is not read, so the connection closes
      this.#fail(Fault.BodyTooLarge);
      return;
    }
    this.#ctx.budget().recordRequest(this.#ctx.coarseWall);
    this.#route?.policy?.budget?.recordRequest(this.#ctx.coarseWall);
    this.#attempt.start();
  }

  // ---------------------------------------------------------------- attempts

  /** A connection to the attempt's backend is ready: the request goes out on it. */
  attemptReady(up: UpstreamConnection): void {
    this.#relay.attach(up);
    const req = this.#req;
    const clientTls = this.#client.tls;
    const fctx: ForwardContext = {
      clientIp: this.#client.clientIp,
      proto: clientTls === null ? "http" : "https",
      clientSubject: clientTls === null ? null : clientTls.clientSubject,
      hostRewrite: this.#snap.config.host_rewrite,
      backendAddress: this.#attempt.lease!.address,
      requestId: this.#requestId,
    };
    const head = upstreamRequestHead(
      req,
      fctx,
      requestFraming(req),
      req.upgrade !== null,
      req.expectContinue,
    );
    this.#phase = Phase.Sent;
    if (this.#logged) this.#sentAt = this.#ctx.now();
    const pump = this.#pump;
    if (pump === null) {
      this.#armResponseTimer();
      up.write(latin1With(head, null, 0));
    } else {
      if (pump.done) this.#armResponseTimer();
      pump.attach(up, head);
    }
  }

  /** Starts the response-head timeout once the whole request has been handed to the backend. */
  #armResponseTimer(): void {
    this.responseDeadline = this.#ctx.coarseNow + COARSE_SLACK_MS +
      (this.#route?.policy?.responseTimeoutMs ?? this.#snap.config.response_timeout_seconds * 1000);
  }

  get headSent(): boolean {
    return this.#phase === Phase.Sent;
  }

  get bodySent(): boolean {
    return this.#pump !== null && this.#pump.sent;
  }

  get responseStarted(): boolean {
    return this.#relay.started;
  }

  /** Forgets the failed attempt (a partial head must not prefix the next). */
  attemptReset(): void {
    this.#pump?.detach();
    this.#phase = Phase.Connecting;
    this.#relay.detach();
    this.responseDeadline = 0;
  }

  attemptsFailed(fault: Fault): void {
    this.#fail(fault);
  }

  // ---------------------------------------------------------------- request body

  /** Consumes request-body bytes from `chunk[offset..]` (see {@link RequestBodyPump.feed}). */
  feedBody(chunk: Uint8Array, offset: number): number {
    return this.#pump === null ? 0 : this.#pump.feed(chunk, offset);
  }

  requestBodyComplete(): void {
    if (this.#phase === Phase.Sent && this.#relay.awaitingHead) this.#armResponseTimer();
  }

  requestBodyFault(fault: Fault.BadRequestBody | Fault.BodyTooLarge, reason: string): void {
    if (fault === Fault.BadRequestBody) {
      this.#ctx.log.info("rejected request body", { reason, client: this.#client.clientIp });
    }
    this.#fail(fault);
  }

  /** The client stopped sending its request body: 408 (or a cut once the response started). */
  bodyTimeout(): void {
    if (this.#phase === Phase.Done) return;
    this.#ctx.log.info("request body timeout", { client: this.#client.clientIp });
    this.#fail(Fault.BodyTimeout);
  }

  // ---------------------------------------------------------------- upstream events

  onUpstreamData(chunk: Uint8Array): void {
    this.#relay.data(chunk);
  }

  onUpstreamEnd(): void {
    this.#relay.ended();
  }

  onUpstreamClose(error: Error | null): void {
    this.#attempt.connectionClosed();
    this.#relay.closed(error);
  }

  onUpstreamDrain(): void {
    this.#pump?.onUpstreamDrain();
  }

  // ---------------------------------------------------------------- response

  clientHead(head: ResponseHead): ResponseHead {
    const route = this.#route;
    const policy = route?.response ?? null;
    if (policy === null) return head;
    let cookies: string[] | undefined;
    const sticky = route!.policy?.sticky;
    // (a route whose policy changes nothing has none: see listener_runtime.ts)
    const lease = this.#attempt.lease;
    if (sticky && lease) {
      // pin (or re-pin) the client to the backend that answered
      const value = stickyValue(lease.address);
      if (value !== this.#attempt.stickyIn) {
        cookies = [setCookieLine(sticky.cookie, value, sticky.ttlSeconds, false)];
      }
    }
    return applyResponsePolicy(head, policy, {
      clientIp: this.#client.clientIp,
      requestId: this.#requestId ?? "",
    }, cookies);
  }

  /**
   * A 5xx head arrived: with `retry.on_status` (nothing to check when it is
   * empty, the default), the attempt may discard it for another backend.
   */
  answerDiscarded(head: ResponseHead, framing: ResponseFraming, received: number): boolean {
    const status = head.status;
    if (this.#snap.config.retry.on_status.length === 0) return false;
    if (!this.#attempt.mayRetryAnswer(status, this.#pump !== null)) return false;
    this.responseDeadline = 0;
    this.#attempt.retryAnswered(
      status,
      discardedBodyLeft(framing, head.contentLength, received, head.keepAlive),
    );
    return true;
  }

  responseHead(status: number): void {
    this.responseDeadline = 0;
    if (this.#logged) this.#headAt = this.#ctx.now();
    this.#attempt.lease?.report(status >= 500 && this.#snap.outlierSettings.count5xx);
  }

  badResponse(reason: string): void {
    this.#ctx.log.warn("invalid response from backend", { backend: this.backendAddress, reason });
    this.#attempt.lease?.report(true);
    this.#fail(Fault.BadResponse);
  }

  connectionLost(reason: string): void {
    this.#attempt.failed(Fault.ConnectionLost, reason);
  }

  upgraded(head: ResponseHead, rest: Uint8Array): void {
    const up = this.#attempt.up!;
    const lease = this.#attempt.lease!;
    this.responseDeadline = 0;
    this.#phase = Phase.Done;
    this.#client.write(
      clientResponseHead(
        head,
        NO_BODY,
        true,
        this.#req.minor,
        true,
        this.#requestId,
        this.#client.tls?.responseFields,
      ),
    );
    const tunnel = new Tunnel(this.#client, up, lease);
    this.#client.startTunnel(tunnel);
    this.#countResponse(101);
    this.#attempt.handOver();
    if (rest.length > 0) tunnel.onUpstreamData(rest);
  }

  responseDone(keepClient: boolean, reuseUpstream: boolean): void {
    if (this.#phase === Phase.Done) return;
    this.#phase = Phase.Done;
    this.#countResponse(this.#relay.status);
    this.#pump?.stop();
    if (this.#attempt.up !== null) this.#relay.unpause();
    this.#attempt.finish(reuseUpstream);
    this.#client.exchangeFinished(keepClient);
  }

  responseBroken(): void {
    this.#abort();
  }

  /** True while the response waits for the client to read (its socket buffer is full). */
  get waitingForClient(): boolean {
    return this.#relay.waitingForClient;
  }

  /** The client socket drained: read more from the backend. */
  onClientDrain(): void {
    this.#relay.onClientDrain();
  }

  /** The client stopped reading the response for too long: give up on it. */
  clientStalled(): void {
    if (this.#phase === Phase.Done) return;
    this.#ctx.log.info("client stopped reading", { client: this.#client.clientIp });
    this.#abort();
  }

  /** The response deadline passed: 504 and the upstream request cancelled. */
  timeout(): void {
    if (this.#phase === Phase.Done || this.#relay.headSent) return;
    this.#ctx.log.warn("backend response timeout", { backend: this.backendAddress });
    this.#attempt.lease?.report(true);
    this.#fail(Fault.ResponseTimeout);
  }

  // ---------------------------------------------------------------- endings

  /** Closes the attempt's connection and releases its lease. */
  #dropUpstream(): void {
    this.#attempt.drop();
    this.#pump?.stop();
  }

  /** Answers with a proxy-generated response (or cuts one already started) and ends. */
  #fail(fault: Fault): void {
    if (this.#phase === Phase.Done) return;
    if (this.#relay.headSent) {
      this.#abort();
      return;
    }
    this.#phase = Phase.Done;
    this.#dropUpstream();
    const answer = faultAnswer(fault);
    const req = this.#req;
    this.#ctx.metrics.countError(answer.cause, answer.status, req.method);
    const seconds = (this.#ctx.now() - this.#start) / 1000;
    this.#route?.count(answer.status, seconds);
    if (this.#logged) this.#access(answer.status, seconds, null);
    const keepAlive = clientKeepAlive(
      req.keepAlive,
      true,
      this.#client.closing || this.#ctx.draining,
      this.bodyDone,
    );
    const id = this.#requestId;
    const extra = id === null
      ? answer.extra
      : answer.extra
      ? { ...answer.extra, "x-request-id": id }
      : { "x-request-id": id };
    this.#client.write(simpleResponse(answer.status, answer.body, keepAlive, extra));
    this.#client.exchangeFinished(keepAlive);
  }

  /** Ends a response that cannot be completed: the client sees a truncated reply. */
  #abort(): void {
    if (this.#phase === Phase.Done) return;
    this.#phase = Phase.Done;
    if (this.#relay.headSent && this.#relay.status > 0) this.#countResponse(this.#relay.status);
    this.#dropUpstream();
    this.#client.destroy();
  }

  /** The client went away mid-exchange. */
  clientGone(): void {
    if (this.#phase === Phase.Done) return;
    this.#phase = Phase.Done;
    this.#countResponse(499);
    this.#dropUpstream();
  }

  #countResponse(status: number): void {
    const bm = this.#attempt.metrics;
    const lease = this.#attempt.lease;
    const seconds = (this.#ctx.now() - this.#start) / 1000;
    if (bm && lease) {
      this.#ctx.metrics.countResponse(bm, lease.address, this.#req.method, status, seconds);
    }
    this.#route?.count(status, seconds);
    if (this.#logged) this.#access(status, seconds, lease?.address ?? null);
  }

  /** Writes the request's access log line. */
  #access(status: number, seconds: number, backend: string | null): void {
    const route = this.#route;
    this.#ctx.accessLog!.record({
      timeMs: this.#ctx.wallNow() - seconds * 1000,
      route: route === null ? null : route.name,
      group: this.#ctx.state.group,
      backend,
      method: this.#req.method,
      path: this.#req.target,
      status,
      durationMs: seconds * 1000,
      upstreamMs: this.#headAt > 0 && this.#sentAt > 0 ? this.#headAt - this.#sentAt : null,
      bytes: this.#relay.bytesOut,
      requestId: this.#requestId ?? "",
      client: this.#client.clientIp,
    });
  }

  /** True once the exchange has ended. */
  get finished(): boolean {
    return this.#phase === Phase.Done;
  }
}
