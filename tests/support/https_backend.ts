/**
 * Test support: an HTTPS backend in the test process (`node:tls` with a
 * certificate from tests/support/tls.ts) that answers every HTTP/1.1 request
 * with `200 sni=<name the client sent>` and keeps connections alive, and
 * records the SNI name of each TLS connection (null: none sent).
 *
 * @module
 */
import fs from "node:fs";
import type net from "node:net";
import tls from "node:tls";
import type { CertFiles } from "./tls.ts";

/** A running HTTPS backend. */
export interface HttpsBackend {
  readonly port: number;
  readonly address: string;
  /** The SNI name of each TLS connection accepted, in order (null: no SNI). */
  readonly servernames: (string | null)[];
  /** Requests answered. */
  requests(): number;
  close(): Promise<void>;
}

/** Starts an HTTPS backend on 127.0.0.1 with `cert` (ALPN http/1.1). */
export async function startHttpsBackend(cert: CertFiles): Promise<HttpsBackend> {
  const servernames: (string | null)[] = [];
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const server = tls.createServer({
    cert: fs.readFileSync(cert.cert),
    key: fs.readFileSync(cert.key),
    ALPNProtocols: ["http/1.1"],
  }, (socket) => {
    const sni = socket.servername || null;
    servernames.push(sni);
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let got = "";
    socket.on("data", (chunk: Uint8Array) => {
      got += new TextDecoder("latin1").decode(chunk);
      let end: number;
      while ((end = got.indexOf("\r\n\r\n")) >= 0) {
        got = got.slice(end + 4); // GETs only: no body
        requests++;
        const body = `sni=${sni ?? "none"}`;
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
      }
    });
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    servernames,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
