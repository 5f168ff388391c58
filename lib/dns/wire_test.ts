import assert from "node:assert/strict";
import { decodeResponse, DnsWireError, encodeName, encodeQuery } from "./wire.ts";

/** A response builder: header + question + records, with optional name compression. */
function response(options: {
  id?: number;
  flags?: number;
  question?: number[];
  answers?: number[][];
  authority?: number[][];
  additional?: number[][];
}): Uint8Array {
  const id = options.id ?? 0x1234;
  const flags = options.flags ?? 0x8400; // QR + AA, NOERROR
  const q = options.question ?? [...encodeName("api.example.com"), 0, 1, 0, 1];
  const an = options.answers ?? [];
  const ns = options.authority ?? [];
  const ar = options.additional ?? [];
  const u16 = (n: number) => [n >> 8, n & 0xff];
  return new Uint8Array([
    ...u16(id),
    ...u16(flags),
    ...u16(1),
    ...u16(an.length),
    ...u16(ns.length),
    ...u16(ar.length),
    ...q,
    ...an.flat(),
    ...ns.flat(),
    ...ar.flat(),
  ]);
}

/** A record whose owner is a pointer to the question name (offset 12). */
function rr(type: number, ttl: number, rdata: number[]): number[] {
  return [
    0xc0,
    12,
    type >> 8,
    type & 0xff,
    0,
    1,
    (ttl >>> 24) & 0xff,
    (ttl >>> 16) & 0xff,
    (ttl >>> 8) & 0xff,
    ttl & 0xff,
    rdata.length >> 8,
    rdata.length & 0xff,
    ...rdata,
  ];
}

Deno.test("encodeName: labels, root, trailing dot, limits", () => {
  assert.deepEqual(encodeName("a.bc"), [1, 97, 2, 98, 99, 0]);
  assert.deepEqual(encodeName("a.bc."), [1, 97, 2, 98, 99, 0]);
  assert.deepEqual(encodeName("."), [0]);
  assert.deepEqual(encodeName(""), [0]);
  assert.throws(() => encodeName("a..b"), DnsWireError);
  assert.throws(() => encodeName(`${"a".repeat(64)}.com`), DnsWireError);
  assert.throws(() => encodeName("bad name.com"), DnsWireError);
  assert.throws(() => encodeName("é.com"), DnsWireError);
  assert.throws(() => encodeName(Array(64).fill("abcd").join(".")), /longer than 255/);
});

