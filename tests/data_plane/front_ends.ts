/**
 * The two front ends of one data plane, behind one interface so the shared
 * behaviour suite runs the same scenario against each: the proxy role as a
 * real process on a config file, and a real process serving a Hono app that
 * mounts `createLoadBalancer`'s `lb.handler` (tests/support/embedded_lb_app.ts),
 * once with the socket transport and once with the fetch transport (the one
 * for runtimes without sockets), each under Deno and under Bun.
 *
 * @module
 */
import path from "node:path";
import { REPO_ROOT, type Runtime } from "../../lib/runtime/role_command.ts";
import { freePort, httpOk, RUNTIMES, startRole } from "../support/processes.ts";
import { startProxy, type StatusDoc } from "../support/proxy.ts";
import { sampleSum } from "../support/http_lab.ts";

/** The `/status` fields the suite reads, per backend. */
export interface BackendStatus {
  address: string;
  weight: number;
  effective_weight: number;
  usable: boolean;
  inflight: number;
  ejected: boolean;
  ejections_total: number;
}

/** A running front end. */
export interface FrontEnd {
  /** e.g. `proxy (deno)`, `createLoadBalancer (bun)`. */
  readonly name: string;
  /** The front end's port (for raw connections). */
  readonly port: number;
  /** The request-target a client sends for backend path `p` (`/x` or `/api/x`). */
  target(p: string): string;
  /** The URL for backend path `p`. */
  url(p: string): string;
  /** Applies a new group config (file rewrite, or `lb.update`). */
  setConfig(config: Record<string, unknown>): Promise<void>;
  status(): Promise<{ backends: BackendStatus[]; config: StatusDoc["config"] }>;
  metrics(): Promise<string>;
  /**
   * Whether the backend sees the client's `Host`. Not with the fetch
   * transport under Deno: Deno's fetch always sends the URL's authority (the
   * backend's address); the client's Host is still in `X-Forwarded-Host`.
   */
  readonly forwardsHost: boolean;
  /** The process's output, for failure messages. */
  readonly log: string;
  stop(): Promise<void>;
}

/** Starts a front end of `kind` under `runtime` with group config `config`. */
export type StartFrontEnd = (config: Record<string, unknown>) => Promise<FrontEnd>;

const APP = path.join(REPO_ROOT, "tests", "support", "embedded_lb_app.ts");

async function getJson(url: string): Promise<unknown> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return await r.json();
}

async function getText(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return await r.text();
}

function proxyFrontEnd(runtime: Runtime): StartFrontEnd {
  return async (config) => {
    const p = await startProxy(runtime, { api: config });
    return {
      name: `proxy (${runtime})`,
      port: p.port,
      target: (x) => x,
      url: (x) => `${p.url}${x}`,
      forwardsHost: true,
      setConfig: (c) => {
        p.writeConfig({ api: c });
        return Promise.resolve();
      },
      status: async () =>
        await getJson(`http://127.0.0.1:${p.adminPort}/status`) as Awaited<
          ReturnType<FrontEnd["status"]>
        >,
      metrics: () => getText(`http://127.0.0.1:${p.adminPort}/metrics`),
      get log() {
        return p.process.log;
      },
      stop: async () => {
        await p.process.stop();
      },
    };
  };
}

function embeddedFrontEnd(runtime: Runtime, transport: "socket" | "fetch"): StartFrontEnd {
  const name = transport === "socket"
    ? `createLoadBalancer (${runtime})`
    : `createLoadBalancer fetch transport (${runtime})`;
  return async (config) => {
    const port = await freePort();
    const port6 = await freePort();
    const proc = await startRole(runtime, "embedded-lb-app", [
      String(port),
      String(port6),
      "-",
      JSON.stringify(config),
      transport,
    ], {
      script: APP,
      ready: () => httpOk(`http://127.0.0.1:${port}/`),
      timeoutMs: 60_000,
    });
    const base = `http://127.0.0.1:${port}`;
    return {
      name,
      port,
      target: (x) => `/api${x}`,
      url: (x) => `${base}/api${x}`,
      forwardsHost: transport === "socket" || runtime === "bun",
      setConfig: async (c) => {
        const r = await fetch(`${base}/_lb/config`, {
          method: "PUT",
          body: JSON.stringify(c),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await r.text();
        if (r.status !== 200) throw new Error(`config not applied: ${r.status} ${text}`);
      },
      status: async () =>
        await getJson(`${base}/_lb/status`) as Awaited<ReturnType<FrontEnd["status"]>>,
      metrics: () => getText(`${base}/_lb/metrics`),
      get log() {
        return proc.log;
      },
      stop: async () => {
        await proc.stop();
      },
    };
  };
}

/** Every front end under every runtime: `[label, start]`. */
export const FRONT_ENDS: readonly (readonly [string, StartFrontEnd])[] = RUNTIMES.flatMap((
  rt,
) => [
  [`proxy (${rt})`, proxyFrontEnd(rt)] as const,
  [`createLoadBalancer (${rt})`, embeddedFrontEnd(rt, "socket")] as const,
  [`createLoadBalancer fetch transport (${rt})`, embeddedFrontEnd(rt, "fetch")] as const,
]);

/** The backend's entry in a status document. */
export function backendOf(
  status: { backends: BackendStatus[] },
  address: string,
): BackendStatus | undefined {
  return status.backends.find((b) => b.address === address);
}

/** Sum of `name`'s samples with these labels (0 when none). */
export function metric(text: string, name: string, labels: Record<string, string>): number {
  return sampleSum(text, name, labels) ?? 0;
}

/** Health checks that do not get in the way of a scenario: TCP, rarely. */
export const QUIET_HEALTH = {
  health_check_type: "tcp",
  health_check_frequency_seconds: 30,
} as const;
