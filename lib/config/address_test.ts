import assert from "node:assert/strict";
import { formatHostPort, type HostPort, parseHostPort } from "./address.ts";

function ok(address: string): HostPort {
  const r = parseHostPort(address);
  assert.equal(typeof r, "object", `${address}: ${r}`);
  return r as HostPort;
}

function reason(address: string): string {
  const r = parseHostPort(address);
  assert.equal(typeof r, "string", `${address} should be rejected, got ${JSON.stringify(r)}`);
  return r as string;
}

Deno.test("parseHostPort() accepts IPv4 addresses and host names with a port", () => {
  assert.deepEqual(ok("127.0.0.1:9001"), { host: "127.0.0.1", port: 9001 });
  assert.deepEqual(ok("10.0.0.1:80"), { host: "10.0.0.1", port: 80 });
  assert.deepEqual(ok("0.0.0.0:1"), { host: "0.0.0.0", port: 1 });
  assert.deepEqual(ok("255.255.255.255:65535"), { host: "255.255.255.255", port: 65535 });
  assert.deepEqual(ok("localhost:8080"), { host: "localhost", port: 8080 });
  assert.deepEqual(ok("api-1.internal.example.com:443"), {
    host: "api-1.internal.example.com",
    port: 443,
  });
  assert.deepEqual(ok("1e100.net:80"), { host: "1e100.net", port: 80 });
  assert.deepEqual(ok("a:1"), { host: "a", port: 1 });
});

Deno.test("parseHostPort() keeps the host's case (the schema lower-cases it)", () => {
  assert.deepEqual(ok("API.Example.COM:80"), { host: "API.Example.COM", port: 80 });
});

Deno.test("parseHostPort() rejects an address without a port", () => {
  assert.equal(reason("10.0.0.1"), '"10.0.0.1" is not host:port');
  assert.equal(reason("localhost"), '"localhost" is not host:port');
  assert.equal(reason(""), '"" is not host:port');
  assert.equal(reason(":80"), '":80" is not host:port');
  assert.equal(reason("localhost:"), 'port "" is not a number');
});

Deno.test("parseHostPort() rejects ports outside 1-65535 and non-numeric ports", () => {
  assert.equal(reason("127.0.0.1:0"), "port 0 is outside 1-65535");
  assert.equal(reason("127.0.0.1:65536"), "port 65536 is outside 1-65535");
  assert.equal(reason("127.0.0.1:99999"), "port 99999 is outside 1-65535");
  assert.equal(reason("127.0.0.1:http"), 'port "http" is not a number');
  assert.equal(reason("127.0.0.1:-1"), 'port "-1" is not a number');
  assert.equal(reason("127.0.0.1:+80"), 'port "+80" is not a number');
  assert.equal(reason("127.0.0.1:8.0"), 'port "8.0" is not a number');
  assert.equal(reason("127.0.0.1:123456"), 'port "123456" is not a number');
  assert.equal(reason("127.0.0.1: 80"), 'port " 80" is not a number');
});

Deno.test("parseHostPort() accepts leading zeros in a port", () => {
  assert.deepEqual(ok("127.0.0.1:080"), { host: "127.0.0.1", port: 80 });
});

Deno.test("parseHostPort() rejects invalid IPv4 addresses", () => {
  for (const host of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "01.2.3.4", "1.2.3.", "999"]) {
    assert.equal(
      reason(`${host}:80`),
      `"${host}" is not a valid host name or IPv4 address`,
      host,
    );
  }
});

Deno.test("parseHostPort() rejects invalid host names", () => {
  const bad = [
    "-api",
    "api-",
    "a_b",
    "api..example",
    ".example",
    "example.",
    "exa mple",
    " localhost",
    "host/path",
    "user@host",
    "ex*ample",
    "a".repeat(64),
    `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`,
  ];
  for (const host of bad) {
    assert.equal(
      reason(`${host}:80`),
      `${JSON.stringify(host)} is not a valid host name or IPv4 address`,
      host,
    );
  }
});

