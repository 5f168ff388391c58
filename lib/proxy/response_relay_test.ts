import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { parseRequestHead, type RequestHead } from "../http1/head.ts";
import { silentLogger } from "../log.ts";
import type { ClientSide } from "./client_side.ts";
import { DEFAULT_LIMITS, type ProxyContext } from "./context.ts";
import { type RelayOwner, ResponseRelay } from "./response_relay.ts";
import type { UpstreamConnection } from "./upstream_pool.ts";

function request(text: string): RequestHead {
  const h = parseRequestHead(text, DEFAULT_LIMITS);
  if ("error" in h) assert.fail(h.reason);
  return h;
}

/** Runs `chunks` from a backend through a relay; returns what the client got and the verdicts. */
function relay(
  req: RequestHead,
  chunks: string[],
  opts: { bodyRead?: boolean; end?: boolean; discard?: number[] } = {},
) {
  const out: string[] = [];
  const events: string[] = [];
  const client = {
    clientIp: "10.0.0.1",
    closing: false,
    write: (d: Uint8Array | string) => {
      out.push(typeof d === "string" ? d : Buffer.from(d).toString("latin1"));
      return true;
    },
  } as ClientSide;
  const owner: RelayOwner = {
    requestBodyRead: opts.bodyRead ?? true,
    backendAddress: "127.0.0.1:1",
    clientHead: (h) => h,
    requestId: null,
    answerDiscarded: (h, _framing, received) => {
      events.push(`asked ${h.status}`);
      if (!opts.discard?.includes(h.status)) return false;
      events.push(`discarded ${h.status} with ${received} body bytes`);
      return true;
    },
    responseHead: (s) => events.push(`head ${s}`),
    badResponse: (r) => events.push(`bad: ${r}`),
    connectionLost: (r) => events.push(`lost: ${r}`),
    upgraded: (h) => events.push(`upgraded ${h.status}`),
    responseDone: (k, r) => events.push(`done keepClient=${k} reuse=${r}`),
    responseBroken: () => events.push("broken"),
  };
  const ctx = { limits: DEFAULT_LIMITS, log: silentLogger, draining: false } as ProxyContext;
  const r = new ResponseRelay(owner, ctx, client, req);
  r.attach({ socket: { pause() {}, resume() {} } } as unknown as UpstreamConnection);
  for (const c of chunks) r.data(Buffer.from(c, "latin1"));
  if (opts.end) r.ended();
  return { text: out.join(""), events };
}

const GET = request("GET / HTTP/1.1\r\nHost: a");
const GET10 = request("GET / HTTP/1.0");
const HEAD = request("HEAD / HTTP/1.1\r\nHost: a");
const TE = request("GET / HTTP/1.1\r\nHost: a\r\nTE: trailers");
const CONTINUE = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue");

