import assert from "node:assert/strict";
import { parseRequestHead, type RequestHead } from "../http1/head.ts";
import {
  applyRequestPolicy,
  compilePathRewrite,
  compileRequestPolicy,
  rewriteTarget,
  routedRequestHead,
} from "./request_policy.ts";
import { type Route, validateListenerConfig } from "./schema.ts";

/** A validated route (names lower-cased by the schema) with `extra` merged in. */
function route(extra: Record<string, unknown>): Route {
  const r = validateListenerConfig("l", {
    routes: [{ name: "r", forward: { group: "g" }, ...extra }],
  });
  if (!r.ok) assert.fail(JSON.stringify(r.issues));
  return r.value.routes[0]!;
}

function head(target: string, ...lines: string[]): RequestHead {
  const h = parseRequestHead(
    `GET ${target} HTTP/1.1\r\n${["Host: a.example", ...lines].join("\r\n")}`,
    {
      maxHeaderCount: 100,
      maxUriLength: 8192,
    },
  );
  if ("error" in h) assert.fail(h.reason);
  return h;
}

const VARS = { clientIp: "192.0.2.7", requestId: "req-1" };

/** [what, rewrite, target, expected target]. */
const REWRITES: [string, Record<string, unknown>, string, string][] = [
  ["strip a prefix", { strip_prefix: "/api" }, "/api/x", "/x"],
  ["strip the whole path to /", { strip_prefix: "/api" }, "/api", "/"],
  ["strip keeps the query", { strip_prefix: "/api" }, "/api/x?a=1&b=/api", "/x?a=1&b=/api"],
  ["strip before a bare query", { strip_prefix: "/api" }, "/api?a=1", "/?a=1"],
  ["strip keeps a trailing slash", { strip_prefix: "/api" }, "/api/", "/"],
  ["strip never cuts inside a segment", { strip_prefix: "/api" }, "/apix", "/apix"],
  ["strip leaves other paths", { strip_prefix: "/api" }, "/web/api", "/web/api"],
  ["strip is case-sensitive", { strip_prefix: "/api" }, "/API/x", "/API/x"],
  ["strip with a trailing slash in config", { strip_prefix: "/api/" }, "/api/x", "/x"],
  ["strip a deep prefix", { strip_prefix: "/a/b" }, "/a/b/c", "/c"],
  ["strip /: nothing to do", { strip_prefix: "/" }, "/x", "/x"],
  ["strip leaves the asterisk form", { strip_prefix: "/api" }, "*", "*"],
  ["replace a prefix", { replace_prefix: { from: "/old", to: "/new" } }, "/old/a", "/new/a"],
  ["replace the whole path", { replace_prefix: { from: "/old", to: "/new" } }, "/old", "/new"],
  ["replace keeps the query", { replace_prefix: { from: "/old", to: "/n" } }, "/old?q", "/n?q"],
  [
    "replace never inside a segment",
    { replace_prefix: { from: "/old", to: "/n" } },
    "/olde",
    "/olde",
  ],
  ["replace by /", { replace_prefix: { from: "/v1", to: "/" } }, "/v1/a", "/a"],
  ["replace by / at the end", { replace_prefix: { from: "/v1", to: "/" } }, "/v1", "/"],
  ["replace / by a prefix", { replace_prefix: { from: "/", to: "/v2" } }, "/a?q", "/v2/a?q"],
  ["replace / by a prefix, root", { replace_prefix: { from: "/", to: "/v2" } }, "/", "/v2/"],
  [
    "replace with slashes in config",
    { replace_prefix: { from: "/a/", to: "/b/" } },
    "/a/x",
    "/b/x",
  ],
];

for (const [what, rewrite, target, expected] of REWRITES) {
  Deno.test(`rewriteTarget(): ${what}`, () => {
    const compiled = compilePathRewrite(rewrite as Route["rewrite"]);
    assert.equal(compiled === null ? target : rewriteTarget(target, compiled), expected);
  });
}

