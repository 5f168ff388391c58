import assert from "node:assert/strict";
import { type HeaderBlock, HpackDecoder, HpackEncoder, type HpackError } from "./hpack.ts";

const unhex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ""), "hex"));

function ok(r: HeaderBlock | HpackError): HeaderBlock {
  if ("error" in r) throw new Error(`unexpected HPACK error: ${r.error}`);
  return r;
}
const pairs = (b: HeaderBlock) => b.names.map((n, i) => `${n}: ${b.values[i]}`);

Deno.test("HPACK decoder: RFC 7541 C.3 and C.4, three requests sharing the dynamic table", () => {
  const expected = [
    [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"],
    [
      ":method: GET",
      ":scheme: http",
      ":path: /",
      ":authority: www.example.com",
      "cache-control: no-cache",
    ],
    [
      ":method: GET",
      ":scheme: https",
      ":path: /index.html",
      ":authority: www.example.com",
      "custom-key: custom-value",
    ],
  ];
  const sizes = [57, 110, 164];
  const plain = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
  ];
  const huffman = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
  ];
  for (const blocks of [plain, huffman]) {
    const d = new HpackDecoder();
    blocks.forEach((hex, i) => {
      assert.deepEqual(pairs(ok(d.decode(unhex(hex)))), expected[i], hex);
      assert.equal(d.tableSize, sizes[i], hex);
    });
  }
});

Deno.test("HPACK decoder: RFC 7541 C.5, responses with a 256-octet table (evictions)", () => {
  const d = new HpackDecoder({ maxTableSize: 256 });
  const date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
  const blocks: Array<[string, string[], number]> = [
    [
      "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a " +
      "3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      [
        ":status: 302",
        "cache-control: private",
        `date: ${date1}`,
        "location: https://www.example.com",
      ],
      222,
    ],
    [
      "4803 3330 37c1 c0bf",
      [
        ":status: 307",
        "cache-control: private",
        `date: ${date1}`,
        "location: https://www.example.com",
      ],
      222,
    ],
    [
      "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 " +
      "677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 " +
      "553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
      [
        ":status: 200",
        "cache-control: private",
        "date: Mon, 21 Oct 2013 20:13:22 GMT",
        "location: https://www.example.com",
        "content-encoding: gzip",
        "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
      ],
      215,
    ],
  ];
  for (const [hex, fields, size] of blocks) {
    assert.deepEqual(pairs(ok(d.decode(unhex(hex)))), fields);
    assert.equal(d.tableSize, size);
  }
});

Deno.test("HPACK decoder: malformed blocks are COMPRESSION_ERRORs with a reason", () => {
  const cases: Array<[string, string, RegExp, number?]> = [
    ["index 0", "80", /index 0 out of range/],
    ["index past the tables", "be", /index 62 out of range/],
    ["name index past the tables", "7f00 0161", /out of range/],
    ["integer over 2^31 - 1", "ff ff ff ff ff 0f", /bad integer/],
    ["integer with too many continuation octets", "ff 80 80 80 80 80 01", /bad integer/],
    ["truncated integer", "ff 80", /bad integer/],
    ["string past the end", "40 05 61", /past the end/],
    ["missing value", "40 01 61", /truncated string/],
    ["size update after a field", "82 3f e1 1f", /after a field/],
    ["size update over the advertised size", "3f e2 1f", /over the advertised 4096/],
    ["Huffman EOS in a string", "40 84 ff ff ff ff 00", /Huffman string: eos/],
    ["Huffman zero padding", "40 81 18 00", /Huffman string: padding/],
  ];
  for (const [what, hex, reason] of cases) {
    const r = new HpackDecoder().decode(unhex(hex));
    assert.ok("error" in r, what);
    assert.match(r.error, reason, what);
  }
  // positive controls: the same shapes, valid
  assert.deepEqual(pairs(ok(new HpackDecoder().decode(unhex("3f e1 1f 82")))), [":method: GET"]);
  assert.deepEqual(pairs(ok(new HpackDecoder().decode(unhex("40 01 61 00")))), ["a: "]);
});

Deno.test("HPACK decoder: a bomb stops at the header-list limit and the table stays in step", () => {
  const d = new HpackDecoder({ maxHeaderListSize: 16_384 });
  // insert one 4,000-octet value, then reference it 1,000 times: 4 MB decoded from 4 KB
  const big = "x".repeat(4000);
  const insert = [0x40, 0x01, 0x62, 0x7f, ...int7rest(4000 - 127), ...Buffer.from(big)];
  const refs = new Array(1000).fill(0xbe); // index 62: the newest dynamic entry
  const r = ok(d.decode(Uint8Array.from([...insert, ...refs])));
  assert.equal(r.tooLarge, true);
  // only what fits the limit is kept: 16,384 / (1 + 4000 + 32) = 4 fields
  assert.equal(r.names.length, 4);
  // the entry is still in the table, so the next block references it correctly
  const next = ok(d.decode(Uint8Array.of(0xbe)));
  assert.equal(next.tooLarge, false);
  assert.deepEqual(next.values, [big]);
});

Deno.test("HPACK decoder: an entry larger than the table empties it (§4.4); size updates evict", () => {
  const d = new HpackDecoder({ maxTableSize: 100 });
  ok(d.decode(unhex("40 01 61 01 62"))); // a: b, 34 octets
  assert.equal(d.tableSize, 34);
  const long = "y".repeat(80);
  ok(d.decode(Uint8Array.from([0x40, 0x01, 0x63, 80, ...Buffer.from(long)])));
  assert.equal(d.tableSize, 0);
  const r = d.decode(Uint8Array.of(0xbe));
  assert.ok("error" in r, "the table is empty: index 62 is out of range");
  ok(d.decode(unhex("40 01 61 01 62 40 01 63 01 64"))); // 68 octets
  ok(d.decode(unhex("3f 03"))); // size update to 34: evicts the oldest
  assert.equal(d.tableSize, 34);
  assert.deepEqual(ok(d.decode(Uint8Array.of(0xbe))).values, ["d"]);
});

Deno.test("HPACK encoder: static references, literals and Huffman round-trip through the decoder", () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const cases: Array<[string[], string[]]> = [
    [[":status"], ["200"]],
    [[":status", "content-length"], ["503", "12"]],
    [["www-authenticate", "x-custom"], ["Basic realm=x", "v".repeat(300)]],
    [["set-cookie", "x-bytes"], ["a=1; Path=/", "\u00e9\u00ff\u0080 latin1 octets"]],
    [["x-empty"], [""]],
  ];
  for (const [names, values] of cases) {
    const block = e.encode(names, values);
    const back = ok(d.decode(block));
    assert.deepEqual(back.names, names);
    assert.deepEqual(back.values, values);
  }
  assert.deepEqual([...e.encode([":status"], ["404"])], [0x8d]);
  // www-authenticate is static 61: a 4-bit prefix needs a continuation octet (15 + 46)
  assert.deepEqual([...e.encode(["www-authenticate"], ["a"])].slice(0, 2), [0x0f, 46]);
  assert.equal(d.tableSize, 0, "the encoder never asks the peer to index");
});

/** The continuation octets of an HPACK integer beyond its prefix's maximum. */
function int7rest(v: number): number[] {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
