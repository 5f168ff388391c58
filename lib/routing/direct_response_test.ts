import assert from "node:assert/strict";
import { compileDirectResponse, directResponse } from "./direct_response.ts";
import { validateListenerConfig } from "./schema.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** [what, config, head request, keep-alive, expected response text]. */
const CASES: [string, Record<string, unknown>, boolean, boolean, string][] = [
  [
    "status and body, text/plain by default",
    { status: 200, body: "ok\n" },
    false,
    true,
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 3\r\n\r\nok\n",
  ],
  [
    "a configured content-type replaces the default",
    { status: 200, body: "{}", headers: { "content-type": "application/json" } },
    false,
    true,
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
  ],
  [
    "no body: length 0, no content-type",
    { status: 503 },
    false,
    true,
    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
  ],
  [
    "Content-Length counts UTF-8 bytes",
    { status: 200, body: "caf\u00e9 \u20ac" },
    false,
    true,
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 9\r\n\r\n" +
    "caf\u00e9 \u20ac",
  ],
  [
    "HEAD: the length declared, no body",
    { status: 200, body: "hello" },
    true,
    true,
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\n\r\n",
  ],
  [
    "no keep-alive: connection: close",
    { status: 403, body: "no" },
    false,
    false,
    "HTTP/1.1 403 \r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 2\r\n" +
    "connection: close\r\n\r\nno",
  ],
  [
    "configured framing and hop-by-hop headers are ignored",
    {
      status: 200,
      body: "ab",
      headers: {
        "content-length": "99",
        "transfer-encoding": "chunked",
        connection: "keep-alive",
        "x-a": "1",
      },
    },
    false,
    true,
    "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 2\r\n\r\nab",
  ],
  [
    "204: no body and no Content-Length, even with a body configured",
    { status: 204, body: "ignored" },
    false,
    true,
    "HTTP/1.1 204 \r\n\r\n",
  ],
  [
    "304: no body and no Content-Length",
    { status: 304, headers: { etag: '"x"' } },
    false,
    false,
    'HTTP/1.1 304 \r\netag: "x"\r\nconnection: close\r\n\r\n',
  ],
  [
    "headers as validated (names lower-cased), in order",
    { status: 429, body: "slow down", headers: { "Retry-After": "5", "X-B": "2" } },
    false,
    true,
    "HTTP/1.1 429 Too Many Requests\r\nretry-after: 5\r\nx-b: 2\r\n" +
    "content-type: text/plain; charset=utf-8\r\ncontent-length: 9\r\n\r\nslow down",
  ],
];

for (const [what, raw, headRequest, keepAlive, expected] of CASES) {
  Deno.test(`directResponse(): ${what}`, () => {
    const r = validateListenerConfig("l", { routes: [{ name: "r", direct_response: raw }] });
    if (!r.ok) assert.fail(JSON.stringify(r.issues));
    const config = r.value.routes[0]!.direct_response!;
    assert.equal(text(directResponse(config, headRequest, keepAlive)), expected);
    assert.equal(text(compileDirectResponse(config).bytes(headRequest, keepAlive)), expected);
  });
}

Deno.test("compileDirectResponse() builds each variant once and returns it every time", () => {
  const c = compileDirectResponse({ status: 200, body: "x" });
  assert.equal(c.status, 200);
  for (const h of [false, true]) {
    for (const k of [false, true]) assert.equal(c.bytes(h, k), c.bytes(h, k));
  }
  assert.notEqual(c.bytes(false, true), c.bytes(true, true));
  assert.ok(text(c.bytes(false, false)).includes("connection: close"));
  assert.ok(!text(c.bytes(false, true)).includes("connection: close"));
});
