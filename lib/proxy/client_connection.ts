/**
 * One client connection: reads request heads, runs one exchange at a time
 * (pipelined requests wait their turn), enforces the head limits and
 * timeouts, and closes the connection whenever the framing cannot be trusted.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ProxySocket } from "./proxy_socket.ts";
import { simpleResponse } from "../http1/forward.ts";
import { findHeadEnd } from "../http1/bytes.ts";
import { parseRequestHead } from "../http1/head.ts";
import { dropUnderscoreFields } from "../http1/underscore_fields.ts";
import type { RequestHead } from "../http1/head.ts";
import { type Answer, COARSE_SLACK_MS, isForward, type ListenerContext } from "./context.ts";
import type { ClientSide, ClientTls } from "./client_side.ts";
import { writeAnswer } from "./answer.ts";
import { Exchange } from "./exchange.ts";
import { H2Connection } from "./h2_connection.ts";
import type { Tunnel } from "./tunnel.ts";

/** Pipelined bytes buffered while an exchange runs before reading pauses. */
const MAX_BUFFERED = 64 * 1024;
/**
 * After the proxy ends a connection and its last byte is flushed, how long
 * the client may take to close its side before the socket is destroyed (a
 * client that never closes must not hold the connection, or a drain, forever).
 */
export const LINGER_MS = 5_000;
/** {@link LINGER_MS} while the proxy drains. */
const DRAIN_LINGER_MS = 1_000;

/** The start of the HTTP/2 connection preface (RFC 9113 §3.4): `PRI * HTTP/2.0` and an empty line. */
const H2_PREFACE_START = Buffer.from("PRI * HTTP/2.0\r\n\r\n", "latin1");

/** Normalizes `::ffff:1.2.3.4` to `1.2.3.4`. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return "unknown";
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** True when `buf[from..]` holds an LF not preceded by CR (checks from `from - 1`). */
function bareLf(buf: Buffer, from: number): boolean {
  let i = buf.indexOf(10, from > 0 ? from : 0);
  while (i >= 0) {
    if (i === 0 || buf[i - 1] !== 13) return true;
    i = buf.indexOf(10, i + 1);
  }
  return false;
}

/** A client connection served by the proxy. */
export class ClientConnection implements ClientSide {
  readonly clientIp: string;
  closing = false;
  #ended = false;
  #buf: Buffer | null = null;
  #exchange: Exchange | null = null;
  /** After a 101: the upgraded connection pair (the exchange stays current until it closes). */
  #tunnel: Tunnel | null = null;
  #paused = false;
  #parsing = false;
  /** Bytes of an incomplete head already checked for a bare LF. */
  #lfScanned = 0;
  /** Monotonic deadline: complete head (or idle keep-alive) by then. 0 = none. */
  deadline = 0;
  #deadlineIsIdle = false;
  /** Requests served on this connection. */
  requests = 0;
  /** Bytes received (the sweeper compares it between sweeps to spot a stalled body). */
  #rx = 0;
  #rxSeen = 0;
  #rxAt = 0;
  /** Times the socket drained (the sweeper spots a client that stopped reading). */
  #drains = 0;
  #drainsSeen = 0;
  #stallAt = 0;
  /** Set once the client speaks HTTP/2: the connection is then served by it. */
  #h2: H2Connection | null = null;

  constructor(
    readonly socket: ProxySocket,
    readonly ctx: ListenerContext,
    private readonly onClosed: (c: ClientConnection) => void,
    /** Set on a TLS listener's connections; null on plain ones. */
    readonly tls: ClientTls | null = null,
  ) {
    this.clientIp = normalizeIp(socket.remoteAddress);
    socket.setNoDelay(true);
    this.deadline = ctx.coarseNow + COARSE_SLACK_MS + ctx.limits.headerTimeoutMs;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    socket.on("drain", () => {
      this.#drains++;
      if (this.#tunnel !== null) this.#tunnel.onClientDrain();
      else this.#exchange?.onClientDrain();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#ended = true;
      const ex = this.#exchange;
      this.#exchange = null;
      ex?.clientGone();
      this.#tunnel?.clientGone();
      this.onClosed(this);
    });
    // ALPN chose HTTP/2 during the handshake: the connection speaks it from its first byte
    if (tls !== null && (socket as { alpnProtocol?: string | false }).alpnProtocol === "h2") {
      this.#becomeH2(null);
    }
  }

  /** The exchange in progress, if any. */
  get exchange(): Exchange | null {
    return this.#exchange;
  }

  /**
   * Hands the socket to HTTP/2 (ALPN `h2`, or the h2c preface in `initial`):
   * this connection's own readers stop; it stays the server's handle.
   */
  #becomeH2(initial: Uint8Array | null): void {
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("end");
    this.socket.removeAllListeners("drain");
    this.#buf = null;
    this.deadline = 0;
    this.#h2 = new H2Connection(this.socket, this.ctx, this.clientIp, initial, this.tls);
  }

  /** True once the connection serves HTTP/2. */
  get http2(): boolean {
    return this.#h2 !== null;
  }

