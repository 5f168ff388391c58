/**
 * A steady DNS prober: sends one query every `--interval` ms to a server and writes one JSON line
 * per query to `--out`, so a test can measure outages to the millisecond. Run it inside a lab
 * namespace:
 *
 *   ip netns exec swy-c1 deno run -A tests/support/dns_probe.ts --server 198.18.0.53 \
 *     --name api.example.com --out /tmp/probe.jsonl [--port 53] [--interval 100] \
 *     [--timeout 1000] [--duration 300] [--stop-file FILE]
 *
 * Each query is independent (its own timer), so a dead server costs one timeout per query but
 * never delays the next query. A query fails when no NOERROR response with at least one answer
 * arrives within `--timeout` ms. Stops after `--duration` s, when `--stop-file` exists, or on
 * SIGTERM/SIGINT; then writes `{"done":true}`. Works under Deno and Bun (node:dgram).
 *
 * @module
 */
import dgram from "node:dgram";
import { appendFileSync, existsSync } from "node:fs";
import process from "node:process";
import { decodeResponse, encodeQuery } from "../../lib/dns/wire.ts";

/** One line of the probe's output. */
export interface ProbeResult {
  readonly seq: number;
  /** Epoch ms the query was sent. */
  readonly sent: number;
  readonly ok: boolean;
  readonly rttMs?: number;
  readonly rcode?: string;
  readonly answers?: string[];
  readonly error?: string;
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key?.startsWith("--") || value === undefined) throw new Error(`bad argument ${key}`);
    out[key.slice(2)] = value;
  }
  return out;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const server = args.server;
  const name = args.name;
  const outFile = args.out;
  if (!server || !name || !outFile) {
    throw new Error("usage: dns_probe.ts --server IP --name NAME --out FILE [...]");
  }
  const port = Number(args.port ?? 53);
  const interval = Number(args.interval ?? 100);
  const timeout = Number(args.timeout ?? 1000);
  const duration = Number(args.duration ?? 300) * 1000;
  const stopFile = args["stop-file"];
  const qtype = (args.type ?? "A") as "A";

  const socket = dgram.createSocket("udp4");
  const pending = new Map<
    number,
    { seq: number; sent: number; timer: ReturnType<typeof setTimeout> }
  >();
  const write = (line: unknown) => appendFileSync(outFile, `${JSON.stringify(line)}\n`);
  let seq = 0;
  let stopping = false;
  const started = Date.now();

  socket.on("message", (msg: Uint8Array) => {
    let response;
    try {
      response = decodeResponse(new Uint8Array(msg));
    } catch {
      return;
    }
    const entry = pending.get(response.id);
    if (!entry) return; // late answer to a query already counted as failed
    pending.delete(response.id);
    clearTimeout(entry.timer);
    const answers = response.answers.map((a) => String(a.data));
    const ok = response.rcodeName === "NOERROR" && answers.length > 0;
    const result: ProbeResult = {
      seq: entry.seq,
      sent: entry.sent,
      ok,
      rttMs: Date.now() - entry.sent,
      rcode: response.rcodeName,
      answers,
    };
    write(result);
  });
  socket.on("error", () => {/* per-query timeouts account for every failure */});

  const tick = () => {
    if (stopping) return;
    if (Date.now() - started > duration || (stopFile && existsSync(stopFile))) {
      stop();
      return;
    }
    seq++;
    let id = Math.floor(Math.random() * 0x10000);
    while (pending.has(id)) id = (id + 1) & 0xffff;
    const sent = Date.now();
    const mySeq = seq;
    const timer = setTimeout(() => {
      pending.delete(id);
      write({ seq: mySeq, sent, ok: false, error: "timeout" } satisfies ProbeResult);
    }, timeout);
    pending.set(id, { seq: mySeq, sent, timer });
    socket.send(encodeQuery(id, name, qtype), port, server, (err) => {
      if (err && pending.delete(id)) {
        clearTimeout(timer);
        write({ seq: mySeq, sent, ok: false, error: String(err) } satisfies ProbeResult);
      }
    });
  };

  const handle = setInterval(tick, interval);
  tick();

  function stop(): void {
    if (stopping) return;
    stopping = true;
    clearInterval(handle);
    // Let queries in flight finish or time out, so every query sent gets its line.
    setTimeout(() => {
      for (const [, entry] of pending) clearTimeout(entry.timer);
      write({ done: true, sentTotal: seq });
      socket.close();
    }, timeout + 50);
  }
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.main) main();
