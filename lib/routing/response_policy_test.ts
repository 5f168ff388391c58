import assert from "node:assert/strict";
import { parseResponseHead, type ResponseHead } from "../http1/head.ts";
import {
  applyResponsePolicy,
  compileResponsePolicy,
  routedResponseHead,
} from "./response_policy.ts";
import { type Route, validateListenerConfig } from "./schema.ts";

function route(extra: Record<string, unknown>): Route {
  const r = validateListenerConfig("l", {
    routes: [{ name: "r", forward: { group: "g" }, ...extra }],
  });
  if (!r.ok) assert.fail(JSON.stringify(r.issues));
  return r.value.routes[0]!;
}

function head(...lines: string[]): ResponseHead {
  const h = parseResponseHead(["HTTP/1.1 200 OK", ...lines].join("\r\n"), 100);
  if ("error" in h) assert.fail(h.reason);
  return h;
}

const VARS = { clientIp: "192.0.2.7", requestId: "req-1" };

/** [what, route extras, response lines, set-cookie lines, expected [lower name, value] lines]. */
const CASES: [
  string,
  Record<string, unknown>,
  string[],
  string[] | undefined,
  [string, string][],
][] = [
  [
    "no policy: the fields as they were",
    {},
    ["Content-Length: 2"],
    undefined,
    [["content-length", "2"]],
  ],
  [
    "remove drops every line of the name",
    { response_headers: { remove: ["Server", "x-powered-by"] } },
    ["Server: app", "X-Powered-By: php", "server: again", "Vary: Accept"],
    undefined,
    [["vary", "Accept"]],
  ],
  [
    "set replaces, add appends, in that order",
    { response_headers: { set: { "cache-control": "no-store" }, add: { vary: "Cookie" } } },
    ["Cache-Control: max-age=60", "Vary: Accept"],
    undefined,
    [["vary", "Accept"], ["cache-control", "no-store"], ["vary", "Cookie"]],
  ],
  [
    "variables are filled in",
    { response_headers: { add: { "x-seen": "${client_ip} ${request_id}" } } },
    [],
    undefined,
    [["x-seen", "192.0.2.7 req-1"]],
  ],
  [
    "sticky cookies are appended; the backend's cookies stay",
    {},
    ["Set-Cookie: session=1"],
    ["sy=ab; Path=/"],
    [["set-cookie", "session=1"], ["set-cookie", "sy=ab; Path=/"]],
  ],
  [
    "sticky cookies survive a route removing set-cookie",
    { response_headers: { remove: ["set-cookie"] } },
    ["Set-Cookie: session=1"],
    ["sy=ab; Path=/"],
    [["set-cookie", "sy=ab; Path=/"]],
  ],
];

for (const [what, extras, lines, cookies, expected] of CASES) {
  Deno.test(`routedResponseHead(): ${what}`, () => {
    const out = routedResponseHead(head(...lines), route(extras), VARS, cookies);
    assert.deepEqual(out.lower.map((n, i) => [n, out.values[i]]), expected);
    assert.equal(out.names.length, out.lower.length);
  });
}

Deno.test("routedResponseHead() never mutates the input and keeps status and framing", () => {
  const input = head("Server: app", "Content-Length: 5", "Connection: keep-alive");
  const snapshot = structuredClone(input);
  const out = routedResponseHead(input, route({ response_headers: { remove: ["server"] } }), VARS, [
    "a=1",
  ]);
  assert.deepEqual(input, snapshot);
  assert.equal(out.status, 200);
  assert.equal(out.reason, "OK");
  assert.equal(out.contentLength, 5);
  assert.equal(out.keepAlive, true);
});

Deno.test("applyResponsePolicy() with a compiled policy agrees with routedResponseHead()", () => {
  const r = route({ response_headers: { set: { "x-a": "${request_id}" } } });
  const input = head("X-A: 1");
  assert.deepEqual(
    applyResponsePolicy(input, compileResponsePolicy(r), VARS),
    routedResponseHead(input, r, VARS),
  );
});
