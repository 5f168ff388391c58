/**
 * Failure handling of real proxy processes under Deno and Bun: retries of
 * safe requests on another backend within the retry budget (POST and PATCH
 * never retried once sent), 502/503/504 mapping with the upstream request
 * cancelled on a timeout, outlier ejection with its floor and growing
 * back-off, panic mode, /status and /metrics showing it all, and a backend
 * killed under steady load costing no client request.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  freePort,
  RUNTIMES,
  sleep,
  startBackends,
  stopAll,
  waitUntil,
} from "../support/processes.ts";
import { E2E, metricsText, proxyFor, sample, sampleSum } from "../support/http_lab.ts";
import { header, okResponse, RawBackend, RawConnection } from "../support/raw_http.ts";
import { startProxy } from "../support/proxy.ts";

/** A backend that reads each request and then resets the connection without answering. */
function resettingBackend(): Promise<RawBackend> {
  return RawBackend.start((_req, c) => c.destroy());
}

/** Sends one request on a fresh connection; returns the status (0 when the connection died). */
async function status(port: number, request: string): Promise<number> {
  const c = await RawConnection.open(port);
  try {
    c.send(request);
    return (await c.readResponse({ method: request.slice(0, request.indexOf(" ")) })).status;
  } catch {
    return 0;
  } finally {
    c.destroy();
  }
}

/** `/status` with the outlier fields. */
interface OutlierStatus {
  panic: boolean;
  usable_backends: number;
  outlier_ejections_total: number;
  backends: {
    address: string;
    usable: boolean;
    ejected: boolean;
    ejected_until: string | null;
    ejections_total: number;
    weight: number;
    effective_weight: number;
    health: string;
  }[];
}

