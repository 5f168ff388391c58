/**
 * Builds the heads the proxy writes: the request it sends a backend and the
 * response it sends the client. Hop-by-hop fields (and every field the
 * Connection header names) are dropped, framing is re-declared from what the
 * proxy actually sends, and X-Forwarded-For/-Proto/-Host and `Forwarded` are
 * added. Pure string building.
 *
 * @module
 */
import type { Fields, RequestHead, ResponseHead } from "./head.ts";
import { appendFieldValue, forwardingFields } from "./forwarding.ts";
import { HOP_BY_HOP, listTokens, REASONS } from "./syntax.ts";

/** Body framing the proxy declares on a head it writes. */
export interface BodyFraming {
  /** A known length, or -1. */
  readonly contentLength: number;
  /** Chunked transfer coding (only when contentLength is -1). */
  readonly chunked: boolean;
}

/** No body at all: `Content-Length` omitted, not chunked. */
export const NO_BODY: BodyFraming = { contentLength: -1, chunked: false };

/** Facts about the client connection the backend should learn. */
export interface ForwardContext {
  /** The client's address as seen by the proxy. */
  readonly clientIp: string;
  /** Scheme the client used to reach the proxy. */
  readonly proto: "http" | "https";
  /** Host to send instead of the client's (per-group rewrite), or null to pass it through. */
  readonly hostRewrite: string | null;
  /** Used as Host when the client sent none (HTTP/1.0). */
  readonly backendAddress: string;
  /**
   * The request's id: sent as the one `x-request-id` line (the client's lines
   * are left out), or null/absent to pass the client's through.
   */
  readonly requestId?: string | null;
  /**
   * The verified client certificate's subject (mTLS), sent as the one
   * `x-client-cert-subject` line; a client's own lines of that name are
   * always left out, so a backend can trust the field.
   */
  readonly clientSubject?: string | null;
}

const FORWARD_SKIP = new Set([
  ...HOP_BY_HOP,
  "content-length",
  "host",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
  "expect",
  "x-client-cert-subject",
]);

const RESPONSE_SKIP = new Set([...HOP_BY_HOP, "content-length"]);

/** The Connection options of a head given only its fields. */
function connectionOptions(fields: Fields): string[] {
  let out: string[] = [];
  for (let i = 0; i < fields.lower.length; i++) {
    if (fields.lower[i] === "connection") out = out.concat(listTokens(fields.values[i]!));
  }
  return out;
}

/** Keeps printable ASCII and newlines; anything else (obs-text echoed from a head) becomes "?". */
function asciiBody(s: string): string {
  return /[^\x20-\x7e\n]/.test(s) ? s.replace(/[^\x20-\x7e\n]/g, "?") : s;
}

function skipListed(tokens: readonly string[], base: ReadonlySet<string>): ReadonlySet<string> {
  if (tokens.length === 0) return base;
  let extra: Set<string> | null = null;
  for (const t of tokens) {
    if (!base.has(t) && t !== "close" && t !== "keep-alive") (extra ??= new Set(base)).add(t);
  }
  return extra ?? base;
}

function framingLines(framing: BodyFraming): string {
  if (framing.contentLength >= 0) return `content-length: ${framing.contentLength}\r\n`;
  return framing.chunked ? "transfer-encoding: chunked\r\n" : "";
}

/**
 * The request head sent to a backend.
 *
 * @param upgrade Forward an Upgrade (WebSocket) handshake as is.
 * @param expectContinue Keep `Expect: 100-continue` so the backend decides before the upload.
 */
export function upstreamRequestHead(
  req: RequestHead,
  ctx: ForwardContext,
  framing: BodyFraming,
  upgrade: boolean,
  expectContinue: boolean,
): string {
  const skip = skipListed(req.connectionTokens, FORWARD_SKIP);
  const host = ctx.hostRewrite ?? req.host ?? ctx.backendAddress;
  let head = `${req.method} ${req.target} HTTP/1.1\r\nhost: ${host}\r\n`;
  let xff: string | null = null;
  let fwd: string | null = null;
  const { names, lower, values } = req;
  const requestId = ctx.requestId ?? null;
  for (let i = 0; i < lower.length; i++) {
    const n = lower[i]!;
    if (!skip.has(n)) {
      if (requestId === null || n !== "x-request-id") head += `${names[i]}: ${values[i]}\r\n`;
    } else if (n === "x-forwarded-for") {
      xff = appendFieldValue(xff, values[i]!);
    } else if (n === "forwarded") {
      fwd = appendFieldValue(fwd, values[i]!);
    }
  }
  head += forwardingFields(xff, fwd, ctx.clientIp, ctx.proto, req.host ?? "");
  if (requestId !== null) head += `x-request-id: ${requestId}\r\n`;
  const subject = ctx.clientSubject;
  if (subject) head += `x-client-cert-subject: ${subject}\r\n`;
  if (req.teTrailers) head += "te: trailers\r\n";
  if (expectContinue) head += "expect: 100-continue\r\n";
  // RFC 9110 §10.1.4: whoever sends TE also lists "te" in Connection.
  const te = req.teTrailers ? ", te" : "";
  if (upgrade && req.upgrade !== null) {
    head += `connection: upgrade${te}\r\nupgrade: ${req.upgrade}\r\n`;
  } else if (req.teTrailers) head += "connection: te\r\n";
  head += framingLines(framing);
  return head + "\r\n";
}

