import assert from "node:assert/strict";
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  frame,
  FrameType,
  readFrameHeader,
  SettingId,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import type { H2Request } from "./request_fields.ts";
import { H2ServerSession, type SessionLimits } from "./session.ts";

interface Sent {
  type: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

/** A session with a recording sink, and a client that speaks frames to it. */
function harness(limits: Partial<SessionLimits> = {}) {
  let clock = 0;
  const sent: Sent[] = [];
  const requests: Array<{ stream: number; request: H2Request; end: boolean }> = [];
  const data: Array<{ stream: number; bytes: number; end: boolean }> = [];
  const resets: Array<{ stream: number; code: number; reason: string }> = [];
  const writable: number[] = [];
  let closed: { code: number; reason: string } | null | undefined = undefined;
  const session = new H2ServerSession(
    {
      send(bytes) {
        for (let p = 0; p < bytes.length;) {
          const h = readFrameHeader(bytes, p);
          sent.push({ ...h, payload: bytes.slice(p + 9, p + 9 + h.length) });
          p += 9 + h.length;
        }
      },
      request: (stream, request, end) => requests.push({ stream, request, end }),
      data: (stream, chunk, end) => data.push({ stream, bytes: chunk.length, end }),
      reset: (stream, code, reason) => resets.push({ stream, code, reason }),
      writable: (stream) => writable.push(stream),
      closed: (e) => (closed = e),
    },
    limits,
    () => clock,
  );
  session.start();
  const encoder = new HpackEncoder();
  const client = {
    /** The preface and an empty SETTINGS. */
    open(settings: Array<[number, number]> = []) {
      session.receive(CLIENT_PREFACE);
      session.receive(settingsFrame(settings));
    },
    send(type: number, flags: number, stream: number, payload?: Uint8Array) {
      session.receive(frame(type, flags, stream, payload));
    },
    block(fields: Array<[string, string]>): Uint8Array {
      return encoder.encode(fields.map(([n]) => n), fields.map(([, v]) => v));
    },
    get(stream: number, path = "/", end = true, extra: Array<[string, string]> = []) {
      this.send(
        FrameType.HEADERS,
        Flag.END_HEADERS | (end ? Flag.END_STREAM : 0),
        stream,
        this.block([
          [":method", end ? "GET" : "POST"],
          [":scheme", "https"],
          [":authority", "example.com"],
          [":path", path],
          ...extra,
        ]),
      );
    },
  };
  return {
    session,
    client,
    sent,
    requests,
    data,
    resets,
    writable,
    get closed() {
      return closed;
    },
    advance(ms: number) {
      clock += ms;
    },
    /** The GOAWAY sent, as [last stream, code, debug text], or null. */
    goaway(): [number, number, string] | null {
      const g = sent.find((f) => f.type === FrameType.GOAWAY);
      if (!g) return null;
      const v = new DataView(g.payload.buffer, g.payload.byteOffset);
      return [v.getUint32(0), v.getUint32(4), new TextDecoder().decode(g.payload.subarray(8))];
    },
    rst(stream: number): number | null {
      const r = sent.find((f) => f.type === FrameType.RST_STREAM && f.stream === stream);
      return r ? new DataView(r.payload.buffer, r.payload.byteOffset).getUint32(0) : null;
    },
  };
}

const u32 = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);

