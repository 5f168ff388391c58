/**
 * `retry.on_status` on every front end of the data plane (the proxy role, and
 * `createLoadBalancer` with the socket and with the fetch transport), under
 * Deno and under Bun, against scripted backends of which one answers 503:
 *
 * - without it (the default) the 503 reaches the client (the positive
 *   control); with `[503]` every GET gets the other backend's answer, and the
 *   retries show in `switchyard_retries_total` and
 *   `switchyard_status_retries_total{code="503"}`;
 * - a POST, and a GET that came with a body, are never sent twice;
 * - `retry.max_retries` 0 and an empty retry budget relay the 503;
 * - when every backend answers 503, each is tried once and the last answer
 *   is relayed as it is (not a 502);
 * - an HTTP/2 client of the proxy (h2c, curl) gets the retry too, and the
 *   access log has one line per request with the backend that answered;
 *   a bad `on_status` is refused naming the entry, and the last good config
 *   keeps serving;
 * - the proxy drains a discarded answer's short Content-Length body and
 *   pools its connection again (even when the body comes after the head),
 *   and closes the connection of a chunked one.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Buffer } from "node:buffer";
import { E2E } from "../support/http_lab.ts";
import fs from "node:fs";
import path from "node:path";
import { RUNTIMES, tempDir, waitUntil } from "../support/processes.ts";
import { okResponse, type RawBackend, RawConnection } from "../support/raw_http.ts";
import { startProxy } from "../support/proxy.ts";
import { FRONT_ENDS, type FrontEnd, metric, QUIET_HEALTH } from "./front_ends.ts";
import { backend, get, served, withFrontEnd } from "./scripted_backend.ts";

/** Two backends in round robin, nothing ejected, one retry allowed. */
function groupConfig(backends: readonly RawBackend[], retry: Record<string, unknown>) {
  return {
    ...QUIET_HEALTH,
    backend_servers: backends.map((b) => b.address),
    algorithm: "ROUND_ROBIN",
    outlier_detection: { enabled: false },
    retry: { max_retries: 1, ...retry },
  };
}

/** Applies `config` and waits until the front end reports it applied. */
async function apply(fe: FrontEnd, config: Record<string, unknown>): Promise<void> {
  const before = (await fe.status()).config?.applied_total ?? 0;
  await fe.setConfig(config);
  await waitUntil("the new config applied", async () => {
    return ((await fe.status()).config?.applied_total ?? 0) > before;
  });
}

/** Requests by path through the front end, whichever backend got them. */
function reached(backends: readonly RawBackend[], path: string): number {
  return backends.flatMap(served).filter((r) => r.target.endsWith(path)).length;
}

const statusRetries = async (fe: FrontEnd) =>
  metric(await fe.metrics(), "switchyard_status_retries_total", { code: "503" });
const retries = async (fe: FrontEnd) => metric(await fe.metrics(), "switchyard_retries_total", {});

/** A GET with a 4-byte body on a raw connection (fetch sends no body with a GET). */
async function getWithBody(fe: FrontEnd, path: string): Promise<number> {
  const c = await RawConnection.open(fe.port);
  try {
    c.send(
      `GET ${fe.target(path)} HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 4\r\n\r\nbody`,
    );
    return (await c.readResponse({ timeoutMs: 20_000 })).status;
  } finally {
    c.destroy();
  }
}

