/**
 * Limits and abuse, over raw TCP against real proxy processes under Deno and
 * Bun, with the group's `limits` overriding the defaults: 431/414/413
 * (early from Content-Length, mid-stream when chunked), the header timeout
 * against slowloris (a thousand trickling connections while a normal request
 * still succeeds), idle and body timeouts, and caps on connections, global
 * and per client IP.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RUNTIMES, sleep, waitUntil } from "../support/processes.ts";
import { E2E, metricsText, proxyFor, sample, sampleSum } from "../support/http_lab.ts";
import { header, okResponse, RawBackend, RawConnection } from "../support/raw_http.ts";

/**
 * Sends one request on a fresh connection; returns the response and, when it
 * said `Connection: close`, whether the connection did close.
 */
async function once(port: number, request: string) {
  const c = await RawConnection.open(port);
  try {
    c.send(request);
    const r = await c.readResponse();
    const closed = header(r, "connection") === "close" && await c.waitEnded(3_000);
    return { ...r, closed };
  } finally {
    c.destroy();
  }
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) enforces the group's head, URI and body limits: 431, 414, 413 early and mid-stream`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((req, c) =>
        c.write(okResponse(`${req.body.length}\n`))
      );
      const proxy = await proxyFor(runtime, [backend.address], {
        limits: {
          max_header_bytes: 2048,
          max_header_count: 10,
          max_uri_length: 64,
          max_body_bytes: 1000,
        },
      });
      try {
        const ok = (extra = "") => `GET / HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
        // head size
        assert.equal((await once(proxy.port, ok(`X-Big: ${"a".repeat(1900)}\r\n`))).status, 200);
        let r = await once(proxy.port, ok(`X-Big: ${"a".repeat(2100)}\r\n`));
        assert.equal(r.status, 431);
        assert.ok(r.closed);
        // a head that never ends is cut at the limit, not buffered forever
        const c = await RawConnection.open(proxy.port);
        c.send(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(5000)}`);
        assert.equal((await c.readResponse()).status, 431);
        c.destroy();
        // field count (Host included)
        const fields = (n: number) =>
          Array.from({ length: n }, (_, i) => `X-${i}: ${i}\r\n`).join("");
        assert.equal((await once(proxy.port, ok(fields(9)))).status, 200);
        r = await once(proxy.port, ok(fields(10)));
        assert.equal(r.status, 431);
        assert.ok(r.closed);
        // URI length
        const path = (n: number) => `/${"p".repeat(n - 1)}`;
        assert.equal(
          (await once(proxy.port, `GET ${path(64)} HTTP/1.1\r\nHost: x\r\n\r\n`)).status,
          200,
        );
        r = await once(proxy.port, `GET ${path(65)} HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.equal(r.status, 414);
        assert.ok(r.closed);

        // body: exactly the limit passes
        r = await once(
          proxy.port,
          `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"b".repeat(1000)}`,
        );
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), "1000\n");
        const seen = backend.requests.length;
        // over it by Content-Length: 413 at once, before any body byte is sent
        const early = await RawConnection.open(proxy.port);
        early.send("POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000001\r\n\r\n");
        const e = await early.readResponse();
        assert.equal(e.status, 413);
        assert.equal(header(e, "connection"), "close");
        assert.ok(await early.waitEnded());
        early.destroy();
        // positive control: a request within the limit sent the same way afterwards reaches the
        // backend, so the refused one would have been seen by then too
        r = await once(
          proxy.port,
          "POST /early-control HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
        );
        assert.equal(r.status, 200);
        await backend.waitFor("the control request", () => backend.requests.length > seen);
        assert.deepEqual(
          backend.requests.slice(seen).map((q) => q.target),
          ["/early-control"],
          "the backend never saw the refused one",
        );
        // over it mid-stream (chunked): 413 and the connection closed; the backend never gets it whole
        const mid = await RawConnection.open(proxy.port);
        mid.send("POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (let i = 0; i < 2; i++) {
          mid.send(`190\r\n${"c".repeat(400)}\r\n`);
          await sleep(50);
        }
        mid.send(`190\r\n${"c".repeat(400)}\r\n`);
        const m = await mid.readResponse();
        assert.equal(m.status, 413);
        assert.ok(await mid.waitEnded());
        mid.destroy();
        // positive control: a chunked body within the limit, sent the same way, arrives whole
        const within = await RawConnection.open(proxy.port);
        within.send(
          "POST /chunked-control HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for (let i = 0; i < 2; i++) {
          within.send(`190\r\n${"c".repeat(400)}\r\n`);
          await sleep(50);
        }
        within.send("0\r\n\r\n");
        const w = await within.readResponse();
        assert.equal(w.status, 200);
        assert.equal(w.body.toString(), "800\n");
        within.destroy();
        await backend.waitFor(
          "the control body to arrive whole",
          () =>
            backend.requests.some((q) => q.target === "/chunked-control" && q.body.length === 800),
        );
        assert.equal(
          backend.requests.filter((q) => q.target === "/chunked" && q.body.length > 0).length,
          0,
          "a request over the limit reached the backend whole",
        );
        const metrics = await metricsText(proxy);
        assert.ok(
          (sampleSum(metrics, "switchyard_proxy_errors_total", { group: "g", cause: "limit" }) ??
            0) >= 6,
        );
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) keeps serving a normal client while a thousand slowloris connections trickle their heads`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((_req, c) => c.write(okResponse()));
      const proxy = await proxyFor(runtime, [backend.address], {
        limits: { header_timeout_seconds: 2 },
      });
      const attackers: RawConnection[] = [];
      let trickling = true;
      try {
        for (let i = 0; i < 1000; i += 100) {
          const batch = await Promise.all(
            Array.from({ length: 100 }, () => RawConnection.open(proxy.port)),
          );
          for (const a of batch) a.send("GET / HTTP/1.1\r\nHost: x\r\n");
          attackers.push(...batch);
        }
        const t0 = performance.now();
        // one byte every 200 ms on every connection, never finishing the head
        const trickle = (async () => {
          while (trickling) {
            for (const a of attackers) if (!a.ended) a.send("X");
            await sleep(200);
          }
        })();
        // a normal client meanwhile: every request answered promptly
        const latencies: number[] = [];
        while (performance.now() - t0 < 3_000) {
          const s = performance.now();
          const r = await once(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          assert.equal(r.status, 200);
          latencies.push(performance.now() - s);
          await sleep(50);
        }
        // the trickling connections were answered 408 and closed at the header timeout
        const deadline = Date.now() + 5_000;
        while (attackers.some((a) => !a.ended) && Date.now() < deadline) await sleep(100);
        const closedAt = performance.now() - t0;
        trickling = false;
        await trickle;
        const open = attackers.filter((a) => !a.ended).length;
        let got408 = 0;
        for (const a of attackers) {
          if (a.buffered.toString("latin1").startsWith("HTTP/1.1 408")) got408++;
        }
        const max = Math.max(...latencies);
        console.log(
          `  ${runtime}: 1000 slowloris connections; ${latencies.length} normal requests, max ` +
            `${max.toFixed(0)} ms, median ${
              latencies.sort((a, b) => a - b)[latencies.length >> 1]!.toFixed(0)
            } ms; attackers closed by ${closedAt.toFixed(0)} ms, ${got408} got 408`,
        );
        assert.equal(open, 0, `${open} slowloris connections still open`);
        assert.equal(got408, 1000);
        assert.ok(max < 1_000, `a normal request took ${max.toFixed(0)} ms`);
      } finally {
        trickling = false;
        for (const a of attackers) a.destroy();
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) closes idle, silent and stalled connections at their timeouts`,
    ...E2E,
    fn: async () => {
      const block = Buffer.alloc(1 << 20, 120);
      const backend = await RawBackend.start((req, c) => {
        if (req.target !== "/big") {
          c.write(okResponse(`${req.body.length}\n`));
          return;
        }
        // 64 MiB, written as the socket drains
        c.write(`HTTP/1.1 200 OK\r\nContent-Length: ${64 << 20}\r\n\r\n`);
        let left = 64;
        const pump = () => {
          while (left > 0 && !c.closed) {
            left--;
            if (!c.socket.write(block)) return void c.socket.once("drain", pump);
          }
        };
        pump();
      });
      const proxy = await proxyFor(runtime, [backend.address], {
        limits: { idle_timeout_seconds: 0.5, header_timeout_seconds: 1, body_timeout_seconds: 0.5 },
      });
      try {
        // idle keep-alive: closed quietly after the idle timeout
        const idle = await RawConnection.open(proxy.port);
        idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await idle.readResponse();
        let t0 = performance.now();
        assert.ok(await idle.waitEnded(3_000));
        const idleMs = performance.now() - t0;
        assert.ok(idleMs >= 400 && idleMs < 2_000, `idle close after ${idleMs.toFixed(0)} ms`);
        assert.equal(idle.buffered.length, 0, "nothing is sent to an idle connection");
        idle.destroy();
        // a connection that never says anything: closed quietly at the header timeout
        const silent = await RawConnection.open(proxy.port);
        t0 = performance.now();
        assert.ok(await silent.waitEnded(4_000));
        assert.ok(performance.now() - t0 >= 900);
        assert.equal(silent.buffered.length, 0);
        silent.destroy();
        // a head that stops half way: 408
        const half = await RawConnection.open(proxy.port);
        half.send("GET / HTTP/1.1\r\nHost: x\r\n");
        const h = await half.readResponse({ timeoutMs: 4_000 });
        assert.equal(h.status, 408);
        assert.ok(await half.waitEnded());
        half.destroy();
        // a body that stops half way: 408, and the upstream request is abandoned
        const stalled = await RawConnection.open(proxy.port);
        stalled.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
        t0 = performance.now();
        const b = await stalled.readResponse({ timeoutMs: 4_000 });
        assert.equal(b.status, 408);
        assert.ok(performance.now() - t0 >= 400);
        assert.ok(await stalled.waitEnded());
        stalled.destroy();
        const up = backend.requests.find((q) => q.target === "/up")!;
        await backend.waitFor(
          "the upstream connection to close",
          () => backend.closedIds.has(up.connId),
        );
        assert.ok(
          !backend.requests.some((q) => q.target === "/up" && q.body.length === 100),
          "the stalled upload never completed upstream",
        );
        // a client that stops reading a big response: cut, and the upstream request with it
        const reader = await RawConnection.open(proxy.port);
        reader.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        reader.socket.pause();
        await backend.waitFor(
          "the big request",
          () => backend.requests.some((q) => q.target === "/big"),
        );
        const big = backend.requests.find((q) => q.target === "/big")!;
        await backend.waitFor(
          "the stalled response to be cut upstream",
          () => backend.closedIds.has(big.connId),
          5_000,
        );
        reader.socket.resume();
        assert.ok(await reader.waitEnded(3_000), "the client connection was not closed");
        assert.ok(reader.received < 64 * 1024 * 1024, "the whole response was buffered somewhere");
        reader.destroy();
        // a slow but steady body is fine: a byte every 200 ms with a 500 ms timeout
        const slow = await RawConnection.open(proxy.port);
        slow.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n");
        for (let i = 0; i < 8; i++) {
          await sleep(200);
          slow.send("s");
        }
        const sr = await slow.readResponse();
        assert.equal(sr.status, 200);
        assert.equal(sr.body.toString(), "8\n");
        slow.destroy();
      } finally {
        await proxy.process.stop();
        await backend.close();
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) caps concurrent connections globally (503) and per client IP (429)`,
    ...E2E,
    fn: async () => {
      const backend = await RawBackend.start((_req, c) => c.write(okResponse()));
      const proxy = await proxyFor(runtime, [backend.address], {
        limits: { max_connections: 5 },
      });
      const held: RawConnection[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const c = await RawConnection.open(proxy.port);
          c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          assert.equal((await c.readResponse()).status, 200);
          held.push(c);
        }
        const over = await RawConnection.open(proxy.port);
        const r = await over.readResponse();
        assert.equal(r.status, 503);
        assert.equal(header(r, "retry-after"), "1");
        assert.ok(await over.waitEnded());
        over.destroy();
        // one leaves, another may come in (once the proxy has seen it go)
        held.pop()!.destroy();
        await waitUntil(
          "the proxy to count 4 connections",
          async () =>
            sample(await metricsText(proxy), 'switchyard_active_connections{group="g"}') === 4,
        );
        const again = await RawConnection.open(proxy.port);
        again.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await again.readResponse()).status, 200);
        held.push(again);
        for (const c of held.splice(0)) c.destroy();
        await waitUntil(
          "the proxy to count no connection",
          async () =>
            sample(await metricsText(proxy), 'switchyard_active_connections{group="g"}') === 0,
        );

        // per client IP
        const applied = (await proxy.status()).config!.applied_total;
        proxy.writeConfig({
          g: { backend_servers: [backend.address], limits: { max_connections_per_ip: 3 } },
        });
        await waitUntil(
          "the new limits to apply",
          async () => (await proxy.status()).config!.applied_total > applied,
        );
        for (let i = 0; i < 3; i++) {
          const c = await RawConnection.open(proxy.port);
          c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          assert.equal((await c.readResponse()).status, 200);
          held.push(c);
        }
        const fourth = await RawConnection.open(proxy.port);
        assert.equal((await fourth.readResponse()).status, 429);
        fourth.destroy();
        // another address is not affected
        const other = await RawConnection.open(proxy.port, { localAddress: "127.0.0.2" });
        other.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await other.readResponse()).status, 200);
        other.destroy();
        const m = await metricsText(proxy);
        assert.ok(
          (sampleSum(m, "switchyard_proxy_errors_total", { group: "g", cause: "limit" }) ?? 0) >= 2,
        );
      } finally {
        for (const c of held) c.destroy();
        await proxy.process.stop();
        await backend.close();
      }
    },
  });
}
