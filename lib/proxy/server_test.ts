/**
 * ProxyServer's lifecycle in-process: listen on port 0, connection
 * accounting (open, per-IP cap, close), drain (idle connections closed, a
 * busy one finishes with `Connection: close`, no new connections), and a
 * failed listen that leaves nothing running. The group's clock is the
 * runtime's: the server's sweeper does not tick the group.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { silentLogger } from "../log.ts";
import { okResponse, RawBackend, RawConnection } from "../../tests/support/raw_http.ts";
import { GroupRuntime } from "./group_runtime.ts";
import { ProxyServer } from "./server.ts";

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("ProxyServer: listens, counts connections, drains a busy one and closes idle ones on shutdown", async () => {
  let release: (() => void) | null = null;
  const backend = await RawBackend.start((r, c) => {
    if (r.target === "/slow") release = () => c.write(okResponse("slow\n"));
    else c.write(okResponse("ok\n"));
  });
  const runtime = new GroupRuntime({ group: "g", log: silentLogger });
  runtime.state.applyConfig("1", { backend_servers: [backend.address] });
  const server = new ProxyServer({ runtime, log: silentLogger, gcNudge: null });
  try {
    const { port } = await server.listen("127.0.0.1", 0);
    assert.ok(port > 0);
    const idle = await RawConnection.open(port);
    idle.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal((await idle.readResponse()).status, 200);
    const busy = await RawConnection.open(port);
    busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    await until("the slow request at the backend", () => release !== null);
    assert.equal(server.connectionCount, 2);

    const done = server.shutdown(10_000);
    assert.equal(server.draining, true);
    assert.equal(await idle.waitEnded(5_000), true, "the idle connection is closed");
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => resolve(true));
      s.on("close", () => resolve(true));
      s.on("data", () => resolve(false));
    });
    assert.equal(refused, true, "no new connections while draining");
    release!();
    const r = await busy.readResponse();
    assert.equal(r.status, 200);
    assert.match(r.head, /connection: close/i);
    await done;
    assert.equal(server.connectionCount, 0);
  } finally {
    runtime.close();
    await backend.close();
  }
});

Deno.test("ProxyServer: the per-IP cap answers 429 and frees its slot when a connection closes", async () => {
  const runtime = new GroupRuntime({ group: "g", log: silentLogger });
  runtime.state.applyConfig("1", {
    backend_servers: ["127.0.0.1:9"],
    limits: { max_connections_per_ip: 1 },
  });
  const server = new ProxyServer({ runtime, log: silentLogger, gcNudge: null });
  try {
    const { port } = await server.listen("127.0.0.1", 0);
    const first = await RawConnection.open(port);
    await until("the first connection counted", () => server.connectionCount === 1);
    const second = await RawConnection.open(port);
    assert.equal((await second.readResponse()).status, 429);
    first.destroy();
    await until("the first connection gone", () => server.connectionCount === 0);
    const third = await RawConnection.open(port);
    await until("a new connection accepted", () => server.connectionCount === 1);
    third.destroy();
    second.destroy();
  } finally {
    await server.shutdown(0);
    runtime.close();
  }
});

Deno.test("ProxyServer: a failed listen rejects (ListenError), and shutdown after it resolves at once", async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const port = (taken.address() as net.AddressInfo).port;
  const runtime = new GroupRuntime({ group: "g", log: silentLogger });
  const server = new ProxyServer({ runtime, log: silentLogger, gcNudge: null });
  try {
    await assert.rejects(server.listen("127.0.0.1", port), /address already in use/);
    // positive control below: shutdown after a failed listen resolves at once
    await server.shutdown(0);
    assert.equal(server.connectionCount, 0);
  } finally {
    runtime.close();
    await new Promise((r) => taken.close(r));
  }
});

Deno.test("ProxyServer: its sweeper does not drive the group's clock (the runtime's timer does)", async () => {
  let ticks = 0;
  const runtime = new GroupRuntime({
    group: "g",
    log: silentLogger,
    every: () => () => {}, // the runtime's own timers never fire in this test
  });
  runtime.state.applyConfig("1", { backend_servers: ["127.0.0.1:9"] });
  const tick = runtime.state.tick.bind(runtime.state);
  runtime.state.tick = () => {
    ticks++;
    return tick();
  };
  const server = new ProxyServer({
    runtime,
    log: silentLogger,
    gcNudge: null,
    sweepIntervalMs: 10,
  });
  try {
    await server.listen("127.0.0.1", 0);
    const before = server.coarseNow;
    await until("the sweeper ran", () => server.coarseNow > before);
    assert.equal(ticks, 0);
  } finally {
    await server.shutdown(0);
    runtime.close();
  }
});
