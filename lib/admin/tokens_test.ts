import assert from "node:assert/strict";
import { bearer, identify, parseTokens } from "./tokens.ts";

Deno.test("parseTokens reads one name:token per line", () => {
  assert.deepEqual(parseTokens("alice:s3cret-token-1\nbob:s3cret-token-2\n"), [
    { name: "alice", token: "s3cret-token-1" },
    { name: "bob", token: "s3cret-token-2" },
  ]);
});

Deno.test("parseTokens names a bare token admin", () => {
  assert.deepEqual(parseTokens("just-a-long-token\n"), [
    { name: "admin", token: "just-a-long-token" },
  ]);
});

Deno.test("parseTokens skips blank lines and comments and trims whitespace and CRLF", () => {
  const text =
    "# operators\r\n\r\n   \r\n  alice : s3cret-token-1  \r\n\t# bob is away\r\nbob:tok-tok-tok\r\n";
  assert.deepEqual(parseTokens(text), [
    { name: "alice", token: "s3cret-token-1" },
    { name: "bob", token: "tok-tok-tok" },
  ]);
});

Deno.test("parseTokens keeps colons after the first one as part of the token", () => {
  assert.deepEqual(parseTokens("ci:abc:def:ghi"), [{ name: "ci", token: "abc:def:ghi" }]);
});

Deno.test("parseTokens accepts names of letters, digits, dot, underscore, at and dash", () => {
  assert.equal(parseTokens("ops.team_1@corp-x:12345678")[0]?.name, "ops.team_1@corp-x");
  assert.equal(parseTokens(`${"n".repeat(64)}:12345678`)[0]?.name, "n".repeat(64));
});

Deno.test("parseTokens refuses an invalid name with its line number", () => {
  assert.throws(() => parseTokens("# c\nalice smith:12345678"), /line 2: invalid name/);
  assert.throws(() => parseTokens(":12345678"), /line 1: invalid name/);
  assert.throws(() => parseTokens(`${"n".repeat(65)}:12345678`), /line 1: invalid name/);
  assert.throws(() => parseTokens("al/ice:12345678"), /invalid name/);
});

Deno.test("parseTokens refuses an empty or short token", () => {
  assert.throws(() => parseTokens("alice:"), /line 1: token shorter than 8 characters/);
  assert.throws(() => parseTokens("alice:1234567"), /token shorter than 8 characters/);
  assert.throws(() => parseTokens("short"), /token shorter than 8 characters/);
  assert.equal(parseTokens("alice:12345678")[0]?.token, "12345678");
});

Deno.test("parseTokens refuses a token with whitespace, which no bearer header could carry", () => {
  assert.throws(() => parseTokens("alice:abcd efgh"), /line 1: token contains whitespace/);
  assert.throws(() => parseTokens("alice:abcd\tefgh"), /token contains whitespace/);
});

Deno.test("parseTokens refuses a duplicate name", () => {
  assert.throws(
    () => parseTokens("alice:token-one-1\nalice:token-two-2"),
    /line 2: duplicate name alice/,
  );
  assert.throws(() => parseTokens("token-one-1\ntoken-two-2"), /line 2: duplicate name admin/);
});

Deno.test("parseTokens refuses one token under two names without echoing the token", () => {
  assert.throws(
    () => parseTokens("alice:shared-token\nbob:shared-token"),
    (e: Error) => {
      assert.match(e.message, /line 2: bob has the same token as alice/);
      assert.doesNotMatch(e.message, /shared-token/);
      return true;
    },
  );
});

Deno.test("parseTokens refuses a file without tokens", () => {
  assert.throws(() => parseTokens(""), /no tokens/);
  assert.throws(() => parseTokens("# only a comment\n\n"), /no tokens/);
});

const tokens = parseTokens("alice:s3cret-token-1\nbob:s3cret-token-2\n");

Deno.test("identify returns the name behind a known token", () => {
  assert.equal(identify(tokens, "s3cret-token-1"), "alice");
  assert.equal(identify(tokens, "s3cret-token-2"), "bob");
});

Deno.test("identify returns null for an unknown, empty, prefix or longer token", () => {
  assert.equal(identify(tokens, "wrong"), null);
  assert.equal(identify(tokens, ""), null);
  assert.equal(identify(tokens, "s3cret-token-"), null);
  assert.equal(identify(tokens, "s3cret-token-10"), null);
  assert.equal(identify(tokens, "S3CRET-TOKEN-1"), null);
  assert.equal(identify([], "s3cret-token-1"), null);
});

Deno.test("identify compares every known token even after a match", () => {
  // Constant time over the list: a match early in the list must not end the loop.
  let compared = 0;
  const spy = tokens.map((t) => ({
    name: t.name,
    get token() {
      compared++;
      return t.token;
    },
  }));
  assert.equal(identify(spy, "s3cret-token-1"), "alice");
  assert.equal(compared, 2);
});

Deno.test("bearer extracts the token of an Authorization: Bearer header", () => {
  assert.equal(bearer("Bearer abc.def-123"), "abc.def-123");
  assert.equal(bearer("bearer abc"), "abc");
  assert.equal(bearer("BEARER   abc  "), "abc");
  assert.equal(bearer("Bearer\tabc"), "abc");
});

Deno.test("bearer returns null for a missing, empty or non-bearer header", () => {
  assert.equal(bearer(undefined), null);
  assert.equal(bearer(null), null);
  assert.equal(bearer(""), null);
  assert.equal(bearer("Bearer"), null);
  assert.equal(bearer("Bearer "), null);
  assert.equal(bearer("Basic YWxpY2U6cHc="), null);
  assert.equal(bearer("Bearerabc"), null);
  assert.equal(bearer("Bearer a b"), null);
  assert.equal(bearer("Token abc"), null);
});
