/**
 * The client side of one HTTP/2 connection (RFC 9113), as a pure state
 * machine: the proxy's connections to `protocol: "h2"` backends (gRPC). Bytes
 * in, frames out, responses handed to a sink; the socket lives in
 * lib/proxy/h2_upstream.ts. It shares the frame codec (frames.ts) and HPACK
 * (hpack.ts) with the server side (session.ts); the state kept is the
 * client's own (stream ids it opens, the peer's stream limit, GOAWAY).
 *
 * - Many streams per connection, at most the peer's
 *   SETTINGS_MAX_CONCURRENT_STREAMS open ({@link H2ClientSession.canOpen}
 *   says when the caller must use another connection).
 * - Flow control both ways, bounded: body bytes wait in their stream for send
 *   window, one caller chunk at most ({@link H2ClientSession.sendData} says
 *   false until {@link ClientSessionSink.writable}); the receive windows are
 *   reopened only as the caller reports bytes passed on
 *   ({@link H2ClientSession.consumed}).
 * - GOAWAY: streams above the last-stream-id, and streams refused with
 *   REFUSED_STREAM, were never processed: they end with `retrySafe` so the
 *   caller may send them again on another connection.
 * - PING is answered; server push is disabled (a PUSH_PROMISE is a
 *   connection error).
 *
 * @module
 */
