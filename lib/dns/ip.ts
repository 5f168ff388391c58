/**
 * IP address and CIDR parsing for the DNS layer (region CIDRs in the Corefile, record hosts).
 *
 * Pure: no I/O, no runtime globals. Addresses are parsed into bytes so containment and overlap
 * are exact (no regex approximations), and formatted back canonically.
 *
 * @module
 */

/** A parsed IP address: 4 bytes (IPv4) or 16 bytes (IPv6). */
export interface IpAddress {
  readonly version: 4 | 6;
  readonly bytes: readonly number[];
}

/** A parsed CIDR block, normalized so that host bits are zero. */
export interface Cidr {
  readonly address: IpAddress;
  readonly prefixLength: number;
}

const IPV4_OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEXTET = /^[0-9A-Fa-f]{1,4}$/;

/** Parses dotted-quad IPv4 (no leading zeros, which some parsers read as octal). */
export function parseIPv4(text: string): IpAddress | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    bytes.push(Number(part));
  }
  return { version: 4, bytes };
}

/** Parses IPv6 text (RFC 4291 forms, including `::` and a trailing dotted IPv4). No zone ids. */
export function parseIPv6(text: string): IpAddress | undefined {
  if (text.length < 2 || text.length > 45 || !text.includes(":")) return undefined;
  const doubleColon = text.indexOf("::");
  if (doubleColon !== text.lastIndexOf("::")) return undefined;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === "") return [];
    const groups = part.split(":");
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i] as string;
      if (allowV4Tail && i === groups.length - 1 && group.includes(".")) {
        const v4 = parseIPv4(group);
        if (!v4) return undefined;
        out.push(...v4.bytes);
        continue;
      }
      if (!HEXTET.test(group)) return undefined;
      const value = parseInt(group, 16);
      out.push(value >> 8, value & 0xff);
    }
    return out;
  };
  let bytes: number[];
  if (doubleColon >= 0) {
    const head = parseGroups(text.slice(0, doubleColon), false);
    const tail = parseGroups(text.slice(doubleColon + 2), true);
    if (!head || !tail) return undefined;
    const missing = 16 - head.length - tail.length;
    if (missing < 2) return undefined; // "::" stands for at least one group
    bytes = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 16) return undefined;
    bytes = all;
  }
  return { version: 6, bytes };
}

/** Parses an IPv4 or IPv6 address. */
export function parseIp(text: string): IpAddress | undefined {
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

/** Formats an address canonically (RFC 5952 for IPv6: lowercase, longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return ip.bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/**
 * Parses `address/prefix`. Host bits must be zero (`198.18.1.0/24`, not `198.18.1.7/24`), so a
 * typo never silently widens or narrows a region. Returns a reason string when invalid.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return `"${text}" is not a CIDR (address/prefix)`;
  const address = parseIp(text.slice(0, slash));
  if (!address) return `"${text.slice(0, slash)}" is not an IP address`;
  const lengthText = text.slice(slash + 1);
  const max = address.version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) {
    return `prefix length "${lengthText}" must be 0-${max}`;
  }
  const prefixLength = Number(lengthText);
  const masked = maskBytes(address.bytes, prefixLength);
  if (masked.some((b, i) => b !== address.bytes[i])) {
    const suggestion = formatCidr({ address: { ...address, bytes: masked }, prefixLength });
    return `"${text}" has host bits set (did you mean ${suggestion}?)`;
  }
  return { address, prefixLength };
}

/** Formats a CIDR canonically. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.address)}/${cidr.prefixLength}`;
}

function maskBytes(bytes: readonly number[], prefixLength: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

/** True when `ip` lies inside `cidr` (always false across address families). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.address.version !== ip.version) return false;
  const masked = maskBytes(ip.bytes, cidr.prefixLength);
  return masked.every((b, i) => b === cidr.address.bytes[i]);
}

/** True when two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.address.version !== b.address.version) return false;
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return cidrContains(shorter, longer.address);
}

function isV4MappedPrefix(bytes: readonly number[]): boolean {
  return bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * The IPv4 CIDR an IPv4-mapped IPv6 CIDR (`::ffff:198.18.0.0/112`, prefix >= 96) stands for, as
 * CoreDNS (Go's `net.IPNet`) matches IPv4 clients against it: `::ffff:0:0/96` contains every
 * IPv4 address. Any other CIDR is returned unchanged.
 */
export function unmapCidr(cidr: Cidr): Cidr {
  if (cidr.address.version !== 6 || cidr.prefixLength < 96) return cidr;
  if (!isV4MappedPrefix(cidr.address.bytes)) return cidr;
  return {
    address: { version: 4, bytes: cidr.address.bytes.slice(12) },
    prefixLength: cidr.prefixLength - 96,
  };
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) stands for, else `ip`. */
export function unmapIp(ip: IpAddress): IpAddress {
  if (ip.version !== 6 || !isV4MappedPrefix(ip.bytes)) return ip;
  return { version: 4, bytes: ip.bytes.slice(12) };
}