const NO_OUTLIER = { outlier_detection: { enabled: false } };

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `proxy (${runtime}) retries idempotent requests reset before any response byte on another backend, never POST or PATCH`,
    ...E2E,
    fn: async () => {
      const bad = await resettingBackend();
      const good = await RawBackend.start((req, c) => c.write(okResponse(`${req.method}\n`)));
      const proxy = await proxyFor(runtime, [bad.address, good.address], {
        algorithm: "ROUND_ROBIN",
        ...NO_OUTLIER,
      });
      try {
        const methods = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"];
        for (const m of methods) {
          for (let i = 0; i < 4; i++) {
            // no body: nothing of it can have been consumed
            const s = await status(
              proxy.port,
              `${m} /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
            );
            assert.equal(s, 200, `${m} #${i}`);
          }
        }
        const idempotentAtBad = bad.requests.length;
        assert.ok(idempotentAtBad >= 4, "round robin sent some to the bad one");

        // POST and PATCH: each seen exactly once in total, 502 when it hit the bad backend
        for (const m of ["POST", "PATCH"]) {
          const before = bad.requests.length + good.requests.length;
          let failed = 0;
          for (let i = 0; i < 6; i++) {
            const s = await status(
              proxy.port,
              `${m} /y HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`,
            );
            if (s === 502) failed++;
            else assert.equal(s, 200);
          }
          const seen = bad.requests.length + good.requests.length - before;
          assert.equal(seen, 6, `${m}: every request reached exactly one backend once`);
          assert.equal(failed, bad.requests.filter((q) => q.method === m).length);
          assert.ok(failed >= 2, `${m}: some hit the resetting backend`);
        }
        // a PUT whose body was already sent is not retried either
        const before = bad.requests.length + good.requests.length;
        const results: number[] = [];
        for (let i = 0; i < 4; i++) {
          results.push(
            await status(
              proxy.port,
              "PUT /z HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            ),
          );
        }
        assert.equal(bad.requests.length + good.requests.length - before, 4);
        assert.ok(results.includes(502), `${results}`);
        const m = await metricsText(proxy);
        assert.ok((sample(m, 'switchyard_retries_total{group="g"}') ?? 0) >= idempotentAtBad);
      } finally {
        await proxy.process.stop();
        await bad.close();
        await good.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) retries any method when the connect is refused (nothing was sent), and answers 502 when no backend is left`,
    ...E2E,
    fn: async () => {
      const good = await RawBackend.start((req, c) => c.write(okResponse(`${req.method}\n`)));
      const closed = await freePort();
      const proxy = await proxyFor(runtime, [`127.0.0.1:${closed}`, good.address], NO_OUTLIER);
      try {
        for (const m of ["GET", "POST", "PATCH"]) {
          for (let i = 0; i < 4; i++) {
            const s = await status(
              proxy.port,
              `${m} / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n!`,
            );
            assert.equal(s, 200);
          }
        }
        assert.equal(good.requests.length, 12, "each request reached the live backend once");
        await good.close();
        // nothing left: 502
        const r = await status(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal(r, 502);
      } finally {
        await proxy.process.stop();
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) keeps retries within the group's retry budget and max_retries`,
    ...E2E,
    fn: async () => {
      const bad = await resettingBackend();
      const good = await RawBackend.start((_req, c) => c.write(okResponse()));
      const proxy = await proxyFor(runtime, [bad.address, good.address], {
        algorithm: "ROUND_ROBIN",
        ...NO_OUTLIER,
        retry: { budget_ratio: 0, min_retries_per_second: 0 },
      });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 10; i++) {
          statuses.push(await status(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        }
        // no budget at all: every request that hit the bad backend failed
        assert.equal(statuses.filter((s) => s === 502).length, bad.requests.length);
        assert.ok(bad.requests.length >= 4);
        const m = await metricsText(proxy);
        assert.equal(sample(m, 'switchyard_retries_total{group="g"}'), 0);

        // a budget of 10% of requests: at most one retry for these ten (once applied: the
        // budget of 0 before also gives "at most one")
        let applied = (await proxy.status()).config!.applied_total;
        proxy.writeConfig({
          g: {
            backend_servers: [bad.address, good.address],
            algorithm: "ROUND_ROBIN",
            ...NO_OUTLIER,
            retry: { budget_ratio: 0.1, min_retries_per_second: 0 },
          },
        });
        await waitUntil(
          "the 10% budget applied",
          async () => (await proxy.status()).config!.applied_total > applied,
        );
        const s2: number[] = [];
        for (let i = 0; i < 10; i++) {
          s2.push(await status(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        }
        const retried = sample(await metricsText(proxy), 'switchyard_retries_total{group="g"}') ??
          0;
        assert.ok(retried <= 1, `${retried} retries within a 10% budget of 10 requests`);
        assert.ok(s2.filter((s) => s === 502).length >= 3, `${s2}`);

        // max_retries 0: no retry whatever the budget
        applied = (await proxy.status()).config!.applied_total;
        proxy.writeConfig({
          g: {
            backend_servers: [bad.address, good.address],
            algorithm: "ROUND_ROBIN",
            ...NO_OUTLIER,
            retry: { max_retries: 0 },
          },
        });
        await waitUntil(
          "max_retries 0 applied",
          async () => (await proxy.status()).config!.applied_total > applied,
        );
        const s3: number[] = [];
        for (let i = 0; i < 10; i++) {
          s3.push(await status(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        }
        assert.equal(s3.filter((s) => s === 502).length, 5);
      } finally {
        await proxy.process.stop();
        await bad.close();
        await good.close();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) answers 504 when no response head comes in time and cancels the upstream request`,
    ...E2E,
    fn: async () => {
      const silent = await RawBackend.start(() => {}); // reads, never answers
      const proxy = await proxyFor(runtime, [silent.address], { response_timeout_seconds: 0.5 });
      try {
        const c = await RawConnection.open(proxy.port);
        const t0 = performance.now();
        c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        const r = await c.readResponse();
        const ms = performance.now() - t0;
        assert.equal(r.status, 504);
        assert.ok(ms >= 450 && ms < 3_000, `504 after ${ms.toFixed(0)} ms`);
        // the upstream request was cancelled: its connection closed
        await silent.waitFor("the upstream connection to close", () => silent.closedIds.has(1));
        // the client connection is still usable
        c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await c.readResponse()).status, 504);
        c.destroy();
        // a POST is not retried after a timeout either: one request reached the backend
        const before = silent.requests.length;
        assert.equal(
          await status(proxy.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
          504,
        );
        assert.equal(silent.requests.length, before + 1);
        const m = await metricsText(proxy);
        assert.ok(
          (sampleSum(m, "switchyard_proxy_errors_total", {
            group: "g",
            cause: "timeout",
            code: "504",
          }) ?? 0) >= 3,
        );
      } finally {
        await proxy.process.stop();
        await silent.close();
      }
    },
  });

  Deno.test({
    name: `proxy (${runtime}) answers 503 with Retry-After when no backend is usable`,
    ...E2E,
    fn: async () => {
      const proxy = await startProxy(runtime, {
        g: { backend_servers: [] },
      }, ["--no-health-checks", "--log-level", "error"]);
      try {
        const c = await RawConnection.open(proxy.port);
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        const r = await c.readResponse();
        assert.equal(r.status, 503);
        assert.equal(header(r, "retry-after"), "1");
        c.destroy();
      } finally {
        await proxy.process.stop();
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) ejects a backend that keeps failing requests, with a growing back-off, a floor and panic mode, all in /status and /metrics`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(3);
      const proxy = await proxyFor(runtime, backends.map((b) => b.address), {
        algorithm: "ROUND_ROBIN",
        outlier_detection: {
          consecutive_failures: 3,
          base_ejection_seconds: 1,
          max_ejection_seconds: 10,
          max_ejection_percent: 50,
        },
        slow_start_seconds: 2,
      });
      const st = async () => (await proxy.status()) as unknown as OutlierStatus;
      const [b1, b2] = backends;
      const control = async (b: typeof b1, status: number) => {
        const r = await fetch(`http://${b!.address}/_control/fail?status=${status}`, {
          method: "POST",
        });
        await r.text();
      };
      try {
        // b1 answers 503 to everything (its /health would still say ok)
        await control(b1, 503);
        const seen: number[] = [];
        for (let i = 0; i < 30; i++) {
          seen.push(await status(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        }
        // three 503s reach the client, then b1 is out
        assert.equal(seen.filter((s) => s === 503).length, 3, `${seen}`);
        let s = await st();
        const e1 = s.backends.find((b) => b.address === b1!.address)!;
        assert.equal(e1.ejected, true);
        assert.equal(e1.usable, false);
        assert.equal(e1.ejections_total, 1);
        assert.equal(s.outlier_ejections_total, 1);
        const until1 = Date.parse(e1.ejected_until!);
        let m = await metricsText(proxy);
        const series = (name: string, b: { address: string }) =>
          sample(m, `${name}{group="g",backend="${b.address}"}`);
        assert.equal(series("switchyard_backend_ejected", b1!), 1);
        assert.equal(series("switchyard_backend_ejected", b2!), 0);
        assert.equal(series("switchyard_outlier_ejections_total", b1!), 1);
        assert.equal(sample(m, 'switchyard_panic_mode{group="g"}'), 0);

        // the floor: b2 failing too is not ejected while b1 is out (2 of 3 must stay)
        await control(b2, 500);
        for (let i = 0; i < 10; i++) await status(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        s = await st();
        assert.equal(s.backends.find((b) => b.address === b2!.address)!.ejected, false);
        assert.equal(s.outlier_ejections_total, 1);
        await control(b2, 0);

        // b1 comes back after ~1 s, ramping up (slow start), fails again: ejected for ~2 s
        await waitUntil(
          "b1 to come back",
          async () => !(await st()).backends.find((b) => b.address === b1!.address)!.ejected,
          5_000,
          50,
        );
        s = await st();
        const back = s.backends.find((b) => b.address === b1!.address)!;
        assert.ok(back.effective_weight < back.weight, `slow start: ${back.effective_weight}`);
        await waitUntil(
          "b1 to be ejected again",
          async () => {
            await status(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            return (await st()).backends.find((b) => b.address === b1!.address)!.ejected;
          },
          10_000,
          10,
        );
        s = await st();
        const e2 = s.backends.find((b) => b.address === b1!.address)!;
        assert.equal(e2.ejections_total, 2);
        const length2 = Date.parse(e2.ejected_until!) - Date.now();
        assert.ok(
          length2 > 1_200 && length2 <= 2_000,
          `second ejection lasts ~2 s (${length2} ms left)`,
        );
        assert.ok(Date.parse(e2.ejected_until!) > until1);
        m = await metricsText(proxy);
        assert.equal(series("switchyard_outlier_ejections_total", b1!), 2);
        await control(b1, 0);

        // panic mode: with two of three failing their health checks, spread over all three
        for (const b of [b1!, b2!]) {
          await (await fetch(`http://${b.address}/_control/health?status=500`, { method: "POST" }))
            .text();
        }
        // the proxy runs its own health checks in this test
        const checked = await startProxy(runtime, {
          g: {
            backend_servers: backends.map((b) => b.address),
            algorithm: "ROUND_ROBIN",
            panic_threshold_percent: 50,
            health_check_frequency_seconds: 0.1,
            unhealthy_threshold: 1,
          },
        }, ["--log-level", "error"]);
        try {
          await waitUntil(
            "panic mode",
            async () => (await checked.status() as unknown as OutlierStatus).panic,
          );
          const ps = (await checked.status()) as unknown as OutlierStatus;
          assert.equal(ps.usable_backends, 3);
          assert.deepEqual(ps.backends.map((b) => b.health), ["unhealthy", "unhealthy", "healthy"]);
          const names = new Set<string>();
          for (let i = 0; i < 9; i++) {
            const r = await fetch(checked.url);
            names.add((await r.text()).trim());
          }
          assert.deepEqual([...names].sort(), ["b1", "b2", "b3"]);
          const pm = await metricsText(checked);
          assert.equal(sample(pm, 'switchyard_panic_mode{group="g"}'), 1);
          // and promtool is happy with everything the proxy exposes
          const promtool = spawnSync("promtool", ["check", "metrics"], {
            input: pm,
            encoding: "utf8",
          });
          assert.equal(promtool.error, undefined, "promtool not found");
          assert.equal(`${promtool.stdout}${promtool.stderr}`.trim(), "");
          assert.equal(promtool.status, 0);
        } finally {
          await checked.process.stop();
        }
      } finally {
        await stopAll([proxy, ...backends]);
      }
    },
  });

  Deno.test({
    name:
      `proxy (${runtime}) loses no client request when one of three backends is killed under steady GET load`,
    ...E2E,
    fn: async () => {
      const backends = await startBackends(3);
      const proxy = await startProxy(runtime, {
        g: {
          backend_servers: backends.map((b) => b.address),
          algorithm: "ROUND_ROBIN",
          health_check_frequency_seconds: 0.2,
        },
      }, ["--log-level", "error"]);
      let running = true;
      const failures: string[] = [];
      let ok = 0;
      const loop = async () => {
        let c: RawConnection | null = null;
        while (running) {
          try {
            if (!c || c.ended) {
              c?.destroy();
              c = await RawConnection.open(proxy.port);
            }
            c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            const r = await c.readResponse({ timeoutMs: 10_000 });
            if (r.status === 200) ok++;
            else failures.push(`status ${r.status}: ${r.body}`);
          } catch (e) {
            failures.push(String(e));
            c?.destroy();
            c = null;
          }
        }
        c?.destroy();
      };
      try {
        const loops = Array.from({ length: 8 }, loop);
        await sleep(1_000);
        const before = ok;
        backends[1]!.process.child.kill("SIGKILL");
        await sleep(2_000);
        running = false;
        await Promise.all(loops);
        const m = await metricsText(proxy);
        const retries = sample(m, 'switchyard_retries_total{group="g"}') ?? 0;
        console.log(
          `  ${runtime}: ${ok} requests (${
            ok - before
          } after the kill), ${failures.length} failed, ` +
            `${retries} retries`,
        );
        assert.deepEqual(failures, []);
        assert.ok(ok - before > 100);
        const s = await proxy.status();
        assert.equal(s.backends.find((b) => b.address === backends[1]!.address)!.usable, false);
      } finally {
        running = false;
        await stopAll([proxy, ...backends]);
      }
    },
  });
}
