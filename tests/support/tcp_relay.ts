/**
 * Test support: a TCP relay in front of a server that can be told to stop forwarding, so one
 * client's connection goes silent (its packets lost both ways, the sockets left open) while
 * every other client of the same server carries on. The positive control of a test that checks
 * that a connection kept alive by its own traffic sees nothing happen: the same client through
 * a frozen relay is seen to lose its connection.
 *
 * @module
 */
import net from "node:net";

/** A running relay. */
export interface TcpRelay {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** From now on, nothing is forwarded either way; new connections are accepted and ignored. */
  freeze(): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/**
 * Starts a relay on a free port of 127.0.0.1 to `target` (`HOST:PORT`).
 *
 * @example
 * ```ts ignore
 * const relay = await startTcpRelay("127.0.0.1:2181");
 * const store = await connectZooKeeper({ connectionString: `127.0.0.1:${relay.port}` });
 * relay.freeze(); // the store's pings are lost from now on
 * ```
 */
export async function startTcpRelay(target: string): Promise<TcpRelay> {
  const colon = target.lastIndexOf(":");
  const host = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };
  const server = net.createServer((client) => {
    track(client);
    if (frozen) return;
    const upstream = net.connect({ host, port });
    track(upstream);
    client.on("data", (d: Uint8Array) => void (frozen || upstream.write(d)));
    upstream.on("data", (d: Uint8Array) => void (frozen || client.write(d)));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    freeze: () => void (frozen = true),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
