/**
 * One request forwarded to a backend and its response relayed back: the
 * coordinator of an attempt's parts.
 *
 * It picks a backend (holding a {@link BackendLease} for the attempt), gets
 * a connection (pooled or new), writes the request head, and hands the body
 * to a {@link RequestBodyPump} and the answer to a {@link ResponseRelay} (or,
 * after a 101, the connection pair to a {@link Tunnel}). When an attempt
 * fails before any response byte was relayed, `retryDecision()` says whether
 * it goes on (another backend, or a new connection to the same backend when a
 * pooled one died under the request); otherwise `faultAnswer()` says what the
 * client is told: 502 for refused/reset/garbled, 504 for no response head in
 * time, 503 when no backend is usable. Every end path releases the lease.
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
import { BackendLease } from "../group/backend_lease.ts";
import type { BackendView, GroupSnapshot } from "../group/snapshot.ts";
import { COARSE_SLACK_MS, type ProxyContext } from "./context.ts";
import type { ClientSide } from "./client_side.ts";
import { clientKeepAlive } from "./keep_alive.ts";
import type { BackendMetrics } from "./metrics.ts";
import { pickContext } from "./pick_context.ts";
import { type PumpOwner, RequestBodyPump } from "./request_body_pump.ts";
import { type RelayOwner, ResponseRelay } from "./response_relay.ts";
import { retryDecision } from "./retry_policy.ts";
import { Tunnel } from "./tunnel.ts";
import { Fault, faultAnswer } from "./upstream_fault.ts";
import type { UpstreamConnection, UpstreamOwner } from "./upstream_pool.ts";

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
export class Exchange implements UpstreamOwner, PumpOwner, RelayOwner {
  readonly #ctx: ProxyContext;
  readonly #client: ClientSide;
  readonly #req: RequestHead;
  readonly #snap: GroupSnapshot;
  readonly #start: number;
  /** Created only for a request with a body. */
  readonly #pump: RequestBodyPump | null;
  readonly #relay: ResponseRelay;

  #phase = Phase.Connecting;
  #lease: BackendLease | null = null;
  #bm: BackendMetrics | null = null;
  #up: UpstreamConnection | null = null;
  #tried: number[] = [];
  /** This attempt's connection came from the pool (it served an earlier exchange). */
  #reused = false;
  /** Monotonic deadline for the response head (0 = none). */
  responseDeadline = 0;

  constructor(ctx: ProxyContext, client: ClientSide, req: RequestHead, snap: GroupSnapshot) {
    this.#ctx = ctx;
    this.#client = client;
    this.#req = req;
    this.#snap = snap;
    this.#start = ctx.now();
    this.#pump = req.chunked || req.contentLength > 0
      ? new RequestBodyPump(this, client, req, ctx.limits.maxBodyBytes)
      : null;
    this.#relay = new ResponseRelay(this, ctx, client, req);
  }

  /** Every byte of the client's request body has been read. */
  get bodyDone(): boolean {
    return this.#pump === null || this.#pump.done;
  }

  get requestBodyRead(): boolean {
    return this.bodyDone;
  }

  get backendAddress(): string | undefined {
    return this.#lease?.address;
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
    this.#attempt();
  }

  // ---------------------------------------------------------------- attempts

  #attempt(): void {
    const snap = this.#snap;
    const tried = this.#tried;
    const req = this.#req;
    const ip = this.#client.clientIp;
    const index = snap.selector.pick(
      pickContext(snap.config, req, ip, tried.length === 0 ? null : (i) => !tried.includes(i)),
    );
    if (index < 0) {
      this.#fail(tried.length === 0 ? Fault.NoBackend : Fault.AllBackendsFailed);
      return;
    }
    tried.push(index);
    const backend = snap.backends[index]!;
    this.#lease = new BackendLease(backend, this.#ctx.state);
    this.#bm = this.#ctx.metrics.forBackend(backend.address);
    this.#connect(backend, true);
  }

  /** Gets a connection to `backend`: an idle pooled one when `mayReuse`, else a new one. */
  #connect(backend: BackendView, mayReuse: boolean): void {
    const pool = this.#ctx.pool(backend);
    const up = mayReuse ? pool.acquire() : null;
    if (up) {
      this.#attach(up);
      return;
    }
    const lease = this.#lease;
    pool.connect(this.#snap.config.connect_timeout_seconds * 1000).then(
      (conn) => {
        if (this.#phase === Phase.Done || this.#lease !== lease) {
          conn.pool.release(conn, this.#ctx.coarseNow);
          return;
        }
        this.#attach(conn);
      },
      (err: Error) => {
        if (this.#phase === Phase.Done || this.#lease !== lease) return;
        this.#attemptFailed(Fault.ConnectFailed, err.message);
      },
    );
  }

  #attach(up: UpstreamConnection): void {
    this.#up = up;
    up.owner = this;
    this.#reused = up.uses > 0;
    this.#relay.attach(up);
    const req = this.#req;
    const fctx: ForwardContext = {
      clientIp: this.#client.clientIp,
      proto: "http",
      hostRewrite: this.#snap.config.host_rewrite,
      backendAddress: this.#lease!.address,
    };
    const head = upstreamRequestHead(
      req,
      fctx,
      requestFraming(req),
      req.upgrade !== null,
      req.expectContinue,
    );
    this.#phase = Phase.Sent;
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
      this.#snap.config.response_timeout_seconds * 1000;
  }

  /**
   * An attempt failed before any response byte was relayed: retry when safe
   * (see {@link retryDecision}), else answer.
   */
  #attemptFailed(fault: Fault.ConnectFailed | Fault.ConnectionLost, reason: string): void {
    const lease = this.#lease;
    const up = this.#up;
    this.#up = null;
    if (up) up.destroy();
    this.#pump?.detach();
    const req = this.#req;
    const decision = retryDecision({
      method: req.method,
      upgrade: req.upgrade !== null,
      bodySent: this.#pump !== null && this.#pump.sent,
      headSent: this.#phase === Phase.Sent && fault !== Fault.ConnectFailed,
      reusedConnection: this.#reused,
      responseStarted: this.#relay.started,
      connectionLost: fault === Fault.ConnectionLost,
      attempts: this.#tried.length,
      maxRetries: this.#snap.config.retry.max_retries,
      backends: this.#snap.backends.length,
    });
    this.#resetForRetry();
    if (decision === "fresh_connection" && lease) {
      // A pooled connection died under the request: the backend is not at fault (no
      // outlier report, no retry budget); the lease (its in-flight count) carries over.
      this.#ctx.log.debug("reused connection was closed; retrying on a new one", {
        backend: lease.address,
        reason,
      });
      this.#connect(lease.backend, false);
      return;
    }
    const answer = faultAnswer(fault);
    if (lease) {
      lease.report(answer.backendFailure);
      lease.release();
    }
    this.#lease = null;
    if (decision === "next_backend" && this.#ctx.budget().tryRetry(this.#ctx.wallNow())) {
      this.#ctx.metrics.retries.inc();
      this.#ctx.log.debug("retrying on another backend", {
        backend: lease?.address,
        cause: answer.cause,
        reason,
      });
      this.#attempt();
      return;
    }
    this.#ctx.log.warn("upstream attempt failed", {
      backend: lease?.address,
      cause: answer.cause,
      reason,
    });
    this.#fail(fault);
  }

  /** Forgets the failed attempt (a partial head must not prefix the next). */
  #resetForRetry(): void {
    this.#phase = Phase.Connecting;
    this.#relay.detach();
    this.#reused = false;
    this.responseDeadline = 0;
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
    this.#up = null;
    this.#relay.closed(error);
  }

  onUpstreamDrain(): void {
    this.#pump?.onUpstreamDrain();
  }

  // ---------------------------------------------------------------- response

  responseHead(status: number): void {
    this.responseDeadline = 0;
    this.#lease?.report(status >= 500 && this.#snap.outlierSettings.count5xx);
  }

  badResponse(reason: string): void {
    this.#ctx.log.warn("invalid response from backend", { backend: this.backendAddress, reason });
    this.#lease?.report(true);
    this.#fail(Fault.BadResponse);
  }

  connectionLost(reason: string): void {
    this.#attemptFailed(Fault.ConnectionLost, reason);
  }

  upgraded(head: ResponseHead, rest: Uint8Array): void {
    const up = this.#up!;
    const lease = this.#lease!;
    this.responseDeadline = 0;
    this.#phase = Phase.Done;
    this.#client.write(clientResponseHead(head, NO_BODY, true, this.#req.minor, true));
    const tunnel = new Tunnel(this.#client, up, lease);
    this.#client.startTunnel(tunnel);
    this.#countResponse(101);
    this.#up = null;
    this.#lease = null;
    if (rest.length > 0) tunnel.onUpstreamData(rest);
  }

  responseDone(keepClient: boolean, reuseUpstream: boolean): void {
    if (this.#phase === Phase.Done) return;
    this.#phase = Phase.Done;
    this.#countResponse(this.#relay.status);
    this.#lease?.release();
    this.#lease = null;
    this.#pump?.stop();
    const up = this.#up;
    this.#up = null;
    if (up) {
      this.#relay.unpause();
      if (reuseUpstream) up.pool.release(up, this.#ctx.coarseNow);
      else up.destroy();
    }
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
    this.#lease?.report(true);
    this.#fail(Fault.ResponseTimeout);
  }

  // ---------------------------------------------------------------- endings

  /** Closes the attempt's connection and releases its lease. */
  #dropUpstream(): void {
    const up = this.#up;
    this.#up = null;
    if (up) up.destroy();
    this.#lease?.release();
    this.#lease = null;
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
    const keepAlive = clientKeepAlive(
      req.keepAlive,
      true,
      this.#client.closing || this.#ctx.draining,
      this.bodyDone,
    );
    this.#client.write(simpleResponse(answer.status, answer.body, keepAlive, answer.extra));
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
    const bm = this.#bm;
    const lease = this.#lease;
    if (bm && lease) {
      this.#ctx.metrics.countResponse(
        bm,
        lease.address,
        this.#req.method,
        status,
        (this.#ctx.now() - this.#start) / 1000,
      );
    }
  }

  /** True once the exchange has ended. */
  get finished(): boolean {
    return this.#phase === Phase.Done;
  }
}
