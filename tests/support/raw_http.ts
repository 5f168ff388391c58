/**
 * Test support: HTTP/1.1 over raw TCP sockets (`node:net`), for tests where
 * framing matters. A {@link RawConnection} is a client that writes exact bytes
 * and parses what comes back without any runtime HTTP parser in between; a
 * {@link RawBackend} is a scripted backend that records every byte and every
 * request it receives and answers however the test says (well-formed or not).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";

const CRLFCRLF = Buffer.from("\r\n\r\n");

/** One parsed response. */
export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Header fields in order, names lower-cased. */
  readonly headers: readonly (readonly [string, string])[];
  /** The head as received (without the final CRLFCRLF). */
  readonly head: string;
  readonly body: Buffer;
  /** Trailer section of a chunked body (raw lines), "" when none. */
  readonly trailers: string;
}

/** The value of the first header named `name` (lower case), or null. */
export function header(r: { headers: readonly (readonly [string, string])[] }, name: string) {
  return r.headers.find(([n]) => n === name)?.[1] ?? null;
}

/** Every value of headers named `name` (lower case). */
export function headerAll(r: { headers: readonly (readonly [string, string])[] }, name: string) {
  return r.headers.filter(([n]) => n === name).map(([, v]) => v);
}

function parseHead(text: string): { first: string; headers: [string, string][] } {
  const lines = text.split("\r\n");
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const c = line.indexOf(":");
    headers.push([line.slice(0, c).toLowerCase(), line.slice(c + 1).trim()]);
  }
  return { first: lines[0]!, headers };
}

/** Decodes a complete chunked body at `buf[start..]`; null when more bytes are needed. */
function decodeChunked(
  buf: Buffer,
  start: number,
): { body: Buffer; trailers: string; end: number } | null {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const eol = buf.indexOf("\r\n", pos, "latin1");
    if (eol < 0) return null;
    const size = parseInt(buf.toString("latin1", pos, eol).split(";")[0]!, 16);
    if (!Number.isFinite(size)) throw new Error(`bad chunk size line at ${pos}`);
    pos = eol + 2;
    if (size === 0) {
      const end = buf.indexOf(CRLFCRLF, pos - 2);
      if (end < 0) return null;
      return {
        body: Buffer.concat(parts),
        trailers: buf.toString("latin1", pos, end + 2),
        end: end + 4,
      };
    }
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}

/**
 * A client connection speaking raw bytes.
 *
 * @example
 * ```ts ignore
 * const c = await RawConnection.open(port);
 * c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
 * const r = await c.readResponse();
 * ```
 */
export class RawConnection {
  #buf: Buffer = Buffer.alloc(0);
  #closed = false;
  #ended = false;
  #waiters: (() => void)[] = [];
  /** Total bytes received. */
  received = 0;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  /** Set when the socket closed with an error (e.g. ECONNRESET). */
  error: string | null = null;

  constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.received += d.length;
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      this.error = e.code ?? e.message;
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#closed = true;
        this.#ended = true;
        this.#wake();
        resolve();
      });
    });
  }

  /** Connects to 127.0.0.1:`port` (optionally from `localAddress`, e.g. 127.0.0.2). */
  static open(
    port: number,
    options: { host?: string; localAddress?: string; allowHalfOpen?: boolean } = {},
  ): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: options.host ?? "127.0.0.1",
        port,
        localAddress: options.localAddress,
        allowHalfOpen: options.allowHalfOpen ?? true,
      });
      socket.setNoDelay(true);
      const c = new RawConnection(socket);
      socket.once("connect", () => resolve(c));
      socket.once("error", reject);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits for more data or the end of input; false on timeout. */
  #more(deadline: number): Promise<boolean> {
    if (this.#ended) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Writes bytes (strings as latin1: one byte per character). */
  send(data: string | Uint8Array): boolean {
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }

  /** Writes and waits until the bytes are handed to the kernel. */
  sendAsync(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      const cb = (e?: Error | null) => (e ? reject(e) : resolve());
      if (typeof data === "string") this.socket.write(data, "latin1", cb);
      else this.socket.write(data, cb);
    });
  }

  /** Half-closes (FIN) the sending side. */
  end(): void {
    this.socket.end();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /** True once the peer has ended its side (or the socket closed). */
  get ended(): boolean {
    return this.#ended;
  }

  /** True once the socket is closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Bytes received but not yet consumed by {@link readResponse}. */
  get buffered(): Buffer {
    return this.#buf;
  }

  /**
   * Reads one response. `method` tells whether a body follows (HEAD has
   * none); 1xx responses are returned like any other (call again for the
   * final one). Throws when the connection closes before a complete response.
   */
  async readResponse(options: { method?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const r = this.#tryParse(options.method ?? "GET");
      if (r) return r;
      if (!(await this.#more(deadline))) {
        const r2 = this.#tryParse(options.method ?? "GET", true);
        if (r2) return r2;
        throw new Error(
          `${this.#ended ? "connection closed" : "timed out"} before a complete response; ` +
            `got ${JSON.stringify(this.#buf.toString("latin1").slice(0, 300))}`,
        );
      }
    }
  }

  #tryParse(method: string, atEnd = false): RawResponse | null {
    const buf = this.#buf;
    const idx = buf.indexOf(CRLFCRLF);
    if (idx < 0) return null;
    const head = buf.toString("latin1", 0, idx);
    const { first, headers } = parseHead(head);
    const status = Number(first.slice(9, 12));
    const reason = first.slice(13);
    const start = idx + 4;
    const te = headers.find(([n]) => n === "transfer-encoding")?.[1];
    const cl = headers.find(([n]) => n === "content-length")?.[1];
    let body: Buffer;
    let trailers = "";
    let end: number;
    if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      end = start;
    } else if (te !== undefined && /chunked$/i.test(te)) {
      const d = decodeChunked(buf, start);
      if (!d) return null;
      body = d.body;
      trailers = d.trailers;
      end = d.end;
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (buf.length < start + n) return null;
      body = buf.subarray(start, start + n);
      end = start + n;
    } else {
      if (!atEnd || !this.#ended) return null;
      body = buf.subarray(start);
      end = buf.length;
    }
    this.#buf = buf.subarray(end);
    return { status, reason, headers, head, body: Buffer.from(body), trailers };
  }

  /** Waits until the peer closes; true if it did within `timeoutMs`. */
  async waitEnded(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) if (!(await this.#more(deadline)) && !this.#ended) return false;
    return true;
  }

  /** Everything received until the peer closes (or the timeout). */
  async readAll(timeoutMs = 10_000): Promise<Buffer> {
    await this.waitEnded(timeoutMs);
    const b = this.#buf;
    this.#buf = Buffer.alloc(0);
    return b;
  }

  /** Waits until at least `n` unconsumed bytes are buffered; false on timeout/close. */
  async waitBytes(n: number, timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buf.length < n) if (!(await this.#more(deadline))) return this.#buf.length >= n;
    return true;
  }

  /** Takes every buffered byte. */
  take(): Buffer {
    const b = this.#buf;
    this.#buf = Buffer.alloc(0);
    return b;
  }
}

/** Sends one request on a fresh connection and reads one response (and whether it closed). */
export async function exchange(
  port: number,
  request: string | Uint8Array,
  options: { method?: string; timeoutMs?: number } = {},
): Promise<RawResponse & { closedAfter: boolean }> {
  const c = await RawConnection.open(port);
  try {
    c.send(request);
    const r = await c.readResponse(options);
    const closedAfter = await c.waitEnded(options.timeoutMs ?? 3_000);
    return { ...r, closedAfter };
  } finally {
    c.destroy();
  }
}

// ------------------------------------------------------------------ backend

/** A request as a {@link RawBackend} received it. */
export interface BackendRequest {
  /** Which accepted connection it came on (1, 2, ...). */
  readonly connId: number;
  /** Position of the request on its connection (1 = first). */
  readonly seq: number;
  readonly head: string;
  readonly method: string;
  readonly target: string;
  /** Header fields, names lower-cased. */
  readonly headers: readonly (readonly [string, string])[];
  /** The whole body (decoded when chunked). */
  body: Buffer;
  /** The raw body bytes as they came (chunk framing included). */
  rawBody: Buffer;
}

/** What a handler uses to answer. */
export interface BackendConnection {
  readonly id: number;
  readonly socket: net.Socket;
  /** Writes bytes (strings as latin1). */
  write(data: string | Uint8Array): void;
  /** Closes the connection at once with a reset-like destroy. */
  destroy(): void;
  /** Closes after flushing. */
  end(data?: string): void;
  /** True once closed (by either side). */
  readonly closed: boolean;
  /** Stops parsing HTTP on this connection (after a 101): later bytes are the handler's. */
  startTunnel(): void;
}

/** Called with each request; `onHead` handlers are called before the body is read. */
export type BackendHandler = (req: BackendRequest, conn: BackendConnection) => void;

/** Options of {@link RawBackend.start}. */
export interface RawBackendOptions {
  /** Called once the head is complete, before the body (for 100-continue and early answers). */
  readonly onHead?: BackendHandler;
  /** Keep a connection half-open when the proxy ends its side (default: end ours too). */
  readonly keepHalfOpen?: boolean;
}

/** A well-formed response with a Content-Length body. */
export function okResponse(
  body = "ok\n",
  extra = "",
  status = "200 OK",
): string {
  return `HTTP/1.1 ${status}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/**
 * A scripted backend on 127.0.0.1 that records what it receives.
 *
 * @example
 * ```ts ignore
 * const b = await RawBackend.start((req, c) => c.write(okResponse("hi\n")));
 * // point a proxy at b.address, then inspect b.requests and b.received
 * ```
 */
export class RawBackend {
  readonly requests: BackendRequest[] = [];
  /** Requests whose body was received completely (and were handed to the handler). */
  completed = 0;
  /** Connections accepted so far. */
  connections = 0;
  /** Connections closed so far. */
  closedConnections = 0;
  /** Every connection accepted, as handlers see them. */
  readonly handlerConnections: BackendConnection[] = [];
  /** Ids of the connections closed so far. */
  readonly closedIds = new Set<number>();
  /** Every byte received, on every connection, in arrival order. */
  received: Buffer[] = [];
  readonly #sockets = new Set<net.Socket>();
  #waiters: (() => void)[] = [];

  private constructor(
    readonly server: net.Server,
    readonly port: number,
  ) {}

  /** The `host:port` to put in a config. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Bytes received so far, all connections. */
  get receivedBytes(): number {
    return this.received.reduce((n, b) => n + b.length, 0);
  }

  /** Starts a backend calling `handler` for every complete request. */
  static start(handler: BackendHandler, options: RawBackendOptions = {}): Promise<RawBackend> {
    return new Promise((resolve, reject) => {
      let backend: RawBackend;
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        backend.#accept(socket, handler, options);
      });
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: 0 }, () => {
        const addr = server.address();
        backend = new RawBackend(server, typeof addr === "object" && addr ? addr.port : 0);
        resolve(backend);
      });
    });
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `check` holds (re-checked on every event), or throws after `timeoutMs`. */
  async waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  #accept(socket: net.Socket, handler: BackendHandler, options: RawBackendOptions): void {
    const id = ++this.connections;
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    let closed = false;
    let tunnel = false;
    const conn: BackendConnection = {
      id,
      socket,
      write: (data) => {
        if (closed) return;
        if (typeof data === "string") socket.write(data, "latin1");
        else socket.write(data);
      },
      destroy: () => socket.destroy(),
      end: (data) => {
        if (data !== undefined) socket.end(data, "latin1");
        else socket.end();
      },
      get closed() {
        return closed;
      },
      startTunnel: () => {
        tunnel = true;
      },
    };
    this.handlerConnections.push(conn);
    let buf: Buffer = Buffer.alloc(0);
    let seq = 0;
    let current: BackendRequest | null = null;
    let bodyMode: "length" | "chunked" = "length";
    let remaining = 0;
    const parse = () => {
      for (;;) {
        if (tunnel) return;
        if (current === null) {
          const idx = buf.indexOf(CRLFCRLF);
          if (idx < 0) return;
          const head = buf.toString("latin1", 0, idx);
          buf = buf.subarray(idx + 4);
          const { first, headers } = parseHead(head);
          const [method = "", target = ""] = first.split(" ");
          current = {
            connId: id,
            seq: ++seq,
            head,
            method,
            target,
            headers,
            body: Buffer.alloc(0),
            rawBody: Buffer.alloc(0),
          };
          const te = headers.find(([n]) => n === "transfer-encoding")?.[1];
          const cl = headers.find(([n]) => n === "content-length")?.[1];
          bodyMode = te !== undefined ? "chunked" : "length";
          remaining = cl !== undefined ? Number(cl) : 0;
          this.requests.push(current);
          options.onHead?.(current, conn);
          this.#notify();
        }
        const req: BackendRequest = current;
        if (bodyMode === "length") {
          const take = Math.min(remaining, buf.length);
          if (take > 0) {
            req.body = Buffer.concat([req.body, buf.subarray(0, take)]);
            req.rawBody = req.body;
            buf = buf.subarray(take);
            remaining -= take;
          }
          if (remaining > 0) return;
        } else {
          const d = decodeChunked(buf, 0);
          if (!d) return;
          req.body = d.body;
          req.rawBody = buf.subarray(0, d.end);
          buf = buf.subarray(d.end);
        }
        current = null;
        this.completed++;
        handler(req, conn);
        this.#notify();
      }
    };
    socket.on("data", (d: Buffer) => {
      this.received.push(d);
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      parse();
      this.#notify();
    });
    socket.on("end", () => {
      // the proxy closed its side: close ours (after anything still being written)
      if (!options.keepHalfOpen) socket.end();
      this.#notify();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      this.#sockets.delete(socket);
      this.closedConnections++;
      this.closedIds.add(id);
      this.#notify();
    });
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Stops listening and destroys every connection. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