Deno.test("session: settings exchanged, a GET answered with HEADERS and DATA the client can decode", () => {
  const h = harness();
  assert.equal(h.sent[0]!.type, FrameType.SETTINGS, "this side's SETTINGS go first");
  assert.deepEqual(
    [h.sent[1]!.type, h.sent[1]!.stream],
    [FrameType.WINDOW_UPDATE, 0],
    "the connection window is raised",
  );
  h.client.open();
  assert.ok(h.sent.some((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK));
  h.client.get(1, "/hello?x=1");
  assert.equal(h.requests.length, 1);
  assert.deepEqual(
    [h.requests[0]!.request.method, h.requests[0]!.request.path, h.requests[0]!.end],
    ["GET", "/hello?x=1", true],
  );
  h.session.respond(1, 200, ["content-type"], ["text/plain"], false);
  assert.equal(h.session.sendData(1, new TextEncoder().encode("hi"), true), true);
  const headers = h.sent.find((f) => f.type === FrameType.HEADERS)!;
  const decoded = new HpackDecoder().decode(headers.payload);
  assert.ok(!("error" in decoded));
  assert.deepEqual(decoded.values, ["200", "text/plain"]);
  const body = h.sent.find((f) => f.type === FrameType.DATA)!;
  assert.deepEqual([body.stream, body.flags, new TextDecoder().decode(body.payload)], [
    1,
    Flag.END_STREAM,
    "hi",
  ]);
  assert.equal(h.session.openStreams, 0, "both ends closed: the stream is gone");
  assert.equal(h.closed, undefined);
});

Deno.test("session: connection errors, each with its code (GOAWAY)", () => {
  const cases: Array<[string, (c: ReturnType<typeof harness>["client"]) => void, number, RegExp]> =
    [
      ["bad preface", (c) => c.send(FrameType.SETTINGS, 0, 0), ErrorCode.PROTOCOL_ERROR, /preface/],
      [
        "first frame not SETTINGS",
        (c) => {
          c.open.call(c, []);
        },
        -1,
        /./,
      ],
      [
        "DATA on stream 0",
        (c) => {
          c.open();
          c.send(FrameType.DATA, 0, 0, Uint8Array.of(1));
        },
        ErrorCode.PROTOCOL_ERROR,
        /stream 0/,
      ],
      [
        "HEADERS on an even stream",
        (c) => {
          c.open();
          c.send(FrameType.HEADERS, Flag.END_HEADERS, 2, c.block([[":method", "GET"]]));
        },
        ErrorCode.PROTOCOL_ERROR,
        /even stream/,
      ],
      [
        "a frame over 16,384 octets",
        (c) => {
          c.open();
          c.send(FrameType.DATA, 0, 1, new Uint8Array(16_385));
        },
        ErrorCode.FRAME_SIZE_ERROR,
        /over 16384/,
      ],
      [
        "PING of 7 octets",
        (c) => {
          c.open();
          c.send(FrameType.PING, 0, 0, new Uint8Array(7));
        },
        ErrorCode.FRAME_SIZE_ERROR,
        /PING/,
      ],
      [
        "PING on a stream",
        (c) => {
          c.open();
          c.send(FrameType.PING, 0, 1, new Uint8Array(8));
        },
        ErrorCode.PROTOCOL_ERROR,
        /PING on a stream/,
      ],
      [
        "SETTINGS on a stream",
        (c) => {
          c.open();
          c.send(FrameType.SETTINGS, 0, 1);
        },
        ErrorCode.PROTOCOL_ERROR,
        /SETTINGS on a stream/,
      ],
      [
        "SETTINGS ACK with a payload",
        (c) => {
          c.open();
          c.send(FrameType.SETTINGS, Flag.ACK, 0, new Uint8Array(6));
        },
        ErrorCode.FRAME_SIZE_ERROR,
        /ACK/,
      ],
      [
        "bad SETTINGS value",
        (c) => c.open([[SettingId.ENABLE_PUSH, 2]]),
        ErrorCode.PROTOCOL_ERROR,
        /ENABLE_PUSH/,
      ],
      [
        "connection WINDOW_UPDATE of 0",
        (c) => {
          c.open();
          c.send(FrameType.WINDOW_UPDATE, 0, 0, u32(0));
        },
        ErrorCode.PROTOCOL_ERROR,
        /of 0/,
      ],
      [
        "connection window over 2^31-1",
        (c) => {
          c.open();
          c.send(FrameType.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1));
        },
        ErrorCode.FLOW_CONTROL_ERROR,
        /over 2\^31-1/,
      ],
      [
        "PUSH_PROMISE from a client",
        (c) => {
          c.open();
          c.send(FrameType.PUSH_PROMISE, 0, 1, new Uint8Array(4));
        },
        ErrorCode.PROTOCOL_ERROR,
        /PUSH_PROMISE/,
      ],
      [
        "CONTINUATION without HEADERS",
        (c) => {
          c.open();
          c.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, c.block([[":method", "GET"]]));
        },
        ErrorCode.PROTOCOL_ERROR,
        /without HEADERS/,
      ],
      [
        "another frame inside a header block",
        (c) => {
          c.open();
          c.send(FrameType.HEADERS, 0, 1, c.block([[":method", "GET"]]));
          c.send(FrameType.PING, 0, 0, new Uint8Array(8));
        },
        ErrorCode.PROTOCOL_ERROR,
        /inside the header block/,
      ],
      [
        "a stream id below the last",
        (c) => {
          c.open();
          c.get(5);
          c.get(3);
        },
        ErrorCode.PROTOCOL_ERROR,
        /not above 5/,
      ],
      [
        "DATA on an idle stream",
        (c) => {
          c.open();
          c.send(FrameType.DATA, 0, 7, Uint8Array.of(1));
        },
        ErrorCode.PROTOCOL_ERROR,
        /idle stream/,
      ],
      [
        "RST_STREAM on an idle stream",
        (c) => {
          c.open();
          c.send(FrameType.RST_STREAM, 0, 9, u32(ErrorCode.CANCEL));
        },
        ErrorCode.PROTOCOL_ERROR,
        /idle stream/,
      ],
      [
        "a broken HPACK block",
        (c) => {
          c.open();
          c.send(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Uint8Array.of(0x80));
        },
        ErrorCode.COMPRESSION_ERROR,
        /index 0/,
      ],
      [
        "GOAWAY on a stream",
        (c) => {
          c.open();
          c.send(FrameType.GOAWAY, 0, 1, new Uint8Array(8));
        },
        ErrorCode.PROTOCOL_ERROR,
        /GOAWAY on a stream/,
      ],
    ];
  for (const [what, act, code, reason] of cases) {
    const h = harness();
    if (what === "first frame not SETTINGS") {
      h.session.receive(CLIENT_PREFACE);
      h.client.send(FrameType.PING, 0, 0, new Uint8Array(8));
      assert.equal(h.goaway()?.[1], ErrorCode.PROTOCOL_ERROR, what);
      assert.match(h.goaway()![2], /first frame/);
      continue;
    }
    act(h.client);
    const g = h.goaway();
    assert.ok(g, `${what}: GOAWAY sent`);
    assert.equal(g[1], code, what);
    assert.match(g[2], reason, what);
    assert.deepEqual(h.closed, { code, reason: g[2] }, what);
  }
});

