/**
 * Many simulated backends in one process, for the orchestrator benchmark: `count` health
 * endpoints on `ips` loopback addresses (127.0.1.1, 127.0.1.2, ...) times as many ports as
 * needed, each answering `GET /health` with 200 (or 503 while failed). Raw `node:net`, so it runs
 * under Deno or Bun and thousands of listeners stay cheap.
 *
 * Usage: `bun tests/bench/orchestrator/sim_backends.ts COUNT IPS BASE_PORT CONTROL_PORT`
 * Control (HTTP on 127.0.0.1:CONTROL_PORT): `/fail?count=N` (the first N backends answer 503),
 * `/recover`, `/stats` (JSON: requests answered). Prints `ready` when every listener is up.
 *
 * @module
 */
import net from "node:net";
import process from "node:process";

const [count, ips, basePort, controlPort] = process.argv.slice(2).map(Number) as [
  number,
  number,
  number,
  number,
];

/** Address of backend `i` (the same formula the benchmark uses). */
export function simAddress(i: number, ipCount: number, base: number): string {
  return `127.0.1.${1 + (i % ipCount)}:${base + Math.floor(i / ipCount)}`;
}

let failing = 0;
let answered = 0;
const index = new Map<string, number>();
for (let i = 0; i < count; i++) index.set(simAddress(i, ips, basePort), i);

function handle(socket: net.Socket): void {
  let head = "";
  socket.setNoDelay(true);
  socket.on("data", (chunk: Uint8Array) => {
    head += new TextDecoder().decode(chunk);
    if (!head.includes("\r\n\r\n")) return;
    const i = index.get(`${socket.localAddress}:${socket.localPort}`) ?? -1;
    answered++;
    const ok = i < 0 || i >= failing;
    socket.end(
      `HTTP/1.1 ${ok ? "200 OK" : "503 Service Unavailable"}\r\ncontent-length: 0\r\n` +
        "connection: close\r\n\r\n",
    );
  });
  socket.on("error", () => {});
}

if (process.argv.length >= 6) {
  const servers: net.Server[] = [];
  for (let i = 0; i < count; i++) {
    const [host, port] = simAddress(i, ips, basePort).split(":") as [string, string];
    const server = net.createServer(handle);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port: Number(port), backlog: 128 }, () => resolve());
    });
    servers.push(server);
  }
  net.createServer((socket) => {
    let buf = "";
    socket.on("data", (chunk: Uint8Array) => {
      buf += new TextDecoder().decode(chunk);
      if (!buf.includes("\r\n\r\n")) return;
      const target = buf.split(" ")[1] ?? "/";
      const url = new URL(target, "http://x");
      if (url.pathname === "/fail") failing = Number(url.searchParams.get("count") ?? 0);
      if (url.pathname === "/recover") failing = 0;
      const body = JSON.stringify({ failing, answered });
      socket.end(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
    });
    socket.on("error", () => {});
  }).listen(controlPort, "127.0.0.1", () => console.log("ready"));
}
