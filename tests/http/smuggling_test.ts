/**
 * Request smuggling and malformed messages, over raw TCP, against real proxy
 * processes under Deno and Bun: every ambiguous request gets 400 (or the
 * status its fault calls for) and the connection is closed, and nothing of it
 * reaches the backend. Malformed backend responses give 502 and the upstream
 * connection is never reused.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RUNTIMES, waitUntil } from "../support/processes.ts";
import { E2E, metricsText, proxyFor, sampleSum } from "../support/http_lab.ts";
import {
  type BackendRequest,
  header,
  okResponse,
  RawBackend,
  RawConnection,
} from "../support/raw_http.ts";

/** How often `needle` occurs in `haystack`. */
function countOf(haystack: Buffer, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) n++;
  return n;
}

/** Requests that must be refused, each with the status and a name. */
const BAD_REQUESTS: readonly [string, number, string][] = [
  // framing ambiguities
  [
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
    "CL with TE",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
    400,
    "TE with CL",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
    400,
    "two differing CL",
  ],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\nabcde", 400, "CL list differing"],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 05\r\n\r\nabcde", 400, "CL 5, 05"],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nabcde", 400, "CL +5"],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "CL -1"],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nabcde", 400, "CL 5x"],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nabcde", 400, "CL hex"],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\nabcde", 400, "CL with space"],
  ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, "CL empty"],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
    400,
    "CL huge",
  ],
  ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400, "TE gzip"],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    400,
    "TE chunked not final",
  ],
  // RFC 9112 §6.1: a well-formed coding the proxy does not implement before a final chunked: 501
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    501,
    "TE gzip, chunked",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: deflate, chunked\r\n\r\n0\r\n\r\n",
    501,
    "TE deflate, chunked",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    501,
    "TE gzip then TE chunked",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip;level=1, chunked\r\n\r\n0\r\n\r\n",
    400,
    "TE coding with a parameter",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: deflate, chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    400,
    "TE deflate, chunked with CL",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
    "TE chunked twice",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    400,
    "TE xchunked",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n",
    400,
    "TE chunked+NBSP",
  ],
  ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400, "TE identity"],
  [
    "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
    "TE in HTTP/1.0",
  ],
  // field syntax
  ["GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400, "obs-fold"],
  ["GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400, "obs-fold tab"],
  ["GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "space before colon (Host)"],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nabcde",
    400,
    "space before colon (CL)",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n",
    400,
    "tab before colon",
  ],
  ["GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400, "CR in value"],
  ["GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n", 400, "LF in value"],
  ["GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, "NUL in value"],
  ["GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400, "DEL in value"],
  ["GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n", 400, "space in name"],
  ["GET / HTTP/1.1\r\nHost: x\r\nX@A: 1\r\n\r\n", 400, "@ in name"],
  ["GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", 400, "empty name"],
  ["GET / HTTP/1.1\r\nHost: x\r\nX-\xe9: 1\r\n\r\n", 400, "non-ASCII name"],
  ["GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, "line without colon"],
  ["GET / HTTP/1.1\nHost: x\n\n", 400, "bare LF line endings"],
  ["GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400, "bare LF inside head"],
  // Host
  ["GET / HTTP/1.1\r\n\r\n", 400, "missing Host"],
  ["GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, "missing Host with fields"],
  ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate Host"],
  ["GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "duplicate identical Host"],
  ["GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "Host with space"],
  ["GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "Host with slash"],
  ["GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "Host with userinfo"],
  // request line
  ["GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "double space"],
  ["GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "trailing space"],
  ["GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "space in target"],
  ["GET /\r\n\r\n", 400, "HTTP/0.9"],
  ["G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad method"],
  ["GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0 version"],
  ["GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, "HTTP/1.2"],
  ["GET / http/1.1\r\nHost: x\r\n\r\n", 400, "lower-case version"],
  ["GET /\xce\xb4\xc2\xb6/pope?q=1#narf HTTP/1.1\r\nHost: x\r\n\r\n", 400, "non-ASCII target"],
  ["GET /pope?q=1#narf HTTP/1.1\r\nHost: x\r\n\r\n", 400, "fragment in target"],
  ["GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "obs-text in target"],
  ["GET /\x80\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "high bytes in target"],
  ["GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "DEL in target"],
  ["GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "control byte in target"],
  ["GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "tab in target"],
  ["GET http://x/p#f HTTP/1.1\r\nHost: x\r\n\r\n", 400, "fragment in absolute-form"],
  ["GET http://x/caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "obs-text in absolute-form"],
  ["OPTIONS *#x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "fragment after asterisk"],
  ["CONNECT x:443\xe9 HTTP/1.1\r\nHost: x:443\r\n\r\n", 400, "obs-text in authority-form"],
  ["GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "relative target"],
  ["GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "asterisk for GET"],
  ["CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 501, "CONNECT"],
  ["GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "absolute-form with userinfo"],
  ["\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "TLS hello"],
  // expectations
  ["POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 0\r\n\r\n", 417, "Expect"],
];

/**
 * Bad chunked bodies: the head is valid, so the proxy may already have sent
 * it (and valid chunks) upstream when the fault shows; the backend then sees
 * its connection closed before the last chunk, never a complete request.
 */
const BAD_BODIES: readonly [string, number, string][] = [
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    400,
    "chunk size not hex",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
    400,
    "chunk size negative",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
    400,
    "chunk size 0x",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
    400,
    "chunk size trailing space",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    400,
    "chunk size overflow",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
    400,
    "chunk size bare LF",
  ],
  [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
    400,
    "chunk longer than its size",
  ],
];

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) refuses every smuggling vector and malformed request over raw TCP: error status, connection closed, nothing sent upstream`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((_req, c) => c.write(okResponse()));
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        // sanity: a good request passes on the same setup
        const ok = await RawConnection.open(proxy.port);
        ok.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await ok.readResponse()).status, 200);
        ok.destroy();
        await backend.waitFor("the good request", () => backend.requests.length === 1);
        const before = backend.receivedBytes;

        const failures: string[] = [];
        await Promise.all([...BAD_REQUESTS, ...BAD_BODIES].map(async ([raw, status, name]) => {
          const c = await RawConnection.open(proxy.port);
          try {
            c.send(raw);
            const r = await c.readResponse({ timeoutMs: 5_000 });
            if (r.status !== status) failures.push(`${name}: got ${r.status}, want ${status}`);
            if (header(r, "connection") !== "close") failures.push(`${name}: no Connection: close`);
            if (!(await c.waitEnded(3_000))) failures.push(`${name}: connection left open`);
          } catch (e) {
            failures.push(`${name}: ${(e as Error).message}`);
          } finally {
            c.destroy();
          }
        }));
        assert.deepEqual(failures, []);
        // no refused request was completed at the backend. Positive control: a valid chunked
        // request sent the same way afterwards is seen complete, last chunk and all, so a
        // refused one that had been forwarded whole would have been seen by now too.
        const control = await RawConnection.open(proxy.port);
        control.send(
          "POST /control HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
        assert.equal((await control.readResponse()).status, 200);
        control.destroy();
        await backend.waitFor("the control request", () => backend.completed >= 2);
        assert.equal(backend.completed, 2);
        assert.equal(backend.requests.filter((q) => q.target === "/control").length, 1);
        assert.equal(countOf(Buffer.concat(backend.received), "0\r\n\r\n"), 1);
        // ...and nothing of the ones refused for their head reached it at all: every byte the
        // backend receives from here on is the head of a control request sent after them
        const bytesAfterBodies = backend.receivedBytes;
        await Promise.all(BAD_REQUESTS.map(async ([raw]) => {
          const c = await RawConnection.open(proxy.port);
          c.send(raw);
          await c.waitEnded(5_000);
          c.destroy();
        }));
        const seenBefore = backend.requests.length;
        const control2 = await RawConnection.open(proxy.port);
        control2.send("GET /control-2 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await control2.readResponse()).status, 200);
        control2.destroy();
        await backend.waitFor("the second control request", () => backend.completed >= 3);
        assert.deepEqual(backend.requests.slice(seenBefore).map((q) => q.target), ["/control-2"]);
        assert.equal(
          Buffer.concat(backend.received).subarray(bytesAfterBodies).toString("latin1"),
          `${backend.requests.at(-1)!.head}\r\n\r\n`,
          "bytes of a bad head reached the backend",
        );
        assert.ok(before <= bytesAfterBodies);
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) never lets a smuggled request ride behind a valid one on the same connection`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => c.write(okResponse(`${req.target}\n`)));
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        // CL.TE: a front end honouring CL would pass "G" on as the start of the next request
        const c = await RawConnection.open(proxy.port);
        c.send(
          "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG" +
            "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        const r = await c.readResponse();
        assert.equal(r.status, 400);
        assert.ok(await c.waitEnded());
        c.destroy();
        // a valid request with a body followed by a pipelined one: both answered, in order
        const p = await RawConnection.open(proxy.port);
        p.send(
          "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
            "POST /two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
            "GET /three HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /four HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n" +
            "GET /five HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert.equal((await p.readResponse()).body.toString(), "/one\n");
        assert.equal((await p.readResponse()).body.toString(), "/two\n");
        assert.equal((await p.readResponse()).body.toString(), "/three\n");
        const bad = await p.readResponse();
        assert.equal(bad.status, 400);
        assert.ok(await p.waitEnded());
        p.destroy();
        // an unimplemented coding (501) ends the connection too: what follows is never a request
        const u = await RawConnection.open(proxy.port);
        u.send(
          "POST /deflate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: deflate, chunked\r\n\r\n0\r\n\r\n" +
            "GET /smuggled-2 HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        const unimplemented = await u.readResponse();
        assert.equal(unimplemented.status, 501);
        assert.equal(header(unimplemented, "connection"), "close");
        assert.ok(await u.waitEnded());
        assert.equal(u.buffered.length, 0, "a second response followed the 501");
        u.destroy();
        // positive control: requests pipelined the same way, after all of the above, are seen,
        // so /smuggled, /five or /smuggled-2 would have been seen by then as well
        const control = await RawConnection.open(proxy.port);
        control.send(
          "GET /control-1 HTTP/1.1\r\nHost: x\r\n\r\nGET /control-2 HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert.equal((await control.readResponse()).body.toString(), "/control-1\n");
        assert.equal((await control.readResponse()).body.toString(), "/control-2\n");
        control.destroy();
        await backend.waitFor("the control requests", () => backend.completed >= 5);
        assert.deepEqual(backend.requests.map((q) => q.target), [
          "/one",
          "/two",
          "/three",
          "/control-1",
          "/control-2",
        ]);
        assert.equal(backend.requests[0]!.body.toString(), "hello");
        assert.equal(backend.requests[1]!.body.toString(), "abc");
        // what the backend got is re-framed by the proxy: never the client's TE/CL pair
        for (const q of backend.requests) {
          const te = q.headers.filter(([n]) => n === "transfer-encoding").length;
          const cl = q.headers.filter(([n]) => n === "content-length").length;
          assert.ok(te + cl <= 1, q.head);
        }
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) drops request fields whose name has an underscore unless the group allows them`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => c.write(okResponse(`${req.body}\n`)));
      const proxy = await proxyFor(runtime, [backend.address]);
      // look-alikes of the framing fields that a CGI-style backend would read as the real ones
      const request = (path: string) =>
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer_Encoding: chunked\r\n` +
        "Content_Length: 0\r\nX_Custom: 1\r\nX-Keep: a_b\r\n\r\nhello";
      const underscored = (q: BackendRequest) =>
        q.headers.filter(([n]) => n.includes("_")).map(([n]) => n);
      const send = async (raw: string) => {
        const c = await RawConnection.open(proxy.port);
        try {
          c.send(raw);
          return await c.readResponse();
        } finally {
          c.destroy();
        }
      };
      try {
        const r = await send(request("/default"));
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "hello\n");
        await backend.waitFor("the request", () => backend.completed >= 1);
        const seen = backend.requests.at(-1)!;
        assert.equal(seen.target, "/default");
        assert.deepEqual(underscored(seen), [], seen.head);
        assert.equal(header(seen, "x-keep"), "a_b");
        assert.equal(header(seen, "content-length"), "5");
        const m = await metricsText(proxy);
        assert.equal(
          sampleSum(m, "switchyard_dropped_headers_total", { group: "g", reason: "underscore" }),
          3,
        );

        // allowed per group (live config change): the same request now arrives with them, which
        // is also the positive control for the absence above
        const applied = (await proxy.status()).config!.applied_total;
        proxy.writeConfig({
          g: { backend_servers: [backend.address], allow_underscores_in_headers: true },
        });
        await waitUntil(
          "the new config to apply",
          async () => (await proxy.status()).config!.applied_total > applied,
        );
        const r2 = await send(request("/allowed"));
        assert.equal(r2.status, 200);
        assert.equal(r2.body.toString(), "hello\n");
        await backend.waitFor("the second request", () => backend.completed >= 2);
        const allowed = backend.requests.at(-1)!;
        assert.equal(allowed.target, "/allowed");
        assert.deepEqual(underscored(allowed), ["transfer_encoding", "content_length", "x_custom"]);
        // the body was still framed by the real Content-Length only
        assert.equal(allowed.body.toString(), "hello");
        assert.equal(
          sampleSum(await metricsText(proxy), "switchyard_dropped_headers_total", { group: "g" }),
          3,
        );
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) answers 502 to malformed backend responses and never reuses that upstream connection`,
    ...E2E,
    fn: async () => {
      const BAD_RESPONSES: Record<string, string> = {
        "/cl-te":
          "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "/two-cl": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "/bad-cl": "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc",
        "/te-gzip": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        "/obs-fold": "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "/space-colon": "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nab",
        "/nul": "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
        "/bad-name": "HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 0\r\n\r\n",
        "/status-line": "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        "/version": "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "/garbage": "hello there\r\n\r\n",
        "/bare-101": "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "/te-10": "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "/bad-chunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "/bad-chunk-crlf":
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
        "/bad-chunk-ext":
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
      };
      const backend = await RawBackend.start((req, c) => {
        if (req.target === "/late-bad-chunk") {
          c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
          setTimeout(() => c.write("zz\r\n"), 100);
        } else c.write(BAD_RESPONSES[req.target] ?? okResponse(`conn ${c.id}\n`));
      });
      const proxy = await proxyFor(runtime, [backend.address], {
        upstream_keepalive: { max_idle: 1 },
      });
      try {
        for (const path of Object.keys(BAD_RESPONSES)) {
          const c = await RawConnection.open(proxy.port);
          c.send(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
          const r = await c.readResponse();
          assert.equal(r.status, 502, `${path}: ${r.head}`);
          // the faulty upstream connection is closed, not pooled
          const conn = backend.requests.at(-1)!.connId;
          await backend.waitFor(
            `${path}'s upstream connection to close`,
            () => backend.closedIds.has(conn),
          );
          c.send("GET /fine HTTP/1.1\r\nHost: x\r\n\r\n");
          const fine = await c.readResponse();
          assert.equal(fine.status, 200, `after ${path}`);
          const fineReq = backend.requests.at(-1)!;
          assert.notEqual(fineReq.connId, conn, `${path}: the bad connection was reused`);
          c.destroy();
        }
        // a fault after the head went out: the client gets an unterminated body and a closed
        // connection (never a wrongly framed message), and the upstream connection is dropped
        const late = await RawConnection.open(proxy.port);
        late.send("GET /late-bad-chunk HTTP/1.1\r\nHost: x\r\n\r\n");
        const all = (await late.readAll(5_000)).toString("latin1");
        assert.match(all, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(all.endsWith("\r\n\r\n3\r\nabc\r\n"), JSON.stringify(all));
        late.destroy();
        const lateConn = backend.requests.at(-1)!.connId;
        await backend.waitFor(
          "the upstream connection to close",
          () => backend.closedIds.has(lateConn),
        );
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}
