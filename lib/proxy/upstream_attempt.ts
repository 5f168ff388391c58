/**
 * The upstream side of one exchange's attempts: which backend (a
 * {@link BackendLease} held for the attempt), which connection (an idle
 * pooled one, else a new one), and what happens when an attempt fails before
 * any response byte was relayed: `retryDecision()` says whether it goes on
 * (a new connection to the same backend when a pooled one died under the
 * request, or another backend within `retry.max_retries` and the retry
 * budget) or the exchange answers. With `retry.on_status`, an answer with a
 * listed status may send the request on too (`statusRetryDecision()`): its
 * connection is handed to `discardResponse()` and another backend is tried.
 *
 * Why apart: the exchange coordinates the request, its body, its response
 * and its ending; picking, leasing, connecting and retrying are one concern
 * with its own state (the backends tried, whether the connection was
 * reused), and every end path has to release the lease exactly once. It is
 * allocated with its exchange, in place of the array of backends tried that
 * the exchange held before (which is now allocated only on a retry).
 *
 * @module
 */
import { BackendLease } from "../group/backend_lease.ts";
import type { BackendView, GroupSnapshot } from "../group/snapshot.ts";
import type { RequestHead } from "../http1/head.ts";
import { stickyPin } from "./sticky_pin.ts";
import type { RoutePolicy } from "./route_policy.ts";
import type { ProxyContext } from "./context.ts";
import type { BackendMetrics } from "./metrics.ts";
import { pickContext } from "./pick_context.ts";
import { retryDecision, statusRetryDecision } from "./retry_policy.ts";
import { discardResponse } from "./discarded_response.ts";
import { Fault, faultAnswer } from "./upstream_fault.ts";
import type { UpstreamConnection, UpstreamOwner } from "./upstream_pool.ts";

/** What an attempt needs from its exchange. */
export interface AttemptOwner extends UpstreamOwner {
  /** The exchange is over: a connection that arrives late goes back to the pool. */
  readonly finished: boolean;
  /** The request head went out on the current attempt's connection. */
  readonly headSent: boolean;
  /** Bytes of the request body went to a backend. */
  readonly bodySent: boolean;
  /** Some bytes of a response arrived on the current attempt. */
  readonly responseStarted: boolean;
  /** A connection to the leased backend is ready (already owned by the exchange): send on it. */
  attemptReady(up: UpstreamConnection): void;
  /** The failed attempt is forgotten before the next one (a partial head must not prefix it). */
  attemptReset(): void;
  /** No attempt is left: the exchange answers `fault`. */
  attemptsFailed(fault: Fault): void;
}

/** The attempts of one exchange. */
export class UpstreamAttempt {
  readonly #owner: AttemptOwner;
  readonly #ctx: ProxyContext;
  readonly #req: RequestHead;
  readonly #snap: GroupSnapshot;
  readonly #clientIp: string;
  /** The current attempt's lease (null between attempts and after the end). */
  lease: BackendLease | null = null;
  /** The current backend's metrics. */
  metrics: BackendMetrics | null = null;
  /** The current attempt's connection, while it has one. */
  up: UpstreamConnection | null = null;
  /** This attempt's connection came from the pool (it served an earlier exchange). */
  reused = false;
  /** Backends picked so far. */
  #attempts = 0;
  #first = -1;
  /** Backend indexes tried, allocated only for a retry on another backend. */
  #tried: number[] | null = null;

  /** The route's overrides (timeouts, retries, stickiness), or null. */
  readonly #policy: RoutePolicy | null;
  /** The sticky cookie's value the client sent (sticky routes only), else null. */
  stickyIn: string | null = null;

  constructor(
    owner: AttemptOwner,
    ctx: ProxyContext,
    req: RequestHead,
    snap: GroupSnapshot,
    clientIp: string,
    policy: RoutePolicy | null = null,
  ) {
    this.#policy = policy;
    this.#owner = owner;
    this.#ctx = ctx;
    this.#req = req;
    this.#snap = snap;
    this.#clientIp = clientIp;
  }

