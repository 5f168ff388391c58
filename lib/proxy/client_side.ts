/**
 * The client connection as the parts of an exchange see it (the exchange,
 * its request body pump, response relay and tunnel): a narrow interface so
 * each part can be tested against a fake.
 *
 * @module
 */
import type { Tunnel } from "./tunnel.ts";

/** The client side of an exchange. */
export interface ClientSide {
  readonly clientIp: string;
  /** TLS facts of the connection (HSTS, client subject), or null on a plain connection. */
  readonly tls: ClientTls | null;
  /** Closing after this response (shutdown, or the client asked). */
  readonly closing: boolean;
  /** Writes to the client; false means wait for the socket to drain. */
  write(data: Uint8Array | string): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** The exchange is over; keep the connection for the next request or close it. */
  exchangeFinished(keepAlive: boolean): void;
  /** Switch to raw tunnelling (after a 101): the client's bytes go to `tunnel` from now on. */
  startTunnel(tunnel: Tunnel): void;
  /** Ends the client connection after flushing. */
  end(): void;
  /** Drops the client connection at once (a response already started cannot be completed). */
  destroy(): void;
}

/**
 * What a TLS connection adds to its exchanges (null on a plain connection):
 * the same object for every connection of a listener unless a client
 * certificate was verified.
 */
export interface ClientTls {
  /** Extra response header lines (each ending in CRLF): HSTS, or "". */
  readonly responseFields: string;
  /** The verified client certificate's subject (mTLS), sent upstream; null without one. */
  readonly clientSubject: string | null;
}