  #onData(chunk: Buffer): void {
    if (this.#ended) return;
    this.#rx += chunk.length;
    const ex = this.#exchange;
    if (ex) {
      if (this.#tunnel !== null) {
        this.#tunnel.fromClient(chunk);
        return;
      }
      if (!ex.bodyDone) {
        const used = ex.feedBody(chunk, 0);
        if (used < 0 || used === chunk.length) return;
        chunk = chunk.subarray(used);
      }
      this.#append(chunk);
      if (this.#buf!.length > MAX_BUFFERED) this.pauseReading();
      return;
    }
    this.#append(chunk);
    this.#parseNext();
  }

  #append(chunk: Buffer): void {
    this.#buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
  }

  #onEnd(): void {
    if (this.#tunnel !== null) {
      this.#tunnel.clientEnded();
      return;
    }
    // Half-close from the client: finish the current response, then close.
    this.closing = true;
    const ex = this.#exchange;
    if (!ex) this.end();
    else if (!ex.bodyDone) {
      // the request body can never complete: give up on this exchange
      this.#exchange = null;
      ex.clientGone();
      this.destroy();
    }
  }

  /** Parses and starts the next request, if a complete head is buffered. */
  #parseNext(): void {
    if (this.#parsing) return;
    this.#parsing = true;
    try {
      while (!this.#exchange && !this.#ended && this.#buf !== null) {
        let buf = this.#buf;
        // RFC 9112 §2.2: ignore empty lines before a request-line.
        let skip = 0;
        while (skip + 1 < buf.length && buf[skip] === 13 && buf[skip + 1] === 10) skip += 2;
        if (skip > 0) {
          this.#lfScanned = 0;
          buf = buf.subarray(skip);
          this.#buf = buf.length > 0 ? buf : null;
          if (buf.length === 0) break;
        }
        if (this.requests === 0 && buf[0] === 0x50 /* P */ && startsWith(buf, H2_PREFACE_START)) {
          // h2c with prior knowledge: the rest of the preface and the frames are HTTP/2's
          this.#becomeH2(buf);
          return;
        }
        const limits = this.ctx.limits;
        if (this.#deadlineIsIdle) {
          this.#deadlineIsIdle = false;
          this.deadline = this.ctx.coarseNow + COARSE_SLACK_MS + limits.headerTimeoutMs;
        }
        const idx = findHeadEnd(buf);
        if (idx < 0) {
          if (buf.length > limits.maxHeaderBytes) {
            this.#reject(431, "request head too large");
          } else if (bareLf(buf, this.#lfScanned)) {
            // A line ended by LF alone would never complete the head: refuse now, not at the timeout.
            this.#reject(400, "bare LF in request head");
          } else this.#lfScanned = buf.length;
          break;
        }
        this.#lfScanned = 0;
        if (idx + 4 > limits.maxHeaderBytes) {
          this.#reject(431, "request head too large");
          break;
        }
        const parsed = parseRequestHead(buf.toString("latin1", 0, idx), limits);
        this.#buf = idx + 4 === buf.length ? null : buf.subarray(idx + 4);
        if ("error" in parsed) {
          this.#reject(parsed.status, parsed.reason);
          break;
        }
        this.requests++;
        this.deadline = 0;
        if (!parsed.keepAlive) this.closing = true;
        const d = this.ctx.dispatch(parsed, this.clientIp, this.tls !== null);
        if (!isForward(d)) {
          this.#answer(parsed, d);
          continue;
        }
        let head = d.head;
        const snap = d.snap;
        if (!snap.config.allow_underscores_in_headers) {
          const r = dropUnderscoreFields(head);
          if (r.dropped.length > 0) {
            head = r.head;
            d.ctx.metrics.droppedUnderscoreHeaders.inc(r.dropped.length);
            this.ctx.log.debug("dropped header fields with an underscore", {
              fields: r.dropped,
              client: this.clientIp,
            });
          }
        }
        const ex = new Exchange(d.ctx, this, head, snap, d.route, d.requestId ?? null);
        this.#exchange = ex;
        this.#rxSeen = this.#rx;
        this.#rxAt = this.ctx.coarseNow;
        ex.begin();
        if (this.#exchange === ex && !ex.bodyDone && this.#buf !== null) {
          const pending = this.#buf;
          this.#buf = null;
          const used = ex.feedBody(pending, 0);
          if (used >= 0 && used < pending.length) {
            this.#buf = pending.subarray(used);
            if (this.#buf.length > MAX_BUFFERED) this.pauseReading();
          }
        }
      }
    } finally {
      this.#parsing = false;
    }
  }

  /**
   * Writes a response the proxy makes itself (no route, a redirect, a direct
   * response, a limit). The connection stays open unless the request has a
   * body (it is not read) or the connection is closing.
   */
  #answer(req: RequestHead, a: Answer): void {
    const keepAlive = !a.close && req.keepAlive && !this.closing && !this.ctx.draining &&
      req.contentLength <= 0 && !req.chunked;
    writeAnswer(this.ctx, this, req, a, keepAlive);
    this.exchangeFinished(keepAlive);
  }

  #reject(status: number, reason: string): void {
    this.ctx.metrics.countError(status === 431 || status === 414 ? "limit" : "bad_request", status);
    this.ctx.log.debug("rejected request", { status, reason, client: this.clientIp });
    this.write(simpleResponse(status, `${reason}\n`, false));
    this.#buf = null;
    this.end();
  }

  // ------------------------------------------------------------ ClientSide

  /** Writes to the client; strings (heads, generated responses) as latin1. */
  write(data: Uint8Array | string): boolean {
    if (this.#ended) return true;
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }

  pauseReading(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  exchangeFinished(keepAlive: boolean): void {
    this.#exchange = null;
    if (!keepAlive) {
      this.end();
      return;
    }
    if (this.closing || this.ctx.draining) {
      // The response went out keep-alive but we are closing now. A request the
      // client already pipelined is answered (with Connection: close), not dropped.
      this.closing = true;
      if (this.#buf === null) {
        this.end();
        return;
      }
    }
    this.resumeReading();
    this.deadline = this.ctx.coarseNow + COARSE_SLACK_MS + this.ctx.limits.idleTimeoutMs;
    this.#deadlineIsIdle = true;
    if (this.#buf !== null) {
      if (this.#parsing) return; // the running parse loop picks it up
      this.#parseNext();
    }
  }

  startTunnel(tunnel: Tunnel): void {
    this.#tunnel = tunnel;
    this.deadline = 0;
    const buf = this.#buf;
    this.#buf = null;
    if (buf !== null) tunnel.fromClient(buf);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#buf = null;
    // until the last byte is flushed the client must keep reading; then it has a moment to close
    this.deadline = this.ctx.now() + this.ctx.limits.bodyTimeoutMs;
    this.socket.end(() => {
      // flushed: the client now has a moment to close its side
      this.deadline = this.ctx.now() + (this.ctx.draining ? DRAIN_LINGER_MS : LINGER_MS);
    });
  }

  destroy(): void {
    this.#ended = true;
    if (this.#h2 !== null) this.#h2.destroy();
    else this.socket.destroy();
  }

  /** Called by the server's sweeper with the monotonic clock. */
  checkTimeouts(now: number): void {
    if (this.#h2 !== null) {
      this.#h2.checkTimeouts(now);
      return;
    }
    if (this.#ended) {
      if (this.deadline !== 0 && now > this.deadline) this.socket.destroy();
      return;
    }
    const tunnel = this.#tunnel;
    if (tunnel !== null) {
      // the tunnel waits for the client to read: it must keep reading
      if (!tunnel.waitingForClient) this.#stallAt = 0;
      else if (this.#drains !== this.#drainsSeen || this.#stallAt === 0) {
        this.#drainsSeen = this.#drains;
        this.#stallAt = now;
      } else if (now - this.#stallAt > this.ctx.limits.bodyTimeoutMs) {
        this.ctx.log.info("client stopped reading", { client: this.clientIp });
        tunnel.clientStalled();
      }
      return;
    }
    const ex = this.#exchange;
    if (ex) {
      if (ex.responseDeadline !== 0 && now > ex.responseDeadline) {
        ex.timeout();
        return;
      }
      const limit = this.ctx.limits.bodyTimeoutMs;
      if (!ex.bodyDone) {
        // a request body in progress: the client must keep sending (unless we paused it)
        if (this.#rx !== this.#rxSeen || this.#paused) {
          this.#rxSeen = this.#rx;
          this.#rxAt = now;
        } else if (now - this.#rxAt > limit) {
          ex.bodyTimeout();
          return;
        }
      }
      if (ex.waitingForClient) {
        // the response (or tunnel) waits for the client to read: it must keep reading
        if (this.#drains !== this.#drainsSeen || this.#stallAt === 0) {
          this.#drainsSeen = this.#drains;
          this.#stallAt = now;
        } else if (now - this.#stallAt > limit) ex.clientStalled();
      } else this.#stallAt = 0;
      return;
    }
    if (this.deadline !== 0 && now > this.deadline) {
      if (this.#buf === null) {
        // nothing of a request arrived (idle keep-alive, or a connection that never spoke)
        this.end();
      } else {
        this.ctx.metrics.countError("timeout", 408);
        this.write(simpleResponse(408, "request head timeout\n", false));
        this.end();
      }
    }
  }

  /**
   * Begins a graceful close. A busy connection ends after its response (which
   * says `Connection: close` unless its head already went out); one receiving
   * a head gets it answered the same way; an idle one ends after `graceMs`
   * unless a request arrives first (a request already on its way is answered
   * rather than met with a closed connection).
   */
  drain(now: number, graceMs: number): void {
    this.closing = true;
    if (this.#h2 !== null) {
      this.#h2.drain();
      return;
    }
    if (this.#exchange || this.#ended || this.#buf !== null) return;
    const until = now + graceMs;
    if (this.deadline === 0 || until < this.deadline) this.deadline = until;
  }

  /** True when no exchange is running. */
  get idle(): boolean {
    return this.#h2 !== null ? this.#h2.idle : this.#exchange === null;
  }
}

/** Whether `buf` begins with `prefix` (false while it is shorter). */
function startsWith(buf: Buffer, prefix: Buffer): boolean {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}
