/**
 * Strict parsers for HTTP/1.x request and response heads (RFC 9112).
 *
 * The proxy never forwards a head it received: it parses it here, refuses
 * anything ambiguous (the request-smuggling vectors: CL with TE, differing or
 * malformed CL, codings other than a final chunked, obs-fold, whitespace
 * before the colon, CR/LF/NUL in values, bad names, missing or duplicate Host,
 * a target with a fragment or bytes outside visible ASCII) and then writes a
 * fresh, normalized head. Input is the head as a latin1
 * string without its final CRLFCRLF.
 *
 * @module
 */
import {
  BAD_VALUE_CHAR,
  type HeadError,
  headError,
  listTokens,
  parseContentLength,
  targetFault,
  TOKEN,
  transferCodingError,
} from "./syntax.ts";

/** Size limits applied while parsing a request head. */
export interface HeadLimits {
  /** Maximum number of header fields (431 beyond). */
  readonly maxHeaderCount: number;
  /** Maximum request-target length (414 beyond). */
  readonly maxUriLength: number;
}

/** Header fields as three parallel arrays (no per-field objects). */
export interface Fields {
  /** Names as received. */
  readonly names: string[];
  /** Names lower-cased, for matching. */
  readonly lower: string[];
  /** Values with surrounding whitespace trimmed. */
  readonly values: string[];
}

/** The framing and connection facts both kinds of head share. */
interface CommonHead extends Fields {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: number;
  /** Body length from Content-Length, or -1 when absent. */
  readonly contentLength: number;
  /** Transfer-Encoding is exactly `chunked`. */
  readonly chunked: boolean;
  /** Lower-cased tokens of the Connection header(s). */
  readonly connectionTokens: readonly string[];
  /** The peer is willing to keep the connection open after this message. */
  readonly keepAlive: boolean;
  /** The Upgrade header value when Connection lists `upgrade`, else null. */
  readonly upgrade: string | null;
}

/** A parsed, validated request head. */
export interface RequestHead extends CommonHead {
  readonly method: string;
  /** Origin-form target (`/path?query`, or `*` for OPTIONS). */
  readonly target: string;
  /** The authority the request is for (Host, or the absolute-form target's host). */
  readonly host: string | null;
  /** The request carries `Expect: 100-continue` (HTTP/1.1 only). */
  readonly expectContinue: boolean;
  /** A TE header field lists `trailers` (any of them, when there are several). */
  readonly teTrailers: boolean;
}

/** A parsed, validated response head. */
export interface ResponseHead extends CommonHead {
  readonly status: number;
  readonly reason: string;
}

/** Header names already checked against TOKEN, with their lower-case form (bounded). */
const NAME_CACHE = new Map<string, string>();

const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?$/;

function parseFields(
  text: string,
  start: number,
  maxCount: number,
  statusOnLimit: number,
): Fields | HeadError {
  const names: string[] = [];
  const lower: string[] = [];
  const values: string[] = [];
  let pos = start;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf("\r\n", pos);
    if (eol < 0) eol = len;
    const first = text.charCodeAt(pos);
    if (first === 32 || first === 9) return headError(400, "obsolete line folding");
    const colon = text.indexOf(":", pos);
    if (colon < 0 || colon >= eol) return headError(400, "header line without a colon");
    const name = text.slice(pos, colon);
    let low = NAME_CACHE.get(name);
    if (low === undefined) {
      if (!TOKEN.test(name)) {
        return headError(400, name.length === 0 ? "empty header name" : "invalid header name");
      }
      low = name.toLowerCase();
      if (NAME_CACHE.size < 1024) NAME_CACHE.set(name, low);
    }
    // OWS around the value, trimmed by index so the value is sliced once
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    const value = text.slice(vs, ve);
    if (BAD_VALUE_CHAR.test(value)) return headError(400, `invalid character in ${name} value`);
    if (names.length >= maxCount) return headError(statusOnLimit, "too many header fields");
    names.push(name);
    lower.push(low);
    values.push(value);
    pos = eol + 2;
  }
  return { names, lower, values };
}

interface Framing {
  contentLength: number;
  chunked: boolean;
  connectionTokens: string[];
  upgrade: string | null;
}

/** Shared empty token list: most messages have no Connection header (never mutated). */
const NO_TOKENS: string[] = [];

/**
 * Reads the framing headers. Ambiguous framing is a 400 (CL with TE, bad or
 * differing CL, TE in HTTP/1.0, TE not ending in a single chunked); a
 * well-formed TE with a coding other than chunked is a 501. A response parser
 * maps either to 502.
 */
