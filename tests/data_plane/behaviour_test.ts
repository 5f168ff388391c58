/**
 * One behaviour suite for both front ends of the data plane: every scenario
 * runs against the proxy role (a real process on a config file) and against a
 * real process serving a Hono app with `createLoadBalancer`'s `lb.handler`,
 * with the socket transport and with the fetch transport, under Deno and
 * under Bun (see front_ends.ts). Backends are scripted raw HTTP servers in
 * this process.
 *
 * Scenarios: slow start ramps without traffic, a failing backend is ejected
 * and comes back, idempotent requests are retried elsewhere and a POST never
 * twice, the response timeout answers 504 and runs from the end of the
 * upload, a streaming response keeps its backend in flight until its body
 * ends, request counts and durations (to the end of the body), and the
 * forwarding headers.
 */
import assert from "node:assert/strict";
import { E2E } from "../support/http_lab.ts";
import { sleep, waitUntil } from "../support/processes.ts";
import { header, okResponse, RawConnection } from "../support/raw_http.ts";
import { backendOf, FRONT_ENDS, metric, QUIET_HEALTH } from "./front_ends.ts";
import { backend, get, served, withFrontEnd } from "./scripted_backend.ts";

for (const [label, start] of FRONT_ENDS) {
  Deno.test({
    name:
      `data plane, ${label}: slow start ramps a new backend's weight within the window, without traffic`,
    ...E2E,
    fn: async () => {
      const a = await backend((_r, c) => c.write(okResponse("a\n")));
      const b = await backend((_r, c) => c.write(okResponse("b\n")));
      const base = { ...QUIET_HEALTH, algorithm: "WEIGHTED_ROUND_ROBIN", slow_start_seconds: 3 };
      await withFrontEnd(start, { ...base, backend_servers: [a.address] }, [a, b], async (fe) => {
        await fe.setConfig({
          ...base,
          backend_servers: [a.address, { address: b.address, weight: 10 }],
        });
        let first = -1;
        await waitUntil("the added backend in /status", async () => {
          const added = backendOf(await fe.status(), b.address);
          if (added) first = added.effective_weight;
          return added !== undefined;
        });
        assert.ok(first < 10, `starts below its weight (got ${first})`);
        // no request goes through the front end: only the group's own clock moves the weight
        await waitUntil(
          "full weight after the 3 s window",
          async () => {
            return backendOf(await fe.status(), b.address)?.effective_weight === 10;
          },
          20_000,
          100,
        );
        assert.equal(served(a).length + served(b).length, 0, "no traffic was needed");
      });
    },
  });

  Deno.test({
    name:
      `data plane, ${label}: a backend answering 5xx is ejected, and comes back after the ejection time`,
    ...E2E,
    fn: async () => {
      let failing = true;
      const a = await backend((_r, c) => c.write(okResponse("a\n")));
      const b = await backend((_r, c) =>
        c.write(failing ? okResponse("down\n", "", "500 Internal Server Error") : okResponse("b\n"))
      );
      const config = {
        ...QUIET_HEALTH,
        backend_servers: [a.address, b.address],
        algorithm: "ROUND_ROBIN",
        outlier_detection: { consecutive_failures: 2, base_ejection_seconds: 1 },
      };
      await withFrontEnd(start, config, [a, b], async (fe) => {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) statuses.push((await get(fe.url(`/e${i}`))).status);
        assert.ok(statuses.includes(500), `b was reached: ${statuses}`);
        const ejected = backendOf(await fe.status(), b.address)!;
        assert.equal(ejected.ejected, true, `b ejected after failing: ${JSON.stringify(ejected)}`);
        assert.equal(ejected.ejections_total, 1);
        const seenByB = served(b).length;
        for (let i = 0; i < 4; i++) assert.equal((await get(fe.url(`/x${i}`))).body, "a\n");
        assert.equal(served(b).length, seenByB, "no request goes to an ejected backend");
        failing = false;
        // without traffic, the ejection ends on the group's clock
        await waitUntil(
          "b back after its ejection",
          async () => {
            return backendOf(await fe.status(), b.address)?.ejected === false;
          },
          20_000,
          100,
        );
        const bodies = new Set<string>();
        for (let i = 0; i < 4; i++) bodies.add((await get(fe.url(`/y${i}`))).body);
        assert.deepEqual([...bodies].sort(), ["a\n", "b\n"]);
      });
    },
  });

  Deno.test({
    name: `data plane, ${label}: a GET is retried on another backend; a POST is never sent twice`,
    ...E2E,
    fn: async () => {
      const a = await backend((_r, c) => c.destroy());
      const b = await backend((_r, c) => c.write(okResponse("b\n")));
      const config = {
        ...QUIET_HEALTH,
        backend_servers: [a.address, b.address],
        algorithm: "ROUND_ROBIN",
        outlier_detection: { enabled: false },
        retry: { max_retries: 1 },
      };
      await withFrontEnd(start, config, [a, b], async (fe) => {
        for (let i = 0; i < 4; i++) {
          const r = await get(fe.url(`/g${i}`));
          assert.equal(r.status, 200, r.body);
          assert.equal(r.body, "b\n");
        }
        assert.ok(served(a).some((r) => r.method === "GET"), "a was tried (and reset)");
        // each GET that met the reset was retried once (counted before the POSTs: a POST whose
        // bytes never left may be retried too, depending on when the transport saw the reset).
        // Counted by target: a runtime's fetch may itself send a GET again on a new connection
        // when its pooled one closed, so `a` can see one request twice (ci5.log: 3 retries, 4 GETs)
        const getsOnA = new Set(served(a).filter((r) => r.method === "GET").map((r) => r.target))
          .size;
        assert.equal(
          metric(await fe.metrics(), "switchyard_retries_total", {}),
          getsOnA,
          "each GET a reset, once",
        );
        const posts: number[] = [];
        for (let i = 0; i < 4; i++) {
          posts.push((await get(fe.url(`/p${i}`), { method: "POST", body: `body ${i}` })).status);
        }
        assert.ok(posts.includes(502), `a POST that met the reset is answered 502: ${posts}`);
        for (let i = 0; i < 4; i++) {
          const seen = [...served(a), ...served(b)].filter((r) => r.target.endsWith(`/p${i}`));
          assert.equal(seen.length, 1, `POST /p${i} reached a backend once`);
        }
      });
    },
  });

  Deno.test({
    name:
      `data plane, ${label}: response_timeout_seconds answers 504, counted from the end of the upload`,
    ...E2E,
    fn: async () => {
      const silent = await backend(() => {});
      const slowUpload = await backend((_r, c) => c.write(okResponse("got it\n")));
      const config = {
        ...QUIET_HEALTH,
        backend_servers: [silent.address],
        response_timeout_seconds: 1,
        outlier_detection: { enabled: false },
      };
      await withFrontEnd(start, config, [silent, slowUpload], async (fe) => {
        const t0 = Date.now();
        const r = await get(fe.url("/slow"));
        assert.equal(r.status, 504, r.body);
        assert.ok(Date.now() - t0 >= 900, `not before the timeout (${Date.now() - t0} ms)`);

        // an upload that takes longer than the response timeout is not cut short by it
        await fe.setConfig({ ...config, backend_servers: [slowUpload.address] });
        await waitUntil("the new backend in use", async () => {
          return backendOf(await fe.status(), slowUpload.address) !== undefined;
        });
        const c = await RawConnection.open(fe.port);
        try {
          c.send(
            `POST ${fe.target("/upload")} HTTP/1.1\r\nHost: shop.example\r\n` +
              "Transfer-Encoding: chunked\r\n\r\n",
          );
          for (let i = 0; i < 4; i++) {
            c.send("5\r\nhello\r\n");
            await sleep(500);
          }
          c.send("0\r\n\r\n");
          const res = await c.readResponse({ timeoutMs: 20_000 });
          assert.equal(res.status, 200, `${res.head}\n${res.body}`);
          assert.equal(served(slowUpload)[0]?.body.toString(), "hello".repeat(4));
        } finally {
          c.destroy();
        }
      });
    },
  });

  Deno.test({
    name:
      `data plane, ${label}: a streaming response keeps its backend in flight until the body ends; its duration runs to the end`,
    ...E2E,
    fn: async () => {
      let finish: (() => void) | null = null;
      const streaming = await backend((_r, c) => {
        c.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst\n\r\n");
        finish = () => c.write("5\r\nlast\n\r\n0\r\n\r\n");
      });
      const config = { ...QUIET_HEALTH, backend_servers: [streaming.address] };
      await withFrontEnd(start, config, [streaming], async (fe) => {
        const t0 = Date.now();
        const r = await fetch(fe.url("/stream"), { signal: AbortSignal.timeout(20_000) });
        assert.equal(r.status, 200);
        const reader = r.body!.getReader();
        const firstChunk = new TextDecoder().decode((await reader.read()).value);
        assert.ok(firstChunk.startsWith("first"), firstChunk);
        const during = backendOf(await fe.status(), streaming.address)!;
        assert.equal(during.inflight, 1, "in flight while the body streams");
        const m1 = await fe.metrics();
        assert.equal(
          metric(m1, "switchyard_backend_inflight", { backend: streaming.address }),
          1,
          m1,
        );
        await sleep(700);
        finish!();
        let rest = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          rest += new TextDecoder().decode(value);
        }
        const elapsed = (Date.now() - t0) / 1000;
        assert.ok(rest.endsWith("last\n"), rest);
        await waitUntil("in flight back to 0 once the body ended", async () => {
          return backendOf(await fe.status(), streaming.address)?.inflight === 0;
        });
        const m = await fe.metrics();
        const labels = { backend: streaming.address };
        assert.equal(metric(m, "switchyard_requests_total", { ...labels, class: "2xx" }), 1, m);
        assert.equal(metric(m, "switchyard_request_duration_seconds_count", labels), 1, m);
        const seconds = metric(m, "switchyard_request_duration_seconds_sum", labels);
        assert.ok(
          seconds >= 0.6 && seconds <= elapsed + 0.5,
          `duration ${seconds} s runs to the end of the body (the client took ${elapsed} s)`,
        );
      });
    },
  });

  Deno.test({
    name:
      `data plane, ${label}: the backend gets X-Forwarded-* and Forwarded with the client appended`,
    ...E2E,
    fn: async () => {
      const upstream = await backend((_r, c) => c.write(okResponse("ok\n")));
      const config = { ...QUIET_HEALTH, backend_servers: [upstream.address] };
      await withFrontEnd(start, config, [upstream], async (fe) => {
        const c = await RawConnection.open(fe.port, { localAddress: "127.0.0.2" });
        try {
          c.send(
            `GET ${fe.target("/fwd")} HTTP/1.1\r\nHost: shop.example\r\n` +
              "X-Forwarded-For: 198.51.100.1\r\nForwarded: for=198.51.100.1\r\n" +
              "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n",
          );
          const r = await c.readResponse();
          assert.equal(r.status, 200, `${r.head}\n${r.body}`);
        } finally {
          c.destroy();
        }
        const seen = served(upstream).find((r) => r.target === "/fwd");
        assert.ok(seen, "the backend saw /fwd (the prefix stripped)");
        assert.equal(header(seen, "x-forwarded-for"), "198.51.100.1, 127.0.0.2");
        assert.equal(
          header(seen, "forwarded"),
          'for=198.51.100.1, for=127.0.0.2;proto=http;host="shop.example"',
        );
        assert.equal(header(seen, "x-forwarded-proto"), "http");
        assert.equal(header(seen, "x-forwarded-host"), "shop.example");
        // Deno's fetch sends the backend's address as Host (see FrontEnd.forwardsHost)
        assert.equal(header(seen, "host"), fe.forwardsHost ? "shop.example" : upstream.address);
      });
    },
  });
}
