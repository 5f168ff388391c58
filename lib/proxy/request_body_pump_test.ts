import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { RequestHead } from "../http1/head.ts";
import { RequestBodyPump } from "./request_body_pump.ts";
import { Fault } from "./upstream_fault.ts";
import type { UpstreamConnection } from "./upstream_pool.ts";

/** The pump's collaborators as fakes that record what happens to them. */
function fixture(req: Partial<RequestHead>, maxBodyBytes = 0) {
  const events = { complete: 0, faults: [] as [Fault, string][], pauses: 0, resumes: 0 };
  const owner = {
    requestBodyComplete: () => void events.complete++,
    requestBodyFault: (f: Fault, reason: string) => void events.faults.push([f, reason]),
  };
  const client = {
    pauseReading: () => void events.pauses++,
    resumeReading: () => void events.resumes++,
  };
  const head = { chunked: false, contentLength: -1, ...req } as RequestHead;
  const pump = new RequestBodyPump(owner, client, head, maxBodyBytes);
  return { pump, events };
}

/** An upstream connection that records its writes; `full` makes write() report a full socket. */
function fakeUpstream() {
  const writes: Buffer[] = [];
  const up = {
    full: false,
    write(data: Uint8Array | string): boolean {
      writes.push(typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data));
      return !up.full;
    },
    socket: {
      cork() {},
      uncork() {},
      get writableNeedDrain() {
        return up.full;
      },
    },
    text: () => Buffer.concat(writes).toString("latin1"),
  };
  return up;
}

const asConn = (up: ReturnType<typeof fakeUpstream>) => up as unknown as UpstreamConnection;
const b = (s: string) => Buffer.from(s, "latin1");

Deno.test("RequestBodyPump relays a Content-Length body and counts what was body", () => {
  const { pump, events } = fixture({ contentLength: 10 });
  const up = fakeUpstream();
  pump.attach(asConn(up), "POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n");
  assert.equal(pump.sent, false); // only the head so far
  assert.equal(pump.feed(b("xxhello"), 2), 5); // from the offset on
  assert.equal(pump.sent, true);
  assert.equal(pump.done, false);
  assert.equal(pump.feed(b("worldGET / HTTP/1.1\r\n"), 0), 5); // the rest is the next request
  assert.equal(pump.done, true);
  assert.equal(events.complete, 1);
  assert.equal(pump.feed(b("more"), 0), 0); // nothing after the end is body
  assert.equal(up.text(), "POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\nhelloworld");
  assert.deepEqual(events.faults, []);
});

Deno.test("RequestBodyPump buffers body bytes that arrive before the upstream connection", () => {
  const { pump, events } = fixture({ contentLength: 5 });
  assert.equal(pump.feed(b("hel"), 0), 3);
  assert.equal(pump.feed(b("lo"), 0), 2);
  assert.equal(events.complete, 1);
  const up = fakeUpstream();
  pump.attach(asConn(up), "PUT /x HTTP/1.1\r\n\r\n");
  assert.equal(up.text(), "PUT /x HTTP/1.1\r\n\r\nhello"); // head and body in order
  assert.equal(pump.sent, true);
});

Deno.test("RequestBodyPump decodes a chunked body strictly and re-encodes it", () => {
  const { pump, events } = fixture({ chunked: true });
  const up = fakeUpstream();
  pump.attach(asConn(up), "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n");
  // chunk extensions and trailers do not reach the backend; a chunk split across reads is fine
  const wire = "5;ext=1\r\nhel";
  assert.equal(pump.feed(b(wire), 0), wire.length);
  const rest = "lo\r\nA\r\n0123456789\r\n0\r\ntrailer: x\r\n\r\n";
  assert.equal(pump.feed(b(rest + "NEXT"), 0), rest.length);
  assert.equal(pump.done, true);
  assert.equal(events.complete, 1);
  assert.equal(
    up.text(),
    "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n" +
      "3\r\nhel\r\n2\r\nlo\r\na\r\n0123456789\r\n0\r\n\r\n",
  );
});