Deno.test("parseHostPort() accepts host names at the length limits", () => {
  ok(`${"a".repeat(63)}:80`);
  ok(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}:80`);
});

Deno.test("parseHostPort() rejects IPv6 addresses without brackets", () => {
  assert.equal(reason("::1:80"), '"::1:80" has an IPv6 host without brackets');
  assert.equal(reason("fe80::1:8080"), '"fe80::1:8080" has an IPv6 host without brackets');
  assert.equal(reason("2001:db8::1"), '"2001:db8::1" has an IPv6 host without brackets');
});

Deno.test("parseHostPort() accepts bracketed IPv6 addresses", () => {
  assert.deepEqual(ok("[::1]:80"), { host: "::1", port: 80 });
  assert.deepEqual(ok("[2001:db8::1]:8443"), { host: "2001:db8::1", port: 8443 });
  assert.deepEqual(ok("[::]:80"), { host: "::", port: 80 });
  assert.deepEqual(ok("[1:2:3:4:5:6:7:8]:80"), { host: "1:2:3:4:5:6:7:8", port: 80 });
  assert.deepEqual(ok("[1:2:3:4:5:6:7::]:80"), { host: "1:2:3:4:5:6:7:0", port: 80 });
  assert.deepEqual(ok("[::ffff:10.0.0.1]:80"), { host: "::ffff:10.0.0.1", port: 80 });
});

Deno.test("parseHostPort() writes IPv6 hosts in canonical RFC 5952 form", () => {
  assert.equal(ok("[2001:DB8::1]:80").host, "2001:db8::1");
  assert.equal(ok("[0:0:0:0:0:0:0:1]:80").host, "::1");
  assert.equal(ok("[2001:0db8:0000:0000:0000:0000:0000:0001]:80").host, "2001:db8::1");
  // the longest run of zeros is compressed; on a tie, the first
  assert.equal(ok("[1:0:0:2:0:0:0:3]:80").host, "1:0:0:2::3");
  assert.equal(ok("[1:0:0:2:0:0:3:4]:80").host, "1::2:0:0:3:4");
  // a single zero group is not compressed
  assert.equal(ok("[1:0:2:3:4:5:6:7]:80").host, "1:0:2:3:4:5:6:7");
  // embedded IPv4 is kept dotted only for IPv4-mapped addresses
  assert.equal(ok("[::FFFF:192.168.0.1]:80").host, "::ffff:192.168.0.1");
  assert.equal(ok("[0:0:0:0:0:ffff:c0a8:1]:80").host, "::ffff:192.168.0.1");
  assert.equal(ok("[::1.2.3.4]:80").host, "::102:304");
  assert.equal(ok("[64:ff9b::1.2.3.4]:80").host, "64:ff9b::102:304");
});

Deno.test("parseHostPort() rejects malformed IPv6 addresses", () => {
  for (
    const host of [
      "",
      ":",
      ":::",
      "1::2::3",
      "12345::1",
      "g::1",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7::8",
      ":1::2",
      "1::2:",
      "::1.2.3",
      "::256.1.1.1",
      "1.2.3.4",
      "1:2:3:4:5:6:7:1.2.3.4",
      "fe80::1%eth0",
    ]
  ) {
    assert.equal(reason(`[${host}]:80`), `${JSON.stringify(host)} is not an IPv6 address`, host);
  }
});

Deno.test("parseHostPort() rejects a bracketed host without a port", () => {
  assert.equal(reason("[::1]"), '"[::1]" is not host:port (IPv6 needs [addr]:port)');
  assert.equal(reason("[::1]80"), '"[::1]80" is not host:port (IPv6 needs [addr]:port)');
  assert.equal(reason("[::1:80"), '"[::1:80" is not host:port (IPv6 needs [addr]:port)');
  assert.equal(reason("[::1]:"), 'port "" is not a number');
  assert.equal(reason("[::1]:0"), "port 0 is outside 1-65535");
  assert.equal(reason("[::1]:65536"), "port 65536 is outside 1-65535");
});

Deno.test("parseHostPort() escapes control characters in its reasons", () => {
  const r = reason("bad\nhost:80");
  assert.equal(r, '"bad\\nhost" is not a valid host name or IPv4 address');
  assert.ok(!r.includes("\n"));
});

Deno.test("formatHostPort() brackets IPv6 hosts only", () => {
  assert.equal(formatHostPort("127.0.0.1", 80), "127.0.0.1:80");
  assert.equal(formatHostPort("example.com", 443), "example.com:443");
  assert.equal(formatHostPort("::1", 80), "[::1]:80");
  assert.equal(formatHostPort("2001:db8::1", 8080), "[2001:db8::1]:8080");
});

Deno.test("formatHostPort() round-trips what parseHostPort() returns", () => {
  for (const a of ["127.0.0.1:9001", "[::1]:80", "example.com:443", "[::ffff:10.0.0.1]:1"]) {
    const { host, port } = ok(a);
    assert.equal(formatHostPort(host, port), a);
  }
});