for (const [label, start] of FRONT_ENDS) {
  Deno.test({
    name:
      `retry.on_status, ${label}: a GET answered 503 goes to the other backend; a POST or a GET with a body never twice`,
    ...E2E,
    fn: async () => {
      const a = await backend((_r, c) =>
        c.write(okResponse("a busy\n", "", "503 Service Unavailable"))
      );
      const b = await backend((_r, c) => c.write(okResponse("b\n")));
      await withFrontEnd(start, groupConfig([a, b], {}), [a, b], async (fe) => {
        // positive control: without on_status the 503 reaches the client
        const before: number[] = [];
        for (let i = 0; i < 4; i++) before.push((await get(fe.url(`/c${i}`))).status);
        assert.deepEqual(before.toSorted(), [200, 200, 503, 503], `without on_status: ${before}`);
        assert.equal(await statusRetries(fe), 0);

        await apply(fe, groupConfig([a, b], { on_status: [503] }));
        const retriesBefore = await retries(fe);
        const a5xx = async () =>
          metric(await fe.metrics(), "switchyard_requests_total", {
            backend: a.address,
            class: "5xx",
          });
        const a5xxBefore = await a5xx();
        assert.equal(a5xxBefore, 2, "the control's two 503s were counted as responses");
        const onA = served(a).length;
        for (let i = 0; i < 6; i++) {
          const r = await get(fe.url(`/g${i}`));
          assert.deepEqual(r, { status: 200, body: "b\n" }, `GET /g${i}`);
          assert.ok(reached([a, b], `/g${i}`) <= 2, `GET /g${i} tried at most twice`);
        }
        const getsOnA = served(a).length - onA;
        assert.ok(getsOnA >= 2, `a was tried (${getsOnA} times), its 503s discarded`);
        assert.equal(await statusRetries(fe), getsOnA, "one status retry per 503 discarded");
        assert.equal(await retries(fe) - retriesBefore, getsOnA, "in switchyard_retries_total too");
        assert.equal(await a5xx(), a5xxBefore, "a discarded answer is not a response to count");

        // a POST is never sent twice: a's 503 is relayed
        const posts: number[] = [];
        for (let i = 0; i < 4; i++) {
          posts.push((await get(fe.url(`/p${i}`), { method: "POST", body: `post ${i}` })).status);
          assert.equal(reached([a, b], `/p${i}`), 1, `POST /p${i} reached a backend once`);
        }
        assert.ok(posts.includes(503), `a POST that met a's 503 got it: ${posts}`);

        // nor a GET that came with a body
        const withBody: number[] = [];
        for (let i = 0; i < 4; i++) {
          withBody.push(await getWithBody(fe, `/gb${i}`));
          assert.equal(
            reached([a, b], `/gb${i}`),
            1,
            `GET /gb${i} (with a body) reached one backend`,
          );
        }
        assert.ok(withBody.includes(503), `a GET with a body that met a's 503 got it: ${withBody}`);
        assert.equal(await statusRetries(fe), getsOnA, "no status retry for them");
      });
    },
  });

  Deno.test({
    name:
      `retry.on_status, ${label}: max_retries and the retry budget bound it; when all answer 503 the last answer is relayed`,
    ...E2E,
    fn: async () => {
      const a = await backend((_r, c) =>
        c.write(okResponse("a busy\n", "", "503 Service Unavailable"))
      );
      const b = await backend((_r, c) => c.write(okResponse("b\n")));
      const order: string[] = [];
      const busy = (name: string) =>
        backend((r, c) => {
          order.push(`${name} ${r.target}`);
          c.write(okResponse(`${name} busy\n`, "retry-after: 7\r\n", "503 Service Unavailable"));
        });
      const x = await busy("x");
      const y = await busy("y");
      const config = (retry: Record<string, unknown>) => groupConfig([a, b], retry);
      await withFrontEnd(start, config({ on_status: [503] }), [a, b, x, y], async (fe) => {
        // the positive control: retried while allowed
        for (let i = 0; i < 4; i++) assert.equal((await get(fe.url(`/ok${i}`))).body, "b\n");
        assert.ok(await statusRetries(fe) >= 2);

        await apply(fe, config({ on_status: [503], max_retries: 0 }));
        let counted = await statusRetries(fe);
        const noRetry: number[] = [];
        for (let i = 0; i < 4; i++) noRetry.push((await get(fe.url(`/m${i}`))).status);
        assert.deepEqual(noRetry.toSorted(), [200, 200, 503, 503], `max_retries 0: ${noRetry}`);
        assert.equal(await statusRetries(fe), counted);

        await apply(fe, config({ on_status: [503], budget_ratio: 0, min_retries_per_second: 0 }));
        const noBudget: number[] = [];
        for (let i = 0; i < 4; i++) noBudget.push((await get(fe.url(`/b${i}`))).status);
        assert.deepEqual(noBudget.toSorted(), [200, 200, 503, 503], `empty budget: ${noBudget}`);
        assert.equal(await statusRetries(fe), counted);

        // every backend answers 503: each is tried once, and the last one's answer relayed
        await apply(fe, {
          ...groupConfig([x, y], { on_status: [503], max_retries: 3 }),
        });
        counted = await statusRetries(fe);
        for (let i = 0; i < 4; i++) {
          const path = `/all${i}`;
          const r = await fetch(fe.url(path), { signal: AbortSignal.timeout(20_000) });
          const body = await r.text();
          const tried = order.filter((o) => o.endsWith(` ${path}`));
          assert.equal(tried.length, 2, `${path} tried on both: ${tried}`);
          const last = tried[1]!.split(" ")[0];
          assert.equal(r.status, 503, body);
          assert.equal(body, `${last} busy\n`, "the last backend's own answer");
          assert.equal(r.headers.get("retry-after"), "7");
        }
        assert.equal(await statusRetries(fe), counted + 4, "one retry each, then relayed");
      });
    },
  });
}

