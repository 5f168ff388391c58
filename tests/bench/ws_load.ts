/**
 * The benchmark's WebSocket load client (wrk speaks no WebSocket): opens
 * `--connections` WebSocket connections to a URL (the handshake through
 * whatever is in front of the backend), then on each one sends a small
 * masked text frame, waits for its echo, and sends the next, for
 * `--duration` seconds: a closed loop, one message in flight per connection,
 * as wrk keeps one request in flight per connection. Prints one line,
 * `WS_JSON {...}`, in the same shape as `report.lua`'s (round trips as
 * "requests", with their latency percentiles), so the harness accounts for
 * it exactly like a wrk run.
 *
 * Raw frames over `node:net` (no WebSocket library): the frame is built once
 * and re-sent, and an echo is recognised by its length, so the client costs
 * as little CPU per message as possible. Runs under Bun (the harness uses
 * it) or Deno.
 *
 * `bun tests/bench/ws_load.ts --url ws://127.0.0.1:8080/ws --connections 50 --duration 10`
 *
 * @module
 */
import net from "node:net";
import process from "node:process";

function flag(argv: readonly string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
}

/** A masked client text frame carrying `size` bytes of "x" (size < 126). */
export function clientFrame(size: number): Uint8Array {
  if (size < 1 || size > 125) throw new Error("--size must be 1-125 bytes");
  const mask = [0x12, 0x34, 0x56, 0x78];
  const f = new Uint8Array(6 + size);
  f[0] = 0x81; // FIN + text
  f[1] = 0x80 | size; // masked, length
  f.set(mask, 2);
  for (let i = 0; i < size; i++) f[6 + i] = 0x78 ^ mask[i & 3]!;
  return f;
}

/** A masked pong (control frame) answering a ping with `payload`. */
function pong(payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(6 + payload.length);
  f[0] = 0x8a;
  f[1] = 0x80 | payload.length;
  // mask key 0: the payload goes out as is
  f.set(payload, 6);
  return f;
}

interface Errors {
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

/** Latency percentiles (µs) of the samples, as report.lua prints them. */
function summarize(samples: Float64Array, n: number) {
  const xs = samples.subarray(0, n).sort();
  const q = (p: number) =>
    n === 0 ? 0 : Math.round(xs[Math.min(n - 1, Math.max(0, Math.ceil(p / 100 * n) - 1))]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += xs[i]!;
  const mean = n > 0 ? sum / n : 0;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (xs[i]! - mean) ** 2;
  return {
    min: n > 0 ? Math.round(xs[0]!) : 0,
    max: n > 0 ? Math.round(xs[n - 1]!) : 0,
    mean,
    stdev: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
    percentiles: {
      "50": q(50),
      "75": q(75),
      "90": q(90),
      "99": q(99),
      "99.9": q(99.9),
      "99.99": q(99.99),
    },
  };
}

/** Runs the load; resolves with the WS_JSON object. */
export async function wsLoad(o: {
  url: string;
  connections: number;
  durationS: number;
  size: number;
}): Promise<Record<string, unknown>> {
  const u = new URL(o.url);
  const host = u.hostname;
  const port = Number(u.port || 80);
  const frame = clientFrame(o.size);
  const echoLen = 2 + o.size;
  const errors: Errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
  let samples = new Float64Array(1 << 20);
  let count = 0;
  let bytes = 0;
  let running = false;
  let measuring = false;
  const record = (us: number) => {
    if (count === samples.length) {
      const bigger = new Float64Array(samples.length * 2);
      bigger.set(samples);
      samples = bigger;
    }
    samples[count++] = us;
  };
  const handshake = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const sockets: net.Socket[] = [];
  /** Per upgraded connection: sends its first message. */
  const starters: (() => void)[] = [];
  let upgraded = 0;
  let left = o.connections;
  let allUp: () => void = () => {};
  const allUpP = new Promise<void>((r) => (allUp = r));
  /** One connection is settled (upgraded or failed). */
  const settled = () => {
    if (--left === 0) allUp();
  };

  for (let i = 0; i < o.connections; i++) {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    sockets.push(s);
    let head = "";
    let isUp = false;
    let sentAt = 0;
    let pending: Uint8Array | null = null;
    const send = () => {
      sentAt = performance.now();
      s.write(frame);
    };
    const onFrames = (chunk: Uint8Array) => {
      // fast path: exactly one echo
      if (pending === null && chunk.length === echoLen && chunk[0] === 0x81) {
        const now = performance.now();
        if (measuring) {
          record((now - sentAt) * 1000);
          bytes += echoLen;
        }
        if (running) send();
        return;
      }
      let buf = pending === null ? chunk : concat(pending, chunk);
      pending = null;
      while (buf.length >= 2) {
        let len = buf[1]! & 0x7f;
        let hdr = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = (buf[2]! << 8) | buf[3]!;
          hdr = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8).getBigUint64(0));
          hdr = 10;
        }
        if (buf[1]! & 0x80) hdr += 4; // a masked server frame (not expected)
        if (buf.length < hdr + len) break;
        const opcode = buf[0]! & 0x0f;
        const payload = buf.subarray(hdr, hdr + len);
        buf = buf.subarray(hdr + len);
        if (opcode === 1 || opcode === 2) {
          const now = performance.now();
          if (measuring) {
            record((now - sentAt) * 1000);
            bytes += hdr + len;
          }
          if (running) send();
        } else if (opcode === 9) {
          s.write(pong(payload));
        } else if (opcode === 8) {
          if (running) errors.read++;
          s.destroy();
          return;
        }
      }
      if (buf.length > 0) pending = buf.slice();
    };
    s.on("connect", () => s.write(handshake));
    s.on("data", (d: Uint8Array) => {
      if (isUp) return onFrames(d);
      head += new TextDecoder("latin1").decode(d);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!/^HTTP\/1\.1 101 /.test(head)) {
        errors.status++;
        s.destroy();
        settled();
        return;
      }
      isUp = true;
      upgraded++;
      const rest = d.subarray(d.length - (head.length - end - 4));
      if (rest.length > 0) onFrames(rest);
      starters.push(send);
      settled();
    });
    s.on("error", () => {
      if (!isUp) {
        errors.connect++;
        settled();
      } else if (running) errors.read++;
    });
  }
  const timer = setTimeout(() => allUp(), 10_000);
  await allUpP;
  clearTimeout(timer);
  if (upgraded < o.connections) {
    errors.timeout += o.connections - upgraded - errors.connect - errors.status;
  }
  running = true;
  measuring = true;
  const t0 = performance.now();
  for (const start of starters) start();
  await new Promise((r) => setTimeout(r, o.durationS * 1000));
  measuring = false;
  running = false;
  const elapsed = performance.now() - t0;
  for (const s of sockets) s.destroy();
  const lat = summarize(samples, count);
  return {
    duration_us: Math.round(elapsed * 1000),
    requests: count,
    bytes,
    errors,
    connections_upgraded: upgraded,
    latency_us: lat,
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const r = await wsLoad({
    url: flag(argv, "url", "ws://127.0.0.1:8080/ws"),
    connections: Number(flag(argv, "connections", "50")),
    durationS: Number(flag(argv, "duration", "10")),
    size: Number(flag(argv, "size", "32")),
  });
  console.log(`WS_JSON ${JSON.stringify(r)}`);
  process.exit(0);
}
