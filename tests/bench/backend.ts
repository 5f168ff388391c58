/**
 * The benchmark backend: a minimal static responder on `Bun.serve`, so the
 * backend costs as little CPU as possible and is never what a benchmark
 * measures. Every target (nginx, HAProxy, Switchyard, the backend directly) is
 * measured against the same two instances of it.
 *
 * Runs under Bun only: `bun tests/bench/backend.ts --port 9001 --name b1`.
 *
 * - `GET /` (any other path): `<name>\n`, the small body most scenarios use;
 *   the name lets the harness check that a proxy balances over both backends.
 * - `GET /1m`: a 1 MiB body (issue 9's large-response scenario).
 * - `POST /upload`: reads the whole request body, answers its size.
 * - `GET /ws`: a WebSocket that echoes every message (issue 9's echo rate).
 *
 * @module
 */
import process from "node:process";

interface BunServer {
  readonly port: number;
  upgrade(req: Request): boolean;
}
interface BunSocket {
  send(data: string | Uint8Array): number;
}
interface BunLike {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout?: number;
    fetch(req: Request, server: BunServer): Response | Promise<Response> | undefined;
    websocket: { message(ws: BunSocket, message: string | Uint8Array): void };
  }): BunServer;
}

const bun = (globalThis as unknown as { Bun?: BunLike }).Bun;

function flag(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** Starts the backend; returns the bound port. */
export function startBenchBackend(host: string, port: number, name: string): number {
  if (!bun) throw new Error("the bench backend runs under Bun (Bun.serve)");
  const small = `${name}\n`;
  const smallHeaders = { "content-type": "text/plain" };
  const big = new Uint8Array(1024 * 1024).fill(120);
  const bigHeaders = { "content-type": "application/octet-stream" };
  const server = bun.serve({
    hostname: host,
    port,
    // pooled upstream connections of the proxies may sit idle while other targets are measured
    idleTimeout: 0,
    // synchronous (no promise per request) except where the body must be read
    fetch(req, srv) {
      const path = req.url.slice(req.url.indexOf("/", 8));
      if (path === "/1m") return new Response(big, { headers: bigHeaders });
      if (path === "/upload" && req.method === "POST") {
        return req.arrayBuffer().then((body) =>
          new Response(`${body.byteLength}\n`, { headers: smallHeaders })
        );
      }
      if (path === "/ws" && srv.upgrade(req)) return undefined;
      return new Response(small, { headers: smallHeaders });
    },
    websocket: {
      message(ws, message) {
        ws.send(message);
      },
    },
  });
  return server.port;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const port = startBenchBackend(
    flag(argv, "host") ?? "127.0.0.1",
    Number(flag(argv, "port") ?? 9001),
    flag(argv, "name") ?? "backend",
  );
  console.log(`bench backend listening on ${port}`);
}
