import assert from "node:assert/strict";
import { foldRepeated, parseCoreDnsListen } from "./flags.ts";

Deno.test("foldRepeated() joins a repeated flag into one comma list", () => {
  assert.deepEqual(foldRepeated(["--group", "a", "--ttl", "5", "--group=b,c"], "group"), [
    "--ttl",
    "5",
    "--group",
    "a,b,c",
  ]);
  assert.deepEqual(foldRepeated(["--ttl", "5"], "group"), ["--ttl", "5"]);
  // A flag without a value is left for the parser to report.
  assert.deepEqual(foldRepeated(["--group", "--ttl", "5"], "group"), ["--group", "--ttl", "5"]);
  assert.deepEqual(foldRepeated(["--groups", "x"], "group"), ["--groups", "x"]);
});

Deno.test("parseCoreDnsListen() reads one port and the addresses to bind", () => {
  assert.deepEqual(parseCoreDnsListen("0.0.0.0:53"), { port: 53, bind: null });
  assert.deepEqual(parseCoreDnsListen("[::]:5353"), { port: 5353, bind: null });
  assert.deepEqual(parseCoreDnsListen("127.0.0.1:1053"), { port: 1053, bind: ["127.0.0.1"] });
  assert.deepEqual(parseCoreDnsListen("198.18.0.11:53, [2001:db8::1]:53"), {
    port: 53,
    bind: ["198.18.0.11", "2001:db8::1"],
  });
  assert.throws(() => parseCoreDnsListen("127.0.0.1:53,127.0.0.2:54"), /one port/);
  assert.throws(() => parseCoreDnsListen("0.0.0.0:53,127.0.0.1:53"), /wildcard/);
  assert.throws(() => parseCoreDnsListen("53"), /HOST:PORT/);
  assert.throws(() => parseCoreDnsListen("127.0.0.1:0"), /HOST:PORT/);
  assert.throws(() => parseCoreDnsListen(""), /at least one/);
});
