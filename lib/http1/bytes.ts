/**
 * Byte helpers for the request path that avoid the runtimes' slow Buffer
 * paths (Deno's node:buffer `indexOf` with a Buffer needle, `Buffer.from(s,
 * "latin1")` and `Buffer.concat` run in JavaScript there).
 *
 * @module
 */
import { Buffer } from "node:buffer";

const u8indexOf = Uint8Array.prototype.indexOf;

/** Index of the CRLFCRLF that ends a head in `buf`, or -1 (scans LFs natively). */
export function findHeadEnd(buf: Uint8Array): number {
  let i = 3;
  for (;;) {
    i = u8indexOf.call(buf, 10, i);
    if (i < 0) return -1;
    if (buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i - 3;
    i++;
  }
}

const ENCODER = new TextEncoder();

/**
 * `text` as latin1 bytes followed by `body[0..bodyLen)`, in one allocation.
 * Heads are nearly always ASCII, where UTF-8 and latin1 agree and the
 * runtimes' native `encodeInto` is fastest; anything else (obs-text) is
 * copied byte by byte.
 */
export function latin1With(text: string, body: Uint8Array | null, bodyLen: number): Buffer {
  const n = text.length;
  const out = Buffer.allocUnsafe(n + bodyLen);
  const r = ENCODER.encodeInto(text, out);
  if (r.read !== n || r.written !== n) { for (let i = 0; i < n; i++) out[i] = text.charCodeAt(i); }
  if (body !== null && bodyLen > 0) {
    out.set(bodyLen === body.length ? body : body.subarray(0, bodyLen), n);
  }
  return out;
}
