/**
 * A client as a person's machine would be one: for each request it resolves the service name
 * (an A query over UDP to its DNS server, the VIP), takes the first address of the answer, and
 * sends an HTTP GET to that address on the service port. Prints one JSON document on stdout:
 * which proxy addresses it used, which backends answered, and the failures. Run it inside a lab
 * namespace:
 *
 *   ip netns exec swy-c1 deno run -A tests/support/dns_http_client.ts --server 198.18.0.53 \
 *     --name api.example.com --port 8080 --requests 60
 *
 * Works under Deno and Bun (node:dgram, fetch).
 *
 * @module
 */
import dgram from "node:dgram";
import process from "node:process";
import { decodeResponse, encodeQuery } from "../../lib/dns/wire.ts";

/** What the client prints. */
export interface ClientReport {
  readonly requests: number;
  /** Proxy address -> requests sent to it. */
  readonly proxies: Record<string, number>;
  /** Response body (the backend's name) -> count. */
  readonly backends: Record<string, number>;
  /** Distinct A answer sets seen (sorted addresses joined by ","). */
  readonly answerSets: string[];
  readonly failures: string[];
}

function resolve(server: string, name: string, timeoutMs: number): Promise<string[]> {
  return new Promise((done, fail) => {
    const socket = dgram.createSocket("udp4");
    const id = Math.floor(Math.random() * 0x10000);
    const timer = setTimeout(() => {
      socket.close();
      fail(new Error(`DNS timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("message", (msg: Uint8Array) => {
      const response = decodeResponse(new Uint8Array(msg));
      if (response.id !== id) return;
      clearTimeout(timer);
      socket.close();
      if (response.rcodeName !== "NOERROR") {
        fail(new Error(`DNS ${response.rcodeName}`));
        return;
      }
      done(response.answers.filter((a) => a.type === "A").map((a) => String(a.data)));
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      socket.close();
      fail(e);
    });
    socket.send(encodeQuery(id, name, "A"), 53, server);
  });
}

async function main(): Promise<void> {
  const args: Record<string, string> = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i + 1 < argv.length; i += 2) args[argv[i]!.replace(/^--/, "")] = argv[i + 1]!;
  const { server, name, port } = args;
  if (!server || !name || !port) {
    throw new Error("usage: dns_http_client.ts --server IP --name NAME --port N [--requests N]");
  }
  const requests = Number(args.requests ?? 60);
  const report: ClientReport = {
    requests,
    proxies: {},
    backends: {},
    answerSets: [],
    failures: [],
  };
  const sets = new Set<string>();
  for (let i = 0; i < requests; i++) {
    try {
      const answers = await resolve(server, name, 2000);
      sets.add([...answers].sort().join(","));
      const address = answers[0];
      if (address === undefined) throw new Error("no A answer");
      report.proxies[address] = (report.proxies[address] ?? 0) + 1;
      const r = await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(5000) });
      const body = (await r.text()).trim();
      const key = r.status === 200 ? body : `status ${r.status}`;
      report.backends[key] = (report.backends[key] ?? 0) + 1;
    } catch (e) {
      report.failures.push(String(e));
    }
  }
  report.answerSets.push(...[...sets].sort());
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (import.meta.main) await main();
