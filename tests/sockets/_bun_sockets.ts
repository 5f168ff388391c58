/**
 * Run by tests/sockets/bun_sockets_test.ts under Bun: drives
 * lib/runtime/bun_sockets.ts's native sockets through what the data plane
 * needs of them and prints one JSON line of findings.
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import { bunConnect, bunListen, socketsInUse } from "../../lib/runtime/bun_sockets.ts";
import type { NativeSocket } from "../../lib/runtime/native_socket.ts";
import { ConnectError, UpstreamPool } from "../../lib/proxy/upstream_pool.ts";
import process from "node:process";

const out: Record<string, unknown> = { socketsInUse };
const until = async (what: string, f: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

// 1. Backpressure: the server writes 16 MiB to a client that reads nothing for a while;
//    write() returns false, "drain" comes once the client reads, every byte arrives in order.
{
  const TOTAL = 16 << 20;
  const CHUNK = 64 << 10;
  let falses = 0, drains = 0;
  const listener = bunListen("127.0.0.1", 0, false, (s: NativeSocket) => {
    let sent = 0;
    const pump = () => {
      while (sent < TOTAL) {
        const chunk = Buffer.alloc(CHUNK);
        for (let i = 0; i < CHUNK; i++) chunk[i] = (sent + i) & 0xff;
        sent += CHUNK;
        const ok = s.write(chunk);
        chunk.fill(0); // reused by the caller: what the socket kept must not change
        if (!ok) {
          falses++;
          return; // wait for drain: the socket keeps at most this one chunk
        }
      }
      s.end();
    };
    s.on("drain", () => {
      drains++;
      pump();
    });
    pump();
  });
  let received = 0, bad = -1, ended = false;
  const c = net.connect({ port: listener.port, host: "127.0.0.1" });
  c.pause();
  c.on("data", (d: Buffer) => {
    for (let i = 0; i < d.length; i++) {
      if (bad < 0 && d[i] !== ((received + i) & 0xff)) bad = received + i;
    }
    received += d.length;
  });
  c.on("end", () => ended = true);
  await new Promise((r) => setTimeout(r, 300));
  c.resume();
  await until("16 MiB", () => ended);
  c.destroy();
  listener.close();
  out.backpressure = { received, bad, falses, drains };
}

// 2. Half-close: the client sends a request and FIN; the server still answers, then ends.
//    Data buffers handed to "data" stay intact when kept across events.
{
  const kept: Buffer[] = [];
  let serverSawEnd = false;
  const listener = bunListen("127.0.0.1", 0, false, (s) => {
    s.on("data", (d) => kept.push(d));
    s.on("end", () => {
      serverSawEnd = true;
      const all = Buffer.concat(kept).toString("latin1");
      s.write(`got ${all.length} bytes: ${all.slice(0, 5)}...${all.slice(-5)}`, "latin1");
      s.end();
    });
  });
  let reply = "";
  let clientEnded = false;
  const c = net.connect({ port: listener.port, host: "127.0.0.1", allowHalfOpen: true });
  c.on("data", (d: Buffer) => reply += d.toString("latin1"));
  c.on("end", () => {
    clientEnded = true;
    c.end();
  });
  for (let i = 0; i < 200; i++) c.write(`part${String(i).padStart(4, "0")}|`);
  c.end();
  await until("the reply", () => clientEnded);
  listener.close();
  out.halfClose = {
    serverSawEnd,
    reply,
    keptIntact: Buffer.concat(kept).toString("latin1").split("|").filter(Boolean).every((p, i) =>
      p === `part${String(i).padStart(4, "0")}`
    ),
  };
}

// 3. Upstream side: bunConnect to a node:net server, a round trip, pause/resume, close.
{
  const server = net.createServer((sock) => {
    sock.on("data", (d) => sock.write(`echo:${d.toString("latin1")}`));
    sock.on("end", () => sock.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const s = await bunConnect("127.0.0.1", port);
  let got = "";
  const closes: boolean[] = [];
  s.on("data", (d) => got += d.toString("latin1"));
  s.on("close", (e) => closes.push(e));
  s.write("ping", "latin1");
  await until("the echo", () => got === "echo:ping");
  s.pause();
  s.write("while-paused", "latin1");
  await new Promise((r) => setTimeout(r, 200));
  const gotWhilePaused = got;
  s.resume();
  await until("the second echo", () => got.endsWith("while-paused"));
  s.end();
  await until("close", () => closes.length > 0);
  server.close();
  out.connect = { gotWhilePaused, got, closes, remote: s.remoteAddress };
  // refused: the runtime's code, as node:net's
  try {
    await bunConnect("127.0.0.1", port);
    out.refused = "connected?!";
  } catch (e) {
    out.refused = (e as { code?: string }).code;
  }
}

// 4. A taken port: a ListenError that says so.
{
  const a = bunListen("127.0.0.1", 0, false, () => {});
  try {
    bunListen("127.0.0.1", a.port, false, () => {});
    out.taken = "listened?!";
  } catch (e) {
    out.taken = (e as Error).message.replace(String(a.port), "PORT");
  }
  a.close();
}

// 5. An upstream that never completes the handshake (argv[2]: a port whose listener never
//    accepts): fill its accept queue, then UpstreamPool's native connect times out, and the pool
//    counts no connection.
const hangPort = Number(process.argv[2] ?? 0);
if (hangPort > 0) {
  const fill: net.Socket[] = [];
  for (let i = 0; i < 4096; i++) {
    const c = net.connect({ port: hangPort, host: "127.0.0.1" });
    c.on("error", () => {});
    fill.push(c);
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 300);
      c.once("connect", () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!ok) break; // the accept queue is full: SYNs are dropped from now on
  }
  const pool = new UpstreamPool({
    host: "127.0.0.1",
    port: hangPort,
    maxIdle: 1,
    idleTimeoutMs: 1000,
  });
  const t0 = performance.now();
  try {
    await pool.connect(300);
    out.hang = "connected?!";
  } catch (e) {
    out.hang = {
      error: e instanceof ConnectError
        ? `${e.code}: ${e.message}`.replace(String(hangPort), "PORT")
        : String(e),
      ms: Math.round(performance.now() - t0),
      open: pool.open,
    };
  }
  for (const c of fill) c.destroy();
}

console.log(JSON.stringify(out));
// a timed-out Bun.connect cannot be cancelled: it stays pending until the kernel gives up
// (see UpstreamPool's native connect), which would keep this process alive for minutes
process.exit(0);
