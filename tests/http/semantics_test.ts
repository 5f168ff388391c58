/**
 * HTTP semantics over raw TCP against real proxy processes under Deno and
 * Bun: hop-by-hop stripping and forwarding headers, Host pass-through and
 * rewrite, HEAD/204/304 without a body whatever the backend sends,
 * `Expect: 100-continue`, trailers and HTTP/1.0 clients.
 */
import assert from "node:assert/strict";
import { RUNTIMES, sleep, waitUntil } from "../support/processes.ts";
import { E2E, proxyFor } from "../support/http_lab.ts";
import {
  type BackendConnection,
  type BackendRequest,
  header,
  headerAll,
  okResponse,
  RawBackend,
  RawConnection,
} from "../support/raw_http.ts";

function names(req: { headers: readonly (readonly [string, string])[] }): string[] {
  return req.headers.map(([n]) => n);
}

/**
 * How long a test watches a client connection for bytes that must not come (after the bytes
 * that would cause them were sent), and how long its positive control gives bytes that must.
 */
const QUIET_MS = 250;

/** Waits until `c` holds a whole response head; returns its length (CRLFCRLF included). */
async function headArrived(c: RawConnection, what: string): Promise<number> {
  let end = -1;
  await waitUntil(what, () => (end = c.buffered.indexOf("\r\n\r\n")) >= 0, 10_000, 5);
  return end + 4;
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) strips hop-by-hop headers both ways and adds X-Forwarded-* and Forwarded`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => {
        if (req.target === "/resp") {
          c.write(
            "HTTP/1.1 200 OK\r\nConnection: X-Resp-Hop, keep-alive\r\nX-Resp-Hop: 1\r\n" +
              "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTrailer: X-T\r\n" +
              "Upgrade: foo\r\nX-Resp-Keep: yes\r\nTransfer-Encoding: chunked\r\n\r\n" +
              "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
          );
        } else c.write(okResponse());
      });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const c = await RawConnection.open(proxy.port);
        c.send(
          "GET /h?q=1 HTTP/1.1\r\nHost: example.test:8080\r\n" +
            "Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n" +
            "Proxy-Connection: keep-alive\r\nTE: trailers, deflate\r\nTrailer: X-T\r\n" +
            "Upgrade: h2c\r\nX-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\n" +
            "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nX-Keep: yes\r\n\r\n",
        );
        assert.equal((await c.readResponse()).status, 200);
        const seen: BackendRequest = backend.requests[0]!;
        assert.equal(seen.target, "/h?q=1");
        assert.equal(header(seen, "host"), "example.test:8080");
        for (const hop of ["x-hop", "keep-alive", "proxy-connection", "trailer", "upgrade"]) {
          assert.ok(!names(seen).includes(hop), `${hop} forwarded:\n${seen.head}`);
        }
        assert.equal(header(seen, "te"), "trailers");
        assert.equal(header(seen, "connection"), "te");
        assert.equal(header(seen, "x-keep"), "yes");
        assert.equal(header(seen, "x-forwarded-for"), "203.0.113.9, 127.0.0.1");
        assert.equal(header(seen, "x-forwarded-proto"), "http");
        assert.equal(header(seen, "x-forwarded-host"), "example.test:8080");
        assert.equal(
          header(seen, "forwarded"),
          'for=203.0.113.9, for=127.0.0.1;proto=http;host="example.test:8080"',
        );
        for (const n of ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"]) {
          assert.equal(headerAll(seen, n).length, 1, `${n} once`);
        }

        // a client without TE: trailers; the response's hop-by-hop fields are dropped
        c.send("GET /resp HTTP/1.1\r\nHost: x\r\n\r\n");
        const r = await c.readResponse();
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "abc");
        for (const hop of ["x-resp-hop", "keep-alive", "proxy-connection", "trailer", "upgrade"]) {
          assert.ok(!names(r).includes(hop), `${hop} relayed:\n${r.head}`);
        }
        assert.equal(header(r, "x-resp-keep"), "yes");
        assert.equal(header(r, "connection"), null);
        assert.equal(r.trailers, "", "trailers sent to a client that did not ask for them");
        // with TE: trailers the trailer section is relayed
        c.send("GET /resp HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n");
        const t = await c.readResponse();
        assert.equal(t.body.toString(), "abc");
        assert.equal(t.trailers, "X-T: 1\r\n");
        c.destroy();
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) appends the client after every element of the client's Forwarded lines, in order`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((_req, c) => c.write(okResponse()));
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        // a client on another address, behind two proxies that each added a field line
        const c = await RawConnection.open(proxy.port, { localAddress: "127.0.0.2" });
        c.send(
          "GET /chain HTTP/1.1\r\nHost: shop.example\r\n" +
            "Forwarded: for=198.51.100.1\r\nX-Forwarded-For: 198.51.100.1\r\n" +
            'Forwarded: for=198.51.100.2;proto=https, for="[2001:db8::2]"\r\n' +
            "X-Forwarded-For: 198.51.100.2, 2001:db8::2\r\n\r\n",
        );
        assert.equal((await c.readResponse()).status, 200);
        // and one without any: the client's element alone
        c.send("GET /plain HTTP/1.1\r\nHost: shop.example\r\n\r\n");
        assert.equal((await c.readResponse()).status, 200);
        c.destroy();
        const [chain, plain] = backend.requests;
        assert.equal(
          header(chain!, "forwarded"),
          'for=198.51.100.1, for=198.51.100.2;proto=https, for="[2001:db8::2]", ' +
            'for=127.0.0.2;proto=http;host="shop.example"',
        );
        assert.equal(
          header(chain!, "x-forwarded-for"),
          "198.51.100.1, 198.51.100.2, 2001:db8::2, 127.0.0.2",
        );
        assert.equal(headerAll(chain!, "forwarded").length, 1, chain!.head);
        assert.equal(header(plain!, "forwarded"), 'for=127.0.0.2;proto=http;host="shop.example"');
        assert.equal(header(plain!, "x-forwarded-for"), "127.0.0.2");
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) passes Host through by default and rewrites it per group`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((_req, c) => c.write(okResponse()));
      const proxy = await proxyFor(runtime, [backend.address], {
        host_rewrite: "backend.internal:9000",
      });
      try {
        const c = await RawConnection.open(proxy.port);
        c.send("GET / HTTP/1.1\r\nHost: public.example\r\n\r\n");
        await c.readResponse();
        // absolute-form: the target's authority wins over Host (RFC 9112 §3.2.2)
        c.send("GET http://abs.example/p HTTP/1.1\r\nHost: other\r\n\r\n");
        await c.readResponse();
        // HTTP/1.0 without Host
        c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        await c.readResponse();
        c.destroy();
        const [a, b, d] = backend.requests;
        assert.equal(header(a!, "host"), "backend.internal:9000");
        assert.equal(header(a!, "x-forwarded-host"), "public.example");
        assert.equal(header(b!, "host"), "backend.internal:9000");
        assert.equal(b!.target, "/p");
        assert.equal(header(b!, "x-forwarded-host"), "abs.example");
        assert.equal(header(d!, "host"), "backend.internal:9000");
        assert.ok(d!.head.startsWith("GET / HTTP/1.1\r\n"), "upstream is always HTTP/1.1");

        // and without a rewrite, Host is passed through
        const applied = (await proxy.status()).config!.applied_total;
        proxy.writeConfig({ g: { backend_servers: [backend.address] } });
        await waitUntil(
          "the config without a rewrite to apply",
          async () => (await proxy.status()).config!.applied_total > applied,
        );
        const c2 = await RawConnection.open(proxy.port);
        c2.send("GET / HTTP/1.1\r\nHost: Public.Example:8443\r\n\r\n");
        await c2.readResponse();
        c2.send("GET / HTTP/1.0\r\n\r\n");
        await c2.readResponse();
        c2.destroy();
        assert.equal(header(backend.requests[3]!, "host"), "Public.Example:8443");
        // an HTTP/1.0 request without Host gets the backend's address
        assert.equal(header(backend.requests[4]!, "host"), backend.address);
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) sends no body after HEAD, 204 and 304 whatever the backend sends, and drops that connection`,
    ...E2E,
    fn: async () => {
      // what the backend wrote after a head, in order ("late <path> <conn>", "answer <path> <conn>")
      const written: string[] = [];
      const lateCount = (path: string) =>
        written.filter((w) => w.startsWith(`late ${path} `)).length;
      const writeLate = (path: string, c: BackendConnection, bytes: string, ms: number) =>
        setTimeout(() => {
          c.write(bytes);
          written.push(`late ${path} ${c.id}`);
        }, ms);
      const backend = await RawBackend.start((req, c) => {
        switch (req.target) {
          case "/head":
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
            return;
          case "/head-chunked":
            c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
            return;
          case "/head-late":
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
            writeLate(req.target, c, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled", 50);
            return;
          case "/late-body":
            // the positive control: a body that belongs, sent as late
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
            writeLate(req.target, c, "hello", 50);
            return;
          case "/204":
            c.write("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello");
            return;
          case "/204-late":
            c.write("HTTP/1.1 204 No Content\r\nContent-Length: 8\r\n\r\n");
            writeLate(req.target, c, "smuggled", 50);
            return;
          case "/204-chunked":
            c.write(
              "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            );
            return;
          case "/304":
            c.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: "a"\r\n\r\nhello');
            return;
          case "/slow-next":
            setTimeout(() => {
              c.write(okResponse(`conn ${c.id}\n`));
              written.push(`answer ${req.target} ${c.id}`);
            }, 150);
            return;
          default:
            c.write(okResponse(`conn ${c.id}\n`));
        }
      });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const c = await RawConnection.open(proxy.port);
        // positive control of the checks below: body bytes the backend sends 50 ms after the
        // head do reach the client through the proxy within the wait those checks give
        c.send("GET /late-body HTTP/1.1\r\nHost: x\r\n\r\n");
        const headLength = await headArrived(c, "control: the head of /late-body");
        await backend.waitFor("control: the late body sent", () => lateCount("/late-body") === 1);
        assert.ok(
          await c.waitBytes(headLength + 5, QUIET_MS),
          `control: a late body did not reach the client within ${QUIET_MS} ms`,
        );
        assert.equal((await c.readResponse()).body.toString(), "hello", "control");
        const cases: [string, string, number][] = [
          ["HEAD", "/head", 200],
          ["HEAD", "/head-chunked", 200],
          ["HEAD", "/head-late", 200],
          ["GET", "/204", 204],
          ["GET", "/204-late", 204],
          ["GET", "/204-chunked", 204],
          ["GET", "/304", 304],
        ];
        for (const [method, path, status] of cases) {
          const lateBefore = lateCount(path);
          c.send(`${method} ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
          const r = await c.readResponse({ method });
          assert.equal(r.status, status, path);
          if (status === 204) {
            assert.equal(header(r, "content-length"), null, `${path}: 204 with Content-Length`);
            assert.equal(header(r, "transfer-encoding"), null, `${path}: 204 with TE`);
          }
          if (path === "/304") assert.equal(header(r, "content-length"), "5");
          if (path === "/head") assert.equal(header(r, "content-length"), "5");
          // the wait starts once the backend has sent everything for this request (the bytes it
          // sends late too); the control above shows that bytes relayed arrive within it
          if (path.endsWith("-late")) {
            await backend.waitFor(
              `${path}: the late bytes sent`,
              () => lateCount(path) > lateBefore,
            );
          }
          await sleep(QUIET_MS);
          assert.equal(c.buffered.length, 0, `${path}: body bytes reached the client`);
          // the connection stays usable and in sync
          c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
          const next = await c.readResponse();
          assert.equal(next.status, 200, `after ${path}`);
          assert.match(next.body.toString(), /^conn \d+\n$/, `after ${path}`);
          // the misbehaving upstream connection was not used for /next
          const bad = backend.requests.find((q) => q.target === path)!;
          const nextReq = backend.requests.at(-1)!;
          assert.notEqual(
            nextReq.connId,
            bad.connId,
            `${path}: a desynchronized connection reused`,
          );
        }
        // the next request right behind a 204 that announced a body sent later
        // (answered after the late bytes arrive: on a reused connection they would come first)
        c.send(
          "GET /204-late HTTP/1.1\r\nHost: x\r\n\r\nGET /slow-next HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert.equal((await c.readResponse()).status, 204);
        const next = await c.readResponse();
        assert.match(next.body.toString(), /^conn \d+\n$/, "the late body was taken as a response");
        assert.ok(!c.ended);
        c.destroy();
        const [late204, slowNext] = backend.requests.slice(-2);
        assert.equal(slowNext!.target, "/slow-next");
        assert.notEqual(
          slowNext!.connId,
          late204!.connId,
          "/slow-next reused the connection of the late 204",
        );
        // positive control: on one connection (straight to the backend, as a reused upstream
        // connection would carry them), the late body does come before /slow-next's answer
        const direct = await RawConnection.open(backend.port);
        direct.send(
          "GET /204-late HTTP/1.1\r\nHost: x\r\n\r\nGET /slow-next HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert.equal((await direct.readResponse()).status, 204, "control");
        await waitUntil(
          "control: /slow-next answered on the direct connection",
          () => direct.buffered.includes("conn "),
          10_000,
          5,
        );
        assert.match(
          direct.buffered.toString("latin1"),
          /^smuggledHTTP\/1\.1 200 /,
          "control: the late body first",
        );
        direct.destroy();
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) relays Expect: 100-continue once, passes early answers, and refuses other expectations with 417`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => {
        c.write(okResponse(`got ${req.body.length}\n`));
      }, {
        onHead: (req, c) => {
          if (req.target === "/continue") {
            c.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n");
          } else if (req.target === "/refuse") {
            c.write("HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nbig\n");
          }
        },
      });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const c = await RawConnection.open(proxy.port);
        c.send(
          "POST /continue HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        );
        const cont = await c.readResponse();
        assert.equal(cont.status, 100);
        await sleep(QUIET_MS);
        assert.equal(c.buffered.length, 0, "a second 100 Continue reached the client");
        // positive control: straight from the backend, the second 100 Continue (sent with the
        // first) is there within the same wait
        const direct = await RawConnection.open(backend.port);
        direct.send(
          "POST /continue HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        );
        assert.equal((await direct.readResponse()).status, 100, "control: the first 100");
        const continueLength = "HTTP/1.1 100 Continue\r\n\r\n".length;
        assert.ok(await direct.waitBytes(continueLength, QUIET_MS), "control: no second 100");
        assert.equal((await direct.readResponse()).status, 100, "control: the second 100");
        direct.destroy();
        c.send("hello");
        const r = await c.readResponse();
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "got 5\n");
        assert.equal(header(backend.requests[0]!, "expect"), "100-continue");

        // the backend answers before the body: the client gets that answer and the connection closes
        const c2 = await RawConnection.open(proxy.port);
        c2.send(
          "PUT /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n",
        );
        const refused = await c2.readResponse();
        assert.equal(refused.status, 413);
        assert.equal(header(refused, "connection"), "close");
        assert.ok(await c2.waitEnded());
        c2.destroy();

        // an expectation we cannot meet
        const c3 = await RawConnection.open(proxy.port);
        c3.send("POST /x HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n");
        assert.equal((await c3.readResponse()).status, 417);
        assert.ok(await c3.waitEnded());
        c3.destroy();
        // HTTP/1.0 has no expectations: ignored, not forwarded
        const c4 = await RawConnection.open(proxy.port);
        c4.send("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
        const r4 = await c4.readResponse();
        assert.equal(r4.status, 200);
        assert.equal(header(backend.requests.at(-1)!, "expect"), null);
        c4.destroy();
        assert.equal(backend.requests.filter((q) => q.target === "/x").length, 1);
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) serves HTTP/1.0 clients: close-delimited when the length is unknown, keep-alive when asked`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => {
        if (req.target === "/chunked") {
          c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        } else c.write(okResponse("fixed\n"));
      });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const c = await RawConnection.open(proxy.port);
        c.send("GET /fixed HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        const r = await c.readResponse();
        assert.equal(r.body.toString(), "fixed\n");
        assert.equal(header(r, "connection"), "keep-alive");
        c.send("GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        const body = await c.readAll();
        const text = body.toString("latin1");
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(!/transfer-encoding/i.test(text), text);
        assert.ok(text.endsWith("\r\n\r\nabc"), text);
        c.destroy();
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}
