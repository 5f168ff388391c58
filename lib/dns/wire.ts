/**
 * A minimal DNS wire-format codec (RFC 1035): encode a query, decode a response. Enough for
 * probing Switchyard's CoreDNS (A, AAAA, SRV, TXT, CNAME answers) without a resolver library.
 *
 * Pure: bytes in, bytes out; no sockets, no runtime globals.
 *
 * @module
 */

/** Record types this codec names and decodes. */
export const RR_TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, SRV: 33 } as const;

/** A record type name this codec knows. */
export type RrTypeName = keyof typeof RR_TYPES;

/** Response codes by number. */
export const RCODES: Readonly<Record<number, string>> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

/** Raised for a malformed message or an unencodable name. */
export class DnsWireError extends Error {
  override name = "DnsWireError";
}

/** One decoded resource record. `data` depends on the type; unknown types keep raw bytes. */
export type ResourceRecord =
  | { name: string; type: "A" | "AAAA"; ttl: number; data: string }
  | { name: string; type: "CNAME" | "NS"; ttl: number; data: string }
  | { name: string; type: "TXT"; ttl: number; data: string[] }
  | {
    name: string;
    type: "SRV";
    ttl: number;
    data: { priority: number; weight: number; port: number; target: string };
  }
  | { name: string; type: string; ttl: number; data: Uint8Array };

/** A decoded response. */
export interface DnsResponse {
  readonly id: number;
  /** QR bit: this is a response. */
  readonly isResponse: boolean;
  readonly authoritative: boolean;
  readonly truncated: boolean;
  readonly rcode: number;
  /** `NOERROR`, `NXDOMAIN`, ... or `RCODE<n>`. */
  readonly rcodeName: string;
  readonly question?: { name: string; type: number };
  readonly answers: ResourceRecord[];
  readonly additionals: ResourceRecord[];
}

/** Encodes a name as length-prefixed labels (no compression). */
export function encodeName(name: string): number[] {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const out: number[] = [];
  if (trimmed !== "") {
    for (const label of trimmed.split(".")) {
      if (label.length === 0 || label.length > 63) {
        throw new DnsWireError(`bad label "${label}" in "${name}"`);
      }
      out.push(label.length);
      for (let i = 0; i < label.length; i++) {
        const c = label.charCodeAt(i);
        if (c > 0x7e || c < 0x21) throw new DnsWireError(`non-ASCII label in "${name}"`);
        out.push(c);
      }
    }
  }
  out.push(0);
  if (out.length > 255) throw new DnsWireError(`name "${name}" is longer than 255 octets`);
  return out;
}

/** Options for {@link encodeQuery}. */
export interface QueryOptions {
  /** Recursion desired (default false: we ask authoritative servers). */
  readonly recursionDesired?: boolean;
  /** Add an EDNS0 OPT record advertising this UDP payload size (default 1232; 0: none). */
  readonly ednsUdpSize?: number;
}

/** Encodes a standard query for `name` and `type`. */
export function encodeQuery(
  id: number,
  name: string,
  type: RrTypeName | number,
  options: QueryOptions = {},
): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new DnsWireError(`bad id ${id}`);
  const qtype = typeof type === "number" ? type : RR_TYPES[type];
  const edns = options.ednsUdpSize ?? 1232;
  const bytes = [
    id >> 8,
    id & 0xff,
    options.recursionDesired ? 0x01 : 0x00,
    0x00,
    0,
    1, // QDCOUNT
    0,
    0, // ANCOUNT
    0,
    0, // NSCOUNT
    0,
    edns > 0 ? 1 : 0, // ARCOUNT
    ...encodeName(name),
    qtype >> 8,
    qtype & 0xff,
    0,
    1, // class IN
  ];
  if (edns > 0) {
    // OPT: root name, type 41, class = UDP size, TTL = ext rcode/version/flags, RDLEN 0
    bytes.push(0, 0, 41, (edns >> 8) & 0xff, edns & 0xff, 0, 0, 0, 0, 0, 0);
  }
  return new Uint8Array(bytes);
}

