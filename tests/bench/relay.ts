/**
 * A reference point, not a proxy: a byte relay on `node:net` (the socket
 * layer Switchyard uses) that pairs each client connection with its own
 * connection to a backend (round robin) and copies bytes both ways, with no
 * HTTP parsing at all. Its cost per request is the floor for any proxy built on
 * that runtime's `node:net`; the distance from it to Switchyard is
 * Switchyard's own per-request work.
 *
 * `bun tests/bench/relay.ts --port 8080 --backends 127.0.0.1:9001,127.0.0.1:9002`
 * (or `deno run -A tests/bench/relay.ts ...`).
 *
 * @module
 */
import net from "node:net";
import process from "node:process";

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Starts the relay; resolves with the bound port. */
export function startRelay(
  host: string,
  port: number,
  backends: readonly string[],
): Promise<number> {
  let next = 0;
  const server = net.createServer({ noDelay: true }, (client) => {
    const [bhost, bport] = backends[next++ % backends.length]!.split(":");
    const up = net.connect({ host: bhost!, port: Number(bport) });
    up.setNoDelay(true);
    client.on("data", (d: Uint8Array) => {
      if (!up.write(d)) client.pause();
    });
    up.on("drain", () => client.resume());
    up.on("data", (d: Uint8Array) => {
      if (!client.write(d)) up.pause();
    });
    client.on("drain", () => up.resume());
    client.on("error", () => up.destroy());
    up.on("error", () => client.destroy());
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 1024 }, () => {
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : port);
    });
  });
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const port = await startRelay(
    flag(argv, "host") ?? "127.0.0.1",
    Number(flag(argv, "port") ?? 8080),
    (flag(argv, "backends") ?? "127.0.0.1:9001").split(","),
  );
  console.log(`relay listening on ${port}`);
}
