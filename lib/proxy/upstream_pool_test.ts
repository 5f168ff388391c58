import assert from "node:assert/strict";
import net from "node:net";
import fs from "node:fs";
import { startHttpsBackend } from "../../tests/support/https_backend.ts";
import { tempDir } from "../../tests/support/processes.ts";
import { makeCa, makeCert } from "../../tests/support/tls.ts";
import { ConnectError, UpstreamPool } from "./upstream_pool.ts";

async function withServer(fn: (port: number, accepted: () => number) => Promise<void>) {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await fn(port, () => accepted);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const options = (port: number) => ({ host: "127.0.0.1", port, maxIdle: 2, idleTimeoutMs: 1000 });
const settle = () => new Promise((r) => setTimeout(r, 50));

Deno.test("UpstreamPool reuses a released connection LIFO and keeps at most maxIdle", async () => {
  await withServer(async (port, accepted) => {
    const pool = new UpstreamPool(options(port));
    const a = await pool.connect(1000);
    const b = await pool.connect(1000);
    const c = await pool.connect(1000);
    pool.release(a, 0);
    pool.release(b, 0);
    pool.release(c, 0); // over maxIdle: closed
    assert.equal(pool.idleCount, 2);
    assert.equal(c.closed, true);
    assert.equal(pool.acquire(), b);
    assert.equal(pool.acquire(), a);
    assert.equal(pool.acquire(), null);
    assert.equal(accepted(), 3);
    a.destroy();
    b.destroy();
    await settle();
    assert.equal(pool.open, 0);
  });
});

Deno.test("UpstreamPool.reap() closes only connections idle past the timeout, and terminates", async () => {
  await withServer(async (port) => {
    const pool = new UpstreamPool(options(port));
    const old = await pool.connect(1000);
    const fresh = await pool.connect(1000);
    pool.release(old, 0);
    pool.release(fresh, 900);
    pool.reap(1500);
    assert.equal(old.closed, true);
    assert.equal(fresh.closed, false);
    assert.equal(pool.idleCount, 1);
    pool.closeIdle();
    assert.equal(pool.idleCount, 0);
    await settle();
  });
});

Deno.test("a retired pool closes connections released into it; another pool never adopts them", async () => {
  await withServer(async (port) => {
    const pool = new UpstreamPool(options(port));
    const other = new UpstreamPool(options(port));
    const busy = await pool.connect(1000);
    const stray = await pool.connect(1000);
    other.release(stray, 0); // not its connection: closed, not pooled
    assert.equal(other.idleCount, 0);
    assert.equal(stray.closed, true);
    pool.retire();
    pool.release(busy, 0);
    assert.equal(busy.closed, true);
    assert.equal(pool.idleCount, 0);
    other.closeIdle();
    other.reap(1e12);
    await settle();
  });
});

Deno.test("an idle connection the backend closes leaves the pool", async () => {
  let serverSide: net.Socket | null = null;
  const server = net.createServer((s) => (serverSide = s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const pool = new UpstreamPool(options(port));
  const c = await pool.connect(1000);
  pool.release(c, 0);
  await settle();
  (serverSide as net.Socket | null)?.end();
  await settle();
  assert.equal(pool.idleCount, 0);
  assert.equal(pool.acquire(), null);
  await new Promise<void>((r) => server.close(() => r()));
});

Deno.test("UpstreamPool.connect() rejects with ConnectError when refused", async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const pool = new UpstreamPool(options(port));
  await assert.rejects(
    pool.connect(1000),
    (e: Error & { code?: string }) => e.code === "ECONNREFUSED",
  );
});

Deno.test("UpstreamPool over TLS: verified against the CA with SNI; a wrong name or CA is a ConnectError with the reason, never a fallback", async () => {
  const dir = tempDir("uptls-pool");
  const ca = makeCa(dir);
  const other = makeCa(dir, "other-ca");
  const good = await startHttpsBackend(makeCert(dir, "good", "/CN=b.test", ["b.test"], ca));
  const otherCa = await startHttpsBackend(makeCert(dir, "oc", "/CN=b.test", ["b.test"], other));
  const caPem = fs.readFileSync(ca.cert, "utf8");
  const tls = (servername: string, rejectUnauthorized = true) => ({
    servername,
    ca: caPem,
    rejectUnauthorized,
    ALPNProtocols: ["http/1.1"],
  });
  const pool = (port: number, t: ReturnType<typeof tls>) =>
    new UpstreamPool({ ...options(port), tls: t });
  try {
    const p = pool(good.port, tls("b.test"));
    const conn = await p.connect(5000);
    const answer = new Promise<string>((resolve) => {
      conn.owner = {
        onUpstreamData: (chunk) => resolve(new TextDecoder().decode(chunk)),
        onUpstreamEnd() {},
        onUpstreamClose() {},
        onUpstreamDrain() {},
      };
    });
    conn.write("GET / HTTP/1.1\r\nhost: b.test\r\n\r\n");
    assert.match(await answer, /^HTTP\/1\.1 200 OK[\s\S]*sni=b\.test$/);
    p.release(conn, 0);
    assert.equal(p.acquire(), conn, "a TLS connection is pooled for keep-alive");
    conn.destroy();
    assert.deepEqual(good.servernames, ["b.test"]);

    const cases: [number, ReturnType<typeof tls>, RegExp][] = [
      [good.port, tls("else.test"), /TLS: ERR_TLS_CERT_ALTNAME_INVALID/],
      [otherCa.port, tls("b.test"), /TLS: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|[A-Z_]*CERT)/],
    ];
    for (const [port, t, reason] of cases) {
      const err = await pool(port, t).connect(5000).then(
        () => assert.fail("connected despite a certificate that does not verify"),
        (e: Error) => e,
      );
      assert.ok(err instanceof ConnectError);
      assert.match(err.message, new RegExp(`^connect to 127\\.0\\.0\\.1:${port}: `));
      assert.match(err.message, reason);
    }
    // verify off: the same backends connect (positive control)
    for (
      const [port, t] of [[good.port, tls("else.test", false)], [
        otherCa.port,
        tls("b.test", false),
      ]] as const
    ) {
      const c = await pool(port, t).connect(5000);
      c.destroy();
    }
  } finally {
    await good.close();
    await otherCa.close();
  }
});