/** Runs curl with HTTP/2 prior knowledge on one URL: the status and body. */
function curlH2(url: string): Promise<{ code: number; status: number; body: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("curl", [
      "-sS",
      "--http2-prior-knowledge",
      "--max-time",
      "20",
      "-o",
      "-",
      "-w",
      "\n%{http_code} %{http_version}",
      url,
    ]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d: Buffer) => err.push(d));
    p.on("error", reject);
    p.on("close", (code) => {
      const text = Buffer.concat(out).toString();
      const cut = text.lastIndexOf("\n");
      const [status, version] = text.slice(cut + 1).split(" ");
      resolve({
        code: code ?? -1,
        status: version === "2" ? Number(status) : -1,
        body: text.slice(0, cut),
        err: Buffer.concat(err).toString(),
      });
    });
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `retry.on_status, proxy (${runtime}): an HTTP/2 client's GET answered 503 is retried too; the access log shows the backend that answered; a bad list is refused`,
    ...E2E,
    fn: async () => {
      const a = await backend((_r, c) =>
        c.write(okResponse("a busy\n", "", "503 Service Unavailable"))
      );
      const b = await backend((_r, c) => c.write(okResponse("b\n")));
      const accessLog = path.join(tempDir("retry-status"), "access.log");
      const proxy = await startProxy(runtime, { api: groupConfig([a, b], {}) }, [
        "--access-log",
        accessLog,
      ]);
      try {
        // positive control: over HTTP/2 too, the 503 reaches the client without on_status
        const before: number[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await curlH2(`${proxy.url}/c${i}`);
          assert.equal(r.code, 0, r.err);
          before.push(r.status);
        }
        assert.deepEqual(before.toSorted(), [200, 200, 503, 503], `without on_status: ${before}`);

        const applied = (await proxy.status()).config?.applied_total ?? 0;
        proxy.writeConfig({ api: groupConfig([a, b], { on_status: [503] }) });
        await waitUntil("on_status applied", async () => {
          return ((await proxy.status()).config?.applied_total ?? 0) > applied;
        });
        const onA = served(a).length;
        for (let i = 0; i < 6; i++) {
          const r = await curlH2(`${proxy.url}/h${i}`);
          assert.equal(r.code, 0, r.err);
          assert.deepEqual([r.status, r.body], [200, "b\n"], `GET /h${i} over HTTP/2`);
        }
        assert.ok(served(a).length - onA >= 2, "a was tried and its 503s discarded");
        // the access log has one line per request, as for other retries: the backend that answered
        const lines = () =>
          fs.existsSync(accessLog)
            ? fs.readFileSync(accessLog, "utf8").split("\n").filter(Boolean).map((l) =>
              JSON.parse(l) as { path: string; backend: string; status: number }
            )
            : [];
        await waitUntil("the access log lines (flushed every 100 ms)", () => {
          return lines().filter((l) => l.path.startsWith("/h")).length >= 6;
        });
        const retried = lines().filter((l) => l.path.startsWith("/h"));
        assert.deepEqual(
          retried.map((l) => [l.path, l.backend, l.status]).toSorted(),
          [0, 1, 2, 3, 4, 5].map((i) => [`/h${i}`, b.address, 200]),
        );

        // a bad list is refused naming the entry, and the last good config keeps serving
        proxy.writeConfig({ api: groupConfig([a, b], { on_status: [503, 404] }) });
        await waitUntil("the bad config refused", async () => {
          return (await proxy.status()).rejected_total >= 1;
        });
        const refused = await proxy.status() as unknown as {
          last_rejected: { issues: { field: string; reason: string }[] };
        };
        assert.deepEqual(refused.last_rejected.issues.map((i) => [i.field, i.reason]), [
          ["retry.on_status[1]", "must be an integer status from 500 to 599"],
        ]);
        for (let i = 0; i < 4; i++) {
          const r = await curlH2(`${proxy.url}/k${i}`);
          assert.deepEqual([r.status, r.body], [200, "b\n"], `GET /k${i} after the refused config`);
        }
      } catch (e) {
        if (e instanceof Error) e.message += `\n--- proxy log ---\n${proxy.process.log}`;
        throw e;
      } finally {
        await proxy.process.stop();
        await Promise.all([a.close(), b.close()]);
      }
    },
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `retry.on_status, proxy (${runtime}): a discarded answer's short body is drained and its connection reused; a chunked one's is closed`,
    ...E2E,
    fn: async () => {
      let bodyWritten = false;
      const a = await backend((r, c) => {
        if (r.target.startsWith("/chunked")) {
          c.write("HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n");
          c.write("7\r\na busy\n\r\n0\r\n\r\n");
        } else if (r.target.startsWith("/split")) {
          // the head alone: the proxy has moved on before the body comes
          c.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 7\r\n\r\n");
          setTimeout(() => {
            c.write("a busy\n");
            bodyWritten = true;
          }, 200);
        } else c.write(okResponse("a busy\n", "", "503 Service Unavailable"));
      });
      const b = await backend((_r, c) => c.write(okResponse("b\n")));
      const proxy = await startProxy(runtime, { api: groupConfig([a, b], { on_status: [503] }) });
      /** The connection `a` got the request for `path` on (the last such request). */
      const connOf = (path: string) => served(a).findLast((r) => r.target === path)?.connId;
      try {
        // send GETs until one lands on a first (round robin: at most a few)
        const landOnA = async (prefix: string): Promise<string> => {
          for (let i = 0; i < 6; i++) {
            const path = `${prefix}${i}`;
            const r = await get(`${proxy.url}${path}`);
            assert.deepEqual(r, { status: 200, body: "b\n" }, path);
            if (connOf(path) !== undefined) return path;
          }
          throw new Error(`no ${prefix} request reached a`);
        };
        const whole = await landOnA("/whole");
        const split = await landOnA("/split");
        await waitUntil("a wrote the split body", () => bodyWritten);
        const splitConn = connOf(split)!;
        // the drained connection goes back to the pool: a later request to a arrives on it
        let n = 0;
        await waitUntil("a request on the drained connection", async () => {
          await get(`${proxy.url}/after${n++}`);
          return served(a).some((r) => r.target.startsWith("/after") && r.connId === splitConn);
        });
        assert.equal(a.closedIds.has(splitConn), false, "not closed");
        assert.equal(a.closedIds.has(connOf(whole)!), false, "a complete short answer: pooled");

        // a chunked answer is not drained: its connection is closed
        const chunked = await landOnA("/chunked");
        const chunkedConn = connOf(chunked)!;
        await waitUntil(
          "the chunked answer's connection closed",
          () => a.closedIds.has(chunkedConn),
        );
      } catch (e) {
        if (e instanceof Error) e.message += `\n--- proxy log ---\n${proxy.process.log}`;
        throw e;
      } finally {
        await proxy.process.stop();
        await Promise.all([a.close(), b.close()]);
      }
    },
  });
}
