/**
 * HTTP/2 in cleartext with prior knowledge (h2c) through real proxy
 * processes under Deno and Bun, driven by curl (nghttp2) and h2spec: the
 * same routing and exchange as HTTP/1.1, bodies both ways of any framing,
 * flow control on a 1 MiB response, the proxy's own answers, and the
 * conformance suite.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { Buffer } from "node:buffer";
import fs from "node:fs";
import path from "node:path";
import { RUNTIMES, tempDir } from "../support/processes.ts";
import { E2E, metricsText, proxyFor, sampleSum } from "../support/http_lab.ts";
import { header, okResponse, RawBackend } from "../support/raw_http.ts";
import net from "node:net";
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  frame,
  FrameType,
  readFrameHeader,
  settingsFrame,
} from "../../lib/http2/frames.ts";
import { HpackEncoder } from "../../lib/http2/hpack.ts";

/** Runs curl (HTTP/2 with prior knowledge) with `args`; resolves with status line, headers and body. */
function curl(
  args: readonly string[],
  stdin?: Buffer,
): Promise<{ code: number; head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const p = spawn("curl", ["-sS", "--http2-prior-knowledge", "-D", "/dev/stderr", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d: Buffer) => err.push(d));
    p.on("error", reject);
    p.on(
      "close",
      (code) =>
        resolve({
          code: code ?? -1,
          head: Buffer.concat(err).toString(),
          body: Buffer.concat(out),
        }),
    );
    if (stdin) p.stdin.end(stdin);
    else p.stdin.end();
  });
}