/**
 * The response head sent to the client.
 *
 * @param keepAlive The proxy will keep the client connection open afterwards.
 * @param clientMinor The client's HTTP minor version (1.0 clients need explicit keep-alive).
 * @param requestId The request's id, echoed as the one `x-request-id` line
 *   (the backend's are left out); null to relay the backend's. Echoed because
 *   users of Envoy (`always_set_request_id_in_response`) and nginx
 *   (`add_header X-Request-ID $request_id`) quote it from a response when
 *   they report a problem, and it is the id in the access log.
 * @param extraFields Field lines the connection adds to every response (each
 *   ending in CRLF): `strict-transport-security` on a TLS connection, else "".
 */
export function clientResponseHead(
  res: ResponseHead,
  framing: BodyFraming,
  keepAlive: boolean,
  clientMinor: number,
  upgrade = false,
  requestId: string | null = null,
  extraFields = "",
): string {
  const skip = skipListed(res.connectionTokens, RESPONSE_SKIP);
  let head = `HTTP/1.1 ${res.status} ${res.reason}\r\n`;
  const { names, lower, values } = res;
  for (let i = 0; i < lower.length; i++) {
    const n = lower[i]!;
    if (!skip.has(n) && (requestId === null || n !== "x-request-id")) {
      head += `${names[i]}: ${values[i]}\r\n`;
    }
  }
  if (requestId !== null) head += `x-request-id: ${requestId}\r\n`;
  head += extraFields;
  if (upgrade && res.upgrade !== null) {
    head += `connection: upgrade\r\nupgrade: ${res.upgrade}\r\n`;
  } else if (!keepAlive) head += "connection: close\r\n";
  else if (clientMinor === 0) head += "connection: keep-alive\r\n";
  head += framingLines(framing);
  return head + "\r\n";
}

/**
 * Copies the response's fields for a 1xx relayed as is, without hop-by-hop
 * fields, fields its Connection header names, and Content-Length (a 1xx has no
 * body; RFC 9110 §8.6 forbids the field there).
 */
export function informationalHead(status: number, reason: string, fields: Fields): string {
  const skip = skipListed(connectionOptions(fields), RESPONSE_SKIP);
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (let i = 0; i < fields.lower.length; i++) {
    if (!skip.has(fields.lower[i]!)) head += `${fields.names[i]}: ${fields.values[i]}\r\n`;
  }
  return head + "\r\n";
}

/**
 * A complete response the proxy generates itself (errors, 503, 431,
 * redirects...). With `headRequest`, the body is left out (its length stays).
 * The body is made plain ASCII (a reason may echo obs-text from a client's
 * head), so one character is one byte whatever encoding writes it and
 * Content-Length is exact.
 *
 * @example
 * ```ts
 * import { simpleResponse } from "./forward.ts";
 * simpleResponse(503, "no healthy backend\n", false, { "retry-after": "1" });
 * ```
 */
export function simpleResponse(
  status: number,
  body: string,
  keepAlive: boolean,
  extra?: Readonly<Record<string, string>>,
  headRequest = false,
): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n`;
  if (extra) { for (const k in extra) head += `${k}: ${extra[k]}\r\n`; }
  const text = asciiBody(body);
  head += `content-type: text/plain; charset=utf-8\r\ncontent-length: ${text.length}\r\n`;
  if (!keepAlive) head += "connection: close\r\n";
  // RFC 9110 §9.3.2: a HEAD response declares the length GET would send, without the body
  return headRequest ? `${head}\r\n` : `${head}\r\n${text}`;
}