Deno.test("session: stream errors reset one stream and keep the connection", () => {
  const cases: Array<[string, (c: ReturnType<typeof harness>["client"]) => void, number]> = [
    [
      "malformed request (uppercase name)",
      (c) => c.get(1, "/", true, [["X-Upper", "1"]]),
      ErrorCode.PROTOCOL_ERROR,
    ],
    ["body longer than content-length", (c) => {
      c.get(1, "/", false, [["content-length", "1"]]);
      c.send(FrameType.DATA, Flag.END_STREAM, 1, Uint8Array.of(1, 2));
    }, ErrorCode.PROTOCOL_ERROR],
    ["END_STREAM before content-length", (c) => {
      c.get(1, "/", false, [["content-length", "3"]]);
      c.send(FrameType.DATA, Flag.END_STREAM, 1, Uint8Array.of(1));
    }, ErrorCode.PROTOCOL_ERROR],
    ["DATA after END_STREAM", (c) => {
      c.get(1);
      c.send(FrameType.DATA, 0, 1, Uint8Array.of(1));
    }, ErrorCode.STREAM_CLOSED],
    ["stream WINDOW_UPDATE of 0", (c) => {
      c.get(1);
      c.send(FrameType.WINDOW_UPDATE, 0, 1, u32(0));
    }, ErrorCode.PROTOCOL_ERROR],
    ["stream window over 2^31-1", (c) => {
      c.get(1);
      c.send(FrameType.WINDOW_UPDATE, 0, 1, u32(2 ** 31 - 1));
    }, ErrorCode.FLOW_CONTROL_ERROR],
    ["DATA beyond the stream window", (c) => {
      c.get(1, "/", false);
      for (let i = 0; i < 5; i++) c.send(FrameType.DATA, 0, 1, new Uint8Array(16_000));
    }, ErrorCode.FLOW_CONTROL_ERROR],
    ["HEADERS depending on itself", (c) => {
      const block = c.block([[":method", "GET"], [":scheme", "http"], [":path", "/"]]);
      c.send(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.PRIORITY,
        1,
        Uint8Array.of(0, 0, 0, 1, 16, ...block),
      );
    }, ErrorCode.PROTOCOL_ERROR],
    ["trailers without END_STREAM", (c) => {
      c.get(1, "/", false);
      c.send(FrameType.HEADERS, Flag.END_HEADERS, 1, c.block([["x-trailer", "1"]]));
    }, ErrorCode.PROTOCOL_ERROR],
  ];
  for (const [what, act, code] of cases) {
    const h = harness();
    h.client.open();
    act(h.client);
    assert.equal(h.rst(1), code, what);
    assert.equal(h.goaway(), null, `${what}: the connection stays`);
    // positive control: the connection still serves a new stream
    h.client.get(11);
    assert.equal(h.requests.at(-1)?.stream, 11, what);
  }
});

