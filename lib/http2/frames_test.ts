import assert from "node:assert/strict";
import {
  applySettings,
  dataPayload,
  defaultSettings,
  ErrorCode,
  Flag,
  FrameType,
  goawayFrame,
  headersFragment,
  headersFrames,
  readFrameHeader,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.ts";

const setting = (id: number, v: number) =>
  Uint8Array.of(id >> 8, id & 0xff, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);

Deno.test("frames: SETTINGS payloads, valid and each kind of invalid", () => {
  const cases: Array<[string, Uint8Array, number | null]> = [
    ["empty", new Uint8Array(0), null],
    ["unknown identifier ignored", setting(0x99, 7), null],
    ["length not a multiple of 6", new Uint8Array(7), ErrorCode.FRAME_SIZE_ERROR],
    ["ENABLE_PUSH 2", setting(2, 2), ErrorCode.PROTOCOL_ERROR],
    ["ENABLE_PUSH 0", setting(2, 0), null],
    ["INITIAL_WINDOW_SIZE 2^31", setting(4, 2 ** 31), ErrorCode.FLOW_CONTROL_ERROR],
    ["INITIAL_WINDOW_SIZE 2^31-1", setting(4, 2 ** 31 - 1), null],
    ["MAX_FRAME_SIZE 16383", setting(5, 16_383), ErrorCode.PROTOCOL_ERROR],
    ["MAX_FRAME_SIZE 2^24", setting(5, 2 ** 24), ErrorCode.PROTOCOL_ERROR],
    ["MAX_FRAME_SIZE 2^24-1", setting(5, 2 ** 24 - 1), null],
  ];
  for (const [what, payload, code] of cases) {
    assert.equal(applySettings(defaultSettings(), payload)?.code ?? null, code, what);
  }
  const s = defaultSettings();
  assert.equal(applySettings(s, settingsFrame([[1, 0], [3, 50], [6, 8192]]).subarray(9)), null);
  assert.deepEqual(
    [s.headerTableSize, s.maxConcurrentStreams, s.maxHeaderListSize],
    [0, 50, 8192],
  );
});

Deno.test("frames: encoders write the header and payload the RFC lays out", () => {
  const g = goawayFrame(7, ErrorCode.ENHANCE_YOUR_CALM, "calm");
  assert.deepEqual(readFrameHeader(g, 0), {
    length: 12,
    type: FrameType.GOAWAY,
    flags: 0,
    stream: 0,
  });
  assert.deepEqual([...g.subarray(9, 17)], [0, 0, 0, 7, 0, 0, 0, 0x0b]);
  assert.equal(new TextDecoder().decode(g.subarray(17)), "calm");
  const r = rstStreamFrame(2 ** 31 - 1, ErrorCode.CANCEL);
  assert.deepEqual(readFrameHeader(r, 0), {
    length: 4,
    type: FrameType.RST_STREAM,
    flags: 0,
    stream: 2 ** 31 - 1,
  });
  const w = windowUpdateFrame(0, 2 ** 31 - 1);
  assert.deepEqual([...w.subarray(9)], [0x7f, 0xff, 0xff, 0xff]);
  // one frame when the block fits, even empty
  const h = headersFrames(3, Uint8Array.of(0x88), false, 16_384);
  assert.deepEqual(readFrameHeader(h, 0), {
    length: 1,
    type: FrameType.HEADERS,
    flags: Flag.END_HEADERS,
    stream: 3,
  });
  assert.equal(headersFrames(3, new Uint8Array(0), true, 16_384).length, 9);
});

Deno.test("frames: padding longer than the payload is refused (HEADERS and DATA)", () => {
  const cases: Array<[string, Uint8Array, number, boolean]> = [
    ["DATA, pad 0", Uint8Array.of(0, 1, 2), Flag.PADDED, true],
    ["DATA, all padding", Uint8Array.of(2, 0, 0), Flag.PADDED, true],
    ["DATA, pad = length", Uint8Array.of(3, 0, 0), Flag.PADDED, false],
    ["DATA, PADDED without the pad octet", new Uint8Array(0), Flag.PADDED, false],
  ];
  for (const [what, payload, flags, valid] of cases) {
    assert.equal(dataPayload(payload, flags) !== null, valid, what);
  }
  assert.deepEqual(dataPayload(Uint8Array.of(1, 9, 0), Flag.PADDED), Uint8Array.of(9));
  assert.equal(
    headersFragment(Uint8Array.of(0, 0, 0, 1), Flag.PRIORITY),
    null,
    "priority needs 5 octets",
  );
  assert.deepEqual(
    headersFragment(Uint8Array.of(0x82, 0x84), 0)?.fragment,
    Uint8Array.of(0x82, 0x84),
  );
});
