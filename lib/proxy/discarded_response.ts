/**
 * A response the proxy discards instead of relaying (an answer whose status
 * `retry.on_status` lists, when the request goes to another backend): what
 * becomes of its connection. A short body framed by Content-Length is read
 * and thrown away so the connection can go back to the pool; anything else
 * (a chunked or close-delimited body, a long one, `Connection: close`, bytes
 * past the declared end) closes the connection, since reading it to its end
 * would cost more than a new connection.
 *
 * Why apart: the request has moved on to another backend by then, so the
 * old connection needs an owner of its own while its body drains; the
 * exchange and its relay only ever follow the current attempt.
 *
 * @module
 */
import { BodyRelay, type ResponseFraming } from "../http1/response_framing.ts";
import type { UpstreamConnection, UpstreamOwner } from "./upstream_pool.ts";

/** A discarded body longer than this closes its connection instead of being drained. */
export const MAX_DRAIN_BYTES = 64 * 1024;

/** A discarded body that has not fully arrived after this long closes its connection. */
export const DRAIN_TIMEOUT_MS = 5_000;

/**
 * How many bytes of a discarded response are still to be read before its
 * connection may be pooled again (0: it may be now), or -1 when the
 * connection is to be closed instead. `received` is the number of body bytes
 * that came with the head. Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discardedBodyLeft } from "./discarded_response.ts";
 * import { responseFraming } from "../http1/response_framing.ts";
 * const head = { status: 503, contentLength: 12, chunked: false };
 * const framing = responseFraming("GET", head, 1);
 * assert.equal(discardedBodyLeft(framing, 12, 12, true), 0); // all here: pool it now
 * assert.equal(discardedBodyLeft(framing, 12, 4, true), 8); // drain 8 more
 * assert.equal(discardedBodyLeft(framing, 12, 12, false), -1); // Connection: close
 * ```
 */
export function discardedBodyLeft(
  framing: ResponseFraming,
  contentLength: number,
  received: number,
  backendKeepAlive: boolean,
): number {
  if (!framing.upstreamReusable || !backendKeepAlive) return -1;
  switch (framing.relay) {
    case BodyRelay.None:
      return received === 0 ? 0 : -1;
    case BodyRelay.Length:
      if (contentLength > MAX_DRAIN_BYTES || received > contentLength) return -1;
      return contentLength - received;
    default:
      return -1;
  }
}

/** The pool's clock, read when the drained connection goes back (see `UpstreamPool.release`). */
export interface CoarseClock {
  readonly coarseNow: number;
}

/**
 * Hands `up` back after a discarded response: to the pool when nothing is
 * left to read (`left` 0), closed when it cannot be reused (`left` -1), and
 * otherwise to a {@link ResponseDrain} that reads the rest first.
 */
export function discardResponse(up: UpstreamConnection, left: number, clock: CoarseClock): void {
  if (left === 0) up.pool.release(up, clock.coarseNow);
  else if (left < 0) up.destroy();
  else up.owner = new ResponseDrain(up, left, clock);
}

/**
 * Owns a connection while the rest of a discarded Content-Length body
 * arrives: pooled once exactly `left` bytes came, closed on any byte more, on
 * the backend closing, or after {@link DRAIN_TIMEOUT_MS}.
 */
export class ResponseDrain implements UpstreamOwner {
  readonly #up: UpstreamConnection;
  readonly #clock: CoarseClock;
  #left: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(up: UpstreamConnection, left: number, clock: CoarseClock) {
    this.#up = up;
    this.#left = left;
    this.#clock = clock;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      up.destroy();
    }, DRAIN_TIMEOUT_MS);
  }

  /** Bytes still expected (for tests and logs). */
  get left(): number {
    return this.#left;
  }

  onUpstreamData(chunk: Uint8Array): void {
    this.#left -= chunk.length;
    if (this.#left > 0) return;
    this.#stopTimer();
    if (this.#left === 0) this.#up.pool.release(this.#up, this.#clock.coarseNow);
    else this.#up.destroy(); // bytes past the declared end: the framing is off
  }

  onUpstreamEnd(): void {
    this.#stopTimer();
    this.#up.destroy();
  }

  onUpstreamClose(): void {
    this.#stopTimer();
  }

  onUpstreamDrain(): void {}

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