/** [name, request, backend chunks, options, client bytes, events] */
const CASES: [
  string,
  RequestHead,
  string[],
  { bodyRead?: boolean; end?: boolean; discard?: number[] },
  string,
  string[],
][] = [
  [
    "a 5xx the owner discards (retry.on_status) sends the client nothing",
    GET,
    ["HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy\n"],
    { discard: [503] },
    "",
    ["asked 503", "discarded 503 with 5 body bytes"],
  ],
  [
    "a 5xx the owner keeps is relayed as any answer",
    GET,
    ["HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno"],
    { discard: [503] },
    "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\nno",
    ["asked 500", "head 500", "done keepClient=true reuse=true"],
  ],
  [
    "the owner is asked about no status below 500 (nothing more on the common path)",
    GET,
    ["HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno"],
    { discard: [404] },
    "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno",
    ["head 404", "done keepClient=true reuse=true"],
  ],
  [
    "a length-framed response passes through in one write",
    GET,
    ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"],
    {},
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    ["head 200", "done keepClient=true reuse=true"],
  ],
  [
    "a head split across reads is reassembled",
    GET,
    ["HTTP/1.1 200 OK\r\nConte", "nt-Length: 2\r\n\r", "\nh", "i"],
    {},
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    ["head 200", "done keepClient=true reuse=true"],
  ],
  [
    "bytes after the declared end: relayed response, connection not reused",
    GET,
    ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiXX"],
    {},
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    ["head 200", "done keepClient=true reuse=false"],
  ],
  [
    "chunked is decoded and re-encoded",
    GET,
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\n\r\n"],
    {},
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ["head 200", "done keepClient=true reuse=true"],
  ],
  [
    "trailers go to a client that sent TE: trailers",
    TE,
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n"],
    {},
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n",
    ["head 200", "done keepClient=true reuse=true"],
  ],
  [
    "...and not to one that did not",
    GET,
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n"],
    {},
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
    ["head 200", "done keepClient=true reuse=true"],
  ],
  [
    "a garbled chunked start with the head is a clean 502",
    GET,
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    {},
    "",
    ["bad: bad chunked body: invalid chunk size"],
  ],
  [
    "a chunked fault after the head cuts the response",
    GET,
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\n"],
    {},
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
    ["head 200", "broken"],
  ],
  [
    "close-delimited becomes chunked for HTTP/1.1",
    GET,
    ["HTTP/1.1 200 OK\r\n\r\nab", "c"],
    { end: true },
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
    ["head 200", "done keepClient=true reuse=false"],
  ],
  [
    "close-delimited stays close-delimited for HTTP/1.0",
    GET10,
    ["HTTP/1.1 200 OK\r\n\r\nabc"],
    { end: true },
    "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc",
    ["head 200", "done keepClient=false reuse=false"],
  ],
  [
    "HEAD keeps the length and sends no body",
    HEAD,
    ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"],
    {},
    "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n",
    ["head 200", "done keepClient=true reuse=true"],
  ],
  [
    "a 204 announcing a body is relayed bare and its connection dropped",
    GET,
    ["HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"],
    {},
    "HTTP/1.1 204 No Content\r\n\r\n",
    ["head 204", "done keepClient=true reuse=false"],
  ],
  [
    "an early answer before the request body was read closes both sides",
    GET,
    ["HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"],
    { bodyRead: false },
    "HTTP/1.1 413 Payload Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    ["head 413", "done keepClient=false reuse=false"],
  ],
  [
    "100 Continue is relayed once",
    CONTINUE,
    [
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ],
    {},
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    ["head 200", "done keepClient=true reuse=true"],
  ],
  [
    "a 101 nobody asked for is a bad response",
    GET,
    ["HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"],
    {},
    "",
    ["bad: 101 without an upgrade request"],
  ],
  [
    "a close before the head is a lost connection",
    GET,
    ["HTTP/1.1 200 OK\r\n"],
    { end: true },
    "",
    ["lost: backend closed the connection before responding"],
  ],
  [
    "a close mid-body cuts the response",
    GET,
    ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"],
    { end: true },
    "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab",
    ["head 200", "broken"],
  ],
  [
    "a backend's Connection: close keeps the client but not the upstream",
    GET,
    ["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"],
    {},
    "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx",
    ["head 200", "done keepClient=true reuse=false"],
  ],
];

for (const [name, req, chunks, opts, text, events] of CASES) {
  Deno.test(`ResponseRelay: ${name}`, () => {
    const got = relay(req, chunks, opts);
    assert.equal(got.text, text);
    assert.deepEqual(got.events, events);
  });
}

Deno.test("ResponseRelay pauses the backend while the client is full, resumes on drain", () => {
  let paused = 0;
  let resumed = 0;
  const client = { closing: false, write: () => false } as unknown as ClientSide;
  const owner = {
    requestBodyRead: true,
    clientHead: (h: unknown) => h,
    responseHead() {},
    responseDone() {},
  } as unknown as RelayOwner;
  const ctx = { limits: DEFAULT_LIMITS, log: silentLogger, draining: false } as ProxyContext;
  const r = new ResponseRelay(owner, ctx, client, GET);
  r.attach({ socket: { pause: () => paused++, resume: () => resumed++ } } as never);
  r.data(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"));
  r.data(Buffer.from("cd"));
  assert.equal(paused, 1);
  assert.ok(r.waitingForClient);
  r.onClientDrain();
  assert.equal(resumed, 1);
  assert.equal(r.waitingForClient, false);
});