Deno.test("session: request bodies and trailers reach the sink; consumption returns window", () => {
  const h = harness({ initialWindowSize: 1000, connectionWindowSize: 65_535 });
  h.client.open();
  h.client.get(1, "/upload", false);
  assert.equal(h.requests[0]!.end, false);
  h.client.send(FrameType.DATA, 0, 1, new Uint8Array(400));
  h.client.send(
    FrameType.DATA,
    Flag.PADDED,
    1,
    Uint8Array.of(10, ...new Uint8Array(100), ...new Uint8Array(10)),
  );
  assert.deepEqual(h.data.map((d) => d.bytes), [400, 100]);
  const updates = () =>
    h.sent.filter((f) => f.type === FrameType.WINDOW_UPDATE && f.stream === 1).length;
  assert.equal(updates(), 0, "11 octets of padding: below half the window");
  h.session.consumed(1, 500);
  assert.equal(updates(), 1, "half the stream window consumed: one WINDOW_UPDATE");
  h.client.send(
    FrameType.HEADERS,
    Flag.END_HEADERS | Flag.END_STREAM,
    1,
    h.client.block([["x-checksum", "abc"]]),
  );
  assert.deepEqual(h.data.at(-1), { stream: 1, bytes: 0, end: true });
  assert.equal(h.resets.length, 0);
});

