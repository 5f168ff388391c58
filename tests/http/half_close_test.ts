/**
 * Half-closed connections through real proxy processes under Deno and Bun
 * (Bun's proxy on its native sockets): a client that sends its request and
 * then FIN still gets the whole response, after which the proxy closes; in
 * an upgraded tunnel each side's FIN reaches the other while the opposite
 * direction keeps flowing.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RUNTIMES, sleep } from "../support/processes.ts";
import { E2E, proxyFor } from "../support/http_lab.ts";
import { okResponse, RawBackend, RawConnection } from "../support/raw_http.ts";

const UPGRADE = "GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n";
const SWITCHED = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n";

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `proxy (${runtime}) answers a request whose client half-closed right after sending it`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => {
        // answer late, well after the client's FIN reached the proxy
        setTimeout(() => c.write(okResponse(`${req.target} ${req.body.length}\n`)), 300);
      });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const a = await RawConnection.open(proxy.port);
        a.send("GET /no-body HTTP/1.1\r\nHost: x\r\n\r\n");
        a.end();
        const ra = await a.readResponse({ timeoutMs: 5_000 });
        assert.equal(ra.status, 200);
        assert.equal(ra.body.toString(), "/no-body 0\n");
        assert.ok(await a.waitEnded(5_000), "the proxy closes after the response");
        a.destroy();

        // with a body: the whole body, then FIN
        const b = await RawConnection.open(proxy.port);
        const body = Buffer.alloc(100_000, 0x61);
        b.send(`POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
        b.send(body);
        b.end();
        const rb = await b.readResponse({ timeoutMs: 5_000 });
        assert.equal(rb.status, 200);
        assert.equal(rb.body.toString(), `/body ${body.length}\n`);
        assert.ok(await b.waitEnded(5_000), "the proxy closes after the response");
        b.destroy();
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) carries each side's FIN through an upgraded tunnel`,
    ...E2E,
    fn: async () => {
      const backendGot: string[] = [];
      let backendSawEnd = false;
      const backend = await RawBackend.start((_req, c) => {
        c.startTunnel();
        c.write(SWITCHED);
        c.socket.on("data", (d: Buffer) => backendGot.push(d.toString("latin1")));
        c.socket.on("end", () => {
          backendSawEnd = true;
          // the client is done sending; this side still talks, then ends
          c.write("after-your-fin");
          setTimeout(() => c.end(), 100);
        });
      }, { keepHalfOpen: true });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const t = await RawConnection.open(proxy.port);
        t.send(UPGRADE);
        assert.equal((await t.readResponse({ timeoutMs: 5_000 })).status, 101);
        t.send("hello");
        await backend.waitFor("the tunnelled bytes", () => backendGot.join("") === "hello");
        assert.equal(backendSawEnd, false, "positive control: no FIN before the client's");
        t.end();
        await backend.waitFor("the client's FIN at the backend", () => backendSawEnd);
        assert.ok(await t.waitEnded(5_000), "the backend's FIN reaches the client");
        assert.equal(t.take().toString(), "after-your-fin");
        await sleep(10);
        t.destroy();
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}
