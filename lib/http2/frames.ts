/**
 * HTTP/2 frames (RFC 9113 §4, §6): the 9-octet header, the frame types and
 * flags this proxy handles, SETTINGS with the RFC's range checks, and the
 * encoders of the frames a server sends.
 *
 * Pure byte work over Uint8Array, no I/O: the connection (which owns the
 * socket, the streams and flow control) calls these.
 *
 * @module
 */

/** Octets of a frame header. */
export const FRAME_HEADER = 9;

/** The client connection preface (RFC 9113 §3.4), before its first SETTINGS frame. */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Flags (their meaning depends on the type). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/**
 * The name of an error code (for logs and a metric label; unknown codes are
 * `UNKNOWN`, so the label stays bounded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorCodeName } from "./frames.ts";
 * assert.equal(errorCodeName(0xb), "ENHANCE_YOUR_CALM");
 * assert.equal(errorCodeName(0x99), "UNKNOWN");
 * ```
 */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return "UNKNOWN";
}

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Largest flow-control window (2^31 - 1). */
export const MAX_WINDOW = 2 ** 31 - 1;
/** The smallest SETTINGS_MAX_FRAME_SIZE and the default (2^14). */
export const MIN_MAX_FRAME_SIZE = 16_384;
/** The largest SETTINGS_MAX_FRAME_SIZE allowed (2^24 - 1). */
export const MAX_MAX_FRAME_SIZE = 16_777_215;

/** A frame header. */
export interface FrameHeader {
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  /** The stream identifier (the reserved bit cleared). */
  readonly stream: number;
}

/**
 * Reads the frame header at `at` (the caller has checked that 9 octets are
 * there).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFrameHeader } from "./frames.ts";
 * const h = readFrameHeader(Uint8Array.of(0, 0, 4, 1, 5, 0x80, 0, 0, 3), 0);
 * assert.deepEqual(h, { length: 4, type: 1, flags: 5, stream: 3 }); // reserved bit ignored
 * ```
 */
export function readFrameHeader(b: Uint8Array, at: number): FrameHeader {
  return {
    length: (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!,
    type: b[at + 3]!,
    flags: b[at + 4]!,
    stream: ((b[at + 5]! & 0x7f) << 24 | (b[at + 6]! << 16) | (b[at + 7]! << 8) | b[at + 8]!) >>> 0,
  };
}

/** Writes a frame header into `out` at `at`. */
export function writeFrameHeader(
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  stream: number,
): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out[at + 5] = (stream >>> 24) & 0x7f;
  out[at + 6] = (stream >>> 16) & 0xff;
  out[at + 7] = (stream >>> 8) & 0xff;
  out[at + 8] = stream & 0xff;
}

/** A whole frame with `payload`. */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload?: Uint8Array,
): Uint8Array {
  const n = payload?.length ?? 0;
  const out = new Uint8Array(FRAME_HEADER + n);
  writeFrameHeader(out, 0, n, type, flags, stream);
  if (payload) out.set(payload, FRAME_HEADER);
  return out;
}

/** A peer's settings, as far as they have been received (defaults otherwise). */
export interface Settings {
  headerTableSize: number;
  enablePush: boolean;
  /** null: unlimited (the default). */
  maxConcurrentStreams: number | null;
  initialWindowSize: number;
  maxFrameSize: number;
  /** null: unlimited (the default). */
  maxHeaderListSize: number | null;
}

/** The settings every endpoint starts from (RFC 9113 §6.5.2). */
export function defaultSettings(): Settings {
  return {
    headerTableSize: 4096,
    enablePush: true,
    maxConcurrentStreams: null,
    initialWindowSize: 65_535,
    maxFrameSize: MIN_MAX_FRAME_SIZE,
    maxHeaderListSize: null,
  };
}

/** A SETTINGS payload that breaks the rules: the connection error to send. */
export interface SettingsError {
  readonly code: number;
  readonly reason: string;
}

