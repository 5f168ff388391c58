/**
 * The game day's load client, run inside a client region's namespace: it resolves the service
 * through the DNS VIP (re-resolving every second, keeping the last answer when DNS fails), and
 * sends a steady, bounded-rate stream of keep-alive requests (GETs, and POSTs carrying a unique
 * `x-gameday-id` the backends count) round-robin over the addresses it got. One JSON line per
 * request to `--out` (see {@link ClientSample}); stops when `--stop-file` exists.
 *
 * It behaves like a resilient production client, and only as far as HTTP allows:
 * - a refused connect (nothing was sent) is tried once more on the next address, any method;
 * - a GET (idempotent) that failed on the way (reset, closed, timed out, or its address stalled)
 *   is retried once on another address; a POST is never retried once sent (the backend may have
 *   it: a retry could duplicate it);
 * - outlier ejection ({@link AddressEjector}): an address that refused a connection, or that has
 *   requests outstanding and answered none for 750 ms (a frozen proxy still accepts connections
 *   and reads requests into its kernel buffers), leaves the rotation for 10 s (doubling while it
 *   fails again; never the last address in rotation); its outstanding GETs are abandoned and
 *   retried elsewhere at once, its POSTs wait for their 5 s timeout;
 * - every request has a 5 s overall timeout.
 *
 * @module
 */
import { AddressEjector } from "./address_ejector.ts";

/** Outstanding requests with no answer from an address for this long: it stalled. */
export const STALL_MS = 750;
/** A stalled address leaves the rotation this long (doubling, up to 60 s). */
export const EJECT_MS = 10_000;
/** Overall timeout of one attempt. */
export const TIMEOUT_MS = 5000;
/** The behaviour above in one paragraph, for the report. */
export const CLIENT_BEHAVIOUR =
  `a request times out after ${TIMEOUT_MS} ms. A refused connect (nothing sent) is tried once ` +
  `more on the next address, any method. A GET that failed on the way (reset, closed, timed out, ` +
  `or its address stalled) is retried once on another address; a POST is never retried once ` +
  `sent. Outlier ejection: an address that refused a connection, or that has requests ` +
  `outstanding and answered none for ${STALL_MS} ms, leaves the rotation for ${
    EJECT_MS / 1000
  } s (doubling while it stalls again, ` +
  `never the last address); its outstanding GETs are retried elsewhere at once, its POSTs wait ` +
  `for their timeout.`;

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
  /** A GET retried on another address, and why its first attempt failed (`target` answered). */
  readonly retried?: { readonly from: string; readonly error: string };
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
  const ejector = new AddressEjector({
    stallMs: STALL_MS,
    baseEjectMs: EJECT_MS,
    maxEjectMs: 60_000,
  });
  /** Attempts in flight per address: GETs among them are abandoned when it stalls. */
  const inflight = new Map<string, Set<{ method: string; stop: AbortController }>>();

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

  // stall detection; a tick that fired late means this process was starved: no evidence then
  let lastTick = performance.now();
  const watchdog = setInterval(() => {
    const now = performance.now();
    const late = now - lastTick > 300;
    lastTick = now;
    if (late) return;
    for (const a of ejector.check(addresses, now)) {
      for (const attempt of inflight.get(a) ?? []) {
        if (attempt.method === "GET") attempt.stop.abort(new Error("stalled"));
      }
    }
  }, 100);

  const pick = (failed?: string): string => {
    const now = performance.now();
    const from = failed === undefined
      ? ejector.usable(addresses, now)
      : ejector.retryTargets(addresses, failed, now);
    return from[next++ % from.length] as string;
  };

  /** One attempt; resolves with the status or rejects with the error class. */
  const once = async (method: "GET" | "POST", address: string, id: string, n: number) => {
    // both routes (groups) get GETs and POSTs
    const path = Math.floor(n / 2) % 2 === 0 ? "/api/item" : "/web/page";
    const stop = new AbortController();
    const attempt = { method, stop };
    let set = inflight.get(address);
    if (set === undefined) inflight.set(address, set = new Set());
    set.add(attempt);
    ejector.started(address, performance.now());
    try {
      const r = await fetch(`http://${address}:${port}${path}`, {
        method,
        headers: method === "POST" ? { "x-gameday-id": id } : {},
        body: method === "POST" ? `{"id":"${id}"}` : undefined,
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
      ejector.answered(address, performance.now());
      await r.arrayBuffer();
      return r.status;
    } catch (e) {
      const error = stop.signal.aborted ? "stalled" : errorClass(e);
      if (error === "refused") ejector.refused(address, addresses, performance.now());
      else ejector.failed(address, performance.now());
      throw error;
    } finally {
      set.delete(attempt);
    }
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
    let target = pick();
    let failedOver = false;
    let retried: ClientSample["retried"];
    let sample: ClientSample;
    for (let attempt = 0;; attempt++) {
      try {
        const status = await once(method, target, id, n);
        sample = { t, client, method, ms: performance.now() - t0, status, target };
        break;
      } catch (e) {
        const error = e as "refused" | "timeout" | "cut" | "stalled";
        if (attempt === 0 && addresses.length > 1 && (error === "refused" || method === "GET")) {
          const from = target;
          target = pick(from);
          if (error === "refused") failedOver = true;
          else retried = { from, error };
          continue;
        }
        sample = {
          t,
          client,
          method,
          ms: performance.now() - t0,
          status: 0,
          target,
          error: error === "stalled" ? "timeout" : error,
        };
        break;
      }
    }
    if (failedOver) sample = { ...sample, failedOver };
    if (retried) sample = { ...sample, retried };
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
      await new Promise((r) => setTimeout(r, 2 * TIMEOUT_MS + 500)); // in flight: finish or time out
      clearInterval(watchdog);
      if (lines.length > 0) {
        await Deno.writeTextFile(out, lines.splice(0).join("\n") + "\n", { append: true });
      }
      Deno.exit(0);
    }
  }, 500);
}

if (import.meta.main) await main();
