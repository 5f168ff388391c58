/**
 * The server side of one HTTP/2 connection (RFC 9113), as a pure state
 * machine: bytes in, frames out, requests and their bodies handed to a sink.
 * The socket, the routing and the upstream exchange live elsewhere; the
 * clock is injected. So every rule (stream states, flow control, SETTINGS,
 * GOAWAY) and every defence is tested here frame by frame, without sockets.
 *
 * Defences, each bounded by a {@link SessionLimits} field:
 * - rapid reset (CVE-2023-44487): streams the client resets (or that are
 *   refused) within a window are counted; past the limit the connection gets
 *   GOAWAY ENHANCE_YOUR_CALM;
 * - CONTINUATION floods (CVE-2024-27316 and its family): a header block is
 *   capped in octets and in frames while it is being received, before any
 *   decoding;
 * - HPACK bombs: the decoder caps the decoded list (431 for the stream);
 * - SETTINGS, PING, PRIORITY, WINDOW_UPDATE and empty-frame floods
 *   (CVE-2019-9512/9515/9518 and kin): control frames are counted within a
 *   window, and so are consecutive empty DATA frames.
 *
 * Flow control is bounded both ways: what a client may send is limited by
 * the windows this side advertises and replenishes only as the caller
 * reports bytes consumed ({@link H2ServerSession.consumed}); what this side
 * sends waits in the stream for window, one caller chunk at most, because
 * {@link H2ServerSession.sendData} says false until {@link SessionSink.writable}.
 *
 * @module
 */
import {
  applySettings,
  CLIENT_PREFACE,
  dataPayload,
  defaultSettings,
  ErrorCode,
  Flag,
  frame,
  FRAME_HEADER,
  FrameType,
  goawayFrame,
  headersFragment,
  headersFrames,
  MAX_WINDOW,
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
import { type H2Request, requestFromFields } from "./request_fields.ts";

/** What a session asks of its connection. */
export interface SessionSink {
  /** Frames to write to the socket, in order. */
  send(bytes: Uint8Array): void;
  /** A well-formed request's head; `endStream`: it has no body. */
  request(stream: number, request: H2Request, endStream: boolean): void;
  /** Body bytes of a request (`endStream` on the last; a chunk may be empty then). */
  data(stream: number, chunk: Uint8Array, endStream: boolean): void;
  /** The stream is gone (the client reset it, or a stream error): stop its work. */
  reset(stream: number, code: number, reason: string): void;
  /** A stream whose {@link H2ServerSession.sendData} said false may send again. */
  writable(stream: number): void;
  /** The connection is over: close the socket once the frames sent are flushed. */
  closed(error: { readonly code: number; readonly reason: string } | null): void;
}

/** Sizes and rates a session enforces. */
export interface SessionLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised; streams past it are refused. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE advertised: what a client may send per stream before a WINDOW_UPDATE. */
  readonly initialWindowSize: number;
  /** The connection's receive window (raised from 65,535 at the start). */
  readonly connectionWindowSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE advertised; a larger decoded list gets 431. */
  readonly maxHeaderListSize: number;
  /** The most octets a header block may take (HEADERS plus CONTINUATION), before decoding. */
  readonly maxHeaderBlockBytes: number;
  /** The most frames a header block may take. */
  readonly maxHeaderBlockFrames: number;
  /** Window of the rate limits below, ms. */
  readonly rateWindowMs: number;
  /** Streams reset by the client or refused, per window (rapid reset). */
  readonly maxResetsPerWindow: number;
  /** SETTINGS, PING, PRIORITY, WINDOW_UPDATE and RST_STREAM frames per window. */
  readonly maxControlFramesPerWindow: number;
  /** Consecutive DATA/HEADERS/CONTINUATION frames with nothing in them. */
  readonly maxEmptyFrames: number;
}

/** Defaults in line with nginx's and Envoy's. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxConcurrentStreams: 128,
  initialWindowSize: 65_535,
  connectionWindowSize: 1 << 20,
  maxHeaderListSize: 65_536,
  maxHeaderBlockBytes: 131_072,
  maxHeaderBlockFrames: 64,
  rateWindowMs: 10_000,
  maxResetsPerWindow: 400,
  maxControlFramesPerWindow: 2_000,
  maxEmptyFrames: 64,
};

/** Stream states this side tracks (idle and closed streams have no record). */
const enum State {
  Open,
  /** The client sent END_STREAM; the response may still be going. */
  HalfClosedRemote,
  /** The response ended; the request body may still be coming. */
  HalfClosedLocal,
}

