/**
 * A runtime's native, unbuffered socket (Bun's `Socket` from `Bun.listen` /
 * `Bun.connect`) made into a {@link ProxySocket}, the `node:net`-shaped
 * socket the data plane uses.
 *
 * The native `write` is one `send(2)`: it returns how many bytes the kernel
 * took, possibly fewer than given when its buffer is full, and the native
 * `drain` fires when it can take more. `node:net` semantics on top: the
 * unsent rest is kept (copied: the caller may reuse its buffer) and `write`
 * returns false, the callers' signal to stop (they pause their source until
 * `"drain"`, so what is kept is bounded by one chunk per writer, never an
 * unbounded buffer); `"drain"` is emitted once the kept bytes are sent; `end`
 * sends FIN only after them. The raw socket is passed in, so this logic runs
 * (and is tested) without Bun.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { latin1With } from "../http1/bytes.ts";
import type { ProxySocket, ProxySocketEvents } from "../proxy/proxy_socket.ts";

/** What {@link NativeSocket} needs of the runtime's socket (Bun's `Socket` has it). */
export interface RawSocket {
  /** Sends up to `byteLength` bytes from `byteOffset`; how many went, -1 when closed. */
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  /** Sends FIN, keeps reading. */
  shutdown(halfClose?: boolean): void;
  /** Closes at once. */
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): unknown;
  readonly remoteAddress: string;
}

type DataListener = ProxySocketEvents["data"];
type VoidListener = () => void;
type ErrorListener = ProxySocketEvents["error"];
type CloseListener = ProxySocketEvents["close"];

/** Calls `a`, then `b` (a second listener of one event: rare, so no array per socket). */
function both<A extends unknown[]>(
  a: ((...args: A) => void) | null,
  b: (...args: A) => void,
): (...args: A) => void {
  return a === null ? b : (...args: A) => {
    a(...args);
    b(...args);
  };
}

/**
 * A {@link ProxySocket} over a {@link RawSocket}. The runtime's socket
 * handlers call {@link onData}, {@link onEnd}, {@link onDrain},
 * {@link onError} and {@link onClose}.
 */
export class NativeSocket implements ProxySocket {
  readonly remoteAddress: string;
  #raw: RawSocket;
  #onData: DataListener | null = null;
  #onEnd: VoidListener | null = null;
  #onDrain: VoidListener | null = null;
  #onError: ErrorListener | null = null;
  #onClose: CloseListener | null = null;
  /** Bytes the kernel has not taken yet, oldest first; null when none. */
  #queue: Uint8Array[] | null = null;
  /** Writes held by {@link cork}; null when not corked. */
  #corked: Uint8Array[] | null = null;
  /** `end` was called: no more writes. */
  #ending = false;
  /** `end` waits for the queue: FIN (and this callback) once it is sent. */
  #endAfterFlush: VoidListener | null = null;
  #destroyed = false;
  #closeEmitted = false;

  constructor(raw: RawSocket) {
    this.#raw = raw;
    this.remoteAddress = raw.remoteAddress;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  get writableNeedDrain(): boolean {
    return this.#queue !== null;
  }

  write(data: Uint8Array | string, _encoding?: "latin1"): boolean {
    if (this.#ending || this.#destroyed) return false;
    const bytes = typeof data === "string" ? latin1With(data, null, 0) : data;
    const corked = this.#corked;
    if (corked !== null) {
      corked.push(bytes);
      return true;
    }
    const queue = this.#queue;
    if (queue !== null) {
      queue.push(new Uint8Array(bytes));
      return false;
    }
    const n = this.#raw.write(bytes);
    if (n === bytes.length) return true;
    if (n < 0) return false; // closing: "close" follows
    // a copy (a Buffer's slice() is a view): the caller may reuse its buffer once we return
    this.#queue = [Uint8Array.prototype.slice.call(bytes, n)];
    return false;
  }

  cork(): void {
    if (this.#corked === null) this.#corked = [];
  }

  uncork(): void {
    const parts = this.#corked;
    if (parts === null) return;
    this.#corked = null;
    if (parts.length === 1) this.write(parts[0]!);
    else if (parts.length > 1) this.write(Buffer.concat(parts));
  }

  end(done?: () => void): void {
    if (this.#ending || this.#destroyed) return;
    this.uncork();
    this.#ending = true;
    const then = done ?? (() => {});
    if (this.#queue !== null) {
      this.#endAfterFlush = then;
      return;
    }
    this.#raw.shutdown();
    queueMicrotask(then);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#queue = null;
    this.#corked = null;
    this.#endAfterFlush = null;
    this.#raw.terminate();
  }

  pause(): void {
    this.#raw.pause();
  }

  resume(): void {
    this.#raw.resume();
  }

  setNoDelay(noDelay = true): void {
    this.#raw.setNoDelay(noDelay);
  }

  on<E extends keyof ProxySocketEvents>(event: E, listener: ProxySocketEvents[E]): this {
    switch (event) {
      case "data":
        this.#onData = both(this.#onData, listener as DataListener);
        break;
      case "end":
        this.#onEnd = both(this.#onEnd, listener as VoidListener);
        break;
      case "drain":
        this.#onDrain = both(this.#onDrain, listener as VoidListener);
        break;
      case "error":
        this.#onError = both(this.#onError, listener as ErrorListener);
        break;
      case "close":
        this.#onClose = both(this.#onClose, listener as CloseListener);
        break;
    }
    return this;
  }

  removeAllListeners(event: keyof ProxySocketEvents): this {
    switch (event) {
      case "data":
        this.#onData = null;
        break;
      case "end":
        this.#onEnd = null;
        break;
      case "drain":
        this.#onDrain = null;
        break;
      case "error":
        this.#onError = null;
        break;
      case "close":
        this.#onClose = null;
        break;
    }
    return this;
  }

  // ------------------------------------------------ called by the runtime's handlers

  /** Bytes arrived (Bun hands a fresh buffer per call: the listener may keep it). */
  onData(chunk: Buffer): void {
    if (this.#destroyed) return;
    const f = this.#onData;
    if (f !== null) f(chunk);
  }

  /** The peer sent FIN. */
  onEnd(): void {
    if (this.#destroyed) return;
    const f = this.#onEnd;
    if (f !== null) f();
  }

  /** The kernel takes bytes again: send what is kept; once all went, FIN or `"drain"`. */
  onDrain(): void {
    const queue = this.#queue;
    if (queue === null || this.#destroyed) return;
    const raw = this.#raw;
    while (queue.length > 0) {
      const part = queue[0]!;
      const n = raw.write(part);
      if (n < 0) return; // closing: "close" follows
      if (n < part.length) {
        queue[0] = part.subarray(n);
        return;
      }
      queue.shift();
    }
    this.#queue = null;
    const then = this.#endAfterFlush;
    if (then !== null) {
      this.#endAfterFlush = null;
      raw.shutdown();
      then();
      return;
    }
    const f = this.#onDrain;
    if (f !== null) f();
  }

  /** A socket error; the runtime calls {@link onClose} after it. */
  onError(error: Error): void {
    const f = this.#onError;
    if (f !== null) f(error);
  }

  /**
   * The socket closed. `"close"` goes out in a microtask, as `node:net`'s
   * comes after the call that closed it: callers of `destroy()` are not
   * re-entered.
   */
  onClose(error?: Error): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.#destroyed = true;
    this.#queue = null;
    this.#endAfterFlush = null;
    const f = this.#onClose;
    if (f !== null) queueMicrotask(() => f(error !== undefined && error !== null));
  }
}