Deno.test("session: sending waits for the client's window and says when it may go on", () => {
  const h = harness();
  h.client.open([[SettingId.INITIAL_WINDOW_SIZE, 10]]);
  h.client.get(1);
  h.session.respond(1, 200, [], [], false);
  assert.equal(h.session.sendData(1, new Uint8Array(25), true), false);
  const sentBytes = () =>
    h.sent.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
  assert.equal(sentBytes(), 10);
  h.client.send(FrameType.WINDOW_UPDATE, 0, 1, u32(5));
  assert.equal(sentBytes(), 15);
  assert.equal(h.session.openStreams, 1);
  // a larger initial window applies to the open stream at once
  h.client.send(
    FrameType.SETTINGS,
    0,
    0,
    settingsFrame([[SettingId.INITIAL_WINDOW_SIZE, 100]]).subarray(9),
  );
  assert.equal(sentBytes(), 25);
  assert.equal(h.sent.filter((f) => f.type === FrameType.DATA).at(-1)!.flags, Flag.END_STREAM);
  assert.equal(h.session.openStreams, 0);

  // without END_STREAM: writable() once the pending chunk is out
  const w = harness();
  w.client.open([[SettingId.INITIAL_WINDOW_SIZE, 4]]);
  w.client.get(1);
  w.session.respond(1, 200, [], [], false);
  assert.equal(w.session.sendData(1, new Uint8Array(8), false), false);
  assert.deepEqual(w.writable, []);
  w.client.send(FrameType.WINDOW_UPDATE, 0, 1, u32(4));
  assert.deepEqual(w.writable, [1]);
});

Deno.test("session: MAX_CONCURRENT_STREAMS refuses the stream past it", () => {
  const h = harness({ maxConcurrentStreams: 2 });
  h.client.open();
  h.client.get(1);
  h.client.get(3);
  h.client.get(5);
  assert.deepEqual(h.requests.map((r) => r.stream), [1, 3]);
  assert.equal(h.rst(5), ErrorCode.REFUSED_STREAM);
  h.session.respond(1, 204, [], [], true);
  h.client.get(7);
  assert.deepEqual(h.requests.map((r) => r.stream), [1, 3, 7], "a slot freed is reusable");
});

Deno.test("session: rapid reset (CVE-2023-44487) ends the connection; the same rate spread out does not", () => {
  const attack = harness({ maxResetsPerWindow: 100 });
  attack.client.open();
  for (let id = 1; id < 1000 && attack.goaway() === null; id += 2) {
    attack.client.get(id);
    attack.client.send(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL));
  }
  assert.equal(attack.goaway()?.[1], ErrorCode.ENHANCE_YOUR_CALM);
  assert.match(attack.goaway()![2], /reset/);
  assert.ok(attack.requests.length <= 102, `${attack.requests.length} requests before the GOAWAY`);

  const calm = harness({ maxResetsPerWindow: 100, rateWindowMs: 1000 });
  calm.client.open();
  for (let id = 1; id < 1000; id += 2) {
    calm.client.get(id);
    calm.client.send(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL));
    calm.advance(20); // 50 resets a second
  }
  assert.equal(calm.goaway(), null);
  assert.equal(calm.resets.length, 500);
});

Deno.test("session: a CONTINUATION flood is cut before decoding; a normal split block decodes", () => {
  const flood = harness({ maxHeaderBlockBytes: 4096, maxHeaderBlockFrames: 1000 });
  flood.client.open();
  flood.client.send(FrameType.HEADERS, 0, 1, flood.client.block([[":method", "GET"]]));
  for (let i = 0; i < 100 && flood.goaway() === null; i++) {
    flood.client.send(FrameType.CONTINUATION, 0, 1, new Uint8Array(100).fill(0x40));
  }
  assert.equal(flood.goaway()?.[1], ErrorCode.ENHANCE_YOUR_CALM);
  assert.match(flood.goaway()![2], /over 4096 octets/);

  const many = harness({ maxHeaderBlockFrames: 8 });
  many.client.open();
  many.client.send(FrameType.HEADERS, 0, 1, new Uint8Array(0));
  for (let i = 0; i < 20 && many.goaway() === null; i++) {
    many.client.send(FrameType.CONTINUATION, 0, 1, Uint8Array.of(0x82));
  }
  assert.equal(many.goaway()?.[1], ErrorCode.ENHANCE_YOUR_CALM);

  const fine = harness();
  fine.client.open();
  const block = fine.client.block([[":method", "GET"], [":scheme", "https"], [":path", "/split"], [
    "x-a",
    "1".repeat(50),
  ]]);
  fine.client.send(FrameType.HEADERS, Flag.END_STREAM, 1, block.subarray(0, 3));
  fine.client.send(FrameType.CONTINUATION, 0, 1, block.subarray(3, 20));
  fine.client.send(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(20));
  assert.equal(fine.requests[0]?.request.path, "/split");
});

