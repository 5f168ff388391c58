import assert from "node:assert/strict";
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  frame,
  FrameType,
  goawayFrame,
  headersFrames,
  readFrameHeader,
  rstStreamFrame,
  SettingId,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import {
  type ClientSessionLimits,
  DEFAULT_CLIENT_LIMITS,
  H2ClientSession,
} from "./client_session.ts";

interface Sent {
  type: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

type Event =
  | { kind: "response"; stream: number; status: number; fields: string[]; end: boolean }
  | { kind: "data"; stream: number; text: string; end: boolean }
  | { kind: "trailers"; stream: number; fields: string[] }
  | { kind: "reset"; stream: number; code: number; retrySafe: boolean }
  | { kind: "writable"; stream: number };

const REQUEST = [":method", ":scheme", ":path", ":authority", "content-type", "te"];
const VALUES = ["POST", "http", "/pkg.Svc/Call", "backend", "application/grpc", "trailers"];

/** A client session with a recording sink, and a server that speaks frames to it. */
function harness(limits: Partial<ClientSessionLimits> = {}) {
  const sent: Sent[] = [];
  const events: Event[] = [];
  let closed: { code: number; reason: string } | null | undefined = undefined;
  let prefaced = false;
  const session = new H2ClientSession({
    send(bytes) {
      let p = 0;
      if (!prefaced) {
        assert.deepEqual(bytes, CLIENT_PREFACE);
        prefaced = true;
        return;
      }
      while (p < bytes.length) {
        const h = readFrameHeader(bytes, p);
        sent.push({ ...h, payload: bytes.slice(p + 9, p + 9 + h.length) });
        p += 9 + h.length;
      }
    },
    response: (stream, status, names, values, end) =>
      events.push({ kind: "response", stream, status, fields: pairs(names, values), end }),
    data: (stream, chunk, end) =>
      events.push({ kind: "data", stream, text: new TextDecoder().decode(chunk), end }),
    trailers: (stream, names, values) =>
      events.push({ kind: "trailers", stream, fields: pairs(names, values) }),
    reset: (stream, code, _reason, retrySafe) =>
      events.push({ kind: "reset", stream, code, retrySafe }),
    writable: (stream) => events.push({ kind: "writable", stream }),
    closed: (e) => (closed = e),
  }, { ...DEFAULT_CLIENT_LIMITS, ...limits });
  session.start();
  const encoder = new HpackEncoder();
  const server = {
    settings(values: Array<[number, number]> = []) {
      session.receive(settingsFrame(values));
    },
    headers(stream: number, names: string[], values: string[], end: boolean) {
      session.receive(headersFrames(stream, encoder.encode(names, values), end, 16_384));
    },
    data(stream: number, text: string, end: boolean) {
      session.receive(
        frame(FrameType.DATA, end ? Flag.END_STREAM : 0, stream, new TextEncoder().encode(text)),
      );
    },
    send(bytes: Uint8Array) {
      session.receive(bytes);
    },
  };
  const decoder = new HpackDecoder();
  /** Frames sent of a type, header blocks decoded. */
  const of = (type: number) => sent.filter((f) => f.type === type);
  const decodedHeaders = () =>
    of(FrameType.HEADERS).map((f) => {
      const d = decoder.decode(f.payload);
      assert.ok(!("error" in d));
      return pairs(d.names, d.values);
    });
  return {
    session,
    server,
    sent,
    events,
    of,
    decodedHeaders,
    get closed() {
      return closed;
    },
  };
}

function pairs(names: string[], values: string[]): string[] {
  return names.map((n, i) => `${n}: ${values[i]}`);
}

Deno.test("H2ClientSession starts with the preface, SETTINGS (push off, windows) and a connection WINDOW_UPDATE", () => {
  const h = harness();
  const [settings, update] = h.sent;
  assert.equal(settings!.type, FrameType.SETTINGS);
  const ids: number[] = [];
  for (let p = 0; p < settings!.payload.length; p += 6) {
    ids.push((settings!.payload[p]! << 8) | settings!.payload[p + 1]!);
  }
  assert.deepEqual(ids, [
    SettingId.ENABLE_PUSH,
    SettingId.INITIAL_WINDOW_SIZE,
    SettingId.MAX_HEADER_LIST_SIZE,
  ]);
  assert.equal(update!.type, FrameType.WINDOW_UPDATE);
  assert.equal(update!.stream, 0);
  // the server's SETTINGS is acknowledged
  h.server.settings([]);
  assert.equal(h.sent.at(-1)!.type, FrameType.SETTINGS);
  assert.equal(h.sent.at(-1)!.flags, Flag.ACK);
});

Deno.test("H2ClientSession: a unary call: HEADERS, DATA with END_STREAM, response head, body and trailers", () => {
  const h = harness();
  const id = h.session.open(REQUEST, VALUES, false);
  assert.equal(id, 1);
  assert.deepEqual(h.decodedHeaders(), [pairs(REQUEST, VALUES)]);
  assert.equal(h.session.sendData(id, new TextEncoder().encode("req"), true), true);
  const data = h.of(FrameType.DATA);
  assert.equal(data.length, 1);
  assert.equal(data[0]!.flags, Flag.END_STREAM);
  h.server.headers(1, [":status", "content-type"], ["200", "application/grpc"], false);
  h.server.data(1, "resp", false);
  h.server.headers(1, ["grpc-status", "grpc-message"], ["0", "OK"], true);
  assert.deepEqual(h.events, [
    {
      kind: "response",
      stream: 1,
      status: 200,
      fields: ["content-type: application/grpc"],
      end: false,
    },
    { kind: "data", stream: 1, text: "resp", end: false },
    { kind: "trailers", stream: 1, fields: ["grpc-status: 0", "grpc-message: OK"] },
  ]);
  assert.equal(h.session.active, 0);
  // a second stream gets the next odd id
  assert.equal(h.session.open(REQUEST, VALUES, true), 3);
});

Deno.test("H2ClientSession: a trailers-only response (HEADERS with END_STREAM) ends the stream; 1xx heads are skipped", () => {
  const h = harness();
  const id = h.session.open(REQUEST, VALUES, true);
  h.server.headers(id, [":status"], ["100"], false);
  h.server.headers(id, [":status", "grpc-status"], ["200", "5"], true);
  assert.deepEqual(h.events, [
    { kind: "response", stream: 1, status: 200, fields: ["grpc-status: 5"], end: true },
  ]);
  assert.equal(h.session.active, 0);
});

Deno.test("H2ClientSession: a response head split over CONTINUATION frames", () => {
  const h = harness();
  const id = h.session.open(REQUEST, VALUES, true);
  const block = new HpackEncoder().encode([":status", "x-long"], ["200", "v".repeat(100)]);
  h.server.send(frame(FrameType.HEADERS, 0, id, block.subarray(0, 10)));
  assert.deepEqual(h.events, []);
  h.server.send(frame(FrameType.CONTINUATION, Flag.END_HEADERS, id, block.subarray(10)));
  // (the HEADERS frame carried no END_STREAM: the stream stays open for a body)
  assert.equal(h.events.length, 1);
  assert.deepEqual(h.events[0], {
    kind: "response",
    stream: id,
    status: 200,
    fields: [`x-long: ${"v".repeat(100)}`],
    end: false,
  });
});

Deno.test("H2ClientSession honours SETTINGS_MAX_CONCURRENT_STREAMS (room and canOpen)", () => {
  const h = harness();
  assert.equal(h.session.room, Infinity);
  h.server.settings([[SettingId.MAX_CONCURRENT_STREAMS, 2]]);
  assert.equal(h.session.room, 2);
  h.session.open(REQUEST, VALUES, true);
  h.session.open(REQUEST, VALUES, true);
  assert.equal(h.session.canOpen, false);
  assert.equal(h.session.room, 0);
  assert.throws(() => h.session.open(REQUEST, VALUES, true), /no stream can be opened/);
  h.server.headers(1, [":status"], ["200"], true);
  assert.equal(h.session.canOpen, true);
  assert.equal(h.session.room, 1);
});

Deno.test("H2ClientSession flow control out: body waits for the stream and connection windows, writable when open", () => {
  const h = harness();
  h.server.settings([[SettingId.INITIAL_WINDOW_SIZE, 10]]);
  const id = h.session.open(REQUEST, VALUES, false);
  const body = new Uint8Array(25).fill(97);
  assert.equal(h.session.sendData(id, body, true), false);
  assert.deepEqual(h.of(FrameType.DATA).map((f) => [f.payload.length, f.flags]), [[10, 0]]);
  h.server.send(windowUpdateFrame(id, 10));
  assert.deepEqual(h.of(FrameType.DATA).map((f) => [f.payload.length, f.flags]), [[10, 0], [
    10,
    0,
  ]]);
  assert.deepEqual(h.events, []);
  // a SETTINGS raising the initial window opens the stream's window too
  h.server.settings([[SettingId.INITIAL_WINDOW_SIZE, 100]]);
  assert.deepEqual(h.of(FrameType.DATA).at(-1)!.payload.length, 5);
  assert.equal(h.of(FrameType.DATA).at(-1)!.flags, Flag.END_STREAM);
  assert.deepEqual(h.events, [{ kind: "writable", stream: id }]);
});

Deno.test("H2ClientSession flow control out: the connection window (65,535 at first) bounds all streams", () => {
  const h = harness();
  h.server.settings([[SettingId.INITIAL_WINDOW_SIZE, 1 << 20]]);
  const a = h.session.open(REQUEST, VALUES, false);
  assert.equal(h.session.sendData(a, new Uint8Array(70_000), true), false);
  const sentBytes = () => h.of(FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
  assert.equal(sentBytes(), 65_535);
  assert.ok(h.of(FrameType.DATA).every((f) => f.payload.length <= 16_384), "max frame size kept");
  h.server.send(windowUpdateFrame(0, 10_000));
  assert.equal(sentBytes(), 70_000);
  assert.deepEqual(h.events, [{ kind: "writable", stream: a }]);
});

Deno.test("H2ClientSession flow control in: windows reopen only as bytes are consumed; overrun is an error", () => {
  const h = harness({ initialWindowSize: 100, connectionWindowSize: 65_535 });
  const id = h.session.open(REQUEST, VALUES, true);
  h.server.headers(id, [":status"], ["200"], false);
  h.server.data(id, "x".repeat(60), false);
  const updates = () => h.of(FrameType.WINDOW_UPDATE).filter((f) => f.stream === id);
  assert.equal(updates().length, 0, "nothing consumed yet: no WINDOW_UPDATE");
  h.session.consumed(id, 60);
  assert.equal(updates().length, 1);
  // the peer sends past the window (40 left + 60 reopened = 100; 101 overruns)
  h.server.data(id, "y".repeat(101), false);
  assert.deepEqual(h.events.at(-1), {
    kind: "reset",
    stream: id,
    code: ErrorCode.FLOW_CONTROL_ERROR,
    retrySafe: false,
  });
  assert.equal(h.of(FrameType.RST_STREAM).length, 1);
});

Deno.test("H2ClientSession: RST_STREAM from the backend; REFUSED_STREAM is safe to retry, others are not", () => {
  const h = harness();
  const a = h.session.open(REQUEST, VALUES, true);
  const b = h.session.open(REQUEST, VALUES, true);
  h.server.send(rstStreamFrame(a, ErrorCode.REFUSED_STREAM));
  h.server.send(rstStreamFrame(b, ErrorCode.INTERNAL_ERROR));
  assert.deepEqual(h.events, [
    { kind: "reset", stream: a, code: ErrorCode.REFUSED_STREAM, retrySafe: true },
    { kind: "reset", stream: b, code: ErrorCode.INTERNAL_ERROR, retrySafe: false },
  ]);
  assert.equal(h.session.active, 0);
  assert.equal(h.closed, undefined, "the connection stays");
});

Deno.test("H2ClientSession: GOAWAY ends streams above last-stream-id as never processed; the rest finish, then it closes", () => {
  const h = harness();
  const a = h.session.open(REQUEST, VALUES, true);
  const b = h.session.open(REQUEST, VALUES, true);
  const c = h.session.open(REQUEST, VALUES, true);
  h.server.send(goawayFrame(a, ErrorCode.NO_ERROR));
  assert.deepEqual(h.events, [
    { kind: "reset", stream: b, code: ErrorCode.NO_ERROR, retrySafe: true },
    { kind: "reset", stream: c, code: ErrorCode.NO_ERROR, retrySafe: true },
  ]);
  assert.equal(h.session.canOpen, false);
  assert.equal(h.closed, undefined);
  h.server.headers(a, [":status"], ["200"], true);
  assert.equal(h.events.at(-1)!.kind, "response");
  assert.equal(h.closed, null, "closed cleanly once the last stream ended");
});

Deno.test("H2ClientSession: a lost connection ends open streams (not retry-safe); cancel sends RST_STREAM CANCEL", () => {
  const h = harness();
  const a = h.session.open(REQUEST, VALUES, true);
  const b = h.session.open(REQUEST, VALUES, true);
  h.session.cancel(a);
  assert.deepEqual(
    h.of(FrameType.RST_STREAM).map((f) => [f.stream, f.payload[3]]),
    [[a, ErrorCode.CANCEL]],
  );
  // a cancelled stream's late frames are ignored, its DATA still credited to the connection
  h.server.headers(a, [":status"], ["200"], false);
  h.server.data(a, "late", true);
  assert.deepEqual(h.events, []);
  h.session.lost("socket closed");
  assert.deepEqual(h.events, [
    { kind: "reset", stream: b, code: ErrorCode.CANCEL, retrySafe: false },
  ]);
  assert.equal(h.session.closed, true);
});

Deno.test("H2ClientSession: PING answered; protocol violations are connection errors with GOAWAY", () => {
  const h = harness();
  h.server.send(frame(FrameType.PING, 0, 0, new Uint8Array(8).fill(7)));
  const ack = h.of(FrameType.PING)[0]!;
  assert.equal(ack.flags, Flag.ACK);
  assert.deepEqual([...ack.payload], [7, 7, 7, 7, 7, 7, 7, 7]);

  const table: [string, Uint8Array, number][] = [
    [
      "PUSH_PROMISE",
      frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, new Uint8Array(4)),
      ErrorCode.PROTOCOL_ERROR,
    ],
    ["DATA on stream 0", frame(FrameType.DATA, 0, 0, new Uint8Array(1)), ErrorCode.PROTOCOL_ERROR],
    [
      "bad HPACK",
      frame(
        FrameType.HEADERS,
        Flag.END_HEADERS,
        1,
        new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      ),
      ErrorCode.COMPRESSION_ERROR,
    ],
    [
      "oversized frame",
      frame(FrameType.DATA, 0, 1, new Uint8Array(16_385)),
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    ["connection window overflow", windowUpdateFrame(0, 2 ** 31 - 1), ErrorCode.FLOW_CONTROL_ERROR],
  ];
  for (const [what, bytes, code] of table) {
    const c = harness();
    c.session.open(REQUEST, VALUES, true);
    c.server.send(bytes);
    const goaway = c.of(FrameType.GOAWAY);
    assert.equal(goaway.length, 1, what);
    assert.equal(goaway[0]!.payload[7], code, what);
    assert.equal(c.closed?.code, code, what);
    assert.deepEqual(c.events.map((e) => e.kind), ["reset"], what);
    assert.equal(c.session.canOpen, false, what);
  }
});

Deno.test("H2ClientSession: frames split across reads are reassembled", () => {
  const h = harness();
  const id = h.session.open(REQUEST, VALUES, true);
  const bytes = new Uint8Array([
    ...headersFrames(id, new HpackEncoder().encode([":status"], ["200"]), false, 16_384),
    ...frame(FrameType.DATA, Flag.END_STREAM, id, new TextEncoder().encode("hello")),
  ]);
  for (const b of bytes) h.server.send(new Uint8Array([b]));
  assert.deepEqual(h.events.map((e) => e.kind), ["response", "data"]);
  assert.deepEqual(h.events[1], { kind: "data", stream: id, text: "hello", end: true });
});

Deno.test("H2ClientSession.shutdown sends GOAWAY and closes once its streams end", () => {
  const h = harness();
  const id = h.session.open(REQUEST, VALUES, true);
  h.session.shutdown();
  assert.equal(h.of(FrameType.GOAWAY).length, 1);
  assert.equal(h.session.canOpen, false);
  assert.equal(h.closed, undefined);
  h.server.headers(id, [":status"], ["204"], true);
  assert.equal(h.closed, null);
});

Deno.test("H2ClientSession: malformed response fields (CR/LF/NUL in a value, uppercase or pseudo names) reset the stream", () => {
  const table: [string[], string[], boolean][] = [
    [[":status", "x-a"], ["200", "ok\r\nx-injected: 1"], false],
    [[":status", "x-a"], ["200", "nul\0"], false],
    [[":status", "X-Upper"], ["200", "v"], false],
    [[":status", ":path"], ["200", "/"], false],
    [[":status", "x-a"], ["200", "tab\tand spaces are fine"], true],
  ];
  for (const [names, values, ok] of table) {
    const h = harness();
    const id = h.session.open(REQUEST, VALUES, true);
    h.server.headers(id, names, values, true);
    assert.equal(h.events[0]!.kind, ok ? "response" : "reset", JSON.stringify(values));
    if (!ok) assert.equal(h.of(FrameType.RST_STREAM).length, 1);
  }
  // in trailers too
  const h = harness();
  const id = h.session.open(REQUEST, VALUES, true);
  h.server.headers(id, [":status"], ["200"], false);
  h.server.headers(id, ["grpc-message"], ["a\nb"], true);
  assert.deepEqual(h.events.map((e) => e.kind), ["response", "reset"]);
});
