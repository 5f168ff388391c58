/**
 * Scripted raw HTTP backends for the data-plane suites (tests/data_plane/),
 * and running a scenario against one started front end: the helpers the
 * behaviour suite and the retry-on-status suite share.
 *
 * @module
 */
import {
  type BackendHandler,
  type BackendRequest,
  header,
  okResponse,
  RawBackend,
} from "../support/raw_http.ts";
import type { FrontEnd } from "./front_ends.ts";

/**
 * A health probe of the fetch transport: an HTTP request even for `tcp`
 * checks (fetch cannot open a bare connection; see lib/health/fetch_probe.ts).
 */
export function isProbe(r: BackendRequest): boolean {
  return header(r, "user-agent") === "switchyard-health/1";
}

/**
 * A scripted backend: `handler` answers the scenario's requests, health
 * probes get a plain 200 (so a probe never takes a scenario's scripted answer).
 */
export function backend(handler: BackendHandler): Promise<RawBackend> {
  return RawBackend.start((r, c) => isProbe(r) ? c.write(okResponse("up\n")) : handler(r, c));
}

/** The requests `b` got from clients through the front end (health probes left out). */
export function served(b: RawBackend): BackendRequest[] {
  return b.requests.filter((r) => !isProbe(r));
}

/** Runs `fn` with a started front end, stopping it (and the backends) afterwards. */
export async function withFrontEnd(
  start: (config: Record<string, unknown>) => Promise<FrontEnd>,
  config: Record<string, unknown>,
  backends: readonly RawBackend[],
  fn: (fe: FrontEnd) => Promise<void>,
): Promise<void> {
  let fe: FrontEnd | null = null;
  try {
    fe = await start(config);
    await fn(fe);
  } catch (e) {
    if (!fe) throw e;
    const log = `\n--- ${fe.name} log ---\n${fe.log}`;
    // a DOMException (a fetch timeout) has a read-only message
    if (e instanceof Error && !(e instanceof DOMException)) e.message += log;
    else throw new Error(`${e}${log}`, { cause: e });
    throw e;
  } finally {
    await fe?.stop();
    await Promise.all(backends.map((b) => b.close()));
  }
}

/** One request through the front end: its status and body. */
export async function get(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  return { status: r.status, body: await r.text() };
}
