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

/** A request-target in origin-form or absolute-form: visible ASCII and obs-text, no spaces. */
export const TARGET = /^[\x21-\x7e\x80-\xff]+$/;

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
