/**
 * How a response body is relayed: how the proxy reads it from the backend,
 * what framing it declares to the client, and whether the ends of both
 * connections stay known. Pure (RFC 9112 §6.3 message body length, seen from
 * a proxy that re-frames what it relays).
 *
 * Why one table: HEAD, 204, 304, chunked, Content-Length, close-delimited
 * and HTTP/1.0 clients combine into a dozen cases, and each decides both the
 * client's head and whether the upstream connection may be pooled again. The
 * answers are shared constants, so the request path allocates nothing here.
 *
 * @module
 */
import type { BodyFraming } from "./forward.ts";

/** How the proxy reads a response body from the backend. */
export enum BodyRelay {
  /** No body (HEAD, 204, 304): any byte the backend sends is out of place. */
  None,
  /** Exactly Content-Length bytes. */
  Length,
  /** Chunked, decoded strictly. */
  Chunked,
  /** Until the backend closes the connection. */
  Close,
}

/** The framing the client's head declares. */
export enum Declared {
  /** Neither Content-Length nor Transfer-Encoding. */
  None,
  /** The backend's Content-Length. */
  Length,
  /** `Transfer-Encoding: chunked`. */
  Chunked,
}

/** One framing decision (a shared constant: compare fields, never identity). */
export interface ResponseFraming {
  readonly relay: BodyRelay;
  readonly declared: Declared;
  /** Decoded or close-delimited bytes go to the client as chunks (an HTTP/1.1 client). */
  readonly chunkToClient: boolean;
  /** The client can tell where the body ends, so its connection may stay open. */
  readonly endKnown: boolean;
  /**
   * As far as the framing goes, the upstream connection can carry another
   * exchange afterwards (a close-delimited body, a 204 announcing a body or a
   * chunked 304 cannot: the backend may send bytes where none belong).
   */
  readonly upstreamReusable: boolean;
}

/** The facts of a response head that decide its framing. */
export interface FramingFacts {
  readonly status: number;
  /** Content-Length, or -1. */
  readonly contentLength: number;
  readonly chunked: boolean;
}

function framing(
  relay: BodyRelay,
  declared: Declared,
  chunkToClient: boolean,
  endKnown: boolean,
  upstreamReusable: boolean,
): ResponseFraming {
  return Object.freeze({ relay, declared, chunkToClient, endKnown, upstreamReusable });
}

const NONE = framing(BodyRelay.None, Declared.None, false, true, true);
const NONE_LENGTH = framing(BodyRelay.None, Declared.Length, false, true, true);
const NONE_CHUNKED = framing(BodyRelay.None, Declared.Chunked, false, true, true);
const NONE_TAINTED = framing(BodyRelay.None, Declared.None, false, true, false);
const NONE_CHUNKED_TAINTED = framing(BodyRelay.None, Declared.Chunked, false, true, false);
const LENGTH = framing(BodyRelay.Length, Declared.Length, false, true, true);
const CHUNKED_11 = framing(BodyRelay.Chunked, Declared.Chunked, true, true, true);
const CHUNKED_10 = framing(BodyRelay.Chunked, Declared.None, false, false, true);
const CLOSE_11 = framing(BodyRelay.Close, Declared.Chunked, true, true, false);
const CLOSE_10 = framing(BodyRelay.Close, Declared.None, false, false, false);

/**
 * The framing of a final (>= 200, not 101) response to a request with
 * `method` from an HTTP/1.`clientMinor` client.
 *
 * Responses to HEAD and 204/304 carry no body to the client whatever the
 * backend declares; a 304 (or a HEAD answer) keeps its Content-Length, and
 * its `chunked` for an HTTP/1.1 client; a 204's are dropped. An HTTP/1.0
 * client cannot take chunks: it gets the body close-delimited.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BodyRelay, Declared, responseFraming } from "./response_framing.ts";
 * const f = responseFraming("GET", { status: 200, contentLength: -1, chunked: false }, 1);
 * assert.equal(f.relay, BodyRelay.Close); // read until the backend closes
 * assert.equal(f.declared, Declared.Chunked); // an HTTP/1.1 client gets it chunked
 * assert.equal(f.upstreamReusable, false);
 * ```
 */
export function responseFraming(
  method: string,
  res: FramingFacts,
  clientMinor: number,
): ResponseFraming {
  const status = res.status;
  if (method === "HEAD" || status === 204 || status === 304) {
    if (status === 204) return res.contentLength > 0 || res.chunked ? NONE_TAINTED : NONE;
    const tainted = status === 304 && res.chunked && method !== "HEAD";
    if (res.contentLength >= 0) return NONE_LENGTH;
    if (res.chunked && clientMinor === 1) return tainted ? NONE_CHUNKED_TAINTED : NONE_CHUNKED;
    return tainted ? NONE_TAINTED : NONE;
  }
  if (res.chunked) return clientMinor === 1 ? CHUNKED_11 : CHUNKED_10;
  if (res.contentLength >= 0) return LENGTH;
  return clientMinor === 1 ? CLOSE_11 : CLOSE_10;
}

/** `Transfer-Encoding: chunked` on a head the proxy writes. */
export const CHUNKED_BODY: BodyFraming = Object.freeze({ contentLength: -1, chunked: true });
/** No framing field at all. */
const NO_FIELDS: BodyFraming = Object.freeze({ contentLength: -1, chunked: false });

/**
 * The {@link BodyFraming} the client's head declares (`contentLength` is the
 * backend's, used only for {@link Declared.Length}).
 */
export function declaredFraming(f: ResponseFraming, contentLength: number): BodyFraming {
  switch (f.declared) {
    case Declared.Length:
      return { contentLength, chunked: false };
    case Declared.Chunked:
      return CHUNKED_BODY;
    default:
      return NO_FIELDS;
  }
}
