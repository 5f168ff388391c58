import assert from "node:assert/strict";
import {
  BodyRelay,
  Declared,
  declaredFraming,
  type FramingFacts,
  responseFraming,
} from "./response_framing.ts";

const LEN = (status: number, n: number): FramingFacts => ({
  status,
  contentLength: n,
  chunked: false,
});
const CHUNKED = (status: number): FramingFacts => ({ status, contentLength: -1, chunked: true });
const BARE = (status: number): FramingFacts => ({ status, contentLength: -1, chunked: false });

/** [name, method, response, client minor, relay, declared, chunkToClient, endKnown, upstreamReusable] */
const CASES: [
  string,
  string,
  FramingFacts,
  number,
  BodyRelay,
  Declared,
  boolean,
  boolean,
  boolean,
][] = [
  [
    "GET 200 with a length",
    "GET",
    LEN(200, 5),
    1,
    BodyRelay.Length,
    Declared.Length,
    false,
    true,
    true,
  ],
  [
    "GET 200 with length 0",
    "GET",
    LEN(200, 0),
    1,
    BodyRelay.Length,
    Declared.Length,
    false,
    true,
    true,
  ],
  [
    "GET 200 with a length, HTTP/1.0 client",
    "GET",
    LEN(200, 5),
    0,
    BodyRelay.Length,
    Declared.Length,
    false,
    true,
    true,
  ],
  [
    "GET 200 chunked",
    "GET",
    CHUNKED(200),
    1,
    BodyRelay.Chunked,
    Declared.Chunked,
    true,
    true,
    true,
  ],
  [
    "GET 200 chunked, HTTP/1.0 client: close-delimited",
    "GET",
    CHUNKED(200),
    0,
    BodyRelay.Chunked,
    Declared.None,
    false,
    false,
    true,
  ],
  [
    "GET 200 close-delimited: chunked to HTTP/1.1",
    "GET",
    BARE(200),
    1,
    BodyRelay.Close,
    Declared.Chunked,
    true,
    true,
    false,
  ],
  [
    "GET 200 close-delimited, HTTP/1.0 client",
    "GET",
    BARE(200),
    0,
    BodyRelay.Close,
    Declared.None,
    false,
    false,
    false,
  ],
  [
    "POST 404 with a length",
    "POST",
    LEN(404, 9),
    1,
    BodyRelay.Length,
    Declared.Length,
    false,
    true,
    true,
  ],
  [
    "HEAD 200 keeps its length, reads none",
    "HEAD",
    LEN(200, 1000),
    1,
    BodyRelay.None,
    Declared.Length,
    false,
    true,
    true,
  ],
  [
    "HEAD 200 chunked keeps chunked for HTTP/1.1",
    "HEAD",
    CHUNKED(200),
    1,
    BodyRelay.None,
    Declared.Chunked,
    false,
    true,
    true,
  ],
  [
    "HEAD 200 chunked declares nothing to HTTP/1.0",
    "HEAD",
    CHUNKED(200),
    0,
    BodyRelay.None,
    Declared.None,
    false,
    true,
    true,
  ],
  [
    "HEAD 200 without framing",
    "HEAD",
    BARE(200),
    1,
    BodyRelay.None,
    Declared.None,
    false,
    true,
    true,
  ],
  ["204 plain", "GET", BARE(204), 1, BodyRelay.None, Declared.None, false, true, true],
  [
    "204 with Content-Length 0 is clean",
    "GET",
    LEN(204, 0),
    1,
    BodyRelay.None,
    Declared.None,
    false,
    true,
    true,
  ],
  [
    "204 announcing a body: length dropped, never reused",
    "GET",
    LEN(204, 10),
    1,
    BodyRelay.None,
    Declared.None,
    false,
    true,
    false,
  ],
  [
    "204 chunked: never reused",
    "GET",
    CHUNKED(204),
    1,
    BodyRelay.None,
    Declared.None,
    false,
    true,
    false,
  ],
  [
    "HEAD 204 announcing a body: never reused",
    "HEAD",
    LEN(204, 10),
    1,
    BodyRelay.None,
    Declared.None,
    false,
    true,
    false,
  ],
  [
    "304 keeps its length",
    "GET",
    LEN(304, 42),
    1,
    BodyRelay.None,
    Declared.Length,
    false,
    true,
    true,
  ],
  [
    "304 chunked: declared, never reused",
    "GET",
    CHUNKED(304),
    1,
    BodyRelay.None,
    Declared.Chunked,
    false,
    true,
    false,
  ],
  [
    "304 chunked to HTTP/1.0: not declared, never reused",
    "GET",
    CHUNKED(304),
    0,
    BodyRelay.None,
    Declared.None,
    false,
    true,
    false,
  ],
  [
    "HEAD 304 chunked is clean",
    "HEAD",
    CHUNKED(304),
    1,
    BodyRelay.None,
    Declared.Chunked,
    false,
    true,
    true,
  ],
  ["304 without framing", "GET", BARE(304), 1, BodyRelay.None, Declared.None, false, true, true],
  [
    "500 with a length",
    "GET",
    LEN(500, 3),
    1,
    BodyRelay.Length,
    Declared.Length,
    false,
    true,
    true,
  ],
];

for (
  const [name, method, res, minor, relay, declared, chunkToClient, endKnown, reusable] of CASES
) {
  Deno.test(`responseFraming(): ${name}`, () => {
    const f = responseFraming(method, res, minor);
    assert.deepEqual(
      { ...f },
      { relay, declared, chunkToClient, endKnown, upstreamReusable: reusable },
    );
  });
}

Deno.test("responseFraming() answers shared constants (no allocation per response)", () => {
  assert.equal(responseFraming("GET", LEN(200, 5), 1), responseFraming("GET", LEN(200, 9), 1));
  assert.ok(Object.isFrozen(responseFraming("GET", LEN(200, 5), 1)));
});

Deno.test("declaredFraming() declares the backend's length, chunked or nothing", () => {
  assert.deepEqual(declaredFraming(responseFraming("GET", LEN(200, 7), 1), 7), {
    contentLength: 7,
    chunked: false,
  });
  assert.deepEqual(declaredFraming(responseFraming("GET", CHUNKED(200), 1), -1), {
    contentLength: -1,
    chunked: true,
  });
  assert.deepEqual(declaredFraming(responseFraming("GET", CHUNKED(200), 0), -1), {
    contentLength: -1,
    chunked: false,
  });
  assert.deepEqual(declaredFraming(responseFraming("GET", LEN(204, 3), 1), 3), {
    contentLength: -1,
    chunked: false,
  });
});
