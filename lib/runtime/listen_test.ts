import assert from "node:assert/strict";
import { listenAddress, ListenError, listenError } from "./listen.ts";

const withCode = (message: string, fields: Record<string, unknown>) =>
  Object.assign(new Error(message), fields);

Deno.test("listenError() names the address and the reason, whatever the runtime said", () => {
  const cases: [string, unknown, string, string | null][] = [
    [
      "node:net (Deno and Bun)",
      withCode("listen EADDRINUSE: address already in use 127.0.0.1:8080", {
        code: "EADDRINUSE",
      }),
      "address already in use",
      "EADDRINUSE",
    ],
    [
      "Bun.serve",
      withCode("Failed to start server. Is port 8080 in use?", { code: "EADDRINUSE" }),
      "address already in use",
      "EADDRINUSE",
    ],
    [
      "Deno.serve (error class name, no code)",
      withCode("Address already in use (os error 98)", { name: "AddrInUse" }),
      "address already in use",
      "EADDRINUSE",
    ],
    [
      "Deno.serve, an address of another host",
      withCode("Cannot assign requested address (os error 99)", { name: "AddrNotAvailable" }),
      "address not available on this host",
      "EADDRNOTAVAIL",
    ],
    [
      "a privileged port",
      withCode("listen EACCES: permission denied 127.0.0.1:8080", { code: "EACCES" }),
      "permission denied",
      "EACCES",
    ],
    [
      "an unknown code keeps the runtime's message",
      withCode("something odd", { code: "EWHATEVER" }),
      "something odd",
      "EWHATEVER",
    ],
    ["not an Error at all", "boom", "boom", null],
  ];
  for (const [what, e, reason, code] of cases) {
    const got = listenError("127.0.0.1", 8080, e);
    assert.ok(got instanceof ListenError, what);
    assert.equal(got.message, `listen 127.0.0.1:8080: ${reason}`, what);
    assert.equal(got.address, "127.0.0.1:8080", what);
    assert.equal(got.code, code, what);
    assert.equal(got.cause, e, what);
  }
});

Deno.test("listenError() keeps a ListenError as it is", () => {
  const e = new ListenError("[::1]:80", "permission denied", "EACCES");
  assert.equal(listenError("::1", 80, e), e);
});

Deno.test("listenAddress() brackets an IPv6 host", () => {
  assert.equal(listenAddress("::1", 9090), "[::1]:9090");
  assert.equal(listenAddress("0.0.0.0", 9090), "0.0.0.0:9090");
});
