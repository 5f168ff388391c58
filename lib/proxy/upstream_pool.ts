/**
 * Keep-alive connections to one backend.
 *
 * An idle connection is reused LIFO (the warmest first), dropped when the
 * backend closes it or sends anything while idle, and closed after the idle
 * timeout. A connection is handed back only after a cleanly framed exchange;
 * any fault destroys it, so a broken response is never followed by a reuse.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { type TlsConnectOptions, tlsFailure } from "../tls/upstream_tls.ts";
import { bunConnect, socketsInUse } from "../runtime/bun_sockets.ts";
import type { ProxySocket } from "./proxy_socket.ts";

/** What currently owns a busy upstream connection (an exchange or a tunnel). */
export interface UpstreamOwner {
  onUpstreamData(chunk: Uint8Array): void;
  onUpstreamEnd(): void;
  onUpstreamClose(error: Error | null): void;
  onUpstreamDrain(): void;
}

/** One TCP connection to a backend. */
export class UpstreamConnection {
  owner: UpstreamOwner | null = null;
  /** Exchanges completed on this connection (0 = fresh). */
  uses = 0;
  /** When it went idle (ms, monotonic), for the idle timeout. */
  idleSince = 0;
  #closed = false;

  constructor(readonly socket: ProxySocket, readonly pool: UpstreamPool) {
    socket.on("data", (chunk: Uint8Array) => {
      const o = this.owner;
      if (o) o.onUpstreamData(chunk);
      else this.destroy(); // bytes on an idle connection: the framing is off, never reuse it
    });
    socket.on("end", () => {
      const o = this.owner;
      if (o) o.onUpstreamEnd();
      else this.destroy();
    });
    socket.on("drain", () => this.owner?.onUpstreamDrain());
    socket.on("error", () => {}); // "close" follows with hadError
    socket.on("close", (hadError: boolean) => {
      this.#closed = true;
      this.pool.forget(this);
      this.pool.open--;
      const o = this.owner;
      this.owner = null;
      o?.onUpstreamClose(hadError ? new Error("upstream connection reset") : null);
    });
  }

  /** True once the socket is closed or closing. */
  get closed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  /**
   * Writes bytes (strings are heads, written as latin1: one byte per char);
   * false means the kernel buffer is full: wait for drain.
   */
  write(data: Uint8Array | string): boolean {
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }

  /** Closes at once; the owner (if any) is detached first and not notified. */
  destroy(): void {
    this.owner = null;
    this.pool.forget(this);
    if (!this.socket.destroyed) this.socket.destroy();
    this.#closed = true;
  }
}

/** Settings of one pool. */
export interface PoolOptions {
  readonly host: string;
  readonly port: number;
  /** Idle connections kept. */
  maxIdle: number;
  /** Idle connections older than this are closed by {@link UpstreamPool.reap}. */
  idleTimeoutMs: number;
  /**
   * Connect over TLS with these options (see upstream_tls.ts); absent or
   * null: plain TCP. Fixed for the pool's life: other settings get a new pool.
   */
  readonly tls?: TlsConnectOptions | null;
  /**
   * Speak HTTP/2 to the backend (`protocol: "h2"`): the factory makes an
   * h2 pool (lib/proxy/h2_upstream.ts); gRPC statuses go to `onGrpcStatus`.
   */
  readonly h2?: boolean;
  readonly onGrpcStatus?: ((code: string) => void) | null;
}

/** Why a connect attempt failed. */
export class ConnectError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The pool of connections to one backend.
 *
 * @example
 * ```ts ignore
 * const pool = new UpstreamPool({ host: "127.0.0.1", port: 9001, maxIdle: 64, idleTimeoutMs: 4000 });
 * const conn = pool.acquire() ?? await pool.connect(3000);
 * ```
 */
export class UpstreamPool {
  readonly #idle: UpstreamConnection[] = [];
  #retired = false;
  /** Connections currently open (idle or busy). */
  open = 0;

  constructor(readonly options: PoolOptions) {}

