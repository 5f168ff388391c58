/**
 * The socket the data plane talks to: the part of `node:net`'s `Socket` that
 * client connections, HTTP/2 connections, upstream connections, tunnels and
 * pumps use, and nothing more. A `node:net` socket is one (Deno, TLS
 * listeners, `SWITCHYARD_BUN_SOCKETS=node`); under Bun, cleartext sockets are
 * Bun's native ones behind {@link NativeSocket} (lib/runtime/native_socket.ts),
 * so the connection code does not fork per runtime.
 *
 * The contract the callers rely on is `node:net`'s: `write` accepts all it is
 * given and returns false once the caller should wait for `"drain"`; `end`
 * sends what was written, then FIN, and keeps reading (half-open); `destroy`
 * closes at once; `"close"` fires once, last.
 *
 * @module
 */
import type { Buffer } from "node:buffer";

/** Events a {@link ProxySocket} emits and the listener each takes. */
export interface ProxySocketEvents {
  /** Bytes from the peer (the buffer is the listener's to keep). */
  data: (chunk: Buffer) => void;
  /** The peer sent FIN: nothing more will be read. */
  end: () => void;
  /** Everything written has gone to the kernel after a `write` returned false. */
  drain: () => void;
  /** A socket error; `"close"` follows. */
  error: (error: Error) => void;
  /** The socket is closed; `hadError`: by an error. */
  close: (hadError: boolean) => void;
}

/** A connected byte stream as the data plane uses it (see the module doc). */
export interface ProxySocket {
  /** The peer's address (`::ffff:`-prefixed IPv4 possible), undefined once closed. */
  readonly remoteAddress?: string | undefined;
  /** True once closed or destroyed. */
  readonly destroyed: boolean;
  /** True while written bytes wait for the kernel (a `write` returned false and no drain yet). */
  readonly writableNeedDrain: boolean;
  /** Queues `data`; false means wait for `"drain"` before writing more. Strings are written as latin1. */
  write(data: Uint8Array | string, encoding?: "latin1"): boolean;
  /** Sends what was written, then FIN; `done` once flushed. Reading goes on (half-open). */
  end(done?: () => void): unknown;
  /** Closes at once; what is still queued is dropped. */
  destroy(): unknown;
  /** Stops reading (the peer meets TCP backpressure). */
  pause(): unknown;
  /** Reads again after {@link pause}. */
  resume(): unknown;
  /** Groups the following writes into one until {@link uncork}. */
  cork(): void;
  uncork(): void;
  setNoDelay(noDelay?: boolean): unknown;
  on<E extends keyof ProxySocketEvents>(event: E, listener: ProxySocketEvents[E]): unknown;
  removeAllListeners(event: keyof ProxySocketEvents): unknown;
}
