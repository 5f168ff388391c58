import assert from "node:assert/strict";
import { ALGORITHMS } from "../config/schema.ts";
import { cookieValue, requestHashKey, usesKey } from "./hash_key.ts";

/** A header lookup over a plain object of lower-case names. */
function headers(h: Record<string, string>): (name: string) => string | null {
  return (name) => {
    assert.equal(name, name.toLowerCase(), "names are looked up in lower case");
    return h[name] ?? null;
  };
}

const NO_HEADERS = headers({});

Deno.test("usesKey() is true only for CONSISTENT_HASH and IP_HASH", () => {
  const using = ALGORITHMS.filter(usesKey);
  assert.deepEqual(using, ["CONSISTENT_HASH", "IP_HASH"]);
});

Deno.test("cookieValue() finds a cookie by exact name among several", () => {
  const h = "a=1; sid=xyz; theme=dark";
  assert.equal(cookieValue(h, "sid"), "xyz");
  assert.equal(cookieValue(h, "a"), "1");
  assert.equal(cookieValue(h, "theme"), "dark");
  assert.equal(cookieValue(h, "si"), "");
  assert.equal(cookieValue(h, "SID"), "", "cookie names are case-sensitive");
});

Deno.test("cookieValue() tolerates missing spaces and extra whitespace", () => {
  assert.equal(cookieValue("a=1;sid=xyz", "sid"), "xyz");
  assert.equal(cookieValue("  sid = xyz  ; a=1", "sid"), "xyz");
});

Deno.test("cookieValue() returns the first of repeated cookies", () => {
  assert.equal(cookieValue("sid=first; sid=second", "sid"), "first");
});

Deno.test("cookieValue() keeps = signs inside a value", () => {
  assert.equal(cookieValue("token=a=b==; x=1", "token"), "a=b==");
});

Deno.test("cookieValue() returns an empty string when there is nothing to find", () => {
  assert.equal(cookieValue(null, "sid"), "");
  assert.equal(cookieValue("", "sid"), "");
  assert.equal(cookieValue("sid", "sid"), "", "a part without = is not a cookie");
  assert.equal(cookieValue("=xyz", ""), "", "an empty name never matches");
  assert.equal(cookieValue("sid=", "sid"), "");
});

Deno.test("requestHashKey() uses the client IP for IP_HASH whatever the setting", () => {
  for (
    const setting of [
      { source: "client_ip" as const },
      { source: "header" as const, name: "x-user" },
      { source: "cookie" as const, name: "sid" },
      { source: "query" as const, name: "u" },
    ]
  ) {
    const key = requestHashKey(
      "IP_HASH",
      setting,
      "10.1.2.3",
      headers({ "x-user": "u1", cookie: "sid=s" }),
      "/?u=q",
    );
    assert.equal(key, "10.1.2.3");
  }
});

Deno.test("requestHashKey() uses the client IP when the source is client_ip", () => {
  assert.equal(
    requestHashKey("CONSISTENT_HASH", { source: "client_ip" }, "::1", NO_HEADERS, "/"),
    "::1",
  );
});

Deno.test("requestHashKey() reads a header case-insensitively", () => {
  const setting = { source: "header" as const, name: "X-User-Id" };
  const get = headers({ "x-user-id": "alice" });
  assert.equal(requestHashKey("CONSISTENT_HASH", setting, "10.0.0.1", get, "/"), "alice");
  assert.equal(requestHashKey("CONSISTENT_HASH", setting, "10.0.0.1", NO_HEADERS, "/"), "");
});

Deno.test("requestHashKey() reads a cookie from the Cookie header", () => {
  const setting = { source: "cookie" as const, name: "sid" };
  const get = headers({ cookie: "a=1; sid=xyz" });
  assert.equal(requestHashKey("CONSISTENT_HASH", setting, "10.0.0.1", get, "/"), "xyz");
  assert.equal(requestHashKey("CONSISTENT_HASH", setting, "10.0.0.1", NO_HEADERS, "/"), "");
});

Deno.test("requestHashKey() reads a query parameter, decoded", () => {
  const setting = { source: "query" as const, name: "user" };
  const key = (target: string) =>
    requestHashKey("CONSISTENT_HASH", setting, "10.0.0.1", NO_HEADERS, target);
  assert.equal(key("/p?user=bob&x=1"), "bob");
  assert.equal(key("/p?x=1&user=a%20b"), "a b");
  assert.equal(key("/p?user=a+b"), "a b");
  assert.equal(key("/p?user=first&user=second"), "first");
  assert.equal(key("/p?user="), "");
  assert.equal(key("/p?other=1"), "");
  assert.equal(key("/p"), "");
  assert.equal(key("/p?"), "");
});

Deno.test("requestHashKey() gives an empty key for a missing name rather than throwing", () => {
  assert.equal(
    requestHashKey("CONSISTENT_HASH", { source: "header" }, "10.0.0.1", headers({}), "/"),
    "",
  );
});

Deno.test("requestHashKey() follows the setting for algorithms that ignore keys", () => {
  const key = requestHashKey(
    "ROUND_ROBIN",
    { source: "header", name: "x-user" },
    "10.0.0.1",
    headers({ "x-user": "u" }),
    "/",
  );
  assert.equal(key, "u");
});
