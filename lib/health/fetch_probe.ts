/**
 * Active health probes over the global `fetch`, for runtimes without raw TCP
 * sockets (Deno Deploy, Cloudflare Workers): what the embedded load
 * balancer's fetch transport probes with. Like probe.ts, each probe has a
 * timeout and always resolves (never throws).
 *
 * What fetch changes:
 * - `http`: a GET of the health endpoint expecting the configured status, as
 *   probe.ts does, but on whatever connection fetch picks (it may reuse a
 *   pooled one; probe.ts always opens a fresh one) and with fetch's own
 *   request headers. Redirects are not followed (a 3xx is the status seen).
 * - `tcp`: fetch cannot open a bare TCP connection, so the probe is an HTTP
 *   GET of `/` and any HTTP response counts as up: the backend accepted the
 *   connection and answered. A backend that accepts connections but does not
 *   speak HTTP is down for this probe, unlike for probe.ts.
 *
 * This module imports nothing at run time (the probe.ts import is types
 * only), so the fetch path's module graph has no node:net.
 *
 * @module
 */
import type { ProbeResult, ProbeTarget } from "./probe.ts";

/** The URL a probe of `target` requests. */
export function probeUrl(target: ProbeTarget): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  const path = target.type === "tcp" ? "/" : target.path;
  return `http://${host}:${target.port}${path}`;
}

/**
 * The verdict on a probe's response status: `tcp` accepts any, `http` only
 * the expected one. Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { judgeProbeStatus } from "./fetch_probe.ts";
 * const http = { host: "h", port: 1, type: "http", path: "/health", expectedStatus: 200, timeoutMs: 1 } as const;
 * assert.deepEqual(judgeProbeStatus(http, 200), { ok: true, error: null, status: 200 });
 * assert.equal(judgeProbeStatus(http, 503).ok, false);
 * assert.equal(judgeProbeStatus({ ...http, type: "tcp" }, 404).ok, true);
 * ```
 */
export function judgeProbeStatus(target: ProbeTarget, status: number): ProbeResult {
  const ok = target.type === "tcp" || status === target.expectedStatus;
  return {
    ok,
    error: ok ? null : `status ${status}, expected ${target.expectedStatus}`,
    status,
  };
}

/**
 * Probes a target once with `fetch`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchProbe } from "./fetch_probe.ts";
 * const backend = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   new Response(null, { status: new URL(req.url).pathname === "/health" ? 200 : 404 }));
 * const target = { host: "127.0.0.1", port: backend.addr.port, type: "http", path: "/health",
 *   expectedStatus: 200, timeoutMs: 2000 } as const;
 * assert.equal((await fetchProbe(target)).ok, true);
 * assert.equal((await fetchProbe({ ...target, path: "/nope" })).status, 404);
 * await backend.shutdown();
 * ```
 */
export async function fetchProbe(target: ProbeTarget): Promise<ProbeResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), target.timeoutMs);
  try {
    const res = await fetch(probeUrl(target), {
      headers: { "user-agent": "switchyard-health/1", accept: "*/*" },
      redirect: "manual",
      signal: controller.signal,
    });
    // the body is not needed: let the connection go
    await res.body?.cancel().catch(() => {});
    return judgeProbeStatus(target, res.status);
  } catch (e) {
    return {
      ok: false,
      error: controller.signal.aborted
        ? `timeout after ${target.timeoutMs} ms`
        : (e as Error).message,
      status: null,
    };
  } finally {
    clearTimeout(timer);
  }
}
