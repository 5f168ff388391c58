import assert from "node:assert/strict";
import net from "node:net";
import { responseFraming } from "../http1/response_framing.ts";
import { discardedBodyLeft, discardResponse, MAX_DRAIN_BYTES } from "./discarded_response.ts";
import { type UpstreamConnection, UpstreamPool } from "./upstream_pool.ts";
import { waitUntil } from "../../tests/support/processes.ts";

const framing = (method: string, status: number, contentLength: number, chunked = false) =>
  responseFraming(method, { status, contentLength, chunked }, 1);

/** [name, framing, Content-Length, body bytes with the head, backend keep-alive, want] */
const CASES: [string, ReturnType<typeof framing>, number, number, boolean, number][] = [
  [
    "a short body that came with the head: pooled at once",
    framing("GET", 503, 5, false),
    5,
    5,
    true,
    0,
  ],
  ["part of it came: the rest is drained", framing("GET", 503, 100, false), 100, 40, true, 60],
  ["none of it came", framing("GET", 503, 100), 100, 0, true, 100],
  ["an empty body", framing("GET", 503, 0), 0, 0, true, 0],
  [
    "up to MAX_DRAIN_BYTES is drained",
    framing("GET", 503, MAX_DRAIN_BYTES),
    MAX_DRAIN_BYTES,
    0,
    true,
    MAX_DRAIN_BYTES,
  ],
  [
    "a longer body closes the connection",
    framing("GET", 503, MAX_DRAIN_BYTES + 1),
    MAX_DRAIN_BYTES + 1,
    0,
    true,
    -1,
  ],
  ["Connection: close closes it", framing("GET", 503, 5), 5, 5, false, -1],
  ["bytes past the declared end close it", framing("GET", 503, 5), 5, 6, true, -1],
  ["a chunked body closes it", framing("GET", 503, -1, true), -1, 10, true, -1],
  ["a close-delimited body closes it", framing("GET", 503, -1), -1, 0, true, -1],
  ["a HEAD answer (no body) is pooled at once", framing("HEAD", 503, 5), 5, 0, true, 0],
  ["...unless bytes came after it", framing("HEAD", 503, 5), 5, 3, true, -1],
];

for (const [name, f, length, received, keepAlive, want] of CASES) {
  Deno.test(`discardedBodyLeft(): ${name}`, () => {
    assert.equal(discardedBodyLeft(f, length, received, keepAlive), want);
  });
}

/** A pool towards a server whose accepted sockets the test writes to; `fn` gets both ends. */
async function withConnection(
  fn: (up: UpstreamConnection, server: net.Socket, pool: UpstreamPool) => Promise<void>,
): Promise<void> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const pool = new UpstreamPool({ host: "127.0.0.1", port, maxIdle: 4, idleTimeoutMs: 60_000 });
  try {
    const up = await pool.connect(5_000);
    await waitUntil("the server accepted", () => accepted.length === 1, 5_000, 10);
    await fn(up, accepted[0]!, pool);
  } finally {
    pool.closeIdle();
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const CLOCK = { coarseNow: 0 };

Deno.test("discardResponse() pools a connection with nothing left, closes one with -1", async () => {
  await withConnection(async (up, _server, pool) => {
    discardResponse(up, 0, CLOCK);
    assert.equal(pool.idleCount, 1);
    assert.equal(pool.acquire(), up);
    discardResponse(up, -1, CLOCK);
    assert.equal(up.closed, true);
    assert.equal(pool.idleCount, 0);
    await Promise.resolve();
  });
});

Deno.test("ResponseDrain pools the connection once the rest of the body came, split or not", async () => {
  await withConnection(async (up, server, pool) => {
    discardResponse(up, 7, CLOCK);
    assert.equal(pool.idleCount, 0, "not before the body is read");
    server.write("busy");
    await waitUntil(
      "4 bytes read",
      () => Promise.resolve((up.owner as { left?: number })?.left === 3),
      5_000,
      10,
    );
    assert.equal(pool.idleCount, 0);
    server.write("!!\n");
    await waitUntil("pooled", () => pool.idleCount === 1, 5_000, 10);
    assert.equal(up.closed, false);
    assert.equal(up.owner, null);
  });
});

Deno.test("ResponseDrain closes the connection on bytes past the declared end", async () => {
  await withConnection(async (up, server, pool) => {
    discardResponse(up, 3, CLOCK);
    server.write("abcd");
    await waitUntil("closed", () => up.closed, 5_000, 10);
    assert.equal(pool.idleCount, 0);
  });
});

Deno.test("ResponseDrain closes the connection when the backend ends it mid-body", async () => {
  await withConnection(async (up, server, pool) => {
    discardResponse(up, 10, CLOCK);
    server.end("abc");
    await waitUntil("closed", () => up.closed, 5_000, 10);
    assert.equal(pool.idleCount, 0);
  });
});