class Reader {
  offset = 0;
  constructor(readonly buf: Uint8Array) {}
  need(n: number, at = this.offset): void {
    if (at + n > this.buf.length) throw new DnsWireError("message truncated");
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++] as number;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return ((this.u16() << 16) >>> 0) + this.u16();
  }
  name(): string {
    const labels: string[] = [];
    let pos = this.offset;
    let jumped = false;
    let hops = 0;
    for (;;) {
      this.need(1, pos);
      const len = this.buf[pos] as number;
      if ((len & 0xc0) === 0xc0) {
        this.need(2, pos);
        const target = ((len & 0x3f) << 8) | (this.buf[pos + 1] as number);
        if (!jumped) this.offset = pos + 2;
        jumped = true;
        if (++hops > 64) throw new DnsWireError("compression loop");
        pos = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new DnsWireError("bad label type");
      pos += 1;
      if (len === 0) break;
      this.need(len, pos);
      labels.push(String.fromCharCode(...this.buf.subarray(pos, pos + len)));
      pos += len;
    }
    if (!jumped) this.offset = pos;
    return labels.length === 0 ? "." : `${labels.join(".")}.`;
  }
}

function formatIPv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  }
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (bestLen < 2) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

function typeName(type: number): string {
  for (const [name, value] of Object.entries(RR_TYPES)) if (value === type) return name;
  return `TYPE${type}`;
}

function readRecord(r: Reader): ResourceRecord | undefined {
  const name = r.name();
  const type = r.u16();
  r.u16(); // class
  const ttl = r.u32();
  const rdlength = r.u16();
  r.need(rdlength);
  const end = r.offset + rdlength;
  const rdata = r.buf.subarray(r.offset, end);
  let record: ResourceRecord | undefined;
  switch (type) {
    case RR_TYPES.A:
      if (rdlength !== 4) throw new DnsWireError("A record with rdlength != 4");
      record = { name, type: "A", ttl, data: Array.from(rdata).join(".") };
      break;
    case RR_TYPES.AAAA:
      if (rdlength !== 16) throw new DnsWireError("AAAA record with rdlength != 16");
      record = { name, type: "AAAA", ttl, data: formatIPv6(rdata) };
      break;
    case RR_TYPES.CNAME:
    case RR_TYPES.NS:
      record = { name, type: type === RR_TYPES.NS ? "NS" : "CNAME", ttl, data: r.name() };
      break;
    case RR_TYPES.SRV: {
      const priority = r.u16();
      const weight = r.u16();
      const port = r.u16();
      record = { name, type: "SRV", ttl, data: { priority, weight, port, target: r.name() } };
      break;
    }
    case RR_TYPES.TXT: {
      const strings: string[] = [];
      let pos = 0;
      while (pos < rdlength) {
        const len = rdata[pos] as number;
        if (pos + 1 + len > rdlength) throw new DnsWireError("TXT string overruns its record");
        strings.push(new TextDecoder().decode(rdata.subarray(pos + 1, pos + 1 + len)));
        pos += 1 + len;
      }
      record = { name, type: "TXT", ttl, data: strings };
      break;
    }
    case 41: // OPT: not a record of the answer
      record = undefined;
      break;
    default:
      record = { name, type: typeName(type), ttl, data: rdata.slice() };
  }
  r.offset = end;
  return record;
}

/** Decodes a response message. Throws {@link DnsWireError} when malformed. */
export function decodeResponse(message: Uint8Array): DnsResponse {
  const r = new Reader(message);
  const id = r.u16();
  const flags = r.u16();
  const qdcount = r.u16();
  const ancount = r.u16();
  const nscount = r.u16();
  const arcount = r.u16();
  let question: { name: string; type: number } | undefined;
  for (let i = 0; i < qdcount; i++) {
    const name = r.name();
    const type = r.u16();
    r.u16();
    if (i === 0) question = { name, type };
  }
  const answers: ResourceRecord[] = [];
  const additionals: ResourceRecord[] = [];
  for (let i = 0; i < ancount; i++) {
    const rr = readRecord(r);
    if (rr) answers.push(rr);
  }
  for (let i = 0; i < nscount; i++) readRecord(r);
  for (let i = 0; i < arcount; i++) {
    const rr = readRecord(r);
    if (rr) additionals.push(rr);
  }
  const rcode = flags & 0x0f;
  return {
    id,
    isResponse: (flags & 0x8000) !== 0,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode,
    rcodeName: RCODES[rcode] ?? `RCODE${rcode}`,
    question,
    answers,
    additionals,
  };
}
