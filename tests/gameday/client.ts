/**
 * The game day's load client, run inside a client region's namespace: it resolves the service
 * through the DNS VIP (re-resolving every second, keeping the last answer when DNS fails), and
 * sends a steady, bounded-rate stream of keep-alive requests (GETs, and POSTs carrying a unique
 * `x-gameday-id` the backends count) round-robin over the addresses it got. One JSON line per
 * request to `--out` (see {@link ClientSample}); stops when `--stop-file` exists.
 *
 * A refused connect (nothing was sent) is tried once more on the next address, as a client with
 * several A records does; a request is never retried after it was sent, POST or GET, so what the
 * samples show is what a plain client felt.
 *
 * @module
 */

/** One request as the client saw it (also the line format of `--out`). */
export interface ClientSample {
  /** Start, ms since the epoch. */
  readonly t: number;
  readonly client: string;
  readonly method: "GET" | "POST";
  /** Duration, ms. */
  readonly ms: number;
  /** HTTP status, 0 when none arrived. */
  readonly status: number;
  /** The proxy address that answered (or failed). */
  readonly target: string;
  /** Transport error class when no status arrived: `refused`, `timeout`, `cut` (reset/closed). */
  readonly error?: "refused" | "timeout" | "cut" | "no-address";
  /** The first address refused the connection and the next one was used. */
  readonly failedOver?: boolean;
}

/** The class of a fetch error: refused connects never sent anything. */
export function errorClass(e: unknown): "refused" | "timeout" | "cut" {
  const text = `${(e as Error)?.name ?? ""} ${(e as Error)?.message ?? e} ${
    (e as { cause?: unknown })?.cause ?? ""
  }`;
  if (/refused/i.test(text)) return "refused";
  if (/timeout|timed out|abort/i.test(text)) return "timeout";
  return "cut";
}

function arg(name: string, fallback?: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  const value = i < 0 ? fallback : Deno.args[i + 1];
  if (value === undefined) throw new Error(`client.ts: --${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const client = arg("client");
  const vip = arg("vip");
  const service = arg("service");
  const port = Number(arg("port", "8080"));
  const rate = Number(arg("rate", "50"));
  // every third request a POST: with two addresses taken in turn, POSTs (like GETs) go to both
  // (every fourth would always land on the same one)
  const postEvery = Number(arg("post-every", "3"));
  const out = arg("out");
  const stopFile = arg("stop-file");
  let addresses: string[] = [];
  let next = 0;
  let seq = 0;
  const lines: string[] = [];

  const resolve = async () => {
    try {
      const got = await Deno.resolveDns(service, "A", { nameServer: { ipAddr: vip, port: 53 } });
      if (got.length > 0) addresses = got.sort();
    } catch {
      // keep the last good answer: a client's resolver cache does the same
    }
  };
  await resolve();
  const resolver = setInterval(resolve, 1000);

  const once = async (method: "GET" | "POST", address: string, id: string, n: number) => {
    // both routes (groups) get GETs and POSTs
    const path = Math.floor(n / 2) % 2 === 0 ? "/api/item" : "/web/page";
    const r = await fetch(`http://${address}:${port}${path}`, {
      method,
      headers: method === "POST" ? { "x-gameday-id": id } : {},
      body: method === "POST" ? `{"id":"${id}"}` : undefined,
      signal: AbortSignal.timeout(5000),
    });
    await r.arrayBuffer();
    return r.status;
  };

  const send = async () => {
    const n = ++seq;
    const method = n % postEvery === 0 ? "POST" : "GET";
    const id = `${client}-${n}`;
    const t = Date.now();
    const t0 = performance.now();
    if (addresses.length === 0) {
      lines.push(
        JSON.stringify({ t, client, method, ms: 0, status: 0, target: "", error: "no-address" }),
      );
      return;
    }
    let target = addresses[next++ % addresses.length] as string;
    let failedOver = false;
    let sample: ClientSample;
    for (let attempt = 0;; attempt++) {
      try {
        const status = await once(method, target, id, n);
        sample = { t, client, method, ms: performance.now() - t0, status, target };
        break;
      } catch (e) {
        const error = errorClass(e);
        if (error === "refused" && attempt === 0 && addresses.length > 1) {
          target = addresses[next++ % addresses.length] as string;
          failedOver = true;
          continue;
        }
        sample = { t, client, method, ms: performance.now() - t0, status: 0, target, error };
        break;
      }
    }
    if (failedOver) sample = { ...sample, failedOver };
    lines.push(JSON.stringify(sample));
  };

  const ticker = setInterval(() => void send(), 1000 / rate);
  const flusher = setInterval(async () => {
    if (lines.length > 0) {
      const chunk = lines.splice(0).join("\n") + "\n";
      await Deno.writeTextFile(out, chunk, { append: true });
    }
    if (await Deno.stat(stopFile).then(() => true, () => false)) {
      clearInterval(ticker);
      clearInterval(resolver);
      clearInterval(flusher);
      await new Promise((r) => setTimeout(r, 5500)); // requests in flight finish or time out
      if (lines.length > 0) {
        await Deno.writeTextFile(out, lines.splice(0).join("\n") + "\n", { append: true });
      }
      Deno.exit(0);
    }
  }, 500);
}

if (import.meta.main) await main();