function readFraming(
  fields: Fields,
  minor: number,
  kind: "request" | "response",
): Framing | HeadError {
  let clValues: string[] | null = null;
  let teValues: string[] | null = null;
  let connectionTokens: string[] = NO_TOKENS;
  let upgrade: string | null = null;
  const { lower, values } = fields;
  for (let i = 0; i < lower.length; i++) {
    const n = lower[i]!;
    if (n === "content-length") (clValues ??= []).push(values[i]!);
    else if (n === "transfer-encoding") (teValues ??= []).push(values[i]!);
    else if (n === "connection") connectionTokens = connectionTokens.concat(listTokens(values[i]!));
    else if (n === "upgrade") upgrade = upgrade === null ? values[i]! : `${upgrade}, ${values[i]!}`;
  }
  let chunked = false;
  if (teValues !== null) {
    if (clValues !== null) return headError(400, "both Content-Length and Transfer-Encoding");
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
    if (minor === 0) return headError(400, `Transfer-Encoding in an HTTP/1.0 ${kind}`);
    const fault = transferCodingError(teValues);
    if (fault !== null) return fault;
    chunked = true;
  }
  let contentLength = -1;
  if (clValues !== null) {
    contentLength = parseContentLength(clValues);
    if (contentLength === -2) return headError(400, "invalid or conflicting Content-Length");
  }
  if (!connectionTokens.includes("upgrade")) upgrade = null;
  return { contentLength, chunked, connectionTokens, upgrade };
}

function keepAliveFor(minor: number, tokens: readonly string[]): boolean {
  if (tokens.includes("close")) return false;
  return minor === 1 || tokens.includes("keep-alive");
}

/**
 * Parses a request head (request line + fields, no final CRLFCRLF).
 *
 * Errors, checked in this order: 400 malformed request line or method, 414
 * target longer than `maxUriLength`, 400 a target byte outside visible ASCII
 * or a `#` (any target form, CONNECT's too), 505 an HTTP version other than
 * 1.0/1.1 (400 when not `HTTP/d.d` at all), 400 a malformed field line or 431
 * more than `maxHeaderCount` fields (whichever line comes first), 400
 * ambiguous framing (CL with TE, bad or differing CL, TE in HTTP/1.0, TE not
 * ending in a single `chunked`), 501 a well-formed TE with another coding
 * before `chunked`, 417 an expectation other than `100-continue` (HTTP/1.1),
 * 400 duplicate, missing (HTTP/1.1) or invalid Host, 501 CONNECT (any target
 * form), 400 a bad target form.
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "./head.ts";
 * const h = parseRequestHead("GET /a?b=1 HTTP/1.1\r\nHost: x", { maxHeaderCount: 100, maxUriLength: 8192 });
 * if (!("error" in h)) console.log(h.method, h.target, h.host); // GET /a?b=1 x
 * ```
 */
