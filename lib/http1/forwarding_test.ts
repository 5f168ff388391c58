import assert from "node:assert/strict";
import { appendFieldValue, forwardedNode, forwardingFields } from "./forwarding.ts";

/** The written lines as [name, value] pairs, checking that each ends in CRLF. */
function fields(text: string): [string, string][] {
  assert.ok(text.endsWith("\r\n"), JSON.stringify(text));
  return text.slice(0, -2).split("\r\n").map((l) => {
    const i = l.indexOf(": ");
    assert.ok(i > 0, l);
    return [l.slice(0, i), l.slice(i + 2)];
  });
}

Deno.test("forwardingFields() appends the client to what the client sent and sets proto and host", () => {
  const cases: {
    name: string;
    args: Parameters<typeof forwardingFields>;
    want: [string, string][];
  }[] = [
    {
      name: "nothing incoming",
      args: [null, null, "203.0.113.7", "http", "shop.example"],
      want: [
        ["x-forwarded-for", "203.0.113.7"],
        ["x-forwarded-proto", "http"],
        ["x-forwarded-host", "shop.example"],
        ["forwarded", 'for=203.0.113.7;proto=http;host="shop.example"'],
      ],
    },
    {
      name: "an incoming Forwarded element is kept before ours",
      args: [null, "for=1.2.3.4", "203.0.113.7", "http", "shop.example"],
      want: [
        ["x-forwarded-for", "203.0.113.7"],
        ["x-forwarded-proto", "http"],
        ["x-forwarded-host", "shop.example"],
        ["forwarded", 'for=1.2.3.4, for=203.0.113.7;proto=http;host="shop.example"'],
      ],
    },
    {
      name: "a chain of earlier proxies in both fields, kept in order",
      args: [
        "198.51.100.1, 198.51.100.2",
        'for=198.51.100.1, for=198.51.100.2;proto=https;by="[2001:db8::1]"',
        "203.0.113.7",
        "https",
        "a:8443",
      ],
      want: [
        ["x-forwarded-for", "198.51.100.1, 198.51.100.2, 203.0.113.7"],
        ["x-forwarded-proto", "https"],
        ["x-forwarded-host", "a:8443"],
        [
          "forwarded",
          'for=198.51.100.1, for=198.51.100.2;proto=https;by="[2001:db8::1]", ' +
          'for=203.0.113.7;proto=https;host="a:8443"',
        ],
      ],
    },
    {
      name: "an IPv6 client is bracketed and quoted in Forwarded only",
      args: [null, "for=1.2.3.4", "::1", "http", "[::1]:8080"],
      want: [
        ["x-forwarded-for", "::1"],
        ["x-forwarded-proto", "http"],
        ["x-forwarded-host", "[::1]:8080"],
        ["forwarded", 'for=1.2.3.4, for="[::1]";proto=http;host="[::1]:8080"'],
      ],
    },
    {
      name: "no Host: no X-Forwarded-Host, no host= parameter",
      args: ["192.0.2.9", null, "203.0.113.7", "http", ""],
      want: [
        ["x-forwarded-for", "192.0.2.9, 203.0.113.7"],
        ["x-forwarded-proto", "http"],
        ["forwarded", "for=203.0.113.7;proto=http"],
      ],
    },
    {
      name: "an unknown client is the token unknown (RFC 7239 §6.3)",
      args: [null, null, "unknown", "http", "localhost"],
      want: [
        ["x-forwarded-for", "unknown"],
        ["x-forwarded-proto", "http"],
        ["x-forwarded-host", "localhost"],
        ["forwarded", 'for=unknown;proto=http;host="localhost"'],
      ],
    },
  ];
  for (const c of cases) assert.deepEqual(fields(forwardingFields(...c.args)), c.want, c.name);
});

Deno.test("appendFieldValue() joins repeated field lines in order", () => {
  const cases: [string | null, string, string][] = [
    [null, "for=1.2.3.4", "for=1.2.3.4"],
    ["for=1.2.3.4", "for=5.6.7.8;proto=https", "for=1.2.3.4, for=5.6.7.8;proto=https"],
    ["a, b", "c", "a, b, c"],
  ];
  for (const [prior, value, want] of cases) assert.equal(appendFieldValue(prior, value), want);
});

Deno.test("forwardedNode() quotes and brackets IPv6 addresses only", () => {
  const cases: [string, string][] = [
    ["192.0.2.1", "192.0.2.1"],
    ["::1", '"[::1]"'],
    ["2001:db8::7", '"[2001:db8::7]"'],
    ["::ffff:127.0.0.1", '"[::ffff:127.0.0.1]"'],
    ["unknown", "unknown"],
  ];
  for (const [ip, want] of cases) assert.equal(forwardedNode(ip), want, ip);
});
