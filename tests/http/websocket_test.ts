/**
 * WebSocket through real proxy processes under Deno and Bun: the upgrade is
 * tunnelled only once the backend answers 101, frames flow both ways
 * unchanged, and closing either side closes the other.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RUNTIMES, sleep, startBackends, stopAll, waitUntil } from "../support/processes.ts";
import { E2E, proxyFor } from "../support/http_lab.ts";
import { header, okResponse, RawBackend, RawConnection } from "../support/raw_http.ts";

const HANDSHAKE = "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
  "Sec-WebSocket-Protocol: chat\r\n\r\n";
const ACCEPT = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";

/** Waits for the next message (or close) on a WebSocket. */
function next(ws: WebSocket): Promise<MessageEvent | CloseEvent> {
  return new Promise((resolve) => {
    const done = (e: MessageEvent | CloseEvent) => {
      ws.removeEventListener("message", done);
      ws.removeEventListener("close", done);
      resolve(e);
    };
    ws.addEventListener("message", done);
    ws.addEventListener("close", done);
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) carries a WebSocket session to a real backend: messages both ways, closes both ways`,
    ...E2E,
    fn: async () => {
      // the sample backend's /_ws echo runs under Deno
      const backends = await startBackends(1, "deno");
      const proxy = await proxyFor(runtime, [backends[0]!.address]);
      try {
        const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/_ws`);
        ws.binaryType = "arraybuffer";
        await new Promise<void>((resolve, reject) => {
          ws.onopen = () => resolve();
          ws.onerror = (e) => reject(new Error(`WebSocket error ${(e as ErrorEvent).message}`));
        });
        ws.send("hello");
        assert.equal(((await next(ws)) as MessageEvent).data, "hello");
        const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
        ws.send(big);
        const echoed = new Uint8Array(((await next(ws)) as MessageEvent).data as ArrayBuffer);
        assert.equal(echoed.length, big.length);
        assert.ok(Buffer.from(echoed).equals(Buffer.from(big)));
        for (let i = 0; i < 100; i++) ws.send(`m${i}`);
        for (let i = 0; i < 100; i++) {
          assert.equal(((await next(ws)) as MessageEvent).data, `m${i}`);
        }
        // the backend closes: the client sees its close code
        ws.send("close-me");
        const closed = (await next(ws)) as CloseEvent;
        assert.equal(closed.code, 4000);
        await waitUntil(
          "the tunnel to end at the proxy",
          async () => (await proxy.status()).backends[0]!.inflight === 0,
        );

        // the client closes: the backend's side ends and the proxy forgets the tunnel
        const ws2 = new WebSocket(`ws://127.0.0.1:${proxy.port}/_ws`);
        await new Promise<void>((resolve) => (ws2.onopen = () => resolve()));
        ws2.send("ping");
        assert.equal(((await next(ws2)) as MessageEvent).data, "ping");
        assert.equal((await proxy.status()).backends[0]!.inflight, 1);
        const done = next(ws2);
        ws2.close(1000, "bye");
        assert.equal(((await done) as CloseEvent).code, 1000);
        await waitUntil(
          "the tunnel to end at the proxy",
          async () => (await proxy.status()).backends[0]!.inflight === 0,
        );
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) tunnels an upgrade only after a 101 and relays a refusal as a normal response`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => {
        if (req.target === "/refuse") {
          c.write("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 5\r\n\r\nnope\n");
        } else if (req.target === "/chat") {
          c.startTunnel();
          c.write(ACCEPT);
          // after the 101 the bytes are the tunnel's: echo them back reversed
          c.socket.on("data", (d: Buffer) => c.write(Buffer.from(d).reverse()));
          c.write("server-first");
        } else c.write(okResponse(`${req.target}\n`));
      });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        // the backend refuses: a normal response, the client's early bytes are not tunnelled
        const c = await RawConnection.open(proxy.port);
        c.send(HANDSHAKE.replace("/chat", "/refuse"));
        const r = await c.readResponse();
        assert.equal(r.status, 426);
        assert.equal(r.body.toString(), "nope\n");
        c.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        const after = await c.readResponse();
        assert.equal(after.body.toString(), "/after\n");
        c.destroy();
        assert.equal(header(backend.requests[0]!, "upgrade"), "websocket");
        assert.match(header(backend.requests[0]!, "connection") ?? "", /upgrade/i);

        // the backend accepts: tunnel both ways, the handshake headers relayed
        const t = await RawConnection.open(proxy.port);
        t.send(HANDSHAKE);
        const sw = await t.readResponse();
        assert.equal(sw.status, 101);
        assert.equal(header(sw, "sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert.equal(header(sw, "sec-websocket-protocol"), "chat");
        assert.equal(header(sw, "upgrade"), "websocket");
        const seen = backend.requests.find((q) => q.target === "/chat")!;
        assert.equal(header(seen, "sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
        assert.equal(header(seen, "sec-websocket-version"), "13");
        assert.ok(await t.waitBytes(12));
        assert.equal(t.take().toString(), "server-first");
        // raw frame bytes (a masked "Hi" text frame) go through untouched
        const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x48 ^ 1, 0x69 ^ 2]);
        t.send(frame);
        assert.ok(await t.waitBytes(frame.length));
        assert.ok(t.take().equals(Buffer.from(frame).reverse()));
        // the client closes: the backend connection closes too
        const conn = seen.connId;
        t.destroy();
        await backend.waitFor("the backend side to close", () => backend.closedIds.has(conn));

        // frames the client sends right behind the handshake wait for the 101, then go through
        const t3 = await RawConnection.open(proxy.port);
        t3.send(Buffer.concat([Buffer.from(HANDSHAKE, "latin1"), frame]));
        assert.equal((await t3.readResponse()).status, 101);
        assert.ok(await t3.waitBytes(12 + frame.length));
        const got = t3.take();
        assert.equal(got.subarray(0, 12).toString(), "server-first");
        assert.ok(got.subarray(12).equals(Buffer.from(frame).reverse()));
        t3.destroy();

        // the backend closes: the client connection closes too
        const t2 = await RawConnection.open(proxy.port);
        t2.send(HANDSHAKE);
        assert.equal((await t2.readResponse()).status, 101);
        await sleep(50);
        const conn2 = backend.requests.at(-1)!.connId;
        assert.notEqual(conn2, conn);
        backend.handlerConnections.find((h) => h.id === conn2)!.destroy();
        assert.ok(await t2.waitEnded(5_000), "the client side stayed open");
        t2.destroy();
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}