Deno.test("RequestBodyPump reports a malformed chunked body as a bad request body", () => {
  const { pump, events } = fixture({ chunked: true });
  pump.attach(asConn(fakeUpstream()), "POST / HTTP/1.1\r\n\r\n");
  assert.equal(pump.feed(b("zz\r\nhello\r\n"), 0), -1);
  assert.equal(events.faults.length, 1);
  assert.equal(events.faults[0]![0], Fault.BadRequestBody);
  assert.equal(events.complete, 0);
});

Deno.test("RequestBodyPump: a chunked body over max_body_bytes is a BodyTooLarge fault (the 413 path)", () => {
  const { pump, events } = fixture({ chunked: true }, 8);
  const up = fakeUpstream();
  pump.attach(asConn(up), "POST / HTTP/1.1\r\n\r\n");
  assert.equal(pump.feed(b("5\r\nhello\r\n"), 0), 10); // 5 bytes: within the limit
  assert.deepEqual(events.faults, []);
  assert.equal(pump.feed(b("5\r\nworld\r\n"), 0), -1); // 10 bytes: over
  assert.deepEqual(events.faults, [[Fault.BodyTooLarge, "request body too large"]]);
  assert.equal(events.complete, 0);
  // the control: exactly at the limit passes
  const at = fixture({ chunked: true }, 10);
  at.pump.attach(asConn(fakeUpstream()), "POST / HTTP/1.1\r\n\r\n");
  assert.equal(at.pump.feed(b("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), 0), 25);
  assert.deepEqual(at.events.faults, []);
  assert.equal(at.events.complete, 1);
});

Deno.test("RequestBodyPump pauses the client on a full upstream socket and resumes on drain", () => {
  const { pump, events } = fixture({ contentLength: 9 });
  const up = fakeUpstream();
  pump.attach(asConn(up), "POST / HTTP/1.1\r\n\r\n");
  up.full = true;
  pump.feed(b("abc"), 0);
  assert.equal(events.pauses, 1);
  pump.feed(b("def"), 0); // still waiting: no second pause
  assert.equal(events.pauses, 1);
  up.full = false;
  pump.onUpstreamDrain();
  assert.equal(events.resumes, 1);
  pump.onUpstreamDrain(); // a drain nobody waited for resumes nothing
  assert.equal(events.resumes, 1);
  pump.feed(b("ghi"), 0);
  assert.equal(events.pauses, 1);
  assert.equal(up.text(), "POST / HTTP/1.1\r\n\r\nabcdefghi");
});

Deno.test("RequestBodyPump pauses the client when too much body waits for a connection, resumes on attach", () => {
  const size = 300 * 1024;
  const { pump, events } = fixture({ contentLength: size });
  pump.feed(Buffer.alloc(100 * 1024, 0x61), 0);
  assert.equal(events.pauses, 0); // a little buffering is fine
  pump.feed(Buffer.alloc(200 * 1024, 0x62), 0);
  assert.ok(events.pauses >= 1);
  const up = fakeUpstream();
  pump.attach(asConn(up), "POST / HTTP/1.1\r\n\r\n");
  assert.equal(events.resumes, 1);
  assert.equal(up.text().length, "POST / HTTP/1.1\r\n\r\n".length + size);
});

Deno.test("RequestBodyPump after stop() reads the body to its end and drops it", () => {
  const { pump, events } = fixture({ contentLength: 6 });
  const up = fakeUpstream();
  pump.attach(asConn(up), "POST / HTTP/1.1\r\n\r\n");
  pump.feed(b("abc"), 0);
  pump.stop();
  assert.equal(pump.feed(b("defGET"), 0), 3); // still finds the request's end
  assert.equal(events.complete, 1);
  assert.equal(up.text(), "POST / HTTP/1.1\r\n\r\nabc");
});