/** [what, route extras, request lines, expected [lower name, value] lines]. */
const HEADERS: [string, Record<string, unknown>, string[], [string, string][]][] = [
  [
    "no policy: the fields as they were",
    {},
    ["Accept: */*"],
    [["host", "a.example"], ["accept", "*/*"]],
  ],
  [
    "remove drops every line of the name, any case",
    { request_headers: { remove: ["X-Debug"] } },
    ["X-Debug: 1", "Accept: */*", "x-debug: 2"],
    [["host", "a.example"], ["accept", "*/*"]],
  ],
  [
    "set replaces every line of the name by one",
    { request_headers: { set: { "X-Env": "prod" } } },
    ["X-Env: dev", "X-Env: test"],
    [["host", "a.example"], ["x-env", "prod"]],
  ],
  [
    "set adds the line when absent",
    { request_headers: { set: { "x-env": "prod" } } },
    [],
    [["host", "a.example"], ["x-env", "prod"]],
  ],
  [
    "add appends a line and keeps the existing ones",
    { request_headers: { add: { via: "switchyard" } } },
    ["Via: 1.1 edge"],
    [["host", "a.example"], ["via", "1.1 edge"], ["via", "switchyard"]],
  ],
  [
    "order remove, set, add: all three on one name",
    { request_headers: { remove: ["x-a"], set: { "x-a": "set" }, add: { "x-a": "added" } } },
    ["X-A: old"],
    [["host", "a.example"], ["x-a", "set"], ["x-a", "added"]],
  ],
  [
    "remove then add: the old lines go, the added one stays",
    { request_headers: { remove: ["x-a"], add: { "x-a": "new" } } },
    ["X-A: old"],
    [["host", "a.example"], ["x-a", "new"]],
  ],
  [
    "variables are filled in",
    {
      request_headers: {
        set: { "x-real-ip": "${client_ip}" },
        add: { "x-trace": "id=${request_id};ip=${client_ip}" },
      },
    },
    [],
    [
      ["host", "a.example"],
      ["x-real-ip", "192.0.2.7"],
      ["x-trace", "id=req-1;ip=192.0.2.7"],
    ],
  ],
  [
    "host rewrite replaces the Host field",
    { rewrite: { host: "api.internal:8080" } },
    ["Accept: */*"],
    [["accept", "*/*"], ["host", "api.internal:8080"]],
  ],
];

for (const [what, extras, lines, expected] of HEADERS) {
  Deno.test(`routedRequestHead(): ${what}`, () => {
    const out = routedRequestHead(head("/p", ...lines), route(extras), VARS);
    assert.deepEqual(out.lower.map((n, i) => [n, out.values[i]]), expected);
    assert.equal(out.names.length, out.lower.length);
  });
}

Deno.test("routedRequestHead() never mutates the input head", () => {
  const input = head("/api/x?q=1", "X-Debug: 1", "X-Request-Id: client");
  const snapshot = structuredClone(input);
  const out = routedRequestHead(
    input,
    route({
      rewrite: { strip_prefix: "/api", host: "b.internal" },
      request_headers: { remove: ["x-debug"], set: { "x-a": "1" }, add: { "x-b": "2" } },
    }),
    VARS,
  );
  assert.deepEqual(input, snapshot);
  assert.notEqual(out, input);
  assert.equal(out.target, "/x?q=1");
  assert.equal(out.host, "b.internal");
  assert.equal(out.method, "GET");
  assert.equal(out.keepAlive, true);
});

Deno.test("routedRequestHead() returns the same head when nothing changes", () => {
  const input = head("/p", "X-Request-Id: client-id");
  assert.equal(routedRequestHead(input, route({}), VARS), input);
});

Deno.test("routedRequestHead() returns a new head when the route changes something", () => {
  const input = head("/p", "X-Request-Id: req-1");
  const out = routedRequestHead(input, route({ request_headers: { add: { "x-a": "1" } } }), VARS);
  assert.notEqual(out, input);
  assert.deepEqual(out.lower, ["host", "x-request-id", "x-a"]);
  assert.deepEqual(out.values, ["a.example", "req-1", "1"]);
});

Deno.test("routedRequestHead() leaves target and host alone without a rewrite", () => {
  const input = head("/api/x?q=1");
  const out = routedRequestHead(input, route({}), VARS);
  assert.equal(out.target, "/api/x?q=1");
  assert.equal(out.host, "a.example");
});

Deno.test("applyRequestPolicy() with a compiled policy agrees with routedRequestHead()", () => {
  const r = route({
    rewrite: { replace_prefix: { from: "/v1", to: "/v2" } },
    request_headers: { set: { "x-ip": "${client_ip}" } },
  });
  const input = head("/v1/a", "X-Ip: spoofed");
  assert.deepEqual(
    applyRequestPolicy(input, compileRequestPolicy(r), VARS),
    routedRequestHead(input, r, VARS),
  );
});
