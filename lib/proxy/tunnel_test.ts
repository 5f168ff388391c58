import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { BackendLease } from "../group/backend_lease.ts";
import type { BackendView } from "../group/snapshot.ts";
import type { ClientSide } from "./client_side.ts";
import { Tunnel } from "./tunnel.ts";
import { UpstreamPool } from "./upstream_pool.ts";

/** Resolves once `cond()` holds (polling; generous for a busy machine). */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A loopback connection: `near` is the connecting end, `far` the accepted one
 * (half-open allowed, as the proxy's client connections are).
 */
async function socketPair(): Promise<{ near: net.Socket; far: net.Socket }> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const near = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
  const far = await accepted;
  server.close();
  return { near, far };
}

/** Everything `s` receives, as latin1, and whether it ended/closed. */
function record(s: net.Socket) {
  const got = { text: "", ended: false, closed: false };
  s.on("data", (d: Buffer) => got.text += d.toString("latin1"));
  s.on("end", () => got.ended = true);
  s.on("close", () => got.closed = true);
  s.on("error", () => {});
  return got;
}

/**
 * A tunnel between a real client socket pair and a real upstream connection:
 * `browser` is the client's end, `backend` the backend's. The client side is
 * wired to the tunnel the way ClientConnection wires it after a 101. The
 * backend closes when its peer ends unless `backendHalfOpen`.
 */
async function tunnelFixture(backendHalfOpen = false) {
  const server = net.createServer({ allowHalfOpen: backendHalfOpen });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const pool = new UpstreamPool({
    host: "127.0.0.1",
    port: (server.address() as AddressInfo).port,
    maxIdle: 0,
    idleTimeoutMs: 60_000,
  });
  const up = await pool.connect(10_000);
  const backend = await accepted;
  server.close();
  const { near: browser, far: clientSocket } = await socketPair();
  clientSocket.on("error", () => {});
  const client: ClientSide = {
    clientIp: "127.0.0.1",
    tls: null,
    closing: false,
    write: (d) => clientSocket.write(d),
    pauseReading: () => clientSocket.pause(),
    resumeReading: () => clientSocket.resume(),
    exchangeFinished: () => {
      throw new Error("a tunnel never finishes an exchange");
    },
    startTunnel: () => {},
    end: () => clientSocket.end(),
    destroy: () => clientSocket.destroy(),
  };
  const backendView = { address: "127.0.0.1:1", counters: { inflight: 0 } } as BackendView;
  const outcomes: boolean[] = [];
  const lease = new BackendLease(backendView, { recordOutcome: (_a, f) => outcomes.push(f) });
  const tunnel = new Tunnel(client, up, lease);
  clientSocket.on("data", (d: Buffer) => tunnel.fromClient(d));
  clientSocket.on("end", () => tunnel.clientEnded());
  clientSocket.on("close", () => tunnel.clientGone());
  clientSocket.on("drain", () => tunnel.onClientDrain());
  return { tunnel, browser, backend, backendView, lease, up, outcomes };
}

Deno.test("Tunnel relays bytes both ways, untouched", async () => {
  const t = await tunnelFixture();
  const atBackend = record(t.backend);
  const atBrowser = record(t.browser);
  assert.equal(t.backendView.counters.inflight, 1); // in flight while the tunnel lives
  const binary = Buffer.from([0x81, 0x00, 0xff, 0x0d, 0x0a]);
  t.browser.write(Buffer.concat([Buffer.from("ping"), binary]));
  t.backend.write(Buffer.concat([Buffer.from("pong"), binary]));
  const want = binary.toString("latin1");
  await until(() => atBackend.text === `ping${want}`, "client bytes at the backend");
  await until(() => atBrowser.text === `pong${want}`, "backend bytes at the client");
  t.browser.destroy();
  await until(() => atBackend.closed, "the backend side closed");
});

Deno.test("Tunnel: the backend closing closes the client side and releases the lease once", async () => {
  const t = await tunnelFixture();
  const atBrowser = record(t.browser);
  record(t.backend);
  t.backend.end("bye");
  await until(() => atBrowser.ended, "the client side ended");
  assert.equal(atBrowser.text, "bye");
  await until(() => t.lease.released, "the lease released");
  // the client connection's close follows (clientGone): the count must not drop twice
  t.browser.destroy();
  await until(() => atBrowser.closed, "the client closed");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(t.backendView.counters.inflight, 0);
  assert.deepEqual(t.outcomes, []); // a tunnel gives no verdict on the backend
});

Deno.test("Tunnel: the client closing closes the backend side and releases the lease once", async () => {
  const t = await tunnelFixture();
  const atBackend = record(t.backend);
  t.browser.destroy();
  await until(() => atBackend.closed, "the backend side closed");
  await until(() => t.up.closed, "the upstream connection closed");
  assert.ok(t.lease.released);
  assert.equal(t.backendView.counters.inflight, 0);
});

Deno.test("Tunnel: a client half-close half-closes the backend side, the other way still flows", async () => {
  const t = await tunnelFixture(true);
  const atBackend = record(t.backend);
  const atBrowser = record(t.browser);
  t.browser.end("last");
  await until(() => atBackend.ended, "the backend saw the end");
  assert.equal(atBackend.text, "last");
  assert.equal(t.lease.released, false); // still in flight: the backend may answer
  t.backend.end("reply");
  await until(() => atBrowser.ended, "the client saw the end");
  assert.equal(atBrowser.text, "reply");
  await until(() => t.lease.released, "the lease released");
  assert.equal(t.backendView.counters.inflight, 0);
});

Deno.test("Tunnel: a slow client pauses the backend side until it drains", async () => {
  const t = await tunnelFixture();
  record(t.backend);
  t.browser.pause(); // the client reads nothing
  const big = Buffer.alloc(1024 * 1024, 0x61);
  let sent = 0;
  const pump = () => {
    while (sent < 32 && t.backend.write(big)) sent++;
    if (sent < 32) t.backend.once("drain", () => (sent++, pump()));
  };
  pump();
  await until(() => t.tunnel.waitingForClient, "the tunnel waiting for the client");
  let received = 0;
  t.browser.on("data", (d: Buffer) => received += d.length);
  t.browser.resume();
  await until(() => received === 32 * big.length, "all bytes at the client", 30_000);
  assert.equal(t.tunnel.waitingForClient, false);
  t.browser.destroy();
  await until(() => t.lease.released, "the lease released");
});