/**
 * Applies a SETTINGS payload to `settings` (in place, in order, as §6.5.3
 * requires). Unknown identifiers are ignored (§6.5.2). A payload whose length
 * is not a multiple of 6 is a FRAME_SIZE_ERROR; ENABLE_PUSH other than 0/1
 * and a MAX_FRAME_SIZE outside 2^14..2^24-1 are PROTOCOL_ERRORs; an
 * INITIAL_WINDOW_SIZE over 2^31-1 is a FLOW_CONTROL_ERROR.
 *
 * Returns null, or the error (settings before it stay applied, as the
 * connection is closed anyway).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applySettings, defaultSettings } from "./frames.ts";
 * const s = defaultSettings();
 * assert.equal(applySettings(s, Uint8Array.of(0, 3, 0, 0, 0, 100, 0, 4, 0, 1, 0, 0)), null);
 * assert.equal(s.maxConcurrentStreams, 100);
 * assert.equal(s.initialWindowSize, 65536);
 * assert.equal(applySettings(s, Uint8Array.of(0, 5, 0, 0, 0x10, 0))?.reason, "SETTINGS_MAX_FRAME_SIZE 4096 outside 16384-16777215");
 * ```
 */
export function applySettings(settings: Settings, payload: Uint8Array): SettingsError | null {
  if (payload.length % 6 !== 0) {
    return {
      code: ErrorCode.FRAME_SIZE_ERROR,
      reason: `SETTINGS length ${payload.length} not a multiple of 6`,
    };
  }
  for (let p = 0; p < payload.length; p += 6) {
    const id = (payload[p]! << 8) | payload[p + 1]!;
    const v = ((payload[p + 2]! << 24) | (payload[p + 3]! << 16) | (payload[p + 4]! << 8) |
      payload[p + 5]!) >>> 0;
    switch (id) {
      case SettingId.HEADER_TABLE_SIZE:
        settings.headerTableSize = v;
        break;
      case SettingId.ENABLE_PUSH:
        if (v > 1) {
          return { code: ErrorCode.PROTOCOL_ERROR, reason: `SETTINGS_ENABLE_PUSH ${v} not 0 or 1` };
        }
        settings.enablePush = v === 1;
        break;
      case SettingId.MAX_CONCURRENT_STREAMS:
        settings.maxConcurrentStreams = v;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        if (v > MAX_WINDOW) {
          return {
            code: ErrorCode.FLOW_CONTROL_ERROR,
            reason: `SETTINGS_INITIAL_WINDOW_SIZE ${v} over 2^31-1`,
          };
        }
        settings.initialWindowSize = v;
        break;
      case SettingId.MAX_FRAME_SIZE:
        if (v < MIN_MAX_FRAME_SIZE || v > MAX_MAX_FRAME_SIZE) {
          return {
            code: ErrorCode.PROTOCOL_ERROR,
            reason:
              `SETTINGS_MAX_FRAME_SIZE ${v} outside ${MIN_MAX_FRAME_SIZE}-${MAX_MAX_FRAME_SIZE}`,
          };
        }
        settings.maxFrameSize = v;
        break;
      case SettingId.MAX_HEADER_LIST_SIZE:
        settings.maxHeaderListSize = v;
        break;
    }
  }
  return null;
}

