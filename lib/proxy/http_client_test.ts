import assert from "node:assert/strict";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { forwardWebRequest, requestHeadFromWeb } from "./http_client.ts";
import { UpstreamPool } from "./upstream_pool.ts";

/**
 * A raw backend that answers every request on a connection with `answer`
 * (one write), and counts the connections it accepted.
 */
async function rawBackend(answer: string) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      while (buf.includes("\r\n\r\n")) {
        buf = buf.slice(buf.indexOf("\r\n\r\n") + 4);
        s.write(answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Sends two GETs one after the other through one pool; how many connections the backend saw. */
async function connectionsForTwo(answer: string): Promise<number> {
  const backend = await rawBackend(answer);
  const pool = new UpstreamPool({
    host: "127.0.0.1",
    port: backend.port,
    maxIdle: 8,
    idleTimeoutMs: 60_000,
  });
  try {
    for (let i = 0; i < 2; i++) {
      const res = await forwardWebRequest(new Request(`http://127.0.0.1:${backend.port}/`), {
        pool,
        connectTimeoutMs: 10_000,
        responseTimeoutMs: 10_000,
        clientIp: "127.0.0.1",
        target: "/",
        maxResponseHeaderBytes: 16_384,
        now: () => performance.now(),
      });
      assert.equal(res.status, 204);
      assert.equal(await res.text(), "");
    }
    return backend.connections();
  } finally {
    pool.closeIdle();
    await backend.close();
  }
}

Deno.test("forwardWebRequest() pools the connection after a clean 204 (the control)", async () => {
  assert.equal(await connectionsForTwo("HTTP/1.1 204 No Content\r\n\r\n"), 1);
});

Deno.test("forwardWebRequest() closes the connection after a 204 followed by stray bytes", async () => {
  // before responseFraming() decided it here, these bytes were dropped and the connection pooled
  assert.equal(await connectionsForTwo("HTTP/1.1 204 No Content\r\n\r\nSTRAY"), 2);
});

Deno.test("forwardWebRequest() closes the connection after a 204 announcing a body", async () => {
  // the backend may yet send those 5 bytes: they would start the next response
  assert.equal(await connectionsForTwo("HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n"), 2);
});

/** The head's fields named `name` (lower case), in order. */
function named(head: string, name: string): string[] {
  return head.split("\r\n").slice(1).filter((l) => l.toLowerCase().startsWith(`${name}: `))
    .map((l) => l.slice(name.length + 2));
}

Deno.test("requestHeadFromWeb() appends the client to the client's X-Forwarded-For and Forwarded", () => {
  const headers = new Headers();
  headers.append("forwarded", "for=198.51.100.1");
  headers.append("x-forwarded-for", "198.51.100.1");
  headers.append("forwarded", "for=198.51.100.2;proto=https");
  headers.append("x-forwarded-for", "198.51.100.2");
  headers.append("x-forwarded-proto", "https");
  headers.append("x-forwarded-host", "evil.example");
  const req = new Request("http://shop.example/api/x", { headers });
  const head = requestHeadFromWeb(req, "/x", "2001:db8::7", false, -1);
  assert.ok(head.startsWith("GET /x HTTP/1.1\r\nhost: shop.example\r\n"), head);
  assert.deepEqual(named(head, "x-forwarded-for"), [
    "198.51.100.1, 198.51.100.2, 2001:db8::7",
  ]);
  assert.deepEqual(named(head, "forwarded"), [
    'for=198.51.100.1, for=198.51.100.2;proto=https, for="[2001:db8::7]";proto=http;host="shop.example"',
  ]);
  assert.deepEqual(named(head, "x-forwarded-proto"), ["http"]);
  assert.deepEqual(named(head, "x-forwarded-host"), ["shop.example"]);
});

Deno.test("requestHeadFromWeb() without incoming forwarding fields adds the client alone", () => {
  const req = new Request("https://a.example:8443/p", { method: "POST", body: "x" });
  const head = requestHeadFromWeb(req, "/p", "192.0.2.1", true, -1);
  assert.deepEqual(named(head, "x-forwarded-for"), ["192.0.2.1"]);
  assert.deepEqual(named(head, "x-forwarded-proto"), ["https"]);
  assert.deepEqual(named(head, "forwarded"), ['for=192.0.2.1;proto=https;host="a.example:8443"']);
  assert.deepEqual(named(head, "transfer-encoding"), ["chunked"]);
  assert.ok(head.endsWith("\r\n\r\n"));
});
