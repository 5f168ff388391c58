/**
 * Streaming through real proxy processes under Deno and Bun: 1 GiB up and
 * 1 GiB down with the proxy's resident memory staying flat (read from
 * /proc/<pid>/status while the bytes flow), and server-sent events reaching
 * the client one by one.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import { ChunkedDecoder } from "../../lib/http1/chunked.ts";
import { RUNTIMES, startBackends, stopAll } from "../support/processes.ts";
import { E2E, mib, proxyFor, rssBytes, watchRss } from "../support/http_lab.ts";
import type { ProxyUnderTest } from "../support/proxy.ts";

const GIB = 1 << 30;
/** The proxy may grow by at most this much while 1 GiB streams through it. */
const RSS_GROWTH_LIMIT = 192 * (1 << 20);
const STREAM_TIMEOUT_MS = 180_000;

interface Transfer {
  status: number;
  bodyBytes: number;
  body: string;
  ms: number;
}

/**
 * Sends `head` and `uploadBytes` of body (with backpressure; as one chunk of
 * a chunked body when `chunked`), then reads the response counting its body
 * (Content-Length or chunked, decoded by the project's strict decoder)
 * without keeping it (only the first 4 KiB).
 */
function transfer(
  port: number,
  head: string,
  uploadBytes: number,
  chunked = false,
): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`transfer timed out after ${STREAM_TIMEOUT_MS} ms`));
    }, STREAM_TIMEOUT_MS);
    let headBuf = Buffer.alloc(0);
    let status = 0;
    let length = -1;
    let decoder: ChunkedDecoder | null = null;
    let got = 0;
    let keep = "";
    const onBody = (d: Uint8Array) => {
      got += d.length;
      if (keep.length < 4096) keep += Buffer.from(d.subarray(0, 4096)).toString("latin1");
    };
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, bodyBytes: got, body: keep, ms: performance.now() - t0 });
    };
    socket.on("data", (d: Buffer) => {
      if (status === 0) {
        headBuf = Buffer.concat([headBuf, d]);
        const idx = headBuf.indexOf("\r\n\r\n");
        if (idx < 0) return;
        const text = headBuf.toString("latin1", 0, idx);
        status = Number(text.slice(9, 12));
        const m = /\r\ncontent-length: *(\d+)/i.exec(text);
        length = m ? Number(m[1]) : -1;
        if (/\r\ntransfer-encoding: *chunked/i.test(text)) decoder = new ChunkedDecoder();
        d = headBuf.subarray(idx + 4);
        headBuf = Buffer.alloc(0);
      }
      if (decoder) {
        if (decoder.push(d, 0, onBody) < 0) reject(new Error(`bad chunked body: ${decoder.error}`));
        if (decoder.done) finish();
        return;
      }
      onBody(d);
      if (length >= 0 && got >= length) finish();
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("end", () => (status > 0 && length < 0 && !decoder ? finish() : undefined));
    socket.once("connect", () => {
      socket.write(head, "latin1");
      if (chunked) socket.write(`${uploadBytes.toString(16)}\r\n`);
      let left = uploadBytes;
      const block = Buffer.alloc(256 * 1024, 97);
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, block.length);
          left -= n;
          if (!socket.write(n === block.length ? block : block.subarray(0, n))) {
            socket.once("drain", pump);
            return;
          }
        }
        if (chunked) socket.write("\r\n0\r\n\r\n");
      };
      pump();
    });
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) streams 1 GiB downloads and 1 GiB uploads (length-framed and chunked) with flat memory`,
    ...E2E,
    fn: async () => {
      // a Deno backend answers /_bytes with Content-Length and takes big uploads;
      // a Bun backend answers it chunked
      const [deno] = await startBackends(1, "deno");
      const [bun] = await startBackends(1, "bun");
      const viaDeno = await proxyFor(runtime, [deno!.address]);
      const viaBun = await proxyFor(runtime, [bun!.address]);
      try {
        // warm up (JIT, pools) before taking the baselines
        for (const p of [viaDeno, viaBun]) {
          await transfer(p.port, `GET /_bytes?n=1048576 HTTP/1.1\r\nHost: x\r\n\r\n`, 0);
        }
        const bases = [viaDeno, viaBun].map((p) => rssBytes(p.process.child.pid!));
        const cases: [string, ProxyUnderTest, string, number, boolean][] = [
          ["download, Content-Length", viaDeno, `GET /_bytes?n=${GIB}`, 0, false],
          ["download, chunked", viaBun, `GET /_bytes?n=${GIB}`, 0, false],
          ["upload, Content-Length", viaDeno, `POST /_count`, GIB, false],
          ["upload, chunked", viaDeno, `POST /_count`, GIB, true],
        ];
        const lines: string[] = [];
        for (const [what, proxy, line, up, chunked] of cases) {
          const framing = up === 0
            ? ""
            : chunked
            ? "Transfer-Encoding: chunked\r\n"
            : `Content-Length: ${up}\r\n`;
          const pid = proxy.process.child.pid!;
          const base = bases[proxy === viaDeno ? 0 : 1]!;
          const rss = watchRss(pid);
          const t = await transfer(
            proxy.port,
            `${line} HTTP/1.1\r\nHost: x\r\n${framing}\r\n`,
            up,
            chunked,
          );
          const peak = rss.stop();
          assert.equal(t.status, 200, `${what}: ${t.body}`);
          if (up === 0) assert.equal(t.bodyBytes, GIB, what);
          else assert.equal(JSON.parse(t.body).bytes, GIB, what);
          const rate = (GIB / (1 << 20) / (t.ms / 1000)).toFixed(0);
          lines.push(
            `${what}: ${(t.ms / 1000).toFixed(1)} s (${rate} MiB/s), RSS ${mib(base)} -> peak ${
              mib(peak)
            }`,
          );
          assert.ok(
            peak - base < RSS_GROWTH_LIMIT,
            `${what}: RSS grew from ${mib(base)} to ${mib(peak)}`,
          );
        }
        console.log(`  ${runtime}:\n    ${lines.join("\n    ")}`);
      } finally {
        await stopAll([viaDeno, viaBun, deno!, bun!]);
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) delivers server-sent events one by one as the backend sends them`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(1);
      const proxy = await proxyFor(runtime, [backends[0]!.address]);
      try {
        const arrivals: number[] = [];
        const t0 = performance.now();
        await new Promise<void>((resolve, reject) => {
          const socket = net.connect({ host: "127.0.0.1", port: proxy.port });
          let text = "";
          socket.on("data", (d: Buffer) => {
            text += d.toString("latin1");
            const events = text.split("\n\n").length - 1;
            while (arrivals.length < events) arrivals.push(performance.now() - t0);
            if (arrivals.length >= 5) {
              socket.destroy();
              resolve();
            }
          });
          socket.on("error", reject);
          socket.write("GET /_sse?n=5&interval_ms=400 HTTP/1.1\r\nHost: x\r\n\r\n");
          setTimeout(() => reject(new Error(`only ${arrivals.length} events`)), 20_000);
        });
        console.log(
          `  ${runtime}: SSE events at ${arrivals.map((t) => t.toFixed(0)).join(", ")} ms`,
        );
        // each event arrived on its own, about one interval after the previous one
        for (let i = 1; i < arrivals.length; i++) {
          const gap = arrivals[i]! - arrivals[i - 1]!;
          assert.ok(gap > 200, `event ${i} arrived ${gap.toFixed(0)} ms after the previous one`);
        }
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });
}
