import assert from "node:assert/strict";
import { type Redirect, redirectLocation, redirectResponse } from "./redirect.ts";

type R = Omit<Redirect, "keep_query"> & { keep_query?: boolean };

/** [what, redirect, [scheme, host, target], expected Location]. */
const CASES: [string, R, [string, string, string], string][] = [
  [
    "nothing replaced: the same URL, absolute",
    { status: 302 },
    ["http", "a.example", "/x?q=1"],
    "http://a.example/x?q=1",
  ],
  [
    "scheme only: to https, the port dropped",
    { status: 301, scheme: "https" },
    ["http", "a.example:8080", "/x?q=1"],
    "https://a.example/x?q=1",
  ],
  [
    "scheme unchanged: the port kept",
    { status: 301, scheme: "http" },
    ["http", "a.example:8080", "/x"],
    "http://a.example:8080/x",
  ],
  [
    "scheme change drops an IPv6 literal's port, keeps its brackets",
    { status: 301, scheme: "https" },
    ["http", "[2001:db8::1]:8080", "/"],
    "https://[2001:db8::1]/",
  ],
  [
    "scheme change keeps a port-less IPv6 literal",
    { status: 301, scheme: "https" },
    ["http", "[2001:db8::1]", "/"],
    "https://[2001:db8::1]/",
  ],
  [
    "host replaced, with its port",
    { status: 302, host: "b.example:8443" },
    ["https", "a.example", "/x"],
    "https://b.example:8443/x",
  ],
  [
    "scheme and host replaced",
    { status: 308, scheme: "https", host: "b.example" },
    ["http", "a.example:80", "/x?y"],
    "https://b.example/x?y",
  ],
  [
    "path replaced, query kept by default",
    { status: 307, path: "/new" },
    ["http", "a.example", "/old/page?id=7&x=1"],
    "http://a.example/new?id=7&x=1",
  ],
  [
    "path replaced, query kept explicitly",
    { status: 307, path: "/new", keep_query: true },
    ["http", "a.example", "/old?id=7"],
    "http://a.example/new?id=7",
  ],
  [
    "query dropped when keep_query is false",
    { status: 303, keep_query: false },
    ["http", "a.example", "/old?id=7"],
    "http://a.example/old",
  ],
  [
    "no query to keep",
    { status: 303, path: "/n" },
    ["http", "a.example", "/old"],
    "http://a.example/n",
  ],
  [
    "an empty query is kept as sent",
    { status: 302, path: "/n" },
    ["http", "a.example", "/old?"],
    "http://a.example/n?",
  ],
];

for (const [what, redirect, [scheme, host, target], expected] of CASES) {
  Deno.test(`redirectLocation(): ${what}`, () => {
    assert.equal(redirectLocation(redirect, { scheme, host, target }), expected);
  });
}

const REQ = { scheme: "http", host: "a.example", target: "/x?q=1" };

Deno.test("redirectResponse() is a complete response with status, Location and a short body", () => {
  const body = "redirecting to https://a.example/x?q=1\n";
  assert.equal(
    redirectResponse({ status: 301, scheme: "https" }, REQ, true),
    "HTTP/1.1 301 Moved Permanently\r\nlocation: https://a.example/x?q=1\r\n" +
      `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
});

Deno.test("redirectResponse() to HEAD has no body; without keep-alive it closes", () => {
  const text = redirectResponse({ status: 302 }, REQ, false, true);
  assert.ok(text.startsWith("HTTP/1.1 302 Found\r\nlocation: http://a.example/x?q=1\r\n"));
  assert.ok(text.endsWith("connection: close\r\n\r\n"));
  const length = "redirecting to http://a.example/x?q=1\n".length;
  assert.ok(text.includes(`\r\ncontent-length: ${length}\r\n`));
});
