/**
 * Probe targets from group configs: what the orchestrator probes, and how.
 *
 * A target is one (group, backend) pair with its group's probe settings. The same backend in two
 * groups is two targets (their endpoints, intervals and thresholds may differ, and health is kept
 * per group). {@linkcode ConfigBook} keeps the last good config of every group: an invalid blob is
 * reported and skipped, the group keeps its last good targets.
 *
 * Pure: no I/O, no clock.
 *
 * @module
 */
import { parseHostPort } from "../config/address.ts";
import {
  type ConfigIssue,
  formatIssues,
  type GroupConfig,
  validateGroupConfig,
} from "../config/schema.ts";
import type { UpstreamTlsConfig } from "../tls/upstream_tls.ts";

/** How a group's backends are probed (what the master hands to workers). */
export interface ProbeSettings {
  /** `http`: GET `path`, expect `expectedStatus`; `tcp`: a connect is enough. */
  readonly type: "http" | "tcp";
  readonly path: string;
  readonly expectedStatus: number;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** Consecutive successes that make an unhealthy backend healthy (`healthy_threshold`). */
  readonly rise: number;
  /** Consecutive failures that make a healthy backend unhealthy (`unhealthy_threshold`). */
  readonly fall: number;
  /**
   * Probe over TLS (the group's `tls`, present only when enabled); the worker
   * reads `ca_file` on its own machine.
   */
  readonly tls?: UpstreamTlsConfig;
  /** The group's `protocol` when it is `h2`: probe over HTTP/2 (lib/health/h2_probe.ts). */
  readonly protocol?: "h2";
}