import {
  applySettings,
  CLIENT_PREFACE,
  dataPayload,
  defaultSettings,
  ErrorCode,
  errorCodeName,
  Flag,
  frame,
  FRAME_HEADER,
  FrameType,
  goawayFrame,
  headersFragment,
  headersFrames,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  pingAckFrame,
  readFrameHeader,
  rstStreamFrame,
  SettingId,
  type Settings,
  SETTINGS_ACK,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import { BAD_VALUE_CHAR } from "../http1/syntax.ts";

/** What a client session asks of its connection. */
export interface ClientSessionSink {
  /** Frames to write to the socket, in order. */
  send(bytes: Uint8Array): void;
  /** The final response head (1xx heads are skipped); `endStream`: no body and no trailers follow. */
  response(
    stream: number,
    status: number,
    names: string[],
    values: string[],
    endStream: boolean,
  ): void;
  /** Response body bytes (`endStream` on the last; a chunk may be empty then). */
  data(stream: number, chunk: Uint8Array, endStream: boolean): void;
  /** Trailer fields ending the response. */
  trailers(stream: number, names: string[], values: string[]): void;
  /**
   * The stream ended without a complete response: reset by the peer, cut by
   * GOAWAY or by the connection's end. `retrySafe`: the peer never processed
   * it (REFUSED_STREAM, or above a GOAWAY's last-stream-id).
   */
  reset(stream: number, code: number, reason: string, retrySafe: boolean): void;
  /** A stream whose {@link H2ClientSession.sendData} said false may send again. */
  writable(stream: number): void;
  /** The connection is over: close the socket once the frames sent are flushed. */
  closed(error: { readonly code: number; readonly reason: string } | null): void;
}

/** Windows and sizes a client session advertises. */
export interface ClientSessionLimits {
  /** SETTINGS_INITIAL_WINDOW_SIZE: response bytes a stream may receive before a WINDOW_UPDATE. */
  readonly initialWindowSize: number;
  /** The connection's receive window (raised from 65,535 at the start). */
  readonly connectionWindowSize: number;
  /** Largest decoded response header list; a larger one resets the stream. */
  readonly maxHeaderListSize: number;
  /** The most octets a header block may take (HEADERS plus CONTINUATION), before decoding. */
  readonly maxHeaderBlockBytes: number;
}

/** Defaults: a 64 KiB stream window and a 1 MiB connection window, as the server side. */
export const DEFAULT_CLIENT_LIMITS: ClientSessionLimits = {
  initialWindowSize: 65_535,
  connectionWindowSize: 1 << 20,
  maxHeaderListSize: 65_536,
  maxHeaderBlockBytes: 128 * 1024,
};

/** One open stream. */
interface Stream {
  readonly id: number;
  /** What this side may still send (the peer's window for the stream). */
  sendWindow: number;
  /** What the peer may still send before this side's next WINDOW_UPDATE. */
  recvWindow: number;
  /** Bytes passed on since the last WINDOW_UPDATE for the stream. */
  consumed: number;
  /** Body bytes waiting for window, and whether END_STREAM goes with the last. */
  pending: Uint8Array | null;
  pendingEnd: boolean;
  /** The final response head arrived. */
  gotResponse: boolean;
  /** This side sent END_STREAM. */
  localDone: boolean;
}

/** A connection error: GOAWAY with `code`, and the session is over. */
class ConnectionError {
  constructor(readonly code: number, readonly reason: string) {}
}

/**
 * One client connection's protocol state. Call {@link start} once, feed every
 * socket byte to {@link receive}, open streams with {@link open}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { H2ClientSession } from "./client_session.ts";
 * const sent: Uint8Array[] = [];
 * const s = new H2ClientSession({
 *   send: (b) => sent.push(b), response: () => {}, data: () => {}, trailers: () => {},
 *   reset: () => {}, writable: () => {}, closed: () => {},
 * });
 * s.start();
 * const id = s.open([":method", ":path", ":scheme", ":authority"], ["GET", "/", "http", "b"], true);
 * assert.equal(id, 1);
 * assert.equal(s.active, 1);
 * ```
 */
export class H2ClientSession {
  readonly #sink: ClientSessionSink;
  readonly #limits: ClientSessionLimits;
  readonly #peer: Settings = defaultSettings();
  readonly #streams = new Map<number, Stream>();
  readonly #decoder: HpackDecoder;
  readonly #encoder = new HpackEncoder();
  #buf: Uint8Array = new Uint8Array(0);
  #nextId = 1;
  /** The connection's send window (the peer's) and receive window (ours). */
  #sendWindow = 65_535;
  #recvConsumed = 0;
  #recvWindow: number;
  /** A header block being received: its stream, fragments and END_STREAM flag. */
  #block: { stream: number; parts: Uint8Array[]; bytes: number; endStream: boolean } | null = null;
  /** GOAWAY received (or sent): no new streams. */
  #goingAway = false;
  #closed = false;

  constructor(sink: ClientSessionSink, limits: ClientSessionLimits = DEFAULT_CLIENT_LIMITS) {
    this.#sink = sink;
    this.#limits = limits;
    this.#recvWindow = limits.connectionWindowSize;
    this.#decoder = new HpackDecoder({ maxHeaderListSize: limits.maxHeaderListSize });
  }

  /** Sends the connection preface: the magic, SETTINGS and the connection window's raise. */
  start(): void {
    const l = this.#limits;
    this.#sink.send(CLIENT_PREFACE);
    this.#sink.send(settingsFrame([
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.INITIAL_WINDOW_SIZE, l.initialWindowSize],
      [SettingId.MAX_HEADER_LIST_SIZE, l.maxHeaderListSize],
    ]));
    if (l.connectionWindowSize > 65_535) {
      this.#sink.send(windowUpdateFrame(0, l.connectionWindowSize - 65_535));
    }
  }

  /** Streams open now. */
  get active(): number {
    return this.#streams.size;
  }

  /** The session is over (closed, or away with no stream left). */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many more streams may be opened now (0 when going away; Infinity: no peer limit). */
  get room(): number {
    if (this.#goingAway || this.#closed || this.#nextId > MAX_WINDOW) return 0;
    const max = this.#peer.maxConcurrentStreams;
    return max === null ? Infinity : Math.max(0, max - this.#streams.size);
  }

  /** A new stream may be opened: not going away, and under the peer's concurrency limit. */
  get canOpen(): boolean {
    if (this.#goingAway || this.#closed || this.#nextId > MAX_WINDOW) return false;
    const max = this.#peer.maxConcurrentStreams;
    return max === null || this.#streams.size < max;
  }

  /**
   * Opens a stream with a request head (pseudo-fields first, lowercase
   * names); `endStream`: no body follows. Returns the stream id. Call only
   * when {@link canOpen}.
   */
  open(names: readonly string[], values: readonly string[], endStream: boolean): number {
    if (!this.canOpen) throw new Error("no stream can be opened on this connection");
    const id = this.#nextId;
    this.#nextId += 2;
    this.#streams.set(id, {
      id,
      sendWindow: this.#peer.initialWindowSize,
      recvWindow: this.#limits.initialWindowSize,
      consumed: 0,
      pending: null,
      pendingEnd: false,
      gotResponse: false,
      localDone: endStream,
    });
    const block = this.#encoder.encode(names, values);
    this.#sink.send(headersFrames(id, block, endStream, this.#peer.maxFrameSize));
    return id;
  }

  /**
   * Sends body bytes on a stream (`endStream` on the last call). Returns
   * false when they (or some) wait for window: call again only after
   * {@link ClientSessionSink.writable}.
   */
  sendData(stream: number, chunk: Uint8Array, endStream: boolean): boolean {
    const s = this.#streams.get(stream);
    if (s === undefined || s.localDone) return true;
    s.pending = chunk;
    s.pendingEnd = endStream;
    return this.#flush(s);
  }

  /** Writes what the windows allow of a stream's pending bytes; true when none is left. */
  #flush(s: Stream): boolean {
    const chunk = s.pending;
    if (chunk === null) return true;
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(
        chunk.length - at,
        s.sendWindow,
        this.#sendWindow,
        this.#peer.maxFrameSize,
      );
      if (n <= 0) break;
      const last = at + n === chunk.length;
      const flags = last && s.pendingEnd ? Flag.END_STREAM : 0;
      this.#sink.send(dataFrame(s.id, flags, chunk.subarray(at, at + n)));
      s.sendWindow -= n;
      this.#sendWindow -= n;
      at += n;
    }
    if (at < chunk.length) {
      s.pending = chunk.subarray(at);
      return false;
    }
    if (chunk.length === 0 && s.pendingEnd) this.#sink.send(dataFrame(s.id, Flag.END_STREAM));
    s.pending = null;
    if (s.pendingEnd) s.localDone = true;
    return true;
  }

  /**
   * `n` response bytes of `stream` were passed on: reopen its window (and the
   * connection's) once half of it is used, so buffering stays bounded.
   */
  consumed(stream: number, n: number): void {
    if (n <= 0 || this.#closed) return;
    this.#creditConnection(n);
    const s = this.#streams.get(stream);
    if (s === undefined) return;
    s.consumed += n;
    if (s.consumed >= this.#limits.initialWindowSize / 2) {
      this.#sink.send(windowUpdateFrame(s.id, s.consumed));
      s.recvWindow += s.consumed;
      s.consumed = 0;
    }
  }

  #creditConnection(n: number): void {
    this.#recvConsumed += n;
    if (this.#recvConsumed >= this.#limits.connectionWindowSize / 2) {
      this.#sink.send(windowUpdateFrame(0, this.#recvConsumed));
      this.#recvWindow += this.#recvConsumed;
      this.#recvConsumed = 0;
    }
  }

  /** Abandons a stream (RST_STREAM, CANCEL by default); no sink call follows for it. */
  cancel(stream: number, code: number = ErrorCode.CANCEL): void {
    if (!this.#streams.delete(stream)) return;
    if (!this.#closed) this.#sink.send(rstStreamFrame(stream, code));
    this.#maybeClose();
  }

  /** Stops new streams (GOAWAY NO_ERROR); the session closes when the last stream ends. */
  shutdown(): void {
    if (this.#closed) return;
    if (!this.#goingAway) {
      this.#goingAway = true;
      this.#sink.send(goawayFrame(0, ErrorCode.NO_ERROR));
    }
    this.#maybeClose();
  }

  /** The socket closed: every open stream ends (never processed only if nothing came back). */
  lost(reason: string): void {
    if (this.#closed) return;
    this.#end(null, reason);
  }

  /** Bytes from the socket. */
  receive(bytes: Uint8Array): void {
    if (this.#closed) return;
    let buf = this.#buf.length === 0 ? bytes : concat(this.#buf, bytes);
    let at = 0;
    try {
      while (!this.#closed && buf.length - at >= FRAME_HEADER) {
        const h = readFrameHeader(buf, at);
        if (h.length > MIN_MAX_FRAME_SIZE) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${h.length} octets`);
        }
        if (buf.length - at < FRAME_HEADER + h.length) break;
        const payload = buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + h.length);
        at += FRAME_HEADER + h.length;
        this.#frame(h.type, h.flags, h.stream, payload);
      }
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      this.#sink.send(goawayFrame(0, e.code, e.reason)); // the peer opens no streams here
      this.#end({ code: e.code, reason: e.reason }, e.reason);
      return;
    }
    buf = buf.subarray(at);
    this.#buf = buf.length === 0 ? new Uint8Array(0) : buf.slice();
  }

  #frame(type: number, flags: number, stream: number, payload: Uint8Array): void {
    if (this.#block !== null && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "header block interrupted");
    }
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, stream, payload);
      case FrameType.HEADERS: {
        if (stream === 0) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
        }
        const f = headersFragment(payload, flags);
        if (f === null) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad HEADERS padding");
        this.#block = { stream, parts: [f.fragment], bytes: f.fragment.length, endStream: false };
        this.#block.endStream = (flags & Flag.END_STREAM) !== 0;
        if (flags & Flag.END_HEADERS) this.#headers();
        else this.#checkBlock();
        return;
      }
      case FrameType.CONTINUATION: {
        const b = this.#block;
        if (b === null || b.stream !== stream) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "unexpected CONTINUATION");
        }
        b.parts.push(payload);
        b.bytes += payload.length;
        if (flags & Flag.END_HEADERS) this.#headers();
        else this.#checkBlock();
        return;
      }
      case FrameType.RST_STREAM: {
        if (payload.length !== 4) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM length");
        }
        const code = u32(payload, 0);
        const s = this.#streams.get(stream);
        if (s === undefined) return;
        this.#streams.delete(stream);
        this.#sink.reset(
          stream,
          code,
          `stream reset by the backend: ${errorCodeName(code)}`,
          code === ErrorCode.REFUSED_STREAM,
        );
        this.#maybeClose();
        return;
      }
      case FrameType.SETTINGS:
        return this.#settings(flags, stream, payload);
      case FrameType.PING:
        if (payload.length !== 8) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING length");
        }
        if (!(flags & Flag.ACK)) this.#sink.send(pingAckFrame(payload.slice()));
        return;
      case FrameType.GOAWAY:
        return this.#goaway(payload);
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(stream, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE with push disabled");
      default:
        return; // PRIORITY and unknown types are ignored
    }
  }

  #checkBlock(): void {
    const b = this.#block!;
    if (b.bytes > this.#limits.maxHeaderBlockBytes) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
    }
  }

  #headers(): void {
    const b = this.#block!;
    this.#block = null;
    const block = b.parts.length === 1 ? b.parts[0]! : concatAll(b.parts, b.bytes);
    const decoded = this.#decoder.decode(block); // always: the dynamic table stays in step
    if ("error" in decoded) {
      throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `HPACK: ${decoded.error}`);
    }
    const s = this.#streams.get(b.stream);
    if (s === undefined) return; // a stream already cancelled
    if (decoded.tooLarge) {
      return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "response header list too large");
    }
    if (s.gotResponse) {
      if (!b.endStream) {
        return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "trailers without END_STREAM");
      }
      const bad = badField(decoded.names, decoded.values, 0);
      if (bad !== null) return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, bad);
      this.#remoteEnd(s);
      this.#sink.trailers(s.id, decoded.names, decoded.values);
      return;
    }
    const names = decoded.names;
    const values = decoded.values;
    if (names[0] !== ":status") {
      return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "response without :status first");
    }
    const status = Number(values[0]);
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, `bad :status ${values[0]}`);
    }
    const bad = badField(names, values, 1);
    if (bad !== null) return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, bad);
    if (status < 200) return; // interim (100, 103): the final head follows
    s.gotResponse = true;
    names.shift();
    values.shift();
    if (b.endStream) this.#remoteEnd(s);
    this.#sink.response(s.id, status, names, values, b.endStream);
  }

  #data(flags: number, stream: number, payload: Uint8Array): void {
    if (stream === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    const n = payload.length;
    this.#recvWindow -= n;
    if (this.#recvWindow < 0) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window exceeded");
    }
    const body = dataPayload(payload, flags);
    if (body === null) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad DATA padding");
    const s = this.#streams.get(stream);
    if (s === undefined) {
      this.#creditConnection(n); // a cancelled stream's bytes: nobody will consume them
      return;
    }
    s.recvWindow -= n;
    if (s.recvWindow < 0) {
      return this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "stream window exceeded");
    }
    if (!s.gotResponse) {
      return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "DATA before the response head");
    }
    const padding = n - body.length;
    if (padding > 0) this.consumed(stream, padding);
    const end = (flags & Flag.END_STREAM) !== 0;
    if (end) this.#remoteEnd(s);
    this.#sink.data(stream, body, end);
  }

  #settings(flags: number, stream: number, payload: Uint8Array): void {
    if (stream !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flag.ACK) {
      if (payload.length !== 0) {
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      }
      return;
    }
    const before = this.#peer.initialWindowSize;
    const err = applySettings(this.#peer, payload);
    if (err !== null) throw new ConnectionError(err.code, err.reason);
    const delta = this.#peer.initialWindowSize - before;
    this.#sink.send(SETTINGS_ACK);
    if (delta !== 0) {
      for (const s of this.#streams.values()) {
        s.sendWindow += delta;
        if (s.sendWindow > MAX_WINDOW) {
          throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "stream window over 2^31-1");
        }
      }
      if (delta > 0) this.#flushAll();
    }
  }

  #goaway(payload: Uint8Array): void {
    if (payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY length");
    const last = u32(payload, 0) & 0x7fffffff;
    const code = u32(payload, 4);
    this.#goingAway = true;
    for (const s of [...this.#streams.values()]) {
      if (s.id <= last) continue;
      this.#streams.delete(s.id);
      this.#sink.reset(
        s.id,
        code,
        `GOAWAY ${errorCodeName(code)} above stream ${last}: not processed`,
        true,
      );
    }
    this.#maybeClose();
  }

  #windowUpdate(stream: number, payload: Uint8Array): void {
    if (payload.length !== 4) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE length");
    }
    const inc = u32(payload, 0) & 0x7fffffff;
    if (stream === 0) {
      if (inc === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window over 2^31-1");
      }
      this.#flushAll();
      return;
    }
    const s = this.#streams.get(stream);
    if (s === undefined) return;
    if (inc === 0) return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      return this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "stream window over 2^31-1");
    }
    if (s.pending !== null && this.#flush(s)) this.#sink.writable(s.id);
  }

  /** Window opened for every stream: send what waits, and wake the streams emptied. */
  #flushAll(): void {
    for (const s of [...this.#streams.values()]) {
      if (s.pending !== null && this.#flush(s)) this.#sink.writable(s.id);
      if (this.#sendWindow <= 0) return;
    }
  }

  /** The peer sent END_STREAM. */
  #remoteEnd(s: Stream): void {
    s.gotResponse = true;
    // the request may still be sending (a response before the whole body): stop it
    if (!s.localDone) this.#sink.send(rstStreamFrame(s.id, ErrorCode.NO_ERROR));
    this.#streams.delete(s.id);
    this.#maybeClose();
  }

  #streamError(s: Stream, code: number, reason: string): void {
    this.#streams.delete(s.id);
    this.#sink.send(rstStreamFrame(s.id, code));
    this.#sink.reset(s.id, code, reason, false);
    this.#maybeClose();
  }

  /** Away and no stream left: the connection is done. */
  #maybeClose(): void {
    if (this.#goingAway && this.#streams.size === 0 && !this.#closed) this.#end(null, "");
  }

  #end(error: { code: number; reason: string } | null, reason: string): void {
    this.#closed = true;
    this.#goingAway = true;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const s of streams) {
      this.#sink.reset(
        s.id,
        error?.code ?? ErrorCode.CANCEL,
        `connection to the backend ended: ${reason}`,
        false,
      );
    }
    this.#sink.closed(error);
  }
}

function dataFrame(stream: number, flags: number, payload?: Uint8Array): Uint8Array {
  return frame(FrameType.DATA, flags, stream, payload);
}

/** Lowercase token names (RFC 9113 §8.2.1). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * Why a response's fields from index `from` on are malformed (a pseudo-field
 * or an uppercase, empty or non-token name, a value with CR, LF or NUL), or
 * null. The caller renders them into an HTTP/1.1 head: nothing may smuggle a
 * line break into it.
 */
function badField(
  names: readonly string[],
  values: readonly string[],
  from: number,
): string | null {
  for (let i = from; i < names.length; i++) {
    const name = names[i]!;
    if (!FIELD_NAME.test(name)) return `malformed response field name ${JSON.stringify(name)}`;
    if (BAD_VALUE_CHAR.test(values[i]!)) return `malformed value of response field ${name}`;
  }
  return null;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