  /** An idle connection, or null when none is left. */
  acquire(): UpstreamConnection | null {
    const idle = this.#idle;
    while (idle.length > 0) {
      const c = idle.pop()!;
      if (!c.closed) return c;
    }
    return null;
  }

  /**
   * Opens a new connection (rejects with {@link ConnectError} on refusal or
   * timeout, and for a TLS pool on a failed handshake or verification: the
   * stack's code and reason in the message, never a fallback to plain or
   * unverified).
   */
  connect(timeoutMs: number): Promise<UpstreamConnection> {
    if (socketsInUse === "bun" && (this.options.tls ?? null) === null) {
      return this.#connectNative(timeoutMs);
    }
    return new Promise((resolve, reject) => {
      const { host, port } = this.options;
      const secure = this.options.tls ?? null;
      const socket = secure === null
        ? net.connect({ host, port })
        : tls.connect({ host, port, ...secure });
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new ConnectError("ETIMEDOUT", `connect to ${this.#name()} timed out`));
      }, timeoutMs);
      socket.once(secure === null ? "connect" : "secureConnect", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.setNoDelay(true);
        this.open++;
        resolve(new UpstreamConnection(socket, this));
      });
      socket.once("error", (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        const why = secure === null ? e.message : tlsFailure(e);
        reject(new ConnectError(e.code ?? "ECONNREFUSED", `connect to ${this.#name()}: ${why}`));
      });
    });
  }

  /**
   * Returns a connection after a clean exchange; closes it when the pool is
   * full or retired (its backend left the config). Always call it on the
   * connection's own pool: `conn.pool.release(conn, now)`.
   */
  release(conn: UpstreamConnection, now: number): void {
    conn.owner = null;
    conn.uses++;
    if (conn.closed) return;
    if (conn.pool !== this || this.#retired || this.#idle.length >= this.options.maxIdle) {
      conn.destroy();
      return;
    }
    conn.idleSince = now;
    this.#idle.push(conn);
  }

  /** Called by a connection as it closes: it is no longer idle. */
  forget(conn: UpstreamConnection): void {
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Closes idle connections past the idle timeout (the oldest are first in the list). */
  reap(now: number): void {
    const cutoff = now - this.options.idleTimeoutMs;
    while (this.#idle.length > 0 && this.#idle[0]!.idleSince < cutoff) {
      this.#idle.shift()!.destroy();
    }
  }

  /** Number of idle connections. */
  get idleCount(): number {
    return this.#idle.length;
  }

  /** Closes every idle connection (busy ones finish their exchange first). */
  closeIdle(): void {
    for (const c of this.#idle.splice(0)) c.destroy();
  }

  /**
   * The backend left the config: close idle connections now, and busy ones
   * when their exchange ends (they are not pooled again).
   */
  retire(): void {
    this.#retired = true;
    this.closeIdle();
  }

  /**
   * {@link connect} with Bun's native socket (cleartext pools under Bun).
   * A pending `Bun.connect` cannot be cancelled: after the timeout the attempt
   * stays in the kernel (SYN retries, about 2 minutes on Linux, one socket
   * each) and is closed as soon as it opens or fails. `node:net` cancels at
   * once; the outlier ejection bounds how many such attempts a dead backend
   * collects.
   */
  #connectNative(timeoutMs: number): Promise<UpstreamConnection> {
    const { host, port } = this.options;
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new ConnectError("ETIMEDOUT", `connect to ${this.#name()} timed out`));
      }, timeoutMs);
      bunConnect(host, port).then((socket) => {
        if (settled) {
          socket.destroy(); // came after the timeout
          return;
        }
        settled = true;
        clearTimeout(timer);
        this.open++;
        resolve(new UpstreamConnection(socket, this));
      }, (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const code = e.code ?? "ECONNREFUSED";
        // node:net's words (`connect ECONNREFUSED 127.0.0.1:9001`), not Bun's "Failed to connect"
        reject(
          new ConnectError(code, `connect to ${this.#name()}: connect ${code} ${this.#name()}`),
        );
      });
    });
  }

  #name(): string {
    return `${this.options.host}:${this.options.port}`;
  }
}