export function parseRequestHead(text: string, limits: HeadLimits): RequestHead | HeadError {
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  const sp1 = text.indexOf(" ");
  if (sp1 <= 0 || sp1 >= eol) return headError(400, "malformed request line");
  const sp2 = text.indexOf(" ", sp1 + 1);
  if (sp2 < 0 || sp2 >= eol) return headError(400, "malformed request line");
  const method = text.slice(0, sp1);
  let target = text.slice(sp1 + 1, sp2);
  const version = text.slice(sp2 + 1, eol);
  if (!TOKEN.test(method)) return headError(400, "invalid method");
  if (target.length > limits.maxUriLength) return headError(414, "request-target too long");
  const badTarget = targetFault(target);
  if (badTarget !== null) return headError(400, badTarget);
  let minor: number;
  if (version === "HTTP/1.1") minor = 1;
  else if (version === "HTTP/1.0") minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) return headError(505, `unsupported ${version}`);
  else return headError(400, "malformed HTTP version");

  const fields = parseFields(text, eol + 2, limits.maxHeaderCount, 431);
  if ("error" in fields) return fields;
  const framing = readFraming(fields, minor, "request");
  if ("error" in framing) return framing;

  let host: string | null = null;
  let hostCount = 0;
  let expectContinue = false;
  let teTrailers = false;
  const { lower, values } = fields;
  for (let i = 0; i < lower.length; i++) {
    const n = lower[i]!;
    if (n === "host") {
      hostCount++;
      host = values[i]!;
    } else if (n === "expect" && minor === 1) {
      const v = values[i]!.toLowerCase();
      if (v !== "100-continue") return headError(417, `unsupported expectation "${values[i]}"`);
      expectContinue = true;
    } else if (n === "te") {
      if (listTokens(values[i]!).includes("trailers")) teTrailers = true;
    }
  }
  if (hostCount > 1) return headError(400, "duplicate Host header");
  if (hostCount === 0 && minor === 1) return headError(400, "missing Host header");
  if (host !== null && !HOST_VALUE.test(host)) return headError(400, "invalid Host header");

  // Whatever its target form (authority, origin, absolute or asterisk): no tunnels.
  if (method === "CONNECT") return headError(501, "CONNECT is not supported");
  if (target.charCodeAt(0) !== 47 /* / */) {
    const lowerTarget = target.slice(0, 8).toLowerCase();
    if (target === "*") {
      if (method !== "OPTIONS") return headError(400, "asterisk-form is only valid for OPTIONS");
    } else if (lowerTarget.startsWith("http://") || lowerTarget.startsWith("https://")) {
      const authStart = target.indexOf("//") + 2;
      let pathStart = target.indexOf("/", authStart);
      const q = target.indexOf("?", authStart);
      if (pathStart < 0 || (q >= 0 && q < pathStart)) pathStart = q;
      const authority = pathStart < 0
        ? target.slice(authStart)
        : target.slice(authStart, pathStart);
      if (authority.length === 0 || authority.includes("@") || !HOST_VALUE.test(authority)) {
        return headError(400, "invalid absolute-form authority");
      }
      host = authority;
      target = pathStart < 0
        ? "/"
        : target[pathStart] === "?"
        ? `/${target.slice(pathStart)}`
        : target.slice(pathStart);
    } else {
      return headError(400, "invalid request-target form");
    }
  }
  return {
    method,
    target,
    minor,
    names: fields.names,
    lower: fields.lower,
    values: fields.values,
    host,
    contentLength: framing.contentLength,
    chunked: framing.chunked,
    connectionTokens: framing.connectionTokens,
    keepAlive: keepAliveFor(minor, framing.connectionTokens),
    // RFC 9110 §7.8: a server MUST ignore Upgrade in an HTTP/1.0 request.
    upgrade: minor === 1 ? framing.upgrade : null,
    expectContinue,
    teTrailers,
  };
}

/**
 * Parses a response head (status line + fields, no final CRLFCRLF). Any
 * fault is a {@link HeadError}; the proxy answers 502 and drops the connection.
 */
export function parseResponseHead(text: string, maxHeaderCount: number): ResponseHead | HeadError {
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  // "HTTP/1.1 200 OK" — the reason phrase may be empty, the space before it may not be missing
  // in strict senders, but RFC 9112 §4 lets recipients accept "HTTP/1.1 200".
  if (eol < 12 || text.charCodeAt(8) !== 32 || text.charCodeAt(12) !== 32 && eol > 12) {
    return headError(502, "malformed status line");
  }
  const version = text.slice(0, 8);
  let minor: number;
  if (version === "HTTP/1.1") minor = 1;
  else if (version === "HTTP/1.0") minor = 0;
  else return headError(502, "unsupported response version");
  const codeText = text.slice(9, 12);
  if (!/^[1-5][0-9][0-9]$/.test(codeText)) return headError(502, "invalid status code");
  const reason = eol > 13 ? text.slice(13, eol) : "";
  if (BAD_VALUE_CHAR.test(reason)) return headError(502, "invalid reason phrase");
  const fields = parseFields(text, eol + 2, maxHeaderCount, 502);
  if ("error" in fields) return { ...fields, status: 502 };
  const framing = readFraming(fields, minor, "response");
  if ("error" in framing) return headError(502, framing.reason);
  const status = Number(codeText);
  // RFC 9110 §7.8: a 101 names the new protocol in Upgrade, listed by Connection.
  if (status === 101 && framing.upgrade === null) {
    return headError(502, "101 response without Connection: upgrade and Upgrade");
  }
  return {
    status,
    reason,
    minor,
    names: fields.names,
    lower: fields.lower,
    values: fields.values,
    contentLength: framing.contentLength,
    chunked: framing.chunked,
    connectionTokens: framing.connectionTokens,
    keepAlive: keepAliveFor(minor, framing.connectionTokens),
    upgrade: framing.upgrade,
  };
}

/** Returns the first value of a header (by lower-case name), or null. */
export function fieldValue(fields: Fields, lowerName: string): string | null {
  const i = fields.lower.indexOf(lowerName);
  return i < 0 ? null : fields.values[i]!;
}
