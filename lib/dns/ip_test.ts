import assert from "node:assert/strict";
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  parseIPv4,
  parseIPv6,
  unmapCidr,
  unmapIp,
} from "./ip.ts";
import type { Cidr, IpAddress } from "./ip.ts";

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === "string") throw new Error(c);
  return c;
}

function ip(text: string): IpAddress {
  const a = parseIp(text);
  if (!a) throw new Error(`bad ip ${text}`);
  return a;
}

Deno.test("parseIPv4: valid dotted quads", () => {
  assert.deepEqual(parseIPv4("198.18.0.53"), { version: 4, bytes: [198, 18, 0, 53] });
  assert.deepEqual(parseIPv4("0.0.0.0")?.bytes, [0, 0, 0, 0]);
  assert.deepEqual(parseIPv4("255.255.255.255")?.bytes, [255, 255, 255, 255]);
});

Deno.test("parseIPv4: rejects malformed text", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.-4",
      "1.2.3.4 ",
      "a.b.c.d",
      "1..2.3",
      "1.2.3.4/24",
    ]
  ) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("parseIPv6: full, compressed and IPv4-tailed forms", () => {
  assert.deepEqual(parseIPv6("::1")?.bytes, [...new Array(15).fill(0), 1]);
  assert.deepEqual(parseIPv6("::")?.bytes, new Array(16).fill(0));
  assert.deepEqual(
    parseIPv6("2001:db8::ff00:42:8329")?.bytes,
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0, 0x42, 0x83, 0x29],
  );
  assert.deepEqual(
    parseIPv6("2001:0DB8:0000:0000:0000:FF00:0042:8329")?.bytes,
    parseIPv6("2001:db8::ff00:42:8329")?.bytes,
  );
  assert.deepEqual(parseIPv6("::ffff:198.18.0.1")?.bytes.slice(10), [0xff, 0xff, 198, 18, 0, 1]);
  assert.deepEqual(parseIPv6("fe80::")?.bytes.slice(0, 2), [0xfe, 0x80]);
});

