/**
 * Test support: an HTTP/2 backend in the test process, built on the project's
 * own server session (lib/http2/session.ts) over node:net, whose answer to
 * each request a test scripts (echo as gRPC, refuse, reset, GOAWAY...). Used
 * by the h2 upstream pool's and the HTTP/2 health probe's tests.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import type { H2Request } from "../http2/request_fields.ts";
import { H2ServerSession } from "../http2/session.ts";

/** What the backend does with one request (given its connection's index and the stream). */
export type Behaviour = (
  ctx: { conn: number; stream: number; nth: number; request: H2Request; body: Uint8Array },
  session: H2ServerSession,
  socket: net.Socket,
) => void;

/** {@link echo} 50 ms later, so that streams overlap. */
export const slowEcho: Behaviour = (ctx, session, socket) => {
  setTimeout(() => {
    if (!socket.destroyed) echo(ctx, session, socket);
  }, 50);
};

/** Echo as gRPC: head, the body back, trailers with grpc-status 0. */
export const echo: Behaviour = ({ stream, request, body }, session) => {
  session.respond(
    stream,
    200,
    ["content-type", "x-path"],
    ["application/grpc", request.path],
    false,
  );
  session.sendData(stream, body, false);
  session.sendTrailers(stream, ["grpc-status", "grpc-message"], ["0", "OK"]);
};

export interface Backend {
  port: number;
  connections: number;
  /** Called when a stream whose sendData said false may send again. */
  onWritable: ((stream: number, session: H2ServerSession) => void) | null;
  /** Most streams open at once on one connection. */
  peakStreams: number;
  requests: string[];
  close(): Promise<void>;
}

export async function backend(behaviour: Behaviour, maxConcurrentStreams = 128): Promise<Backend> {
  let nth = 0;
  const sockets = new Set<net.Socket>();
  const b: Backend = {
    port: 0,
    connections: 0,
    onWritable: null,
    peakStreams: 0,
    requests: [],
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const conn = b.connections++;
    const bodies = new Map<number, { request: H2Request; parts: Uint8Array[] }>();
    const run = (stream: number) => {
      const r = bodies.get(stream)!;
      bodies.delete(stream);
      const body = Buffer.concat(r.parts);
      b.requests.push(`${r.request.method} ${r.request.path} ${body.toString()}`);
      behaviour({ conn, stream, nth: nth++, request: r.request, body }, session, socket);
    };
    const session: H2ServerSession = new H2ServerSession({
      send: (bytes) => socket.write(bytes),
      request(stream, request, end) {
        b.peakStreams = Math.max(b.peakStreams, session.openStreams);
        bodies.set(stream, { request, parts: [] });
        if (end) run(stream);
      },
      data(stream, chunk, end) {
        bodies.get(stream)?.parts.push(chunk.slice());
        session.consumed(stream, chunk.length);
        if (end) run(stream);
      },
      reset: () => {},
      writable: (stream) => b.onWritable?.(stream, session),
      closed: () => socket.end(),
    }, { maxConcurrentStreams });
    socket.on("data", (d: Uint8Array) => session.receive(d));
    socket.on("error", () => {});
    session.start();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  b.port = (server.address() as net.AddressInfo).port;
  return b;
}