Deno.test("session: an HPACK bomb gets 431 on its stream; the connection goes on", () => {
  const h = harness({ maxHeaderListSize: 8192 });
  h.client.open();
  const big = "v".repeat(4000);
  // insert a 4 KB value once, then reference it 100 times: 400 KB decoded. A literal with
  // indexing, name "b", a 4000-octet value (7-bit prefix: 127, then 3873 as 0xa1 0x1e)
  const bytes = [
    0x82,
    0x87,
    0x84,
    0x40,
    0x01,
    0x62,
    0x7f,
    0xa1,
    0x1e,
    ...new TextEncoder().encode(big),
  ];
  const refs = new Array(100).fill(0xbe);
  h.client.send(
    FrameType.HEADERS,
    Flag.END_HEADERS | Flag.END_STREAM,
    1,
    Uint8Array.from([...bytes, ...refs]),
  );
  assert.equal(h.requests.length, 0);
  const head = h.sent.find((f) => f.type === FrameType.HEADERS && f.stream === 1)!;
  const decoded = new HpackDecoder().decode(head.payload);
  assert.ok(!("error" in decoded));
  assert.equal(decoded.values[0], "431");
  assert.equal(h.goaway(), null);
  h.client.get(3);
  assert.equal(h.requests[0]?.stream, 3);
});

