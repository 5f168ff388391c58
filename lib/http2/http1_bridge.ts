/**
 * The pure translations between the HTTP/1.1 messages the proxy's exchange
 * writes and reads and the HTTP/2 streams of a `protocol: "h2"` backend
 * (lib/proxy/h2_stream_socket.ts does the I/O): a request head becomes the
 * stream's fields, and a response's HEADERS (and trailers) become an
 * HTTP/1.1 head (and chunked trailers) for the existing response relay.
 *
 * @module
 */
import { REASONS } from "../http1/syntax.ts";

/** Request fields HTTP/2 forbids (connection-specific), and Host (it becomes `:authority`). */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** Response fields not rendered into the HTTP/1.1 head (the framing is declared afresh). */
const NOT_RENDERED: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
]);

/** A request head as an HTTP/2 stream's fields, and how its body is framed in HTTP/1.1. */
export interface BridgedRequest {
  /** Pseudo-fields first (`:method`, `:scheme`, `:path`, `:authority`), then the rest, lowercase. */
  readonly names: string[];
  readonly values: string[];
  /** `none`: no body; `length`: `contentLength` bytes; `chunked`: chunked framing to decode. */
  readonly body: "none" | "length" | "chunked";
  readonly contentLength: number;
  readonly headRequest: boolean;
}

/**
 * The HTTP/2 fields of an HTTP/1.1 request head as the exchange wrote it (the
 * proxy's header handling already applied; without the final CRLFCRLF):
 * `Host` becomes `:authority` (`authority` when there is none),
 * connection-specific fields are dropped, and `te` is kept only as
 * `trailers`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { h2RequestFields } from "./http1_bridge.ts";
 * const r = h2RequestFields(
 *   "POST /pkg.Svc/Call HTTP/1.1\r\nHost: api\r\nTE: trailers\r\nConnection: te\r\ncontent-length: 5",
 *   "http",
 *   "10.0.0.1:50051",
 * );
 * assert.deepEqual(r.names, [":method", ":scheme", ":path", ":authority", "te", "content-length"]);
 * assert.deepEqual(r.values, ["POST", "http", "/pkg.Svc/Call", "api", "trailers", "5"]);
 * assert.equal(r.body, "length");
 * ```
 */
export function h2RequestFields(head: string, scheme: string, authority: string): BridgedRequest {
  const lines = head.split("\r\n");
  const first = lines[0]!;
  const sp1 = first.indexOf(" ");
  const sp2 = first.indexOf(" ", sp1 + 1);
  const method = first.slice(0, sp1);
  const target = first.slice(sp1 + 1, sp2 < 0 ? first.length : sp2);
  const names: string[] = [":method", ":scheme", ":path", ":authority"];
  const values: string[] = [method, scheme, target, ""];
  let contentLength = -1;
  let chunked = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "host") values[3] = value;
    else if (name === "content-length") contentLength = Number(value);
    else if (name === "transfer-encoding") chunked = true;
    if (NOT_FORWARDED.has(name)) continue;
    if (name === "te" && value.toLowerCase() !== "trailers") continue;
    names.push(name);
    values.push(value);
  }
  if (values[3] === "") values[3] = authority;
  return {
    names,
    values,
    body: chunked ? "chunked" : contentLength > 0 ? "length" : "none",
    contentLength,
    headRequest: method === "HEAD",
  };
}

/** An HTTP/2 response head rendered as HTTP/1.1. */
export interface RenderedHead {
  /** The head, CRLFCRLF included. */
  readonly text: string;
  /** The body follows chunked (trailers possible); otherwise as is, or none. */
  readonly chunked: boolean;
  readonly contentType: string | null;
}

/**
 * Renders a final response head as HTTP/1.1: framing declared afresh. No
 * body (`endStream`, a trailers-only gRPC answer): `content-length: 0`
 * unless one was sent; a body without `content-length`: chunked, so that
 * trailers can follow; HEAD, 204 and 304 get no framing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { http1ResponseHead } from "./http1_bridge.ts";
 * const h = http1ResponseHead(200, ["content-type"], ["application/grpc"], false, false);
 * assert.equal(h.text, "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n");
 * assert.equal(h.chunked, true);
 * ```
 */
export function http1ResponseHead(
  status: number,
  names: readonly string[],
  values: readonly string[],
  headRequest: boolean,
  endStream: boolean,
): RenderedHead {
  let text = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n`;
  let contentType: string | null = null;
  let hasLength = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (NOT_RENDERED.has(name)) continue;
    if (name === "content-type") contentType = values[i]!;
    else if (name === "content-length") hasLength = true;
    text += `${name}: ${values[i]}\r\n`;
  }
  const bodiless = headRequest || status === 204 || status === 304;
  let chunked = false;
  if (!bodiless && !hasLength) {
    if (endStream) text += "content-length: 0\r\n";
    else {
      chunked = true;
      text += "transfer-encoding: chunked\r\n";
    }
  }
  return { text: `${text}\r\n`, chunked, contentType };
}

/**
 * The last chunk of a chunked body with trailer fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { http1LastChunk } from "./http1_bridge.ts";
 * assert.equal(http1LastChunk(["grpc-status"], ["0"]), "0\r\ngrpc-status: 0\r\n\r\n");
 * ```
 */
export function http1LastChunk(names: readonly string[], values: readonly string[]): string {
  let text = "0\r\n";
  for (let i = 0; i < names.length; i++) text += `${names[i]}: ${values[i]}\r\n`;
  return `${text}\r\n`;
}
