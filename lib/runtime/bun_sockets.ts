/**
 * Bun's native TCP sockets (`Bun.listen`, `Bun.connect`) as
 * {@link ProxySocket}s: the cleartext data plane's sockets under Bun. Its
 * `node:net` carries every read and write through the runtime's JS stream
 * machinery (about 8% of the proxy's busy time at 50 connections, see
 * docs/bench/profile.md); a native socket's write is one `send(2)`.
 *
 * Which sockets a process uses is {@link socketsInUse}'s choice; only this
 * module touches the `Bun` global.
 *
 * @module
 */
import { listenError } from "./listen.ts";
import { env } from "./process.ts";
import { NativeSocket, type RawSocket } from "./native_socket.ts";
import { type SocketImplementation, socketImplementation } from "./socket_choice.ts";
import type { Buffer } from "node:buffer";

/** The part of Bun's native socket used here. */
interface BunSocket extends RawSocket {
  data: NativeSocket;
}

interface BunSocketHandler {
  open?(socket: BunSocket): void;
  data(socket: BunSocket, chunk: Buffer): void;
  end(socket: BunSocket): void;
  drain(socket: BunSocket): void;
  error(socket: BunSocket, error: Error): void;
  close(socket: BunSocket, error?: Error): void;
}

interface BunListener {
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

interface BunGlobal {
  listen(options: {
    hostname: string;
    port: number;
    reusePort?: boolean;
    allowHalfOpen?: boolean;
    socket: BunSocketHandler;
  }): BunListener;
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    socket: BunSocketHandler;
  }): Promise<BunSocket>;
}

const bun = (globalThis as unknown as { Bun?: BunGlobal }).Bun;

/**
 * `"bun"` when this process's cleartext sockets are Bun's native ones, else
 * `"node"` (`node:net`). Read once, from the runtime and the diagnostic
 * environment variable `SWITCHYARD_BUN_SOCKETS` (see socket_choice.ts).
 */
export const socketsInUse: SocketImplementation = socketImplementation(
  bun !== undefined,
  bun !== undefined ? env("SWITCHYARD_BUN_SOCKETS") : undefined,
);

/**
 * The handlers shared by every socket: each socket's {@link NativeSocket}
 * rides on its `data` slot, so no closure is made per connection.
 */
const HANDLERS: BunSocketHandler = {
  data: (s, chunk) => s.data.onData(chunk),
  end: (s) => s.data.onEnd(),
  drain: (s) => s.data.onDrain(),
  error: (s, e) => s.data?.onError(e),
  close: (s, e) => s.data?.onClose(e),
};

/** A listening socket of {@link bunListen}. */
export interface NativeListener {
  readonly port: number;
  /** Stops accepting; open connections stay. */
  close(): void;
}

/**
 * Listens on `host:port` with `Bun.listen` (half-open connections allowed:
 * a client may send its request and shut down its side); each accepted
 * connection goes to `accept`. Throws a `ListenError` when the port cannot
 * be opened.
 */
export function bunListen(
  host: string,
  port: number,
  reusePort: boolean,
  accept: (socket: NativeSocket) => void,
): NativeListener {
  if (bun === undefined) throw new Error("bunListen needs Bun");
  const handler: BunSocketHandler = {
    ...HANDLERS,
    open(s) {
      s.data = new NativeSocket(s);
      s.setNoDelay(true);
      accept(s.data);
    },
  };
  let listener: BunListener;
  try {
    listener = bun.listen({
      hostname: host,
      port,
      reusePort,
      allowHalfOpen: true,
      socket: handler,
    });
  } catch (e) {
    throw listenError(host, port, e);
  }
  return { port: listener.port, close: () => listener.stop(false) };
}

/** Upstream sockets' handlers: the same, with the {@link NativeSocket} made on open. */
const CONNECT_HANDLERS: BunSocketHandler = {
  ...HANDLERS,
  open(s) {
    s.data = new NativeSocket(s);
  },
};

/**
 * Connects to `host:port` with `Bun.connect` (half-open allowed, no Nagle);
 * rejects with the runtime's error, which carries its `code`
 * (`ECONNREFUSED`...). Timeouts are the caller's: it destroys a socket that
 * came too late.
 */
export async function bunConnect(host: string, port: number): Promise<NativeSocket> {
  if (bun === undefined) throw new Error("bunConnect needs Bun");
  const s = await bun.connect({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: CONNECT_HANDLERS,
  });
  s.data ??= new NativeSocket(s);
  s.setNoDelay(true);
  return s.data;
}
