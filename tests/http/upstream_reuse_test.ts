/**
 * Reused (pooled) upstream connections that die under a request, against real
 * proxy processes under Deno and Bun: a backend that closes an idle keep-alive
 * connection just as the proxy reuses it must cost no idempotent request, even
 * when no other backend is usable (one backend, or the others unhealthy during
 * a health flip), and must not count against the backend's passive health.
 * A retry after a partial response head starts from a clean parser.
 */
import assert from "node:assert/strict";
import { RUNTIMES } from "../support/processes.ts";
import { E2E, metricsText, proxyFor, sample } from "../support/http_lab.ts";
import { okResponse, RawBackend, RawConnection } from "../support/raw_http.ts";

/**
 * A backend whose keep-alive timer always fires just as the next request
 * arrives: it answers the first request of every connection (keep-alive, no
 * `Connection: close`) and closes the connection, unanswered, when a second
 * request comes on it. Every reuse of a pooled connection meets a dead one.
 */
function closesReusedConnections(name: string): Promise<RawBackend> {
  return RawBackend.start((req, c) => {
    if (req.seq === 1) c.write(okResponse(`${name}\n`));
    else c.destroy();
  });
}

/** Sends `n` sequential GETs on one keep-alive client connection; returns the statuses. */
async function keepAliveGets(port: number, n: number): Promise<number[]> {
  const c = await RawConnection.open(port);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      c.send(`GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      statuses.push((await c.readResponse({ method: "GET" })).status);
    }
    return statuses;
  } finally {
    c.destroy();
  }
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) retries a GET on a fresh connection when the reused keep-alive connection is closed under it, with no other backend to go to`,
    ...E2E,
    fn: async () => {
      const only = await closesReusedConnections("only");
      const proxy = await proxyFor(runtime, [only.address]);
      try {
        const statuses = await keepAliveGets(proxy.port, 8);
        assert.deepEqual(statuses, Array(8).fill(200), `statuses ${statuses}`);
        // the stale path really ran: every request after the first met a dead reused connection
        const onReused = only.requests.filter((r) => r.seq > 1).length;
        assert.equal(onReused, 7, `${onReused} requests met a reused connection`);
        const status = await proxy.status() as unknown as {
          outlier_ejections_total: number;
          backends: { usable: boolean }[];
        };
        assert.equal(status.outlier_ejections_total, 0);
        assert.equal(status.backends[0]!.usable, true);
      } finally {
        await proxy.process.stop();
        await only.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) does not count dead pooled connections as backend failures: no ejection, no retry budget spent`,
    ...E2E,
    fn: async () => {
      const a = await closesReusedConnections("a");
      const b = await closesReusedConnections("b");
      // no budget at all: a retry on another backend is impossible, only the fresh-connection one
      const proxy = await proxyFor(runtime, [a.address, b.address], {
        algorithm: "ROUND_ROBIN",
        retry: { budget_ratio: 0, min_retries_per_second: 0 },
        outlier_detection: { consecutive_failures: 2 },
      });
      try {
        const statuses = await keepAliveGets(proxy.port, 16);
        assert.deepEqual(statuses, Array(16).fill(200), `statuses ${statuses}`);
        const onReused = [...a.requests, ...b.requests].filter((r) => r.seq > 1).length;
        assert.equal(onReused, 14, `${onReused} requests met a reused connection`);
        const m = await metricsText(proxy);
        assert.equal(sample(m, 'switchyard_retries_total{group="g"}'), 0);
        const status = await proxy.status() as unknown as { outlier_ejections_total: number };
        assert.equal(status.outlier_ejections_total, 0, "a healthy backend was ejected");
      } finally {
        await proxy.process.stop();
        await a.close();
        await b.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) never retries a POST whose request reached a reused connection that then died`,
    ...E2E,
    fn: async () => {
      const only = await closesReusedConnections("only");
      const proxy = await proxyFor(runtime, [only.address]);
      const c = await RawConnection.open(proxy.port);
      try {
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await c.readResponse()).status, 200);
        // positive control: the connection is pooled and the next request reuses it
        c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        assert.equal((await c.readResponse()).status, 502);
        const posts = only.requests.filter((r) => r.method === "POST");
        assert.equal(posts.length, 1, "the POST reached the backend exactly once");
        assert.equal(posts[0]!.seq, 2, "on the reused connection");
      } finally {
        c.destroy();
        await proxy.process.stop();
        await only.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) retries a GET after a partial response head and a reset with a clean response parser`,
    ...E2E,
    fn: async () => {
      const partial = await RawBackend.start((_req, c) => {
        c.write("HTTP/1.1 200 OK\r\ncontent-le");
        setTimeout(() => c.destroy(), 50);
      });
      const good = await RawBackend.start((_req, c) => c.write(okResponse("good\n")));
      const proxy = await proxyFor(runtime, [partial.address, good.address], {
        algorithm: "ROUND_ROBIN",
        outlier_detection: { enabled: false },
      });
      try {
        const statuses = await keepAliveGets(proxy.port, 6);
        assert.ok(partial.requests.length >= 3, `${partial.requests.length} hit the partial one`);
        assert.deepEqual(statuses, Array(6).fill(200), `statuses ${statuses}`);
      } finally {
        await proxy.process.stop();
        await partial.close();
        await good.close();
      }
    },
  });
}