  /** Picks a backend (one not tried yet) and connects to it. */
  start(): void {
    const snap = this.#snap;
    let accept: ((i: number) => boolean) | null = null;
    if (this.#attempts > 0) {
      const tried = this.#tried ??= [this.#first];
      accept = (i) => !tried.includes(i);
    }
    let index = -1;
    const sticky = this.#policy?.sticky;
    if (sticky && this.#attempts === 0) {
      // the backend the cookie names, while it is usable; else the balancer picks and re-pins
      const pin = stickyPin(this.#req, sticky.cookie, snap.backends);
      this.stickyIn = pin.value;
      index = pin.index;
    }
    if (index < 0) {
      index = snap.selector.pick(pickContext(snap.config, this.#req, this.#clientIp, accept));
    }
    if (index < 0) {
      this.#owner.attemptsFailed(this.#attempts === 0 ? Fault.NoBackend : Fault.AllBackendsFailed);
      return;
    }
    if (this.#attempts === 0) this.#first = index;
    else this.#tried!.push(index);
    this.#attempts++;
    const backend = snap.backends[index]!;
    this.lease = new BackendLease(backend, this.#ctx.state);
    this.metrics = this.#ctx.metrics.forBackend(backend.address);
    this.#connect(backend, true);
  }

  /** Gets a connection to `backend`: an idle pooled one when `mayReuse`, else a new one. */
  #connect(backend: BackendView, mayReuse: boolean): void {
    const pool = this.#ctx.pool(backend);
    const up = mayReuse ? pool.acquire() : null;
    if (up) {
      this.#ready(up);
      return;
    }
    const lease = this.lease;
    pool.connect(
      this.#policy?.connectTimeoutMs ?? this.#snap.config.connect_timeout_seconds * 1000,
    ).then(
      (conn) => {
        if (this.#owner.finished || this.lease !== lease) {
          conn.pool.release(conn, this.#ctx.coarseNow);
          return;
        }
        this.#ready(conn);
      },
      (err: Error) => {
        if (this.#owner.finished || this.lease !== lease) return;
        this.failed(Fault.ConnectFailed, err.message);
      },
    );
  }

  #ready(up: UpstreamConnection): void {
    this.up = up;
    up.owner = this.#owner;
    this.reused = up.uses > 0;
    this.#owner.attemptReady(up);
  }

  /**
   * The attempt failed before any response byte was relayed: retry when safe
   * (see {@link retryDecision}), else the owner answers.
   */
  failed(fault: Fault.ConnectFailed | Fault.ConnectionLost, reason: string): void {
    const owner = this.#owner;
    const lease = this.lease;
    const up = this.up;
    this.up = null;
    if (up) up.destroy();
    const req = this.#req;
    const decision = retryDecision({
      method: req.method,
      upgrade: req.upgrade !== null,
      bodySent: owner.bodySent,
      headSent: owner.headSent && fault !== Fault.ConnectFailed,
      reusedConnection: this.reused,
      responseStarted: owner.responseStarted,
      connectionLost: fault === Fault.ConnectionLost,
      attempts: this.#attempts,
      maxRetries: this.#policy?.maxRetries ?? this.#snap.config.retry.max_retries,
      backends: this.#snap.backends.length,
    });
    this.reused = false;
    owner.attemptReset();
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
    this.lease = null;
    const budget = this.#policy?.budget ?? this.#ctx.budget();
    if (decision === "next_backend" && budget.tryRetry(this.#ctx.wallNow())) {
      this.#ctx.metrics.retries.inc();
      this.#ctx.log.debug("retrying on another backend", {
        backend: lease?.address,
        cause: answer.cause,
        reason,
      });
      this.start();
      return;
    }
    this.#ctx.log.warn("upstream attempt failed", {
      backend: lease?.address,
      cause: answer.cause,
      reason,
    });
    owner.attemptsFailed(fault);
  }

  /**
   * The backend answered `status`, one `retry.on_status` lists (the caller
   * checked that the list is not empty): true when the request goes to
   * another backend instead (see {@link statusRetryDecision}; the retry
   * budget is taken then), and the caller then calls {@link retryAnswered}.
   */
  mayRetryAnswer(status: number, hasBody: boolean): boolean {
    const req = this.#req;
    const decision = statusRetryDecision({
      method: req.method,
      upgrade: req.upgrade !== null,
      hasBody,
      status,
      onStatus: this.#snap.config.retry.on_status,
      attempts: this.#attempts,
      maxRetries: this.#policy?.maxRetries ?? this.#snap.config.retry.max_retries,
      backends: this.#snap.backends.length,
    });
    if (decision !== "next_backend") return false;
    const budget = this.#policy?.budget ?? this.#ctx.budget();
    return budget.tryRetry(this.#ctx.wallNow());
  }

  /**
   * The answer `status` is discarded and the request goes to another
   * backend: the answer counts for outlier detection as a relayed one would
   * (`count_5xx`), its connection goes to {@link discardResponse} (`left`
   * bytes of its body still to come, -1: close it), and the next attempt
   * starts.
   */
  retryAnswered(status: number, left: number): void {
    const lease = this.lease;
    const up = this.up;
    this.up = null;
    this.reused = false;
    if (up) discardResponse(up, left, this.#ctx);
    if (lease) {
      lease.report(this.#snap.outlierSettings.count5xx);
      lease.release();
    }
    this.lease = null;
    this.#owner.attemptReset();
    this.#ctx.metrics.countStatusRetry(status);
    this.#ctx.log.debug("retrying on another backend", {
      backend: lease?.address,
      cause: "status",
      status,
    });
    this.start();
  }

  /** The connection closed under the attempt (its owner was told). */
  connectionClosed(): void {
    this.up = null;
  }

  /** Closes the attempt's connection and releases its lease. */
  drop(): void {
    const up = this.up;
    this.up = null;
    if (up) up.destroy();
    this.lease?.release();
    this.lease = null;
  }

  /**
   * The response was relayed to its end: the lease ends and the connection
   * goes back to the pool (`reuseUpstream`) or is closed.
   */
  finish(reuseUpstream: boolean): void {
    this.lease?.release();
    this.lease = null;
    const up = this.up;
    this.up = null;
    if (up) {
      if (reuseUpstream) up.pool.release(up, this.#ctx.coarseNow);
      else up.destroy();
    }
  }

  /** After a 101 the tunnel owns the connection and the lease (see tunnel.ts). */
  handOver(): void {
    this.up = null;
    this.lease = null;
  }
}
