/**
 * Parsing of backend addresses (`host:port`, `[v6]:port`).
 *
 * Kept apart from the schema so the health prober, the proxy and the DNS role
 * agree on one notion of "address".
 *
 * @module
 */

/** A parsed `host:port`; `host` has no brackets, even for IPv6. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

/** User text quoted for a message: control characters escaped, so a reason stays one line. */
function quote(text: string): string {
  return JSON.stringify(text);
}

/** The eight 16-bit groups of an IPv6 address (no zone), or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
  if (text.length < 2 || text.length > 45) return null;
  let rest = text.toLowerCase();
  const tail: number[] = [];
  if (rest.includes(".")) {
    const colon = rest.lastIndexOf(":");
    const v4 = rest.slice(colon + 1);
    if (colon < 0 || !IPV4.test(v4)) return null;
    const o = v4.split(".").map(Number);
    tail.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
    // "::1.2.3.4" keeps its "::"; "::ffff:1.2.3.4" drops the colon before the IPv4 part
    rest = rest.slice(0, colon + 1);
    if (!rest.endsWith("::")) rest = rest.slice(0, -1);
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!HEXTET.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (!head) return null;
  if (halves.length === 1) {
    const groups = [...head, ...tail];
    return groups.length === 8 ? groups : null;
  }
  const after = parse(halves[1]!);
  if (!after) return null;
  const explicit = head.length + after.length + tail.length;
  if (explicit > 7) return null;
  return [...head, ...new Array<number>(8 - explicit).fill(0), ...after, ...tail];
}

/** RFC 5952 text of eight groups: lower-case, longest zero run as `::`, IPv4-mapped dotted. */
function formatIpv6(g: readonly number[]): string {
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/**
 * Parses `host:port`. Returns a reason string when the address is invalid.
 *
 * Host names must be valid DNS names (letters, digits, hyphens; labels of at
 * most 63 characters), all-numeric hosts must be dotted-quad IPv4 without
 * leading zeros, and IPv6 hosts must be bracketed; an IPv6 host is returned
 * in its canonical (RFC 5952) form so that equal addresses compare equal.
 * The port must be 1-65535.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./address.ts";
 * parseHostPort("127.0.0.1:9001"); // { host: "127.0.0.1", port: 9001 }
 * parseHostPort("[::1]:80"); // { host: "::1", port: 80 }
 * parseHostPort("10.0.0.1"); // '"10.0.0.1" is not host:port'
 * ```
 */
export function parseHostPort(address: string): HostPort | string {
  let host: string;
  let portText: string;
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    if (close < 0 || address[close + 1] !== ":") {
      return `${quote(address)} is not host:port (IPv6 needs [addr]:port)`;
    }
    const groups = ipv6Groups(address.slice(1, close));
    if (!groups) return `${quote(address.slice(1, close))} is not an IPv6 address`;
    host = formatIpv6(groups);
    portText = address.slice(close + 2);
  } else {
    const colon = address.lastIndexOf(":");
    if (colon <= 0) return `${quote(address)} is not host:port`;
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(":")) return `${quote(address)} has an IPv6 host without brackets`;
    const looksNumeric = /^[\d.]+$/.test(host);
    if (looksNumeric ? !IPV4.test(host) : !HOSTNAME.test(host)) {
      return `${quote(host)} is not a valid host name or IPv4 address`;
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return `port ${quote(portText)} is not a number`;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${port} is outside 1-65535`;
  return { host, port };
}

/** Formats a host and port back into the canonical `host:port` form. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