Deno.test("session: PING, SETTINGS, PRIORITY and empty-frame floods; normal rates pass", () => {
  const floods: Array<[string, (h: ReturnType<typeof harness>) => void, RegExp]> = [
    ["PING", (h) => h.client.send(FrameType.PING, 0, 0, new Uint8Array(8)), /control frames/],
    ["SETTINGS", (h) => h.client.send(FrameType.SETTINGS, 0, 0), /control frames/],
    [
      "PRIORITY",
      (h) => h.client.send(FrameType.PRIORITY, 0, 3, Uint8Array.of(0, 0, 0, 0, 16)),
      /control frames/,
    ],
    ["empty DATA", (h) => h.client.send(FrameType.DATA, 0, 1, new Uint8Array(0)), /empty frames/],
    ["WINDOW_UPDATE", (h) => h.client.send(FrameType.WINDOW_UPDATE, 0, 0, u32(1)), /WINDOW_UPDATE/],
  ];
  for (const [what, send, reason] of floods) {
    const h = harness({ maxControlFramesPerWindow: 200, maxEmptyFrames: 50 });
    h.client.open();
    h.client.get(1, "/", false);
    for (let i = 0; i < 1000 && h.goaway() === null; i++) send(h);
    assert.equal(h.goaway()?.[1], ErrorCode.ENHANCE_YOUR_CALM, what);
    assert.match(h.goaway()![2], reason, what);
    // the same number of frames spread over windows is fine
    const calm = harness({
      maxControlFramesPerWindow: 200,
      maxEmptyFrames: 50,
      rateWindowMs: 1000,
    });
    calm.client.open();
    calm.client.get(1, "/", false);
    for (let i = 0; i < 1000; i++) {
      if (what === "empty DATA" && i % 40 === 39) {
        calm.client.send(FrameType.DATA, 0, 1, Uint8Array.of(1));
      } else send(calm);
      calm.advance(10);
    }
    assert.equal(calm.goaway(), null, `${what} at a normal rate`);
  }
  const ping = harness();
  ping.client.open();
  ping.client.send(FrameType.PING, 0, 0, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  const ack = ping.sent.find((f) => f.type === FrameType.PING)!;
  assert.deepEqual([ack.flags, [...ack.payload]], [Flag.ACK, [1, 2, 3, 4, 5, 6, 7, 8]]);
});

Deno.test("session: goAway() drains: open streams finish, new ones are refused, then it closes", () => {
  const h = harness();
  h.client.open();
  h.client.get(1);
  h.session.goAway();
  assert.deepEqual(h.goaway(), [1, ErrorCode.NO_ERROR, ""]);
  h.client.get(3);
  assert.equal(h.rst(3), ErrorCode.REFUSED_STREAM);
  assert.equal(h.closed, undefined, "stream 1 is still open");
  h.session.respond(1, 200, ["content-length"], ["0"], true);
  assert.equal(h.closed, null, "closed cleanly once the last stream ended");
  assert.equal(h.requests.length, 1);
});

Deno.test("session: frames in flight on a stream this side reset are ignored; flow control still counted", () => {
  const h = harness({ connectionWindowSize: 65_535 });
  h.client.open();
  h.client.get(1, "/", false);
  h.session.resetStream(1, ErrorCode.INTERNAL_ERROR);
  for (let i = 0; i < 3; i++) h.client.send(FrameType.DATA, 0, 1, new Uint8Array(16_000));
  assert.equal(h.goaway(), null);
  const connUpdates = h.sent.filter((f) => f.type === FrameType.WINDOW_UPDATE && f.stream === 0);
  assert.equal(connUpdates.length, 1, "the dropped octets went back to the connection window");
  // after the client resets a stream itself, more DATA on it is an error
  h.client.get(3, "/", false);
  h.client.send(FrameType.RST_STREAM, 0, 3, u32(ErrorCode.CANCEL));
  assert.deepEqual(h.resets.at(-1), {
    stream: 3,
    code: ErrorCode.CANCEL,
    reason: "reset by the client",
  });
  h.client.send(FrameType.DATA, 0, 3, Uint8Array.of(1));
  assert.equal(h.goaway()?.[1], ErrorCode.STREAM_CLOSED);
});

Deno.test("session: preface and frames split across reads at every offset", () => {
  const whole: number[] = [...CLIENT_PREFACE, ...settingsFrame([])];
  const enc = new HpackEncoder();
  const block = enc.encode([":method", ":scheme", ":path"], ["GET", "http", "/x"]);
  whole.push(...frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block));
  whole.push(...windowUpdateFrame(0, 100));
  const bytes = Uint8Array.from(whole);
  for (let cut = 1; cut < bytes.length; cut++) {
    const h = harness();
    h.session.receive(bytes.slice(0, cut));
    h.session.receive(bytes.slice(cut));
    assert.equal(h.requests[0]?.request.path, "/x", `cut at ${cut}`);
    assert.equal(h.goaway(), null);
  }
});

Deno.test("session: trailers end a response, after any data still waiting for window", () => {
  const h = harness();
  h.client.open([[SettingId.INITIAL_WINDOW_SIZE, 4]]);
  h.client.get(1);
  h.session.respond(1, 200, [], [], false);
  assert.equal(h.session.sendData(1, new Uint8Array(6), false), false);
  h.session.sendTrailers(1, ["grpc-status"], ["0"]);
  const last = () => h.sent.at(-1)!;
  assert.equal(last().type, FrameType.DATA, "the trailers wait behind the data");
  h.client.send(FrameType.WINDOW_UPDATE, 0, 1, u32(10));
  assert.deepEqual([last().type, last().flags], [
    FrameType.HEADERS,
    Flag.END_HEADERS | Flag.END_STREAM,
  ]);
  const trailers = new HpackDecoder().decode(last().payload);
  assert.ok(!("error" in trailers));
  assert.deepEqual([trailers.names, trailers.values], [["grpc-status"], ["0"]]);
  assert.equal(h.session.openStreams, 0);
});
