import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import {
  type BodyFraming,
  clientResponseHead,
  type ForwardContext,
  informationalHead,
  NO_BODY,
  simpleResponse,
  upstreamRequestHead,
} from "./forward.ts";
import {
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./head.ts";
import { HOP_BY_HOP } from "./syntax.ts";

const LIMITS = { maxHeaderCount: 200, maxUriLength: 8192 };
const CTX: ForwardContext = {
  clientIp: "203.0.113.7",
  proto: "http",
  hostRewrite: null,
  backendAddress: "10.0.0.2:8080",
};
const LENGTH = (n: number): BodyFraming => ({ contentLength: n, chunked: false });
const CHUNKED: BodyFraming = { contentLength: -1, chunked: true };

function req(...lines: string[]): RequestHead {
  const h = parseRequestHead(lines.join("\r\n"), LIMITS);
  if ("error" in h) assert.fail(`${h.status} ${h.reason}`);
  return h;
}

function res(...lines: string[]): ResponseHead {
  const h = parseResponseHead(lines.join("\r\n"), 200);
  if ("error" in h) assert.fail(`${h.status} ${h.reason}`);
  return h;
}

/** Splits a written head into its start line and [name, value] pairs, checking the CRLF framing. */
function lines(head: string): { start: string; fields: [string, string][] } {
  assert.ok(head.endsWith("\r\n\r\n"), "a head ends with CRLFCRLF");
  const body = head.slice(0, -4);
  assert.equal(body.includes("\r\n\r\n"), false, "exactly one empty line");
  const [start, ...rest] = body.split("\r\n");
  return {
    start: start!,
    fields: rest.map((l) => {
      const i = l.indexOf(": ");
      assert.ok(i > 0, l);
      return [l.slice(0, i), l.slice(i + 2)];
    }),
  };
}

const named = (fields: [string, string][], name: string) =>
  fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

// ------------------------------------------------------------ upstreamRequestHead

Deno.test("upstreamRequestHead() writes the request line, Host first, then fields and forwarding info", () => {
  const h = req("GET /p?q=1 HTTP/1.1", "Host: shop.example", "Accept: */*", "X-Id: 42");
  assert.equal(
    upstreamRequestHead(h, CTX, NO_BODY, false, false),
    "GET /p?q=1 HTTP/1.1\r\n" +
      "host: shop.example\r\n" +
      "Accept: */*\r\n" +
      "X-Id: 42\r\n" +
      "x-forwarded-for: 203.0.113.7\r\n" +
      "x-forwarded-proto: http\r\n" +
      "x-forwarded-host: shop.example\r\n" +
      'forwarded: for=203.0.113.7;proto=http;host="shop.example"\r\n' +
      "\r\n",
  );
});

Deno.test("upstreamRequestHead() always speaks HTTP/1.1 upstream, even for an HTTP/1.0 client", () => {
  const out = upstreamRequestHead(req("GET / HTTP/1.0"), CTX, NO_BODY, false, false);
  assert.equal(lines(out).start, "GET / HTTP/1.1");
});

Deno.test("upstreamRequestHead() strips every hop-by-hop field, whatever its case", () => {
  const hop = [...HOP_BY_HOP].map((n, i) => `${i % 2 ? n.toUpperCase() : n}: x`);
  const h = req(
    "POST / HTTP/1.1",
    "Host: a",
    ...hop.filter((l) => !/^transfer-encoding/i.test(l)),
    "X-Keep: 1",
  );
  const { fields } = lines(upstreamRequestHead(h, CTX, LENGTH(0), false, false));
  for (const n of HOP_BY_HOP) {
    assert.deepEqual(named(fields, n), [], n);
  }
  assert.deepEqual(named(fields, "x-keep"), ["1"]);
});

Deno.test("upstreamRequestHead() strips every field the Connection header names", () => {
  const h = req(
    "GET / HTTP/1.1",
    "Host: a",
    "Connection: X-Secret, x-other, close, keep-alive",
    "X-Secret: 1",
    "X-OTHER: 2",
    "X-Kept: 3",
    "Close: 4",
  );
  const { fields } = lines(upstreamRequestHead(h, CTX, NO_BODY, false, false));
  assert.deepEqual(named(fields, "x-secret"), []);
  assert.deepEqual(named(fields, "x-other"), []);
  assert.deepEqual(named(fields, "x-kept"), ["3"]);
  // "close" and "keep-alive" are connection options, not field names
  assert.deepEqual(named(fields, "close"), ["4"]);
});

Deno.test("upstreamRequestHead() cannot be made to drop the fields it re-declares via Connection", () => {
  const h = req(
    "POST / HTTP/1.1",
    "Host: a",
    "Connection: host, content-length, x-forwarded-for",
    "Content-Length: 3",
  );
  const { fields } = lines(upstreamRequestHead(h, CTX, LENGTH(3), false, false));
  assert.deepEqual(named(fields, "host"), ["a"]);
  assert.deepEqual(named(fields, "content-length"), ["3"]);
  assert.deepEqual(named(fields, "x-forwarded-for"), [CTX.clientIp]);
});

Deno.test("upstreamRequestHead() re-declares framing from what the proxy sends, not what the client said", () => {
  const cl = req("POST / HTTP/1.1", "Host: a", "Content-Length: 5");
  assert.deepEqual(
    named(lines(upstreamRequestHead(cl, CTX, LENGTH(5), false, false)).fields, "content-length"),
    ["5"],
  );
  assert.deepEqual(
    named(lines(upstreamRequestHead(cl, CTX, CHUNKED, false, false)).fields, "content-length"),
    [],
  );
  const te = req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked");
  const out = lines(upstreamRequestHead(te, CTX, CHUNKED, false, false)).fields;
  assert.deepEqual(named(out, "transfer-encoding"), ["chunked"]);
  assert.deepEqual(named(out, "content-length"), []);
  const none = lines(upstreamRequestHead(cl, CTX, NO_BODY, false, false)).fields;
  assert.deepEqual(named(none, "content-length"), []);
  assert.deepEqual(named(none, "transfer-encoding"), []);
  assert.deepEqual(
    named(lines(upstreamRequestHead(cl, CTX, LENGTH(0), false, false)).fields, "content-length"),
    ["0"],
  );
});

Deno.test("upstreamRequestHead() declares Content-Length over chunked when both are asked for", () => {
  const out = lines(
    upstreamRequestHead(
      req("GET / HTTP/1.1", "Host: a"),
      CTX,
      { contentLength: 2, chunked: true },
      false,
      false,
    ),
  );
  assert.deepEqual(named(out.fields, "content-length"), ["2"]);
  assert.deepEqual(named(out.fields, "transfer-encoding"), []);
});

Deno.test("upstreamRequestHead() picks Host from the rewrite, then the request, then the backend address", () => {
  const h = req("GET / HTTP/1.1", "Host: client.example");
  assert.deepEqual(
    named(lines(upstreamRequestHead(h, CTX, NO_BODY, false, false)).fields, "host"),
    ["client.example"],
  );
  const rewritten = lines(
    upstreamRequestHead(h, { ...CTX, hostRewrite: "internal:81" }, NO_BODY, false, false),
  );
  assert.deepEqual(named(rewritten.fields, "host"), ["internal:81"]);
  // the client's host still travels in X-Forwarded-Host and Forwarded
  assert.deepEqual(named(rewritten.fields, "x-forwarded-host"), ["client.example"]);
  const old = lines(upstreamRequestHead(req("GET / HTTP/1.0"), CTX, NO_BODY, false, false));
  assert.deepEqual(named(old.fields, "host"), [CTX.backendAddress]);
  assert.deepEqual(named(old.fields, "x-forwarded-host"), []);
  assert.deepEqual(named(old.fields, "forwarded"), ["for=203.0.113.7;proto=http"]);
});

Deno.test("upstreamRequestHead() uses the absolute-form authority as Host and sends origin-form", () => {
  const h = req("GET http://b.example:81/x?y HTTP/1.1", "Host: a.example");
  const out = lines(upstreamRequestHead(h, CTX, NO_BODY, false, false));
  assert.equal(out.start, "GET /x?y HTTP/1.1");
  assert.deepEqual(named(out.fields, "host"), ["b.example:81"]);
});

Deno.test("upstreamRequestHead() omits X-Forwarded-Host and the Forwarded host for an empty Host", () => {
  const out = lines(
    upstreamRequestHead(req("GET / HTTP/1.1", "Host:"), CTX, NO_BODY, false, false),
  );
  assert.deepEqual(named(out.fields, "host"), [""]);
  assert.deepEqual(named(out.fields, "x-forwarded-host"), []);
  assert.deepEqual(named(out.fields, "forwarded"), ["for=203.0.113.7;proto=http"]);
});

Deno.test("upstreamRequestHead() appends the client to X-Forwarded-For and Forwarded, merging repeated fields", () => {
  const h = req(
    "GET / HTTP/1.1",
    "X-Forwarded-For: 198.51.100.1",
    "Host: a",
    "Forwarded: for=198.51.100.1",
    "x-forwarded-for: 198.51.100.2, 198.51.100.3",
    "forwarded: for=198.51.100.3;proto=https",
  );
  const out = lines(upstreamRequestHead(h, CTX, NO_BODY, false, false));
  assert.deepEqual(named(out.fields, "x-forwarded-for"), [
    "198.51.100.1, 198.51.100.2, 198.51.100.3, 203.0.113.7",
  ]);
  assert.deepEqual(named(out.fields, "forwarded"), [
    'for=198.51.100.1, for=198.51.100.3;proto=https, for=203.0.113.7;proto=http;host="a"',
  ]);
});

Deno.test("upstreamRequestHead() replaces the client's X-Forwarded-Proto and X-Forwarded-Host", () => {
  const h = req(
    "GET / HTTP/1.1",
    "Host: a",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: evil.example",
  );
  const out = lines(upstreamRequestHead(h, { ...CTX, proto: "https" }, NO_BODY, false, false));
  assert.deepEqual(named(out.fields, "x-forwarded-proto"), ["https"]);
  assert.deepEqual(named(out.fields, "x-forwarded-host"), ["a"]);
  assert.deepEqual(named(out.fields, "forwarded"), ['for=203.0.113.7;proto=https;host="a"']);
});

Deno.test("upstreamRequestHead() quotes and brackets an IPv6 client in Forwarded only", () => {
  const h = req("GET / HTTP/1.1", "Host: [::1]:8080");
  const out = lines(
    upstreamRequestHead(h, { ...CTX, clientIp: "2001:db8::7" }, NO_BODY, false, false),
  );
  assert.deepEqual(named(out.fields, "x-forwarded-for"), ["2001:db8::7"]);
  assert.deepEqual(named(out.fields, "forwarded"), [
    'for="[2001:db8::7]";proto=http;host="[::1]:8080"',
  ]);
});

Deno.test("upstreamRequestHead() drops Expect unless told to keep 100-continue", () => {
  const h = req("POST / HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 1");
  assert.deepEqual(
    named(lines(upstreamRequestHead(h, CTX, LENGTH(1), false, false)).fields, "expect"),
    [],
  );
  assert.deepEqual(
    named(lines(upstreamRequestHead(h, CTX, LENGTH(1), false, true)).fields, "expect"),
    [
      "100-continue",
    ],
  );
});

Deno.test("upstreamRequestHead() forwards TE: trailers with the te connection option and drops other TE", () => {
  const out = lines(
    upstreamRequestHead(
      req("GET / HTTP/1.1", "Host: a", "TE: gzip, trailers"),
      CTX,
      NO_BODY,
      false,
      false,
    ),
  );
  assert.deepEqual(named(out.fields, "te"), ["trailers"]);
  assert.deepEqual(named(out.fields, "connection"), ["te"]);
  const none = lines(
    upstreamRequestHead(req("GET / HTTP/1.1", "Host: a", "TE: gzip"), CTX, NO_BODY, false, false),
  );
  assert.deepEqual(named(none.fields, "te"), []);
  assert.deepEqual(named(none.fields, "connection"), []);
});

Deno.test("upstreamRequestHead() forwards an Upgrade handshake only when asked and the client offered one", () => {
  const h = req(
    "GET /ws HTTP/1.1",
    "Host: a",
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Key: k",
  );
  const up = lines(upstreamRequestHead(h, CTX, NO_BODY, true, false));
  assert.deepEqual(named(up.fields, "connection"), ["upgrade"]);
  assert.deepEqual(named(up.fields, "upgrade"), ["websocket"]);
  assert.deepEqual(named(up.fields, "sec-websocket-key"), ["k"]);
  const plain = lines(upstreamRequestHead(h, CTX, NO_BODY, false, false));
  assert.deepEqual(named(plain.fields, "connection"), []);
  assert.deepEqual(named(plain.fields, "upgrade"), []);
  const notOffered = lines(
    upstreamRequestHead(req("GET / HTTP/1.1", "Host: a"), CTX, NO_BODY, true, false),
  );
  assert.deepEqual(named(notOffered.fields, "connection"), []);
  const both = lines(upstreamRequestHead(
    req(
      "GET /ws HTTP/1.1",
      "Host: a",
      "Connection: upgrade, te",
      "Upgrade: websocket",
      "TE: trailers",
    ),
    CTX,
    NO_BODY,
    true,
    false,
  ));
  assert.deepEqual(named(both.fields, "connection"), ["upgrade, te"]);
});

// ------------------------------------------------------------ clientResponseHead

Deno.test("clientResponseHead() writes an HTTP/1.1 status line with the backend's status and reason", () => {
  assert.equal(
    clientResponseHead(res("HTTP/1.0 404 Nope", "X-A: 1"), LENGTH(0), true, 1),
    "HTTP/1.1 404 Nope\r\nX-A: 1\r\ncontent-length: 0\r\n\r\n",
  );
  assert.equal(
    lines(clientResponseHead(res("HTTP/1.1 204"), NO_BODY, true, 1)).start,
    "HTTP/1.1 204 ",
  );
});

Deno.test("clientResponseHead() strips hop-by-hop fields, Content-Length and fields named by Connection", () => {
  const h = res(
    "HTTP/1.1 200 OK",
    "Connection: x-internal",
    "Keep-Alive: timeout=5",
    "Transfer-Encoding: chunked",
    "Trailer: X-Sum",
    "Upgrade: h2c",
    "Proxy-Authenticate: Basic",
    "X-Internal: secret",
    "Set-Cookie: a=1",
  );
  const out = lines(clientResponseHead(h, CHUNKED, true, 1));
  assert.deepEqual(out.fields, [["Set-Cookie", "a=1"], ["transfer-encoding", "chunked"]]);
});

Deno.test("clientResponseHead() re-declares the framing it was given", () => {
  const h = res("HTTP/1.1 200 OK", "Content-Length: 10");
  assert.deepEqual(
    named(lines(clientResponseHead(h, LENGTH(10), true, 1)).fields, "content-length"),
    ["10"],
  );
  const chunked = lines(clientResponseHead(h, CHUNKED, true, 1)).fields;
  assert.deepEqual(named(chunked, "transfer-encoding"), ["chunked"]);
  assert.deepEqual(named(chunked, "content-length"), []);
  const close = lines(clientResponseHead(h, NO_BODY, false, 0)).fields;
  assert.deepEqual(named(close, "content-length"), []);
  assert.deepEqual(named(close, "transfer-encoding"), []);
});

Deno.test("clientResponseHead() says close when not keeping alive and keep-alive to HTTP/1.0 clients", () => {
  const h = res("HTTP/1.1 200 OK", "Connection: keep-alive");
  assert.deepEqual(named(lines(clientResponseHead(h, LENGTH(0), false, 1)).fields, "connection"), [
    "close",
  ]);
  assert.deepEqual(named(lines(clientResponseHead(h, LENGTH(0), false, 0)).fields, "connection"), [
    "close",
  ]);
  assert.deepEqual(
    named(lines(clientResponseHead(h, LENGTH(0), true, 1)).fields, "connection"),
    [],
  );
  assert.deepEqual(named(lines(clientResponseHead(h, LENGTH(0), true, 0)).fields, "connection"), [
    "keep-alive",
  ]);
});

Deno.test("clientResponseHead() relays a 101 with Connection: upgrade and the backend's Upgrade", () => {
  const h = res(
    "HTTP/1.1 101 Switching Protocols",
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Accept: x",
  );
  assert.equal(
    clientResponseHead(h, NO_BODY, true, 1, true),
    "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
  );
});

// ------------------------------------------------------------ informationalHead

Deno.test("informationalHead() relays a 1xx without hop-by-hop fields", () => {
  const h = res(
    "HTTP/1.1 103 Early Hints",
    "Link: </a.css>; rel=preload",
    "Connection: keep-alive",
    "Keep-Alive: 5",
  );
  assert.equal(
    informationalHead(103, "Early Hints", h),
    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
  );
});

Deno.test("informationalHead() drops fields named by the 1xx's Connection header and any Content-Length", () => {
  const h = res(
    "HTTP/1.1 103 Early Hints",
    "Connection: x-hop",
    "X-Hop: 1",
    "Content-Length: 5",
    "Link: <b>",
  );
  assert.equal(
    informationalHead(103, "Early Hints", h),
    "HTTP/1.1 103 Early Hints\r\nLink: <b>\r\n\r\n",
  );
  // plain Fields work too
  assert.equal(
    informationalHead(102, "Processing", { names: ["X"], lower: ["x"], values: ["1"] }),
    "HTTP/1.1 102 Processing\r\nX: 1\r\n\r\n",
  );
});

// ------------------------------------------------------------ simpleResponse

Deno.test("simpleResponse() writes a complete text/plain response", () => {
  assert.equal(
    simpleResponse(503, "no healthy backend\n", false, { "retry-after": "1" }),
    "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: text/plain; charset=utf-8\r\n" +
      "content-length: 19\r\nconnection: close\r\n\r\nno healthy backend\n",
  );
  assert.equal(
    simpleResponse(400, "", true),
    "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 0\r\n\r\n",
  );
  assert.match(simpleResponse(599, "x", true), /^HTTP\/1\.1 599 Error\r\n/);
});

Deno.test("simpleResponse() to a HEAD request declares the body's length but sends no body", () => {
  assert.equal(
    simpleResponse(308, "moved\n", true, { location: "https://a.example/" }, true),
    "HTTP/1.1 308 Permanent Redirect\r\nlocation: https://a.example/\r\n" +
      "content-type: text/plain; charset=utf-8\r\ncontent-length: 6\r\n\r\n",
  );
});

Deno.test("simpleResponse() names the redirect statuses", () => {
  for (
    const [status, reason] of [
      [301, "Moved Permanently"],
      [302, "Found"],
      [303, "See Other"],
      [307, "Temporary Redirect"],
      [308, "Permanent Redirect"],
    ] as const
  ) {
    assert.match(
      simpleResponse(status, "", true),
      new RegExp(`^HTTP/1\\.1 ${status} ${reason}\r\n`),
    );
  }
});

Deno.test("simpleResponse() makes the body ASCII so Content-Length is exact on the wire", () => {
  for (
    const [body, sent] of [
      ["ascii\n", "ascii\n"],
      [
        'unsupported Transfer-Encoding "chunked\xa0"\n',
        'unsupported Transfer-Encoding "chunked?"\n',
      ],
      ["caf\xe9 \u20ac \u{1f600}\n", "caf? ? ??\n"],
      ["tab\there\r", "tab?here?"],
    ]
  ) {
    const out = simpleResponse(400, body!, false);
    const cl = Number(/content-length: (\d+)/.exec(out)![1]);
    const bodyOnWire = out.slice(out.indexOf("\r\n\r\n") + 4);
    assert.equal(bodyOnWire, sent);
    assert.equal(cl, sent!.length);
    assert.ok([...out].every((c) => c.charCodeAt(0) < 0x80), "all ASCII");
  }
});

Deno.test("simpleResponse() output parses as a valid response with the declared length", () => {
  for (const status of [400, 408, 413, 414, 417, 431, 500, 501, 502, 503, 504, 505]) {
    const out = simpleResponse(status, `${status}\n`, status % 2 === 0);
    const h = res(out.slice(0, out.indexOf("\r\n\r\n")));
    assert.equal(h.status, status);
    assert.equal(h.contentLength, 4);
    assert.equal(h.keepAlive, status % 2 === 0);
  }
});

// ------------------------------------------------------------ round trips

type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const NAMES = [
  "Accept",
  "Cookie",
  "X-Forwarded-For",
  "X-Forwarded-Proto",
  "X-Forwarded-Host",
  "Forwarded",
  "Keep-Alive",
  "Proxy-Connection",
  "Proxy-Authorization",
  "Trailer",
  "TE",
  "Upgrade",
  "Expect",
  "X-Hop",
  "X-Data",
  "Via",
];

function randomRequest(r: Random): RequestHead {
  const minor = r() < 0.8 ? 1 : 0;
  const fields: string[] = [];
  if (minor === 1 || r() < 0.5) {
    fields.push(`Host: ${pick(r, ["a.example", "b:8080", "[::1]", ""])}`);
  }
  const f = r();
  if (f < 0.3) fields.push(`Content-Length: ${int(r, 1000)}`);
  else if (f < 0.5 && minor === 1) fields.push("Transfer-Encoding: chunked");
  if (r() < 0.5) {
    fields.push(
      `Connection: ${pick(r, ["close", "keep-alive", "upgrade", "x-hop", "upgrade, x-hop"])}`,
    );
  }
  const n = int(r, 8);
  for (let i = 0; i < n; i++) {
    const name = pick(r, NAMES);
    const value = name === "Expect"
      ? "100-continue"
      : name === "TE"
      ? pick(r, ["trailers", "gzip"])
      : name === "X-Forwarded-For"
      ? "192.0.2.1"
      : pick(r, ["1", "a b", "x=1; y", "caf\xe9"]);
    fields.push(`${name}: ${value}`);
  }
  const method = pick(r, ["GET", "POST", "PUT", "OPTIONS"]);
  const target = pick(r, ["/", "/a?b", "http://c.example/z"]);
  const h = parseRequestHead(
    [`${method} ${target} HTTP/1.${minor}`, ...fields].join("\r\n"),
    LIMITS,
  );
  if ("error" in h) throw new Error(h.reason);
  return h;
}

Deno.test("upstreamRequestHead() output for 3000 random requests is itself a valid, unambiguous request", () => {
  const r = mulberry32(0xf0a4d);
  for (let n = 0; n < 3000; n++) {
    const h = randomRequest(r);
    const framing = h.chunked ? CHUNKED : h.contentLength >= 0 ? LENGTH(h.contentLength) : NO_BODY;
    const upgrade = r() < 0.5;
    const ctx = {
      ...CTX,
      hostRewrite: r() < 0.2 ? "rewritten:1" : null,
      clientIp: pick(r, ["198.51.100.9", "2001:db8::9"]),
    };
    const text = upstreamRequestHead(h, ctx, framing, upgrade, h.expectContinue);
    const again = parseRequestHead(text.slice(0, -4), LIMITS);
    if ("error" in again) assert.fail(`${again.reason}: ${JSON.stringify(text)}`);
    assert.equal(again.minor, 1);
    assert.equal(again.method, h.method);
    assert.equal(again.target, h.target);
    assert.equal(again.host, ctx.hostRewrite ?? h.host ?? ctx.backendAddress);
    assert.equal(again.chunked, framing.chunked);
    assert.equal(again.contentLength, framing.contentLength);
    assert.equal(again.keepAlive, true, "nothing asks the backend to close");
    assert.equal(again.expectContinue, h.expectContinue);
    assert.equal(again.teTrailers, h.teTrailers);
    assert.equal(again.upgrade, upgrade ? h.upgrade : null);
    const xff = again.values.filter((_, i) => again.lower[i] === "x-forwarded-for");
    assert.equal(xff.length, 1);
    assert.ok(xff[0]!.endsWith(ctx.clientIp));
    assert.equal(again.lower.filter((l) => l === "forwarded").length, 1);
    // only the hop-by-hop fields the proxy itself decides on survive
    const allowed = new Set(["transfer-encoding", "te", "connection", "upgrade"]);
    for (const l of again.lower) {
      if (HOP_BY_HOP.has(l)) assert.ok(allowed.has(l), `${l} leaked: ${JSON.stringify(text)}`);
      if (h.connectionTokens.includes(l) && !["upgrade", "te"].includes(l)) {
        assert.fail(`${l} was named by Connection: ${JSON.stringify(text)}`);
      }
    }
    // every end-to-end field the client sent is there, in order
    const endToEnd = (x: RequestHead, skip: Set<string>) =>
      x.lower.map((l, i) => [l, x.values[i]]).filter(([l]) =>
        !HOP_BY_HOP.has(l!) && !skip.has(l!) && !x.connectionTokens.includes(l!)
      );
    const skip = new Set([
      "host",
      "content-length",
      "expect",
      "x-forwarded-for",
      "x-forwarded-proto",
      "x-forwarded-host",
      "forwarded",
    ]);
    assert.deepEqual(endToEnd(again, skip), endToEnd(h, skip));
  }
});

Deno.test("clientResponseHead() output for 3000 random responses is itself a valid response with the given framing", () => {
  const r = mulberry32(0x2e5);
  for (let n = 0; n < 3000; n++) {
    const fields: string[] = [];
    const minor = r() < 0.8 ? 1 : 0;
    if (r() < 0.4) fields.push(`Content-Length: ${int(r, 500)}`);
    else if (minor === 1 && r() < 0.5) fields.push("Transfer-Encoding: chunked");
    if (r() < 0.4) fields.push(`Connection: ${pick(r, ["close", "keep-alive", "x-hop"])}`);
    for (let i = int(r, 6); i > 0; i--) fields.push(`${pick(r, NAMES)}: ${pick(r, ["1", "v w"])}`);
    const h = res(
      `HTTP/1.${minor} ${pick(r, [200, 404, 500])} ${pick(r, ["OK", "", "X Y"])}`,
      ...fields,
    );
    const framing = pick(r, [NO_BODY, CHUNKED, LENGTH(int(r, 100))]);
    const keepAlive = r() < 0.5;
    const clientMinor = r() < 0.5 ? 1 : 0;
    const text = clientResponseHead(h, framing, keepAlive, clientMinor);
    const again = parseResponseHead(text.slice(0, -4), 200);
    if ("error" in again) assert.fail(`${again.reason}: ${JSON.stringify(text)}`);
    assert.equal(again.status, h.status);
    assert.equal(again.minor, 1);
    assert.equal(again.chunked, framing.chunked && framing.contentLength < 0);
    assert.equal(again.contentLength, framing.contentLength);
    assert.deepEqual(
      again.connectionTokens,
      keepAlive ? (clientMinor === 0 ? ["keep-alive"] : []) : ["close"],
    );
    for (const l of again.lower) {
      if (HOP_BY_HOP.has(l)) assert.ok(l === "transfer-encoding" || l === "connection", l);
      assert.equal(h.connectionTokens.includes(l) && l !== "keep-alive" && l !== "close", false, l);
    }
  }
});

Deno.test("upstreamRequestHead() sends the request id as the one x-request-id line", () => {
  const h = req("GET / HTTP/1.1", "Host: a", "X-Request-Id: client one", "x-request-id: two");
  const fields = lines(upstreamRequestHead(h, { ...CTX, requestId: "r-1" }, NO_BODY, false, false))
    .fields;
  assert.deepEqual(named(fields, "x-request-id"), ["r-1"]);
  // without one, the client's lines pass as they are
  const passed = lines(upstreamRequestHead(h, CTX, NO_BODY, false, false)).fields;
  assert.deepEqual(named(passed, "x-request-id"), ["client one", "two"]);
});

Deno.test("clientResponseHead() echoes the request id, replacing the backend's", () => {
  const h = res("HTTP/1.1 200 OK", "X-Request-Id: backend", "X-A: 1");
  const out = lines(clientResponseHead(h, LENGTH(0), true, 1, false, "r-1")).fields;
  assert.deepEqual(named(out, "x-request-id"), ["r-1"]);
  assert.deepEqual(named(out, "x-a"), ["1"]);
  const relayed = lines(clientResponseHead(h, LENGTH(0), true, 1)).fields;
  assert.deepEqual(named(relayed, "x-request-id"), ["backend"]);
});

Deno.test("upstreamRequestHead() drops a client's X-Client-Cert-Subject and sends the verified one", () => {
  const h = req(
    "GET / HTTP/1.1",
    "Host: a",
    "X-Client-Cert-Subject: CN=admin",
    "x-client-cert-subject: x",
  );
  const plain = upstreamRequestHead(h, CTX, NO_BODY, false, false);
  assert.doesNotMatch(plain, /x-client-cert-subject/i);
  const verified = upstreamRequestHead(
    h,
    { ...CTX, proto: "https", clientSubject: "CN=client1, O=Acme" },
    NO_BODY,
    false,
    false,
  );
  assert.equal(verified.match(/x-client-cert-subject/gi)?.length, 1);
  assert.match(verified, /\r\nx-client-cert-subject: CN=client1, O=Acme\r\n/);
  assert.match(verified, /\r\nx-forwarded-proto: https\r\n/);
});

Deno.test("clientResponseHead() adds the connection's extra fields (HSTS on TLS) before the framing", () => {
  const hsts = "strict-transport-security: max-age=60\r\n";
  assert.equal(
    clientResponseHead(res("HTTP/1.1 200 OK", "X-A: 1"), LENGTH(0), true, 1, false, null, hsts),
    `HTTP/1.1 200 OK\r\nX-A: 1\r\n${hsts}content-length: 0\r\n\r\n`,
  );
  assert.doesNotMatch(clientResponseHead(res("HTTP/1.1 200 OK"), LENGTH(0), true, 1), /strict/);
});
