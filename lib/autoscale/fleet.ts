/**
 * The proxy fleet as the autoscaler sees it: the registrations under
 * `/switchyard/proxies/<group>/<id>` (each proxy writes its own, ephemeral), parsed into
 * {@link FleetMember}s. Pure.
 *
 * @module
 */
import { scrapeAddress } from "../prometheus/file_sd.ts";

/** A registered proxy. */
export interface FleetMember {
  readonly group: string;
  readonly id: string;
  /** Where clients connect (`host:port`). */
  readonly address: string;
  /** Where its `/metrics` is (`host:port`), null when it registered none usable. */
  readonly admin: string | null;
  readonly region: string | null;
  readonly pid: number | null;
  readonly runtime: string | null;
  readonly startedAt: string | null;
  /** The load it publishes (connections, inflight, cpu_percent), if any. */
  readonly load: Readonly<Record<string, number>> | null;
}

/**
 * Parses a proxy registration; null when it is not usable (not JSON, no address).
 *
 * @example
 * ```ts
 * import { parseMember } from "./fleet.ts";
 * const m = parseMember("g", "p1", new TextEncoder().encode(
 *   '{"address":"127.0.0.1:8080","admin":"127.0.0.1:9090","pid":42}',
 * ));
 * console.log(m?.admin, m?.pid); // 127.0.0.1:9090 42
 * ```
 */
export function parseMember(group: string, id: string, data: Uint8Array): FleetMember | null {
  let raw: Record<string, unknown>;
  try {
    const v = JSON.parse(new TextDecoder().decode(data));
    if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
    raw = v;
  } catch {
    return null;
  }
  if (typeof raw.address !== "string" || raw.address === "") return null;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  let load: Record<string, number> | null = null;
  if (typeof raw.load === "object" && raw.load !== null && !Array.isArray(raw.load)) {
    load = {};
    for (const [k, v] of Object.entries(raw.load)) {
      if (typeof v === "number" && Number.isFinite(v)) load[k] = v;
    }
  }
  return {
    group,
    id,
    address: raw.address,
    admin: scrapeAddress(raw.admin, raw.address),
    region: str(raw.region),
    pid: Number.isInteger(raw.pid) ? raw.pid as number : null,
    runtime: str(raw.runtime),
    startedAt: str(raw.started_at),
    load,
  };
}