interface Stream {
  readonly id: number;
  state: State;
  /** What the client may still send on this stream. */
  recvWindow: number;
  /** What this side may still send. */
  sendWindow: number;
  /** Data waiting for window, and whether END_STREAM follows it. */
  pending: Uint8Array | null;
  pendingEnd: boolean;
  /** Trailers to send once the pending data is out. */
  trailers: readonly [readonly string[], readonly string[]] | null;
  /** sendData said false: tell the sink when it may go on. */
  blocked: boolean;
  /** content-length of the request, or -1; and the DATA octets received. */
  contentLength: number;
  received: number;
  /** Octets delivered to the sink and not yet reported consumed. */
  unconsumed: number;
  /** Octets consumed (or padding) not yet returned to the client in a WINDOW_UPDATE. */
  toReturn: number;
}

/** A connection error: GOAWAY with this code. */
class ConnectionError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** How many recently reset stream ids are remembered (frames in flight on them are ignored). */
const RECENT_RESETS = 64;

/**
 * One HTTP/2 server connection after ALPN `h2` or an h2c prior-knowledge
 * preface.
 */
export class H2ServerSession {
  readonly #sink: SessionSink;
  readonly #limits: SessionLimits;
  readonly #now: () => number;
  readonly #decoder: HpackDecoder;
  readonly #encoder = new HpackEncoder();
  readonly #peer: Settings = defaultSettings();
  readonly #streams = new Map<number, Stream>();
  #buf: Uint8Array = new Uint8Array(0);
  #prefaceSeen = false;
  #settingsSeen = false;
  /** Highest stream id the client opened; every id at or below it is no longer idle. */
  #lastStream = 0;
  /** The stream and fragments of a header block in progress (awaiting CONTINUATION). */
  #blockStream = 0;
  #blockFlags = 0;
  #blockParts: Uint8Array[] = [];
  #blockBytes = 0;
  #blockSelfDependent = false;
  /** Streams this side reset lately: frames already in flight on them are dropped. */
  #resetByUs: number[] = [];
  /** Streams that were open and closed lately (a HEADERS on one is STREAM_CLOSED, not PROTOCOL_ERROR). */
  #closedLately: number[] = [];
  #sendWindow = 65_535;
  /** What the client may still send on the connection. */
  #recvWindow = 65_535;
  /** Octets consumed, dropped or padding, not yet returned in a connection WINDOW_UPDATE. */
  #toReturn = 0;
  #windowStart = 0;
  #resets = 0;
  #controlFrames = 0;
  #windowUpdates = 0;
  /** Streams opened and DATA frames sent in the rate window: the work that earns control frames. */
  #streamsOpened = 0;
  #dataFramesSent = 0;
  #emptyFrames = 0;
  /** GOAWAY sent: no new streams; the connection closes once the open ones end. */
  #goingAway = false;
  #closed = false;

  constructor(
    sink: SessionSink,
    limits: Partial<SessionLimits> = {},
    now: () => number = Date.now,
  ) {
    this.#sink = sink;
    this.#limits = { ...DEFAULT_SESSION_LIMITS, ...limits };
    this.#now = now;
    this.#decoder = new HpackDecoder({ maxHeaderListSize: this.#limits.maxHeaderListSize });
    this.#windowStart = now();
  }

