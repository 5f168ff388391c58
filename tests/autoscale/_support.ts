/**
 * Test support for the autoscaling end to end: a DNS-following client (resolves the service
 * through CoreDNS with the project's wire codec before every request, spreads its requests over
 * the answers, counts every failure), and wrk runs.
 *
 * @module
 */
import dgram from "node:dgram";
import { spawn } from "node:child_process";
import { decodeResponse, encodeQuery } from "../../lib/dns/wire.ts";

/** The A records of `name` from a DNS server (one UDP query; throws on timeout or error). */
export function resolveA(
  server: string,
  port: number,
  name: string,
  timeoutMs = 1000,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const id = Math.floor(Math.random() * 0xffff);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`DNS timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("message", (msg: Uint8Array) => {
      let r;
      try {
        r = decodeResponse(new Uint8Array(msg));
      } catch {
        return;
      }
      if (r.id !== id) return;
      clearTimeout(timer);
      socket.close();
      if (r.rcodeName !== "NOERROR") reject(new Error(`DNS ${r.rcodeName}`));
      else {
        resolve(
          r.answers.filter((a) => a.type === "A").map((a) => a.data as string).sort(),
        );
      }
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
    socket.send(encodeQuery(id, name, "A"), port, server);
  });
}

/** One failure the client saw. */
export interface ClientFailure {
  readonly at: number;
  readonly host: string | null;
  readonly error: string;
}

/**
 * A client as the seed describes them: it resolves the service name before every request
 * (so it never uses an answer older than the DNS cache allows), picks the next address in
 * round-robin order, and sends `GET /` on a fresh connection (`Connection: close`). Every
 * non-200 answer, network error and DNS failure is counted.
 */
export class DnsClient {
  readonly byHost = new Map<string, number>();
  readonly failures: ClientFailure[] = [];
  requests = 0;
  #next = 0;
  #stopped = false;
  #done: Promise<void> | null = null;

  constructor(
    readonly dns: { server: string; port: number; name: string },
    readonly port: number,
    readonly pauseMs: number,
  ) {}

  /** Starts the loop. */
  start(): void {
    this.#done = (async () => {
      while (!this.#stopped) {
        await this.once();
        await new Promise((r) => setTimeout(r, this.pauseMs));
      }
    })();
  }

  /** One resolve + request. */
  async once(): Promise<void> {
    let hosts: string[];
    try {
      hosts = await resolveA(this.dns.server, this.dns.port, this.dns.name);
      if (hosts.length === 0) throw new Error("no A record");
    } catch (e) {
      this.failures.push({ at: Date.now(), host: null, error: `resolve: ${(e as Error).message}` });
      return;
    }
    const host = hosts[this.#next++ % hosts.length]!;
    this.requests++;
    try {
      const r = await fetch(`http://${host}:${this.port}/`, {
        headers: { connection: "close" },
        signal: AbortSignal.timeout(10_000),
      });
      await r.text();
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      this.byHost.set(host, (this.byHost.get(host) ?? 0) + 1);
    } catch (e) {
      this.failures.push({ at: Date.now(), host, error: (e as Error).message });
    }
  }

  /** Stops the loop and waits for the request in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }

  /** Successful responses per host so far. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.byHost].sort());
  }
}

/** A wrk run in the background. */
export interface WrkRun {
  /** Stops wrk with SIGINT (it then prints its summary) and returns the parsed counts. */
  stop(): Promise<WrkResult>;
}

/** wrk's counts (from the test's Lua `done()`). */
export interface WrkResult {
  readonly requests: number;
  readonly errors: {
    connect: number;
    read: number;
    write: number;
    status: number;
    timeout: number;
  };
  readonly output: string;
}

/** Starts `wrk -t1 -cN -d600s -s paced.lua URL` with `delayMs` between a connection's requests. */
export function startWrk(url: string, connections: number, delayMs: number): WrkRun {
  const script = new URL("./paced.lua", import.meta.url).pathname;
  const child = spawn("wrk", ["-t1", `-c${connections}`, "-d600s", "-s", script, url], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...Deno.env.toObject(), WRK_DELAY_MS: String(delayMs) },
  });
  let output = "";
  child.stdout?.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
  child.stderr?.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    async stop() {
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      const line = output.split("\n").find((l) => l.startsWith("WRK_JSON "));
      if (!line) throw new Error(`wrk printed no summary:\n${output}`);
      return { ...JSON.parse(line.slice("WRK_JSON ".length)), output };
    },
  };
}

/** Makes sure wrk is installed (Debian package `wrk`; apt-get as root when missing). */
export async function ensureWrk(): Promise<void> {
  const repo = new URL("../../", import.meta.url).pathname;
  const out = await new Deno.Command("bash", {
    args: ["-c", `. "${repo}deploy/lib/common.sh" && swy_ensure_cmd wrk wrk`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`cannot install wrk: ${new TextDecoder().decode(out.stderr)}`);
  }
}