/** One (group, backend) pair to probe. */
export interface Target {
  /** `group/address`: the rendezvous key and the map key everywhere. */
  readonly key: string;
  readonly group: string;
  /** Canonical `host:port` (the health node's name). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly settings: ProbeSettings;
}

/**
 * The key of a target. Group names and addresses never contain `/`, so it is unambiguous.
 *
 * @example
 * ```ts
 * import { splitTargetKey, targetKey } from "./targets.ts";
 * console.log(targetKey("g", "10.0.0.1:80")); // "g/10.0.0.1:80"
 * console.log(splitTargetKey("g/10.0.0.1:80")); // ["g", "10.0.0.1:80"]
 * ```
 */
export function targetKey(group: string, address: string): string {
  return `${group}/${address}`;
}

/** Inverse of {@linkcode targetKey}. */
export function splitTargetKey(key: string): [group: string, address: string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}

/** The probe settings of a validated group config. */
export function probeSettings(config: GroupConfig): ProbeSettings {
  return {
    type: config.health_check_type,
    path: config.health_endpoint,
    expectedStatus: config.health_endpoint_expected_code,
    timeoutMs: Math.round(config.health_check_timeout_seconds * 1000),
    intervalMs: Math.round(config.health_check_frequency_seconds * 1000),
    rise: config.healthy_threshold,
    fall: config.unhealthy_threshold,
    ...(config.tls?.enabled === true ? { tls: config.tls } : {}),
    ...(config.protocol === "h2" ? { protocol: "h2" as const } : {}),
  };
}

/** Whether two settings are the same. */
export function sameSettings(a: ProbeSettings, b: ProbeSettings): boolean {
  return a.type === b.type && a.path === b.path && a.expectedStatus === b.expectedStatus &&
    a.timeoutMs === b.timeoutMs && a.intervalMs === b.intervalMs && a.rise === b.rise &&
    a.fall === b.fall && a.tls?.enabled === b.tls?.enabled &&
    a.tls?.server_name === b.tls?.server_name && a.tls?.ca_file === b.tls?.ca_file &&
    a.tls?.verify === b.tls?.verify && a.protocol === b.protocol;
}

/**
 * Builds a target, or undefined when the address is not `host:port` (never the case for an
 * address that came out of a validated config).
 */
export function makeTarget(
  group: string,
  address: string,
  settings: ProbeSettings,
): Target | undefined {
  const hp = parseHostPort(address);
  if (typeof hp === "string") return undefined;
  return { key: targetKey(group, address), group, address, host: hp.host, port: hp.port, settings };
}

/**
 * Every target of a set of group configs, sorted by key.
 *
 * @example
 * ```ts
 * import { extractTargets } from "./targets.ts";
 * import { validateGroupConfig } from "../config/schema.ts";
 * const r = validateGroupConfig("g", { backend_servers: ["10.0.0.1:80", "10.0.0.2:80"] });
 * if (r.ok) console.log(extractTargets(new Map([["g", r.value]])).map((t) => t.key));
 * // ["g/10.0.0.1:80", "g/10.0.0.2:80"]
 * ```
 */
export function extractTargets(configs: ReadonlyMap<string, GroupConfig>): Target[] {
  const out: Target[] = [];
  for (const [group, config] of configs) {
    const settings = probeSettings(config);
    for (const b of config.backend_servers) {
      out.push({
        key: targetKey(group, b.address),
        group,
        address: b.address,
        host: b.host,
        port: b.port,
        settings,
      });
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** What applying one group's blob did. */
export type ConfigUpdate =
  | { readonly kind: "applied"; readonly changed: boolean }
  | { readonly kind: "removed"; readonly changed: boolean }
  | {
    readonly kind: "rejected";
    /** One line per issue, for the log. */
    readonly reason: string;
    readonly issues: readonly ConfigIssue[];
    /** Whether a last good config is still in force. */
    readonly keptLastGood: boolean;
  };

/**
 * The last good config of every group, fed with raw blobs as a watch delivers them.
 *
 * @example
 * ```ts
 * import { ConfigBook } from "./targets.ts";
 * const book = new ConfigBook();
 * const enc = (s: string) => new TextEncoder().encode(s);
 * book.apply("g", enc('{"backend_servers":["10.0.0.1:80"]}'));
 * const bad = book.apply("g", enc('{"backend_servers":"oops"}'));
 * console.log(bad.kind, book.configs().get("g")?.backend_servers.length); // rejected 1
 * ```
 */
export class ConfigBook {
  readonly #configs = new Map<string, GroupConfig>();
  readonly #raw = new Map<string, string>();

  /**
   * Applies a group's blob (`null`: the node is gone, the group is dropped).
   *
   * @param group the group name (the node's name)
   * @param data the node's bytes, or null when it was deleted
   * @returns what happened
   */
  apply(group: string, data: Uint8Array | null): ConfigUpdate {
    if (data === null) {
      const had = this.#configs.delete(group);
      this.#raw.delete(group);
      return { kind: "removed", changed: had };
    }
    const text = new TextDecoder().decode(data);
    if (this.#raw.get(group) === text && this.#configs.has(group)) {
      return { kind: "applied", changed: false };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const issues = [{ group, field: "", reason: `invalid JSON: ${(e as Error).message}` }];
      return this.#rejected(group, issues);
    }
    const r = validateGroupConfig(group, value);
    if (!r.ok) return this.#rejected(group, r.issues);
    const before = this.#configs.get(group);
    this.#configs.set(group, r.value);
    this.#raw.set(group, text);
    const changed = before === undefined ||
      JSON.stringify(targetShape(before)) !== JSON.stringify(targetShape(r.value));
    return { kind: "applied", changed };
  }

  /** Drops every group not in `groups` (the config root's children). */
  retain(groups: Iterable<string>): string[] {
    const keep = new Set(groups);
    const dropped: string[] = [];
    for (const g of [...this.#configs.keys()]) {
      if (!keep.has(g)) {
        this.#configs.delete(g);
        this.#raw.delete(g);
        dropped.push(g);
      }
    }
    return dropped;
  }

  /** The groups with a good config. */
  configs(): ReadonlyMap<string, GroupConfig> {
    return this.#configs;
  }

  /** Every target of every group with a good config. */
  targets(): Target[] {
    return extractTargets(this.#configs);
  }

  #rejected(group: string, issues: readonly ConfigIssue[]): ConfigUpdate {
    return {
      kind: "rejected",
      reason: formatIssues(issues),
      issues,
      keptLastGood: this.#configs.has(group),
    };
  }
}

/** The part of a config that decides targets and probing (a change elsewhere is no change). */
function targetShape(c: GroupConfig): unknown {
  return [probeSettings(c), c.backend_servers.map((b) => b.address)];
}