Deno.test("encodeQuery: header, question, EDNS0 OPT", () => {
  const q = encodeQuery(0xbeef, "api.example.com", "A");
  assert.deepEqual([...q.subarray(0, 12)], [0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  const name = encodeName("api.example.com");
  assert.deepEqual([...q.subarray(12, 12 + name.length)], name);
  assert.deepEqual([...q.subarray(12 + name.length, 16 + name.length)], [0, 1, 0, 1]);
  assert.deepEqual([...q.subarray(16 + name.length)], [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
  const plain = encodeQuery(1, "x", "SRV", { ednsUdpSize: 0, recursionDesired: true });
  assert.equal(plain[2], 0x01);
  assert.equal(plain[11], 0);
  assert.equal(plain.length, 12 + 3 + 4);
  assert.deepEqual([...plain.subarray(plain.length - 4)], [0, 33, 0, 1]);
  assert.deepEqual([...encodeQuery(1, "x", 255, { ednsUdpSize: 0 }).subarray(15, 17)], [0, 255]);
  assert.throws(() => encodeQuery(70000, "x", "A"), DnsWireError);
  assert.throws(() => encodeQuery(-1, "x", "A"), DnsWireError);
});

Deno.test("decodeResponse: A and AAAA answers with compression pointers", () => {
  const msg = response({
    answers: [
      rr(1, 2, [198, 18, 10, 1]),
      rr(1, 2, [198, 18, 10, 2]),
      rr(28, 30, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    ],
  });
  const r = decodeResponse(msg);
  assert.equal(r.id, 0x1234);
  assert.equal(r.isResponse, true);
  assert.equal(r.authoritative, true);
  assert.equal(r.truncated, false);
  assert.equal(r.rcodeName, "NOERROR");
  assert.deepEqual(r.question, { name: "api.example.com.", type: 1 });
  assert.deepEqual(r.answers, [
    { name: "api.example.com.", type: "A", ttl: 2, data: "198.18.10.1" },
    { name: "api.example.com.", type: "A", ttl: 2, data: "198.18.10.2" },
    { name: "api.example.com.", type: "AAAA", ttl: 30, data: "2001:db8::1" },
  ]);
});

Deno.test("decodeResponse: SRV with a compressed target, TXT, CNAME, OPT skipped", () => {
  // Target "lb1" + pointer to the question name.
  const target = [3, 108, 98, 49, 0xc0, 12];
  const msg = response({
    answers: [
      rr(33, 5, [0, 10, 0, 70, 0x20, 0xfb, ...target]),
      rr(16, 5, [2, 104, 105, 3, 97, 98, 99]),
      rr(5, 5, [...encodeName("other.example.com")]),
    ],
    additional: [[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0], rr(1, 5, [1, 2, 3, 4])],
  });
  const r = decodeResponse(msg);
  assert.deepEqual(r.answers, [
    {
      name: "api.example.com.",
      type: "SRV",
      ttl: 5,
      data: { priority: 10, weight: 70, port: 8443, target: "lb1.api.example.com." },
    },
    { name: "api.example.com.", type: "TXT", ttl: 5, data: ["hi", "abc"] },
    { name: "api.example.com.", type: "CNAME", ttl: 5, data: "other.example.com." },
  ]);
  assert.deepEqual(r.additionals, [{
    name: "api.example.com.",
    type: "A",
    ttl: 5,
    data: "1.2.3.4",
  }]);
});

Deno.test("decodeResponse: rcodes, flags, authority skipped, unknown types kept raw", () => {
  const nx = decodeResponse(
    response({ flags: 0x8003 | 0x0200, authority: [rr(6, 5, [0, 0])] }),
  );
  assert.equal(nx.rcode, 3);
  assert.equal(nx.rcodeName, "NXDOMAIN");
  assert.equal(nx.truncated, true);
  assert.equal(nx.authoritative, false);
  assert.deepEqual(nx.answers, []);
  assert.equal(decodeResponse(response({ flags: 0x8002 })).rcodeName, "SERVFAIL");
  assert.equal(decodeResponse(response({ flags: 0x8005 })).rcodeName, "REFUSED");
  assert.equal(decodeResponse(response({ flags: 0x800a })).rcodeName, "RCODE10");
  const raw = decodeResponse(response({ answers: [rr(99, 7, [9, 8, 7])] }));
  assert.equal(raw.answers[0]?.type, "TYPE99");
  assert.deepEqual([...(raw.answers[0]?.data as Uint8Array)], [9, 8, 7]);
  assert.equal(decodeResponse(response({ flags: 0 })).isResponse, false);
});

Deno.test("decodeResponse: the root name", () => {
  const msg = response({ question: [0, 0, 2, 0, 1] });
  assert.deepEqual(decodeResponse(msg).question, { name: ".", type: 2 });
});

Deno.test("decodeResponse: malformed messages throw DnsWireError", () => {
  const good = response({ answers: [rr(1, 2, [1, 2, 3, 4])] });
  // Every strict prefix of a valid message is truncated.
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => decodeResponse(good.subarray(0, n)), DnsWireError, `prefix ${n}`);
  }
  assert.throws(
    () => decodeResponse(response({ answers: [rr(1, 2, [1, 2, 3])] })),
    /rdlength != 4/,
  );
  assert.throws(
    () => decodeResponse(response({ answers: [rr(28, 2, [1, 2, 3, 4])] })),
    /rdlength != 16/,
  );
  assert.throws(() => decodeResponse(response({ answers: [rr(16, 2, [5, 97])] })), /overruns/);
  // A pointer to itself loops.
  assert.throws(() => decodeResponse(response({ question: [0xc0, 12, 0, 1, 0, 1] })), /loop/);
  // Label type bits 01/10 are reserved.
  assert.throws(() => decodeResponse(response({ question: [0x40, 0, 0, 1, 0, 1] })), /label type/);
});

Deno.test("round trip: a query decodes as a (non-response) message", () => {
  const r = decodeResponse(encodeQuery(7, "lb1.api.example.com", "SRV"));
  assert.equal(r.id, 7);
  assert.equal(r.isResponse, false);
  assert.deepEqual(r.question, { name: "lb1.api.example.com.", type: 33 });
  assert.deepEqual(r.additionals, []);
});
