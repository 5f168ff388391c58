/**
 * What the embedded checker probes, derived from a group's backends and its
 * health settings. Structural input (any `{backends, config}`), so the checker
 * needs nothing from lib/group: a group snapshot is passed as it is.
 *
 * @module
 */
import type { GroupConfig } from "../config/schema.ts";
import { tlsConnectOptions, type UpstreamTls } from "../tls/upstream_tls.ts";
import type { ProbeTarget } from "./probe.ts";

/** One backend to probe, and how often. */
export interface HealthTarget {
  /** The backend's `host:port`, the key the sink knows it by. */
  readonly address: string;
  readonly probe: ProbeTarget;
  /** Probe interval before jitter (ms). */
  readonly intervalMs: number;
}

/** The health settings of a group config that the probes use. */
export type HealthSettings = Pick<
  GroupConfig,
  | "health_check_type"
  | "health_endpoint"
  | "health_endpoint_expected_code"
  | "health_check_timeout_seconds"
  | "health_check_frequency_seconds"
  | "protocol"
>;

/** The backends and settings the targets are built from (a group snapshot fits). */
export interface HealthTargetInput {
  readonly backends: readonly {
    readonly address: string;
    readonly host: string;
    readonly port: number;
  }[];
  readonly config: HealthSettings;
}

/**
 * One target per backend, all with the group's probe settings, over TLS
 * when the group's upstream TLS is on (`tls`, loaded by the runtime), and
 * over HTTP/2 for a `protocol: "h2"` group.
 *
 * @example
 * ```ts
 * import { healthTargets } from "./targets.ts";
 * const [t] = healthTargets({
 *   backends: [{ address: "127.0.0.1:9001", host: "127.0.0.1", port: 9001 }],
 *   config: {
 *     health_check_type: "http", health_endpoint: "/health", health_endpoint_expected_code: 200,
 *     health_check_timeout_seconds: 2, health_check_frequency_seconds: 10,
 *   },
 * });
 * console.log(t?.probe.timeoutMs, t?.intervalMs); // 2000 10000
 * ```
 */
export function healthTargets(
  input: HealthTargetInput,
  tls: UpstreamTls | null = null,
): HealthTarget[] {
  const c = input.config;
  const intervalMs = c.health_check_frequency_seconds * 1000;
  return input.backends.map((b) => ({
    address: b.address,
    probe: {
      host: b.host,
      port: b.port,
      type: c.health_check_type,
      path: c.health_endpoint,
      expectedStatus: c.health_endpoint_expected_code,
      timeoutMs: c.health_check_timeout_seconds * 1000,
      ...(tls === null ? {} : { tls: tlsConnectOptions(tls, b.host) }),
      ...(c.protocol === "h2" ? { h2: true } : {}),
    },
    intervalMs,
  }));
}
