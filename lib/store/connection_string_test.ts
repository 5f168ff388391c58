import assert from "node:assert/strict";
import { parseConnectionString } from "./connection_string.ts";
import { StoreError } from "./errors.ts";

Deno.test("parseConnectionString() reads servers and an optional chroot", () => {
  assert.deepEqual(parseConnectionString("127.0.0.1:2181"), {
    servers: [{ host: "127.0.0.1", port: 2181 }],
    chroot: null,
  });
  assert.deepEqual(parseConnectionString("a:1,b:2,c/switchyard/prod"), {
    servers: [{ host: "a", port: 1 }, { host: "b", port: 2 }, { host: "c", port: 2181 }],
    chroot: "/switchyard/prod",
  });
  assert.deepEqual(parseConnectionString("[::1]:2281/").chroot, null);
  assert.deepEqual(parseConnectionString("[::1]:2281").servers, [{ host: "::1", port: 2281 }]);
});

Deno.test("parseConnectionString() rejects malformed strings before connecting", () => {
  for (const bad of ["", "host:0", "host:99999", "a:1,,b:2", "a:1/x//y", "::1:2181", ":2181"]) {
    assert.throws(() => parseConnectionString(bad), StoreError, bad);
  }
});

Deno.test("parseConnectionString() can accept server-less strings for the memory store", () => {
  assert.deepEqual(parseConnectionString("memory/app", false), { servers: [], chroot: "/app" });
  assert.deepEqual(parseConnectionString("memory", false), { servers: [], chroot: null });
});
