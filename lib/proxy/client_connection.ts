/**
 * One client connection: reads request heads, runs one exchange at a time
 * (pipelined requests wait their turn), enforces the head limits and
 * timeouts, and closes the connection whenever the framing cannot be trusted.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type net from "node:net";
import { simpleResponse } from "../http1/forward.ts";
import { parseRequestHead } from "../http1/head.ts";
import type { ProxyContext } from "./context.ts";
import { type ClientSide, Exchange } from "./exchange.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Pipelined bytes buffered while an exchange runs before reading pauses. */
const MAX_BUFFERED = 64 * 1024;

/** Normalizes `::ffff:1.2.3.4` to `1.2.3.4`. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return "unknown";
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** A client connection served by the proxy. */
export class ClientConnection implements ClientSide {
  readonly clientIp: string;
  closing = false;
  #ended = false;
  #buf: Buffer | null = null;
  #exchange: Exchange | null = null;
  #tunnel = false;
  #paused = false;
  #parsing = false;
  /** Monotonic deadline: complete head (or idle keep-alive) by then. 0 = none. */
  deadline = 0;
  #deadlineIsIdle = false;
  /** Requests served on this connection. */
  requests = 0;

  constructor(
    readonly socket: net.Socket,
    readonly ctx: ProxyContext,
    private readonly onClosed: (c: ClientConnection) => void,
  ) {
    this.clientIp = normalizeIp(socket.remoteAddress);
    socket.setNoDelay(true);
    this.deadline = ctx.now() + ctx.limits.headerTimeoutMs;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    socket.on("drain", () => this.#exchange?.onClientDrain());
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#ended = true;
      const ex = this.#exchange;
      this.#exchange = null;
      ex?.clientGone();
      this.onClosed(this);
    });
  }

  /** The exchange in progress, if any. */
  get exchange(): Exchange | null {
    return this.#exchange;
  }

  #onData(chunk: Buffer): void {
    if (this.#ended) return;
    const ex = this.#exchange;
    if (ex) {
      if (this.#tunnel) {
        ex.tunnelToUpstream(chunk);
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
    if (this.#tunnel) {
      this.#exchange?.tunnelClientEnded();
      return;
    }
    // Half-close from the client: finish the current response, then close.
    this.closing = true;
    if (!this.#exchange) this.end();
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
          buf = buf.subarray(skip);
          this.#buf = buf.length > 0 ? buf : null;
          if (buf.length === 0) break;
        }
        const limits = this.ctx.limits;
        if (this.#deadlineIsIdle) {
          this.#deadlineIsIdle = false;
          this.deadline = this.ctx.now() + limits.headerTimeoutMs;
        }
        const idx = buf.indexOf(CRLFCRLF);
        if (idx < 0) {
          if (buf.length > limits.maxHeaderBytes) {
            this.#reject(431, "request head too large");
          }
          break;
        }
        if (idx + 4 > limits.maxHeaderBytes) {
          this.#reject(431, "request head too large");
          break;
        }
        const head = parseRequestHead(buf.toString("latin1", 0, idx), limits);
        const rest = buf.subarray(idx + 4);
        this.#buf = rest.length > 0 ? rest : null;
        if ("error" in head) {
          this.#reject(head.status, head.reason);
          break;
        }
        const snap = this.ctx.state.snapshot;
        this.requests++;
        this.deadline = 0;
        if (!head.keepAlive) this.closing = true;
        if (!snap) {
          this.write(simpleResponse(503, "no config loaded\n", false, { "retry-after": "1" }));
          this.ctx.metrics.countError("no_backend", 503);
          this.end();
          break;
        }
        const ex = new Exchange(this.ctx, this, head, snap);
        this.#exchange = ex;
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
    if (!keepAlive || this.closing || this.ctx.draining) {
      this.end();
      return;
    }
    this.resumeReading();
    this.deadline = this.ctx.now() + this.ctx.limits.idleTimeoutMs;
    this.#deadlineIsIdle = true;
    if (this.#buf !== null) {
      if (this.#parsing) return; // the running parse loop picks it up
      this.#parseNext();
    }
  }

  startTunnel(): void {
    this.#tunnel = true;
    this.deadline = 0;
    const buf = this.#buf;
    this.#buf = null;
    if (buf !== null) this.#exchange?.tunnelToUpstream(buf);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#buf = null;
    this.socket.end();
  }

  destroy(): void {
    this.#ended = true;
    this.socket.destroy();
  }

  /** Called by the server's sweeper with the monotonic clock. */
  checkTimeouts(now: number): void {
    const ex = this.#exchange;
    if (ex) {
      if (ex.responseDeadline !== 0 && now > ex.responseDeadline) ex.timeout();
      return;
    }
    if (this.deadline !== 0 && now > this.deadline && !this.#ended) {
      if (this.#deadlineIsIdle && this.#buf === null) {
        this.end();
      } else {
        this.ctx.metrics.countError("timeout", 408);
        this.write(simpleResponse(408, "request head timeout\n", false));
        this.end();
      }
    }
  }

  /** Begins a graceful close: idle connections end now, busy ones after their response. */
  drain(): void {
    this.closing = true;
    if (!this.#exchange) this.end();
  }

  /** True when no exchange is running. */
  get idle(): boolean {
    return this.#exchange === null;
  }
}
