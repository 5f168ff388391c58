/**
 * RFC 9110/9112 character classes and small helpers shared by the request and
 * response parsers. Pure; no I/O.
 *
 * @module
 */

/** `token` (RFC 9110 §5.6.2): header names and methods. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Characters never allowed in a field value: CTLs except HTAB, and DEL (CR, LF, NUL included). */
// deno-lint-ignore no-control-regex -- matching control characters is the point
export const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * The bytes a request-target may hold: visible ASCII except `#`. RFC 9112 §3.2
 * allows no fragment and no obs-text in any target form, so `#`, bytes >= 0x80,
 * controls, SP and DEL are refused (as HAProxy does); a backend would otherwise
 * split or decode such a target its own way. The other visible ASCII bytes that
 * RFC 3986 leaves out (`"<>[\]^`{|}`) are accepted because browsers send some of
 * them unencoded in paths and queries and HAProxy and nginx accept them too;
 * the proxy never decodes a target (nor checks its %-escapes), it passes it on.
 */
export const TARGET = /^[\x21\x22\x24-\x7e]+$/;

/**
 * Why a request-target fails {@link TARGET}, or null when it passes. The
 * reason names the first offending kind of byte, for the 400's body and logs.
 */
export function targetFault(target: string): string | null {
  if (TARGET.test(target)) return null;
  if (target.length === 0) return "empty request-target";
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x23) return "fragment (#) in request-target";
    if (c >= 0x80) return "non-ASCII byte in request-target";
    if (c <= 0x20 || c === 0x7f) return "control character or space in request-target";
  }
  return "invalid request-target";
}

/** `1*DIGIT`, the only valid Content-Length syntax. */
export const DIGITS = /^[0-9]+$/;

/** Header names (lower case) that apply to one connection only and are never forwarded. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
]);

/**
 * Splits a comma-separated header list into OWS-trimmed, lower-cased, non-empty
 * items. Only SP and HTAB are trimmed (RFC 9110 §5.6.3): `String.prototype.trim`
 * would also strip U+00A0, which is the obs-text byte 0xA0 in a latin1 head,
 * and turn `chunked\xa0` into `chunked`.
 */
export function listTokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const t = trimOws(part).toLowerCase();
    if (t) out.push(t);
  }
  return out;
}

/** Trims optional whitespace (SP / HTAB) from both ends of a field value. */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) {
    end--;
  }
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * Checks a request's Transfer-Encoding field values (already known to be
 * present, and without Content-Length). Returns null when they say exactly one
 * `chunked`, the only coding the proxy implements, else the error to answer:
 *
 * - 400 when the framing is malformed or ambiguous, since the body's length
 *   cannot be known (RFC 9112 §6.3): an empty list, an element that is not a
 *   plain token (parameters, quotes, obs-text such as `chunked\xa0`), a last
 *   coding other than `chunked`, or `chunked` more than once (§6.1);
 * - 501 for a well-formed list ending in a single `chunked` whose other codings
 *   (`gzip, chunked`, `deflate, chunked`) the proxy does not implement (§6.1).
 *
 * Either way the caller closes the connection, so the body that follows is never
 * read as a next request.
 */
export function transferCodingError(values: readonly string[]): HeadError | null {
  const codings = listTokens(values.join(","));
  if (codings.length === 0) return headError(400, "empty Transfer-Encoding");
  if (codings.length === 1 && codings[0] === "chunked") return null;
  const quoted = `"${values.join(", ")}"`;
  for (const c of codings) {
    if (!TOKEN.test(c)) return headError(400, `malformed Transfer-Encoding ${quoted}`);
  }
  if (codings[codings.length - 1] !== "chunked") {
    return headError(400, `Transfer-Encoding ${quoted} does not end in chunked`);
  }
  if (codings.indexOf("chunked") !== codings.length - 1) {
    return headError(400, `Transfer-Encoding ${quoted} applies chunked more than once`);
  }
  return headError(
    501,
    `unsupported transfer coding "${codings.slice(0, -1).join(", ")}" (only chunked)`,
  );
}

/** A parse failure with the status code the proxy answers with. */
export interface HeadError {
  readonly error: true;
  /** 400, 414, 431, 501, 505 for requests; responses are always mapped to 502 by the proxy. */
  readonly status: number;
  readonly reason: string;
}

/** Builds a {@link HeadError}. */
export function headError(status: number, reason: string): HeadError {
  return { error: true, status, reason };
}

/** Standard reason phrases for the statuses the proxy generates itself. */
export const REASONS: Readonly<Record<number, string>> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/**
 * Content-Length as a number, -1 when there is no value at all, or -2 when the
 * header values are malformed or disagree. Identical repeats ("5, 5" or two
 * headers of 5) are accepted as RFC 9112 §6.3 allows; anything else, including
 * numerically equal but differently written values ("5, 05") and empty list
 * elements, is ambiguous and refused.
 */
export function parseContentLength(values: readonly string[]): number {
  let first: string | null = null;
  for (const raw of values) {
    for (const part of raw.split(",")) {
      const v = trimOws(part);
      if (!DIGITS.test(v) || v.length > 15) return -2;
      if (first === null) first = v;
      else if (v !== first) return -2;
    }
  }
  return first === null ? -1 : Number(first);
}
