import assert from "node:assert/strict";
import type { GroupConfig } from "../config/schema.ts";
import { parseRequestHead, type RequestHead } from "../http1/head.ts";
import { DEFAULT_LIMITS } from "./context.ts";
import { pickContext } from "./pick_context.ts";

function request(...fields: string[]): RequestHead {
  const text = ["GET /p?user=q7 HTTP/1.1", "Host: a", ...fields].join("\r\n");
  const h = parseRequestHead(text, DEFAULT_LIMITS);
  if ("error" in h) assert.fail(h.reason);
  return h;
}

const config = (algorithm: string, hash_key: object = { source: "client_ip" }) =>
  ({ algorithm, hash_key }) as unknown as GroupConfig;

/** [name, config, request fields, expected key (undefined: none)] */
const CASES: [string, GroupConfig, string[], string | undefined][] = [
  ["round robin needs no key", config("ROUND_ROBIN"), [], undefined],
  ["least connections needs no key", config("LEAST_CONNECTIONS"), ["X-User: 7"], undefined],
  ["IP_HASH keys on the client", config("IP_HASH", { source: "header", name: "x-user" }), [
    "X-User: 7",
  ], "10.1.2.3"],
  ["CONSISTENT_HASH on the client IP", config("CONSISTENT_HASH"), [], "10.1.2.3"],
  ["CONSISTENT_HASH on a header", config("CONSISTENT_HASH", { source: "header", name: "X-User" }), [
    "X-User: 7",
  ], "7"],
  [
    "a repeated header is joined with '; '",
    config("CONSISTENT_HASH", { source: "header", name: "x-user" }),
    ["X-User: 7", "X-User: 8"],
    "7; 8",
  ],
  [
    "a missing header keys on ''",
    config("CONSISTENT_HASH", { source: "header", name: "x-user" }),
    [],
    "",
  ],
  ["a cookie across Cookie fields", config("CONSISTENT_HASH", { source: "cookie", name: "sid" }), [
    "Cookie: a=1",
    "Cookie: sid=xyz",
  ], "xyz"],
  ["a query parameter", config("CONSISTENT_HASH", { source: "query", name: "user" }), [], "q7"],
];

for (const [name, cfg, fields, key] of CASES) {
  Deno.test(`pickContext(): ${name}`, () => {
    const first = pickContext(cfg, request(...fields), "10.1.2.3", null);
    assert.equal(first.key, key);
    assert.equal(first.accept, undefined);
    const accept = (i: number) => i !== 0;
    const retry = pickContext(cfg, request(...fields), "10.1.2.3", accept);
    assert.equal(retry.key, key);
    assert.equal(retry.accept, accept);
  });
}

Deno.test("pickContext() shares one empty context for a first unkeyed pick", () => {
  const req = request();
  assert.equal(
    pickContext(config("RANDOM"), req, "1.1.1.1", null),
    pickContext(config("ROUND_ROBIN"), req, "2.2.2.2", null),
  );
});