/** A SETTINGS frame announcing `values` (identifier, value pairs). */
export function settingsFrame(values: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const payload = new Uint8Array(values.length * 6);
  values.forEach(([id, v], i) => {
    const p = i * 6;
    payload[p] = id >>> 8;
    payload[p + 1] = id & 0xff;
    writeU32(payload, p + 2, v);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

/** The SETTINGS acknowledgement. */
export const SETTINGS_ACK: Uint8Array = frame(FrameType.SETTINGS, Flag.ACK, 0);

/** A GOAWAY naming the last stream processed, an error code and optional debug text. */
export function goawayFrame(lastStream: number, code: number, debug = ""): Uint8Array {
  const text = new TextEncoder().encode(debug);
  const payload = new Uint8Array(8 + text.length);
  writeU32(payload, 0, lastStream & 0x7fffffff);
  writeU32(payload, 4, code);
  payload.set(text, 8);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

/** RST_STREAM with an error code. */
export function rstStreamFrame(stream: number, code: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeU32(payload, 0, code);
  return frame(FrameType.RST_STREAM, 0, stream, payload);
}

/** WINDOW_UPDATE for a stream (0: the connection). */
export function windowUpdateFrame(stream: number, increment: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeU32(payload, 0, increment & 0x7fffffff);
  return frame(FrameType.WINDOW_UPDATE, 0, stream, payload);
}

/** The PING acknowledgement echoing `opaque` (8 octets). */
export function pingAckFrame(opaque: Uint8Array): Uint8Array {
  return frame(FrameType.PING, Flag.ACK, 0, opaque);
}

/**
 * A header block as HEADERS plus as many CONTINUATION frames as
 * `maxFrameSize` requires, END_HEADERS on the last, END_STREAM on HEADERS
 * when `endStream`; one buffer, written in one go.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headersFrames, readFrameHeader } from "./frames.ts";
 * const out = headersFrames(1, new Uint8Array(20_000), true, 16_384);
 * assert.deepEqual(readFrameHeader(out, 0), { length: 16_384, type: 1, flags: 1, stream: 1 });
 * assert.deepEqual(readFrameHeader(out, 9 + 16_384), { length: 3616, type: 9, flags: 4, stream: 1 });
 * ```
 */
export function headersFrames(
  stream: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number,
): Uint8Array {
  const frames = Math.max(1, Math.ceil(block.length / maxFrameSize));
  const out = new Uint8Array(block.length + frames * FRAME_HEADER);
  let p = 0;
  for (let i = 0; i < frames; i++) {
    const chunk = block.subarray(i * maxFrameSize, Math.min(block.length, (i + 1) * maxFrameSize));
    const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (i === frames - 1 ? Flag.END_HEADERS : 0) |
      (i === 0 && endStream ? Flag.END_STREAM : 0);
    writeFrameHeader(out, p, chunk.length, type, flags, stream);
    out.set(chunk, p + FRAME_HEADER);
    p += FRAME_HEADER + chunk.length;
  }
  return out;
}

/**
 * The header block fragment of a HEADERS frame's payload: without its
 * padding and priority fields. Returns null when the padding is longer than
 * the payload (a PROTOCOL_ERROR, RFC 9113 §6.2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Flag, headersFragment } from "./frames.ts";
 * // PADDED (pad length 2) and PRIORITY (5 octets), fragment [0x82], 2 octets of padding
 * const payload = Uint8Array.of(2, 0, 0, 0, 3, 15, 0x82, 0, 0);
 * assert.deepEqual(headersFragment(payload, Flag.PADDED | Flag.PRIORITY), { fragment: Uint8Array.of(0x82), dependsOn: 3 });
 * assert.equal(headersFragment(Uint8Array.of(5, 0x82), Flag.PADDED), null);
 * ```
 */
export function headersFragment(
  payload: Uint8Array,
  flags: number,
): { fragment: Uint8Array; dependsOn: number | null } | null {
  let start = 0;
  let end = payload.length;
  if (flags & Flag.PADDED) {
    if (payload.length < 1) return null;
    const pad = payload[0]!;
    start = 1;
    end -= pad;
  }
  let dependsOn: number | null = null;
  if (flags & Flag.PRIORITY) {
    if (end - start < 5) return null;
    dependsOn = ((payload[start]! & 0x7f) << 24 | (payload[start + 1]! << 16) |
      (payload[start + 2]! << 8) | payload[start + 3]!) >>> 0;
    start += 5;
  }
  if (end < start) return null;
  return { fragment: payload.subarray(start, end), dependsOn };
}

/**
 * The data of a DATA frame's payload without padding, or null when the
 * padding is longer than the payload (PROTOCOL_ERROR, §6.1). Flow control
 * counts the whole payload, padding included.
 */
export function dataPayload(payload: Uint8Array, flags: number): Uint8Array | null {
  if (!(flags & Flag.PADDED)) return payload;
  if (payload.length < 1) return null;
  const end = payload.length - payload[0]!;
  if (end < 1) return null;
  return payload.subarray(1, end);
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}