  /** Sends this side's SETTINGS (and the connection window's raise): call once, first. */
  start(): void {
    const l = this.#limits;
    this.#sink.send(settingsFrame([
      [SettingId.MAX_CONCURRENT_STREAMS, l.maxConcurrentStreams],
      [SettingId.INITIAL_WINDOW_SIZE, l.initialWindowSize],
      [SettingId.MAX_HEADER_LIST_SIZE, l.maxHeaderListSize],
      [SettingId.ENABLE_PUSH, 0],
    ]));
    if (l.connectionWindowSize > 65_535) {
      this.#sink.send(windowUpdateFrame(0, l.connectionWindowSize - 65_535));
      this.#recvWindow = l.connectionWindowSize;
    }
  }

  /** Open streams (requests not yet answered in full). */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** Whether the connection is over. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes read from the socket. */
  receive(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#buf = this.#buf.length === 0 ? chunk : concat(this.#buf, chunk);
    try {
      this.#drain();
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      this.#fail(e.code, e.message);
    }
  }

  // ------------------------------------------------------------ responses

  /**
   * Sends a response head. `names` are lowercase regular fields (the caller
   * has removed HTTP/1.1's connection-specific ones); `endStream`: no body.
   */
  respond(
    stream: number,
    status: number,
    names: readonly string[],
    values: readonly string[],
    endStream: boolean,
  ): void {
    const s = this.#streams.get(stream);
    if (s === undefined || this.#closed) return;
    const block = this.#encoder.encode([":status", ...names], [String(status), ...values]);
    this.#sink.send(headersFrames(stream, block, endStream, this.#peer.maxFrameSize));
    if (endStream) this.#endLocal(s);
  }

  /** Ends a stream's response with trailer fields (a HEADERS frame with END_STREAM). */
  sendTrailers(stream: number, names: readonly string[], values: readonly string[]): void {
    const s = this.#streams.get(stream);
    if (s === undefined || this.#closed || s.state === State.HalfClosedLocal) return;
    if (s.pending !== null) {
      // data still waits for window: the trailers follow it
      s.trailers = [names, values];
      return;
    }
    this.#trailers(s, names, values);
  }

  #trailers(s: Stream, names: readonly string[], values: readonly string[]): void {
    const block = this.#encoder.encode(names, values);
    this.#sink.send(headersFrames(s.id, block, true, this.#peer.maxFrameSize));
    this.#endLocal(s);
  }

  /**
   * Sends body bytes. Returns false when they (or part of them) wait for
   * the client's window: send nothing more on this stream until
   * {@link SessionSink.writable}.
   */
  sendData(stream: number, chunk: Uint8Array, endStream: boolean): boolean {
    const s = this.#streams.get(stream);
    if (s === undefined || this.#closed || s.state === State.HalfClosedLocal) return true;
    if (s.pending !== null) {
      // the caller ignored a false: keep order, still bounded by its own chunks
      s.pending = concat(s.pending, chunk);
      s.pendingEnd = endStream;
      s.blocked = true;
      return false;
    }
    s.pending = chunk;
    s.pendingEnd = endStream;
    this.#flush(s);
    if (s.pending === null) return true;
    s.blocked = true;
    return false;
  }

  /** Resets a stream this side gives up on (an upstream failure after the head was sent). */
  resetStream(stream: number, code: number = ErrorCode.INTERNAL_ERROR): void {
    const s = this.#streams.get(stream);
    if (s === undefined || this.#closed) return;
    this.#sink.send(rstStreamFrame(stream, code));
    this.#forget(s, true);
  }

  /**
   * The caller has passed `n` octets of a stream's request body on (written
   * upstream): the client may send that much more (WINDOW_UPDATE, batched).
   */
  consumed(stream: number, n: number): void {
    const s = this.#streams.get(stream);
    // a stream already gone returned its unconsumed octets when it closed
    if (s === undefined || this.#closed || n <= 0) return;
    const k = Math.min(n, s.unconsumed);
    s.unconsumed -= k;
    this.#returnToConnection(k);
    this.#returnToStream(s, k);
  }

  /**
   * Graceful shutdown: GOAWAY NO_ERROR naming the last stream accepted; the
   * open streams finish, new ones are refused, and the connection closes
   * when the last one ends.
   */
  goAway(): void {
    if (this.#closed || this.#goingAway) return;
    this.#goingAway = true;
    this.#sink.send(goawayFrame(this.#lastStream, ErrorCode.NO_ERROR));
    if (this.#streams.size === 0) this.#close(null);
  }

  // ------------------------------------------------------------ frames in

  #drain(): void {
    if (!this.#prefaceSeen) {
      const n = Math.min(this.#buf.length, CLIENT_PREFACE.length);
      for (let i = 0; i < n; i++) {
        if (this.#buf[i] !== CLIENT_PREFACE[i]) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "invalid connection preface");
        }
      }
      if (this.#buf.length < CLIENT_PREFACE.length) return;
      this.#prefaceSeen = true;
      this.#buf = this.#buf.subarray(CLIENT_PREFACE.length);
    }
    let p = 0;
    const buf = this.#buf;
    while (!this.#closed && buf.length - p >= FRAME_HEADER) {
      const h = readFrameHeader(buf, p);
      // our SETTINGS_MAX_FRAME_SIZE is the default 16,384
      if (h.length > 16_384) {
        throw new ConnectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          `frame of ${h.length} octets over 16384`,
        );
      }
      if (buf.length - p < FRAME_HEADER + h.length) break;
      const payload = buf.subarray(p + FRAME_HEADER, p + FRAME_HEADER + h.length);
      p += FRAME_HEADER + h.length;
      this.#frame(h.type, h.flags, h.stream, payload);
    }
    // keep only the unread tail (copied, so a large read buffer is not pinned)
    this.#buf = p === buf.length ? new Uint8Array(0) : buf.slice(p);
  }

  #frame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (!this.#settingsSeen) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK)) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "the first frame is not SETTINGS");
      }
    }
    if (this.#blockStream !== 0 && (type !== FrameType.CONTINUATION || id !== this.#blockStream)) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        `a frame of type ${type} inside the header block of stream ${this.#blockStream}`,
      );
    }
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, id, payload);
      case FrameType.HEADERS:
        return this.#headers(flags, id, payload);
      case FrameType.PRIORITY:
        return this.#priority(id, payload);
      case FrameType.RST_STREAM:
        return this.#rstStream(id, payload);
      case FrameType.SETTINGS:
        return this.#settings(flags, id, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        return this.#ping(flags, id, payload);
      case FrameType.GOAWAY:
        return this.#goaway(id);
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(id, payload);
      case FrameType.CONTINUATION:
        return this.#continuation(flags, id, payload);
      default:
        // unknown types are ignored (§4.1), but count against the control budget
        this.#control();
    }
  }

  #data(flags: number, id: number, payload: Uint8Array): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    // flow control counts the whole payload, padding included, whatever the stream's state
    if (payload.length > this.#recvWindow) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    }
    this.#recvWindow -= payload.length;
    const s = this.#streams.get(id);
    if (s === undefined || s.state === State.HalfClosedRemote) {
      this.#returnToConnection(payload.length);
      if (id > this.#lastStream) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      }
      if (s !== undefined) {
        return this.#streamError(s, ErrorCode.STREAM_CLOSED, "DATA after END_STREAM");
      }
      if (this.#resetByUs.includes(id)) return;
      throw new ConnectionError(ErrorCode.STREAM_CLOSED, `DATA on closed stream ${id}`);
    }
    if (payload.length > s.recvWindow) {
      this.#returnToConnection(payload.length);
      return this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the stream window");
    }
    s.recvWindow -= payload.length;
    const data = dataPayload(payload, flags);
    if (data === null) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA padding too long");
    const end = (flags & Flag.END_STREAM) !== 0;
    this.#empty(data.length === 0 && !end);
    s.received += data.length;
    if (
      s.contentLength >= 0 &&
      (s.received > s.contentLength || (end && s.received !== s.contentLength))
    ) {
      this.#returnToConnection(payload.length);
      return this.#streamError(
        s,
        ErrorCode.PROTOCOL_ERROR,
        "body length differs from content-length",
      );
    }
    // padding is not the caller's to consume: return it at once
    const padding = payload.length - data.length;
    if (padding > 0) {
      this.#returnToConnection(padding);
      this.#returnToStream(s, padding);
    }
    s.unconsumed += data.length;
    if (end) this.#endRemote(s);
    this.#sink.data(id, data, end);
  }

  #headers(flags: number, id: number, payload: Uint8Array): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    if ((id & 1) === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${id}`);
    }
    const f = headersFragment(payload, flags);
    if (f === null) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS padding or priority too long");
    }
    // a stream depending on itself is a stream error, once the block is decoded (HPACK stays in step)
    this.#blockSelfDependent = f.dependsOn === id;
    this.#beginBlock(id, flags, f.fragment);
  }

  #beginBlock(id: number, flags: number, fragment: Uint8Array): void {
    this.#blockStream = id;
    this.#blockFlags = flags;
    this.#blockParts = [fragment];
    this.#blockBytes = fragment.length;
    this.#empty(fragment.length === 0 && !(flags & Flag.END_HEADERS));
    if (flags & Flag.END_HEADERS) this.#endBlock();
  }

  #continuation(flags: number, id: number, payload: Uint8Array): void {
    if (this.#blockStream === 0 || id !== this.#blockStream) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
    }
    this.#blockBytes += payload.length;
    this.#blockParts.push(payload);
    if (this.#blockBytes > this.#limits.maxHeaderBlockBytes) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `header block over ${this.#limits.maxHeaderBlockBytes} octets`,
      );
    }
    if (this.#blockParts.length > this.#limits.maxHeaderBlockFrames) {
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `header block in over ${this.#limits.maxHeaderBlockFrames} frames`,
      );
    }
    this.#empty(payload.length === 0 && !(flags & Flag.END_HEADERS));
    if (flags & Flag.END_HEADERS) this.#endBlock();
  }

  /** A complete header block: decode it, then open a stream or take trailers. */
  #endBlock(): void {
    const id = this.#blockStream;
    const flags = this.#blockFlags;
    const block = this.#blockParts.length === 1
      ? this.#blockParts[0]!
      : concatAll(this.#blockParts);
    const selfDependent = this.#blockSelfDependent;
    this.#blockStream = 0;
    this.#blockParts = [];
    const decoded = this.#decoder.decode(block);
    if ("error" in decoded) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, decoded.error);
    const end = (flags & Flag.END_STREAM) !== 0;
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      // trailers: only after the request head, with END_STREAM and no pseudo-header
      if (existing.state !== State.Open && existing.state !== State.HalfClosedLocal) {
        return this.#streamError(existing, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM");
      }
      if (!end) {
        return this.#streamError(existing, ErrorCode.PROTOCOL_ERROR, "trailers without END_STREAM");
      }
      if (decoded.names.some((n) => n.charCodeAt(0) === 58)) {
        return this.#streamError(existing, ErrorCode.PROTOCOL_ERROR, "a pseudo-header in trailers");
      }
      if (existing.contentLength >= 0 && existing.received !== existing.contentLength) {
        return this.#streamError(
          existing,
          ErrorCode.PROTOCOL_ERROR,
          "body length differs from content-length",
        );
      }
      this.#endRemote(existing);
      this.#sink.data(id, new Uint8Array(0), true);
      return;
    }
    if (id <= this.#lastStream) {
      if (this.#resetByUs.includes(id)) return;
      if (this.#closedLately.includes(id)) {
        throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      }
      // §5.1.1: a new stream's id must be larger than every one before it
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        `stream ${id} not above ${this.#lastStream}`,
      );
    }
    this.#lastStream = id;
    if (this.#goingAway) {
      // after GOAWAY: not processed (the client retries it elsewhere)
      this.#sink.send(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      this.#rememberReset(id);
      return;
    }
    if (this.#streams.size >= this.#limits.maxConcurrentStreams) {
      this.#sink.send(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      this.#rememberReset(id);
      this.#countReset();
      return;
    }
    const s: Stream = {
      id,
      state: State.Open,
      recvWindow: this.#limits.initialWindowSize,
      sendWindow: this.#peer.initialWindowSize,
      pending: null,
      pendingEnd: false,
      trailers: null,
      blocked: false,
      contentLength: -1,
      received: 0,
      unconsumed: 0,
      toReturn: 0,
    };
    this.#streams.set(id, s);
    this.#tick();
    this.#streamsOpened++;
    if (selfDependent) {
      return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "stream depends on itself");
    }
    if (decoded.tooLarge) {
      // answered here: 431, as an HTTP/1.1 client would get
      if (end) s.state = State.HalfClosedRemote;
      this.respond(id, 431, ["content-length"], ["0"], true);
      if (this.#streams.has(id)) this.resetStream(id, ErrorCode.NO_ERROR);
      return;
    }
    const request = requestFromFields(decoded.names, decoded.values);
    if ("malformed" in request) {
      return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, request.malformed);
    }
    s.contentLength = request.contentLength;
    if (end && request.contentLength > 0) {
      return this.#streamError(
        s,
        ErrorCode.PROTOCOL_ERROR,
        "body length differs from content-length",
      );
    }
    if (end) s.state = State.HalfClosedRemote;
    this.#sink.request(id, request, end);
  }

  #priority(id: number, payload: Uint8Array): void {
    this.#control();
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
    if (payload.length !== 5) {
      const s = this.#streams.get(id);
      if (s !== undefined) {
        return this.#streamError(s, ErrorCode.FRAME_SIZE_ERROR, "PRIORITY not 5 octets");
      }
      this.#sink.send(rstStreamFrame(id, ErrorCode.FRAME_SIZE_ERROR));
      return;
    }
    const dependsOn =
      ((payload[0]! & 0x7f) << 24 | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
    if (dependsOn === id) {
      const s = this.#streams.get(id);
      if (s !== undefined) {
        return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "stream depends on itself");
      }
      this.#sink.send(rstStreamFrame(id, ErrorCode.PROTOCOL_ERROR));
    }
    // priorities are otherwise ignored (RFC 9113 deprecates the scheme)
  }

  #rstStream(id: number, payload: Uint8Array): void {
    this.#control();
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (payload.length !== 4) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM not 4 octets");
    }
    if (id > this.#lastStream) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
    }
    const s = this.#streams.get(id);
    if (s === undefined) return;
    const code = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>>
      0;
    this.#countReset();
    this.#forget(s, false);
    this.#sink.reset(id, code, "reset by the client");
  }

  #settings(flags: number, id: number, payload: Uint8Array): void {
    this.#control();
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flag.ACK) {
      if (payload.length !== 0) {
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      }
      return;
    }
    this.#settingsSeen = true;
    const before = this.#peer.initialWindowSize;
    const err = applySettings(this.#peer, payload);
    if (err !== null) throw new ConnectionError(err.code, err.reason);
    const delta = this.#peer.initialWindowSize - before;
    if (delta !== 0) {
      for (const s of this.#streams.values()) {
        s.sendWindow += delta;
        if (s.sendWindow > MAX_WINDOW) {
          throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "a stream window over 2^31-1");
        }
      }
    }
    this.#sink.send(SETTINGS_ACK);
    if (delta > 0) { for (const s of this.#streams.values()) this.#flush(s); }
  }

  #ping(flags: number, id: number, payload: Uint8Array): void {
    this.#control();
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    if (payload.length !== 8) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING not 8 octets");
    }
    if (flags & Flag.ACK) return;
    this.#sink.send(pingAckFrame(payload.slice()));
  }

  #goaway(id: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
    // the client is leaving: finish what is open, accept nothing new
    this.#goingAway = true;
    if (this.#streams.size === 0) this.#close(null);
  }

  #windowUpdate(id: number, payload: Uint8Array): void {
    this.#tick();
    // a receiver sends updates as it reads what this side sent: allowed in proportion to it
    if (++this.#windowUpdates > 100 + 10 * this.#dataFramesSent) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many WINDOW_UPDATE frames");
    }
    if (payload.length !== 4) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE not 4 octets");
    }
    const inc =
      ((payload[0]! & 0x7f) << 24 | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window over 2^31-1");
      }
      for (const s of this.#streams.values()) this.#flush(s);
      return;
    }
    if (id > this.#lastStream) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
    }
    const s = this.#streams.get(id);
    if (s === undefined) return;
    if (inc === 0) return this.#streamError(s, ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      return this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "stream window over 2^31-1");
    }
    this.#flush(s);
  }

  // ------------------------------------------------------------ streams

  /** Sends what a stream's window (and the connection's) allows of its pending data. */
  #flush(s: Stream): void {
    const data = s.pending;
    if (data === null) return;
    let off = 0;
    const max = this.#peer.maxFrameSize;
    while (off < data.length) {
      const room = Math.min(s.sendWindow, this.#sendWindow, max, data.length - off);
      if (room <= 0) break;
      const last = off + room === data.length;
      this.#sink.send(
        frame(
          FrameType.DATA,
          last && s.pendingEnd ? Flag.END_STREAM : 0,
          s.id,
          data.subarray(off, off + room),
        ),
      );
      off += room;
      this.#dataFramesSent++;
      s.sendWindow -= room;
      this.#sendWindow -= room;
    }
    if (off < data.length) {
      s.pending = off === 0 ? data : data.subarray(off);
      return;
    }
    if (data.length === 0 && s.pendingEnd) {
      this.#sink.send(frame(FrameType.DATA, Flag.END_STREAM, s.id));
    }
    s.pending = null;
    const end = s.pendingEnd;
    s.pendingEnd = false;
    if (s.trailers !== null) this.#trailers(s, s.trailers[0], s.trailers[1]);
    else if (end) this.#endLocal(s);
    else if (s.blocked) {
      s.blocked = false;
      this.#sink.writable(s.id);
    }
  }

  #endRemote(s: Stream): void {
    if (s.state === State.HalfClosedLocal) this.#forget(s, false);
    else s.state = State.HalfClosedRemote;
  }

  #endLocal(s: Stream): void {
    if (s.state === State.HalfClosedRemote) this.#forget(s, false);
    else s.state = State.HalfClosedLocal;
  }

  /** The stream is closed: drop it, give its unconsumed window back, close if going away. */
  #forget(s: Stream, byUs: boolean): void {
    if (!this.#streams.delete(s.id)) return;
    // what the caller will now never consume goes back to the connection
    if (s.unconsumed > 0) this.#returnToConnection(s.unconsumed);
    if (byUs) this.#rememberReset(s.id);
    this.#closedLately.push(s.id);
    if (this.#closedLately.length > RECENT_RESETS) this.#closedLately.shift();
    if (this.#goingAway && this.#streams.size === 0) this.#close(null);
  }

  #streamError(s: Stream, code: number, reason: string): void {
    this.#sink.send(rstStreamFrame(s.id, code));
    this.#forget(s, true);
    this.#sink.reset(s.id, code, reason);
  }

  #rememberReset(id: number): void {
    this.#resetByUs.push(id);
    if (this.#resetByUs.length > RECENT_RESETS) this.#resetByUs.shift();
  }

  /**
   * Octets the client may send again on the connection: returned in one
   * WINDOW_UPDATE once they add up to half the window (fewer, larger
   * updates; the client is never left below half its window).
   */
  #returnToConnection(n: number): void {
    this.#toReturn += n;
    if (this.#toReturn >= this.#limits.connectionWindowSize / 2) {
      this.#recvWindow += this.#toReturn;
      this.#sink.send(windowUpdateFrame(0, this.#toReturn));
      this.#toReturn = 0;
    }
  }

  /** The same for one stream, while the client may still send on it. */
  #returnToStream(s: Stream, n: number): void {
    if (s.state !== State.Open && s.state !== State.HalfClosedLocal) return;
    s.toReturn += n;
    if (s.toReturn >= this.#limits.initialWindowSize / 2) {
      s.recvWindow += s.toReturn;
      this.#sink.send(windowUpdateFrame(s.id, s.toReturn));
      s.toReturn = 0;
    }
  }

  // ------------------------------------------------------------ defences

  #tick(): void {
    const now = this.#now();
    if (now - this.#windowStart >= this.#limits.rateWindowMs) {
      this.#windowStart = now;
      this.#resets = 0;
      this.#controlFrames = 0;
      this.#windowUpdates = 0;
      this.#streamsOpened = 0;
      this.#dataFramesSent = 0;
    }
  }

  #control(): void {
    this.#tick();
    // PRIORITY frames come with streams (some browsers send one per request): allowed per stream
    if (++this.#controlFrames > this.#limits.maxControlFramesPerWindow + 4 * this.#streamsOpened) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many control frames");
    }
  }

  #countReset(): void {
    this.#tick();
    if (++this.#resets > this.#limits.maxResetsPerWindow) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many streams reset");
    }
  }

  #empty(isEmpty: boolean): void {
    if (!isEmpty) {
      this.#emptyFrames = 0;
      return;
    }
    if (++this.#emptyFrames > this.#limits.maxEmptyFrames) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many empty frames");
    }
  }

  // ------------------------------------------------------------ the end

  #fail(code: number, reason: string): void {
    if (this.#closed) return;
    this.#sink.send(goawayFrame(this.#lastStream, code, reason));
    const open = [...this.#streams.keys()];
    this.#streams.clear();
    for (const id of open) this.#sink.reset(id, code, reason);
    this.#close({ code, reason });
  }

  #close(error: { code: number; reason: string } | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buf = new Uint8Array(0);
    this.#sink.closed(error);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
