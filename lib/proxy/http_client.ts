/**
 * An HTTP/1.1 client over the upstream pools that forwards a web-standard
 * `Request` and returns a streaming `Response`: what the embeddable
 * (mount-in-your-Hono-app) load balancer's socket transport uses (see
 * socket_transport.ts). `fetch` is not used here because it would decompress
 * bodies, refuse to send Host (Deno), and hide framing faults; it is the
 * transport for runtimes without sockets (fetch_transport.ts).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CHUNK_END, ChunkedDecoder, chunkHeader, LAST_CHUNK_BYTES } from "../http1/chunked.ts";
import { forwardingFields } from "../http1/forwarding.ts";
import { HOP_BY_HOP, listTokens } from "../http1/syntax.ts";
import { parseResponseHead, type ResponseHead } from "../http1/head.ts";
import { BodyRelay, responseFraming } from "../http1/response_framing.ts";
import { upstreamReusable } from "./keep_alive.ts";
import type { UpstreamConnection, UpstreamOwner, UpstreamPool } from "./upstream_pool.ts";
import { NOTHING_SENT, type ResponseObserver, UpstreamError } from "./transport.ts";

// the types and error now live with the transport interface both transports share
export { UpstreamError } from "./transport.ts";
export type { AttemptProgress, ResponseObserver } from "./transport.ts";

/** Where and how to send one request. */
export interface ForwardOptions {
  readonly pool: UpstreamPool;
  /**
   * Open a new connection even when one is idle in the pool (the retry after
   * a reused connection died under the request, see `retry_policy.ts`).
   */
  readonly fresh?: boolean;
  readonly observer?: ResponseObserver;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly clientIp: string;
  /** Path and query to request on the backend. */
  readonly target: string;
  readonly maxResponseHeaderBytes: number;
  /** Monotonic clock (ms). */
  readonly now: () => number;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const SKIP = new Set([...HOP_BY_HOP, "host", "content-length", "expect"]);

/** Builds the upstream request head from a web Request. */
export function requestHeadFromWeb(
  req: Request,
  target: string,
  clientIp: string,
  chunked: boolean,
  contentLength: number,
): string {
  const url = new URL(req.url);
  const connectionListed = new Set(listTokens(req.headers.get("connection") ?? ""));
  let head = `${req.method} ${target} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  // Headers joins repeated field lines with ", " already, in order
  let xff: string | null = null;
  let fwd: string | null = null;
  req.headers.forEach((value, name) => {
    if (name === "x-forwarded-for") xff = value;
    else if (name === "forwarded") fwd = value;
    else if (name === "x-forwarded-proto" || name === "x-forwarded-host") return;
    else if (!SKIP.has(name) && !connectionListed.has(name)) head += `${name}: ${value}\r\n`;
  });
  const proto = url.protocol === "https:" ? "https" : "http";
  head += forwardingFields(xff, fwd, clientIp, proto, url.host);
  if (chunked) head += "transfer-encoding: chunked\r\n";
  else if (contentLength >= 0) head += `content-length: ${contentLength}\r\n`;
  return head + "\r\n";
}

/**
 * Sends `req` to the pool's backend and resolves with the response once its
 * head has arrived; the body streams afterwards, and `opts.observer` learns
 * when it ends. Rejects with {@link UpstreamError} when the attempt fails
 * before a response head. The response timeout runs from the end of the
 * request body (an upload's own time is not the backend's).
 */
export async function forwardWebRequest(req: Request, opts: ForwardOptions): Promise<Response> {
  let conn = opts.fresh ? null : opts.pool.acquire();
  const reused = conn !== null;
  if (!conn) {
    try {
      conn = await opts.pool.connect(opts.connectTimeoutMs);
    } catch (e) {
      throw new UpstreamError("connect_failed", (e as Error).message, NOTHING_SENT);
    }
  }
  const declared = req.headers.get("content-length");
  const hasBody = req.body !== null && req.method !== "GET" && req.method !== "HEAD";
  const contentLength = hasBody && declared !== null && /^\d+$/.test(declared)
    ? Number(declared)
    : -1;
  const chunked = hasBody && contentLength < 0;
  const head = requestHeadFromWeb(
    req,
    opts.target,
    opts.clientIp,
    chunked,
    hasBody ? contentLength : -1,
  );
  return new Promise<Response>((resolve, reject) => {
    const ex = new WebExchange(conn!, req, opts, resolve, reject, reused);
    ex.start(head, hasBody ? req.body : null, chunked);
  });
}

class WebExchange implements UpstreamOwner {
  #buf: Buffer | null = null;
  #head: ResponseHead | null = null;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  /** How the body is read from the backend: `responseFraming()`'s upstream half. */
  #relay = BodyRelay.None;
  #remaining = 0;
  #decoder: ChunkedDecoder | null = null;
  #settled = false;
  #done = false;
  /** The framing lets the connection carry another exchange (see `responseFraming()`). */
  #framingReusable = true;
  #backendKeepAlive = true;
  /**
   * A byte arrived beyond the response's end, or the exchange broke off: the
   * connection's state is unknown, so it is closed rather than pooled.
   */
  #tainted = false;
  #bodySent = false;
  #requestDone = false;
  #responseStarted = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #drainWaiters: (() => void)[] = [];

  constructor(
    readonly conn: UpstreamConnection,
    readonly req: Request,
    readonly opts: ForwardOptions,
    readonly resolve: (r: Response) => void,
    readonly reject: (e: Error) => void,
    readonly reused: boolean,
  ) {
    conn.owner = this;
  }

  start(head: string, body: ReadableStream<Uint8Array> | null, chunked: boolean): void {
    this.conn.write(head);
    if (!body) {
      this.#requestSent();
      return;
    }
    this.#pumpBody(body, chunked).then(
      () => this.#requestSent(),
      () => this.#fail(this.#error("upstream_reset", "request body failed")),
    );
  }

  /** The whole request is on its way: the response timer starts now. */
  #requestSent(): void {
    this.#requestDone = true;
    if (!this.#settled && !this.#done) {
      this.#timer = setTimeout(() => this.#timeout(), this.opts.responseTimeoutMs);
    }
  }

  #error(cause: UpstreamError["cause502"], message: string): UpstreamError {
    return new UpstreamError(cause, message, {
      headSent: true,
      bodySent: this.#bodySent,
      reusedConnection: this.reused,
      responseStarted: this.#responseStarted,
    });
  }

  async #pumpBody(body: ReadableStream<Uint8Array>, chunked: boolean): Promise<void> {
    const reader = body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (this.#done) {
        await reader.cancel();
        return;
      }
      if (value.length === 0) continue;
      this.#bodySent = true;
      let ok: boolean;
      if (chunked) {
        this.conn.write(chunkHeader(value.length));
        this.conn.write(value);
        ok = this.conn.write(CHUNK_END);
      } else ok = this.conn.write(value);
      if (!ok) await new Promise<void>((r) => this.#drainWaiters.push(r));
    }
    if (chunked) this.conn.write(LAST_CHUNK_BYTES);
  }

  onUpstreamDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  onUpstreamData(chunk: Uint8Array): void {
    if (this.#head === null) {
      this.#responseStarted = true;
      const buf: Buffer = this.#buf === null ? chunk as Buffer : Buffer.concat([this.#buf, chunk]);
      const idx = buf.indexOf(CRLFCRLF);
      if (idx < 0) {
        if (buf.length > this.opts.maxResponseHeaderBytes) {
          this.#fail(this.#error("bad_response", "response head too large"));
        } else this.#buf = buf;
        return;
      }
      this.#buf = null;
      const head = parseResponseHead(buf.toString("latin1", 0, idx), 256);
      if ("error" in head) {
        this.#fail(this.#error("bad_response", head.reason));
        return;
      }
      const rest = buf.subarray(idx + 4);
      if (head.status < 200) {
        if (rest.length > 0) this.onUpstreamData(rest);
        return;
      }
      this.#startResponse(head, rest);
      return;
    }
    this.#body(chunk);
  }

  /**
   * The final head arrived (`rest`: what came after it in the same read). The
   * body's framing is the proxy's own decision, `responseFraming()`: only its
   * upstream half matters here (how to read the body, whether the connection
   * may be pooled again), since the runtime's server frames the web Response
   * for its client itself; the client's HTTP version is therefore moot (1).
   */
  #startResponse(head: ResponseHead, rest: Buffer): void {
    this.#head = head;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const framing = responseFraming(this.req.method, head, 1);
    this.#relay = framing.relay;
    this.#framingReusable = framing.upstreamReusable;
    this.#backendKeepAlive = head.keepAlive;
    if (framing.relay === BodyRelay.Chunked) this.#decoder = new ChunkedDecoder();
    else if (framing.relay === BodyRelay.Length) this.#remaining = head.contentLength;
    const headers = new Headers();
    const skip = new Set([...HOP_BY_HOP, ...head.connectionTokens]);
    for (let i = 0; i < head.lower.length; i++) {
      if (!skip.has(head.lower[i]!)) headers.append(head.names[i]!, head.values[i]!);
    }
    let body: ReadableStream<Uint8Array> | null = null;
    if (framing.relay !== BodyRelay.None) {
      body = new ReadableStream<Uint8Array>({
        start: (c) => {
          this.#controller = c;
        },
        pull: () => {
          this.conn.socket.resume();
        },
        cancel: () => {
          this.#tainted = true;
          this.#finishConn();
        },
      }, { highWaterMark: 4 });
    }
    this.#settled = true;
    this.opts.observer?.head(head.status);
    this.resolve(
      new Response(body, { status: head.status, statusText: head.reason, headers }),
    );
    if (rest.length > 0) this.#body(rest);
    else if (framing.relay === BodyRelay.None) this.#end();
    else if (framing.relay === BodyRelay.Length && this.#remaining === 0) this.#end();
  }

  #emit(data: Uint8Array): void {
    const c = this.#controller;
    if (!c) return;
    c.enqueue(data);
    if ((c.desiredSize ?? 1) <= 0) this.conn.socket.pause();
  }

  #body(chunk: Uint8Array): void {
    switch (this.#relay) {
      case BodyRelay.Length: {
        const take = Math.min(chunk.length, this.#remaining);
        if (take > 0) this.#emit(chunk.subarray(0, take));
        this.#remaining -= take;
        if (take < chunk.length) this.#tainted = true;
        if (this.#remaining === 0) this.#end();
        return;
      }
      case BodyRelay.Chunked: {
        const d = this.#decoder!;
        const used = d.push(chunk, 0, (b) => this.#emit(b));
        if (used < 0) {
          this.#controller?.error(new Error(`bad chunked response: ${d.error}`));
          this.#tainted = true;
          this.#finishConn();
          return;
        }
        if (d.done) {
          if (used < chunk.length) this.#tainted = true;
          this.#end();
        }
        return;
      }
      case BodyRelay.Close:
        this.#emit(chunk);
        return;
      case BodyRelay.None:
        // a byte where none belongs: this connection's next response would start with it
        this.#tainted = true;
        this.#end();
    }
  }

  #end(): void {
    this.#controller?.close();
    this.#controller = null;
    this.#finishConn(true);
  }

  /**
   * The exchange is over (`complete`: the response body was read to its end):
   * the connection goes back to the pool or is closed, and a started
   * response's observer hears of its end.
   */
  #finishConn(complete = false): void {
    if (this.#done) return;
    this.#done = true;
    this.conn.socket.resume();
    const reusable = upstreamReusable(
      this.#framingReusable,
      this.#backendKeepAlive,
      this.#tainted,
      this.#requestDone,
    );
    if (reusable) this.conn.pool.release(this.conn, this.opts.now());
    else this.conn.destroy();
    if (this.#settled && this.#head !== null) this.opts.observer?.end(this.#head.status, complete);
  }

  onUpstreamEnd(): void {
    if (this.#relay === BodyRelay.Close && this.#head !== null) {
      this.#end();
      return;
    }
    this.onUpstreamClose(null);
  }

  onUpstreamClose(error: Error | null): void {
    if (this.#done) return;
    if (!this.#settled) {
      this.#fail(
        this.#error(
          "upstream_reset",
          error?.message ?? "backend closed the connection before responding",
        ),
      );
      return;
    }
    this.#controller?.error(new Error("backend closed mid-response"));
    this.#controller = null;
    this.#tainted = true;
    this.#finishConn();
  }

  #timeout(): void {
    this.#timer = null;
    if (!this.#settled) this.#fail(this.#error("timeout", "no response head in time"));
  }

  #fail(e: UpstreamError): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#tainted = true;
    this.#finishConn();
    if (!this.#settled) {
      this.#settled = true;
      this.reject(e);
    } else {
      this.#controller?.error(e);
      this.#controller = null;
    }
  }
}