const MIB = Buffer.alloc(1 << 20, "x");

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) serves HTTP/2 with prior knowledge: requests, bodies both ways, its own answers`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) => {
        if (req.target === "/big") c.write(okResponse(MIB.toString()));
        else if (req.target === "/chunked") {
          c.write(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
          );
        } else {c.write(
            okResponse(`${req.method} ${req.target} ${req.body.length}\n`, "x-backend: raw\r\n"),
          );}
      });
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const get = await curl([`${proxy.url}/a/b?q=1`]);
        assert.equal(get.code, 0, get.head);
        assert.match(get.head, /^HTTP\/2 200/);
        assert.match(get.head, /x-backend: raw/);
        assert.match(get.head, /x-request-id: \S+/);
        assert.equal(get.body.toString(), "GET /a/b?q=1 0\n");
        const seen = backend.requests.at(-1)!;
        assert.equal(
          header(seen, "host"),
          `127.0.0.1:${proxy.port}`,
          "the authority is the Host upstream",
        );
        assert.equal(header(seen, "x-forwarded-proto"), "http");
        assert.equal(seen.head.split("\r\n")[0], "GET /a/b?q=1 HTTP/1.1");

        // a body with content-length, and one without (sent chunked upstream)
        const post = await curl(
          ["--data-binary", "@-", `${proxy.url}/post`],
          Buffer.alloc(100_000, "p"),
        );
        assert.equal(post.body.toString(), "POST /post 100000\n");
        assert.equal(header(backend.requests.at(-1)!, "content-length"), "100000");
        const upload = await curl(["-T", "-", `${proxy.url}/up`], Buffer.alloc(300_000, "u"));
        assert.equal(upload.body.toString(), "PUT /up 300000\n");
        assert.equal(header(backend.requests.at(-1)!, "transfer-encoding"), "chunked");

        // 1 MiB down: many DATA frames, the client's window reopened as it reads
        const big = await curl([`${proxy.url}/big`]);
        assert.equal(big.body.length, MIB.length);
        assert.ok(big.body.equals(MIB));
        // a chunked response arrives as DATA, without the framing
        const chunked = await curl([`${proxy.url}/chunked`]);
        assert.equal(chunked.body.toString(), "hello world");
        assert.doesNotMatch(chunked.head, /transfer-encoding/i);

        // HEAD: the head only
        const head = await curl(["-I", `${proxy.url}/h`]);
        assert.match(head.head, /^HTTP\/2 200/);
        assert.match(head.head, /content-length: \d+/);

        // the proxy's own answer (no backend usable) goes out as HTTP/2 too
        proxy.writeConfig({ g: { backend_servers: ["127.0.0.1:1"] } });
        let answer = await curl([`${proxy.url}/down`]);
        for (let i = 0; i < 50 && !/^HTTP\/2 50[23]/.test(answer.head); i++) {
          await new Promise((r) => setTimeout(r, 100));
          answer = await curl([`${proxy.url}/down`]);
        }
        assert.match(answer.head, /^HTTP\/2 50[23]/);
        assert.match(answer.head, /x-request-id: \S+/);

        // the head limits of HTTP/1.1 apply: field count and target length
        const many = Array.from({ length: 120 }, (_, i) => ["-H", `x-f${i}: ${i}`]).flat();
        assert.match((await curl([...many, `${proxy.url}/many`])).head, /^HTTP\/2 431/);
        assert.match((await curl([`${proxy.url}/${"a".repeat(9000)}`])).head, /^HTTP\/2 414/);

        // HTTP/1.1 on the same port still works
        const h1 = execFileSync("curl", [
          "-sS",
          "-o",
          "/dev/null",
          "-w",
          "%{http_version}",
          `${proxy.url}/h1`,
        ]);
        assert.equal(h1.toString(), "1.1");
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) passes h2spec in cleartext, but for the one case a shared HTTP/1.1 port answers`,
    ...E2E,
    fn: async () => {
      const h2spec = execFileSync("bash", ["deploy/h2spec/install.sh"], { encoding: "utf8" })
        .trim();
      // a body of at least 5 octets: h2spec's negative-window case needs one to split
      const backend = await RawBackend.start((_req, c) =>
        c.write(okResponse("hello from the backend\n"))
      );
      const proxy = await proxyFor(runtime, [backend.address]);
      try {
        const run = await new Promise<string>((resolve) => {
          const p = spawn(h2spec, [
            "-h",
            "127.0.0.1",
            "-p",
            String(proxy.port),
            "-o",
            "5",
            "--strict",
          ], {
            stdio: ["ignore", "pipe", "pipe"],
          });
          let out = "";
          p.stdout.on("data", (d: Buffer) => out += d.toString());
          p.stderr.on("data", (d: Buffer) => out += d.toString());
          p.on("close", () => resolve(out));
        });
        const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(run);
        assert.ok(summary, run.slice(-2000));
        const [total, passed, skipped, failed] = summary.slice(1).map(Number) as [
          number,
          number,
          number,
          number,
        ];
        console.log(`h2spec (${runtime}, h2c): ${total} tests, ${passed} passed, ${failed} failed`);
        const failures = run.slice(run.indexOf("Failures:"));
        // On a port that also serves HTTP/1.1, "INVALID CONNECTION PREFACE\r\n\r\n" is an
        // HTTP/1.1 request line: it gets a 400 and the connection closes. h2spec wants the close
        // without the 400. Over TLS (ALPN h2) the port is HTTP/2 only and this case passes.
        assert.equal(failed, 1, failures);
        assert.match(
          failures,
          /3\.5\. HTTP\/2 Connection Preface\s+× 2: Sends invalid connection preface/,
        );
        assert.equal(
          skipped,
          0,
          run.split("\n").filter((l) => /skipped|SKIP|-> /.test(l)).join("\n"),
        );
        assert.ok(total >= 145, `${total} tests`);
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}

/** A raw HTTP/2 client over TCP: sends frames, collects the frames the server sends. */
async function rawH2(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) =>
    socket.once("connect", resolve).once("error", reject)
  );
  const frames: Array<{ type: number; flags: number; stream: number; payload: Uint8Array }> = [];
  let buf = new Uint8Array(0);
  let closed = false;
  socket.on("data", (d: Uint8Array) => {
    const b = new Uint8Array(buf.length + d.length);
    b.set(buf);
    b.set(d, buf.length);
    buf = b;
    while (buf.length >= 9) {
      const h = readFrameHeader(buf, 0);
      if (buf.length < 9 + h.length) break;
      frames.push({ ...h, payload: buf.slice(9, 9 + h.length) });
      buf = buf.slice(9 + h.length);
    }
  });
  socket.on("error", () => {});
  socket.on("close", () => closed = true);
  socket.write(CLIENT_PREFACE);
  socket.write(settingsFrame([]));
  return {
    frames,
    get closed() {
      return closed;
    },
    write: (b: Uint8Array) => socket.write(b),
    destroy: () => socket.destroy(),
    goaway(): number | null {
      const g = frames.find((f) => f.type === 7);
      return g ? new DataView(g.payload.buffer, g.payload.byteOffset).getUint32(4) : null;
    },
  };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `proxy (${runtime}) ends HTTP/2 connections that flood: rapid reset, CONTINUATION, PING`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((_req, c) => c.write(okResponse()));
      const proxy = await proxyFor(runtime, [backend.address]);
      const enc = new HpackEncoder();
      const get = enc.encode([":method", ":scheme", ":path", ":authority"], [
        "GET",
        "http",
        "/",
        "x",
      ]);
      const until = async (what: string, cond: () => boolean) => {
        for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(cond(), what);
      };
      try {
        // positive control: a client at a normal pace is served
        const calm = await rawH2(proxy.port);
        calm.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, get));
        await until("a response", () => calm.frames.some((f) => f.type === FrameType.DATA));
        assert.equal(calm.goaway(), null);
        calm.destroy();

        // rapid reset: open and cancel streams as fast as possible
        const reset = await rawH2(proxy.port);
        const rst = Uint8Array.of(0, 0, 0, ErrorCode.CANCEL);
        const burst: Uint8Array[] = [];
        for (let id = 1; id < 2 * 2000; id += 2) {
          burst.push(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, get));
          burst.push(frame(FrameType.RST_STREAM, 0, id, rst));
        }
        reset.write(Buffer.concat(burst));
        await until("GOAWAY after the rapid resets", () => reset.goaway() !== null);
        assert.equal(reset.goaway(), ErrorCode.ENHANCE_YOUR_CALM);
        await until("the connection closed", () => reset.closed);

        // CONTINUATION flood: a header block that never ends
        const cont = await rawH2(proxy.port);
        cont.write(frame(FrameType.HEADERS, 0, 1, get));
        const chunk = frame(FrameType.CONTINUATION, 0, 1, new Uint8Array(8192).fill(0x40));
        for (let i = 0; i < 40 && cont.goaway() === null && !cont.closed; i++) {
          cont.write(chunk);
          await new Promise((r) => setTimeout(r, 5));
        }
        await until("GOAWAY for the endless header block", () => cont.goaway() !== null);
        assert.equal(cont.goaway(), ErrorCode.ENHANCE_YOUR_CALM);

        // PING flood
        const ping = await rawH2(proxy.port);
        const pings: Uint8Array[] = [];
        for (let i = 0; i < 5000; i++) pings.push(frame(FrameType.PING, 0, 0, new Uint8Array(8)));
        ping.write(Buffer.concat(pings));
        await until("GOAWAY for the PING flood", () => ping.goaway() !== null);
        assert.equal(ping.goaway(), ErrorCode.ENHANCE_YOUR_CALM);

        // and the proxy still serves others
        const after = await curl([`${proxy.url}/after`]);
        assert.match(after.head, /^HTTP\/2 200/);
        const metrics = await metricsText(proxy);
        assert.equal(
          sampleSum(metrics, "switchyard_http2_goaway_total", { code: "ENHANCE_YOUR_CALM" }),
          3,
        );
        assert.ok(sampleSum(metrics, "switchyard_http2_connections_total", {})! >= 5, metrics);
        assert.ok(sampleSum(metrics, "switchyard_http2_streams_total", {})! >= 2);
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `proxy (${runtime}) returns the window of request bodies it answers early (HTTP/2)`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((_req, c) => c.write(okResponse()));
      // each 200 KB POST is refused with 413 before its body is read: 30 of them are 6 MB, six
      // times the connection's 1 MiB window, so they finish only if the dropped bodies' window
      // goes back to the client
      const proxy = await proxyFor(runtime, [backend.address], {
        limits: { max_body_bytes: 100_000 },
      });
      const body = path.join(tempDir("h2body"), "body.bin");
      fs.writeFileSync(body, Buffer.alloc(200_000));
      try {
        const out = execFileSync("h2load", [
          "-n",
          "30",
          "-c",
          "1",
          "-m",
          "1",
          "-d",
          body,
          `${proxy.url}/`,
        ], {
          encoding: "utf8",
          timeout: 60_000,
        });
        assert.match(out, /requests: 30 total, 30 started, 30 done/, out);
        assert.match(out, /status codes: 0 2xx, 0 3xx, 30 4xx, 0 5xx/, out);
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}