Deno.test("parseIPv6: rejects malformed text", () => {
  for (
    const bad of [
      "",
      ":",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "g::1",
      "1:2:3:4:5:6:7::8", // "::" standing for zero groups
      "::1.2.3",
      "1.2.3.4::",
      "::ffff:256.1.1.1",
      "fe80::1%eth0",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

Deno.test("parseIp: dispatches on the family", () => {
  assert.equal(parseIp("10.0.0.1")?.version, 4);
  assert.equal(parseIp("::1")?.version, 6);
  assert.equal(parseIp("example.com"), undefined);
});

Deno.test("formatIp: canonical text (RFC 5952)", () => {
  assert.equal(formatIp(ip("198.18.0.1")), "198.18.0.1");
  assert.equal(formatIp(ip("2001:0DB8:0:0:0:0:0:1")), "2001:db8::1");
  assert.equal(formatIp(ip("::")), "::");
  assert.equal(formatIp(ip("::1")), "::1");
  assert.equal(formatIp(ip("1::")), "1::");
  assert.equal(formatIp(ip("1:0:0:2:0:0:0:3")), "1:0:0:2::3"); // longest run wins
  assert.equal(formatIp(ip("1:0:2:3:4:5:6:7")), "1:0:2:3:4:5:6:7"); // a single 0 stays
  assert.equal(formatIp(ip("1:0:0:2:3:0:0:4")), "1::2:3:0:0:4"); // first of equal runs
});

Deno.test("parseCidr: valid blocks", () => {
  assert.equal(formatCidr(cidr("198.18.1.0/24")), "198.18.1.0/24");
  assert.equal(formatCidr(cidr("0.0.0.0/0")), "0.0.0.0/0");
  assert.equal(formatCidr(cidr("198.18.0.53/32")), "198.18.0.53/32");
  assert.equal(formatCidr(cidr("2001:DB8::/32")), "2001:db8::/32");
  assert.equal(formatCidr(cidr("::/0")), "::/0");
});

Deno.test("parseCidr: reasons for invalid blocks", () => {
  assert.match(parseCidr("198.18.1.0") as string, /not a CIDR/);
  assert.match(parseCidr("198.18.1/24") as string, /not an IP address/);
  assert.match(parseCidr("198.18.1.0/33") as string, /0-32/);
  assert.match(parseCidr("::/129") as string, /0-128/);
  assert.match(parseCidr("198.18.1.0/") as string, /prefix length/);
  assert.match(parseCidr("198.18.1.0/2a") as string, /prefix length/);
  assert.match(
    parseCidr("198.18.1.7/24") as string,
    /host bits set \(did you mean 198\.18\.1\.0\/24\?\)/,
  );
  assert.match(parseCidr("2001:db8::1/64") as string, /did you mean 2001:db8::\/64/);
});

Deno.test("cidrContains: boundaries and families", () => {
  const block = cidr("198.18.1.0/24");
  assert.equal(cidrContains(block, ip("198.18.1.0")), true);
  assert.equal(cidrContains(block, ip("198.18.1.255")), true);
  assert.equal(cidrContains(block, ip("198.18.2.0")), false);
  assert.equal(cidrContains(block, ip("198.18.0.255")), false);
  assert.equal(cidrContains(cidr("198.18.0.0/15"), ip("198.19.255.255")), true);
  assert.equal(cidrContains(cidr("198.18.0.0/15"), ip("198.20.0.0")), false);
  assert.equal(cidrContains(cidr("0.0.0.0/0"), ip("127.0.0.1")), true);
  assert.equal(cidrContains(cidr("198.18.1.0/25"), ip("198.18.1.128")), false);
  assert.equal(cidrContains(cidr("::/0"), ip("127.0.0.1")), false, "families never mix");
  assert.equal(cidrContains(cidr("2001:db8::/32"), ip("2001:db8:ffff::1")), true);
  assert.equal(cidrContains(cidr("2001:db8::/32"), ip("2001:db9::1")), false);
});

Deno.test("cidrsOverlap: nested, disjoint, adjacent, families", () => {
  assert.equal(cidrsOverlap(cidr("198.18.0.0/15"), cidr("198.18.1.0/24")), true);
  assert.equal(cidrsOverlap(cidr("198.18.1.0/24"), cidr("198.18.0.0/15")), true);
  assert.equal(cidrsOverlap(cidr("198.18.1.0/24"), cidr("198.18.2.0/24")), false);
  assert.equal(cidrsOverlap(cidr("198.18.1.0/25"), cidr("198.18.1.128/25")), false);
  assert.equal(cidrsOverlap(cidr("198.18.1.0/24"), cidr("198.18.1.0/24")), true);
  assert.equal(cidrsOverlap(cidr("0.0.0.0/0"), cidr("::/0")), false);
});

Deno.test("unmapCidr / unmapIp: IPv4-mapped IPv6 stands for IPv4, as in CoreDNS", () => {
  assert.equal(formatCidr(unmapCidr(cidr("::ffff:0:0/96"))), "0.0.0.0/0");
  assert.equal(formatCidr(unmapCidr(cidr("::ffff:198.18.0.0/112"))), "198.18.0.0/16");
  assert.equal(formatCidr(unmapCidr(cidr("::fffe:0:0/95"))), "::fffe:0:0/95"); // below /96: IPv6
  assert.equal(formatCidr(unmapCidr(cidr("2001:db8::/96"))), "2001:db8::/96");
  assert.equal(formatCidr(unmapCidr(cidr("198.18.0.0/16"))), "198.18.0.0/16");
  assert.equal(formatIp(unmapIp(ip("::ffff:127.0.0.1"))), "127.0.0.1");
  assert.equal(formatIp(unmapIp(ip("::1"))), "::1");
  assert.equal(formatIp(unmapIp(ip("127.0.0.1"))), "127.0.0.1");
});
