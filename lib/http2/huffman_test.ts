import assert from "node:assert/strict";
import { huffmanDecode, huffmanEncode, huffmanLength } from "./huffman.ts";

const text = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (h: string) => Uint8Array.from(Buffer.from(h.replaceAll(" ", ""), "hex"));

function encode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanLength(bytes, 0, bytes.length));
  assert.equal(huffmanEncode(bytes, 0, bytes.length, out, 0), out.length);
  return out;
}
function decode(coded: Uint8Array, cap = 4096): Uint8Array | string {
  const out = new Uint8Array(cap);
  const n = huffmanDecode(coded, 0, coded.length, out);
  return typeof n === "string" ? n : out.slice(0, n);
}

Deno.test("huffman: RFC 7541 Appendix C vectors, both ways", () => {
  const vectors: Array<[string, string]> = [
    ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
    ["no-cache", "a8eb 1064 9cbf"],
    ["custom-key", "25a8 49e9 5ba9 7d7f"],
    ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
    ["302", "6402"],
    ["307", "640e ff"],
    ["private", "aec3 771a 4b"],
    ["Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"],
    ["https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"],
    ["gzip", "9bd9 ab"],
  ];
  for (const [plain, coded] of vectors) {
    assert.equal(hex(encode(text.encode(plain))), coded.replaceAll(" ", ""), plain);
    assert.deepEqual(decode(unhex(coded)), text.encode(plain), plain);
  }
});

Deno.test("huffman: every octet round-trips, alone and together", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(decode(encode(all)), all);
  for (let b = 0; b < 256; b++) {
    const one = Uint8Array.of(b, b, b);
    assert.deepEqual(decode(encode(one)), one, `octet ${b}`);
  }
  assert.deepEqual(decode(new Uint8Array(0)), new Uint8Array(0));
});

Deno.test("huffman: invalid input is refused with its reason", () => {
  const cases: Array<[string, Uint8Array, string, number?]> = [
    // EOS (30 ones) inside the string
    ["EOS coded", unhex("ffff ffff"), "eos"],
    // "a" is 00011 (5 bits): padded with zeros instead of ones
    ["zero padding", Uint8Array.of(0b00011000), "padding"],
    // "0" (00000, 5 bits) then a whole octet of ones: padding longer than 7 bits
    ["8 bits of padding", Uint8Array.of(0b00000111, 0xff), "padding"],
    ["over the caller's limit", encode(text.encode("www.example.com")), "too long", 4],
  ];
  for (const [what, coded, reason, cap] of cases) {
    assert.equal(decode(coded, cap ?? 4096), reason, what);
  }
  // positive control: the same string fits a limit of its own length
  assert.deepEqual(
    decode(encode(text.encode("www.example.com")), 15),
    text.encode("www.example.com"),
  );
});
