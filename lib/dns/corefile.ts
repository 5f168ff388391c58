/**
 * Generates the CoreDNS Corefile for Switchyard's discovery layer from a typed description.
 *
 * Layout (one zone, one port):
 *
 * - one server block per region, first, each selected by the `view` plugin with
 *   `expr incidr(client_ip(), '<cidr>') || ...`; its `etcd` plugin reads the region's own tree
 *   (`<prefix>-region-<region>`, one path segment like the prefix, so CoreDNS names SRV targets
 *   `lb1.<zone>` there too: see `regionPath` in `skydns.ts`) with `fallthrough`, and the next plugin,
 *   `forward`, sends what the region cannot answer (no live instance there: NXDOMAIN) to this
 *   same CoreDNS over loopback (`127.0.0.1:<port>`). Loopback is in no region's CIDRs (checked),
 *   so that query lands in
 * - the default block, last, with no view: the global tree (`<prefix>`), which every instance
 *   registers in. It also carries health, ready and reload (process-wide plugins).
 *
 * Server blocks of one zone and port are tried top to bottom and the first whose view matches
 * answers, so regions come first and the default block catches everyone else. Overlapping
 * region CIDRs are rejected: the first block would silently win.
 *
 * Pure: no I/O, no runtime globals.
 *
 * @module
 */
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  parseCidr,
  parseIp,
  unmapCidr,
  unmapIp,
} from "./ip.ts";
import type { Cidr } from "./ip.ts";
import {
  normalizePrefix,
  normalizeZone,
  regionPath,
  SkyDnsError,
  validateRegion,
} from "./skydns.ts";

/** A client region: the CIDRs whose queries get that region's answers. */
export interface RegionSpec {
  /** Region name, a DNS label (`eu`, `us-east`); also the view name and etcd path segment. */
  readonly name: string;
  /** Client source CIDRs (IPv4 or IPv6), e.g. `198.18.1.0/24`. Host bits must be zero. */
  readonly cidrs: readonly string[];
}

/** The typed description a Corefile is generated from. */
export interface CorefileSpec {
  /** The zone served, e.g. `example.com` (answers for `api.example.com` and below). */
  readonly zone: string;
  /** etcd client URLs, e.g. `["http://127.0.0.1:2379"]`. */
  readonly etcdEndpoints: readonly string[];
  /** etcd path prefix (default `/skydns`). */
  readonly pathPrefix?: string;
  /** DNS port (default 53). */
  readonly port?: number;
  /**
   * Addresses to listen on (the `bind` plugin). Default: all addresses. With regions, the
   * fallback address is added when missing, as regions forward their fallback there.
   */
  readonly bind?: readonly string[];
  /** Seconds answers may be cached (the `cache` plugin's max TTL); 0 disables the cache. */
  readonly cacheTtl: number;
  /** `host:port` of the health endpoint (`/health`); omitted: no health plugin. */
  readonly health?: string;
  /** `host:port` of the readiness endpoint (`/ready`); omitted: no ready plugin. */
  readonly ready?: string;
  /** `host:port` of the Prometheus metrics endpoint; omitted: no metrics. */
  readonly prometheus?: string;
  /** Log every query (the `log` plugin). Default false. Errors are always logged. */
  readonly log?: boolean;
  /** Shuffle multi-record answers (`loadbalance round_robin`). Default true. */
  readonly loadbalance?: boolean;
  /** Re-read the Corefile when it changes, checked at this interval (e.g. `"5s"`; min 2s). */
  readonly reload?: string;
  /** Lower bound on the TTL of records written under an etcd lease (CoreDNS default 30 s). */
  readonly minLeaseTtl?: number;
  /** Upper bound on the TTL of records written under an etcd lease (CoreDNS default 1 day). */
  readonly maxLeaseTtl?: number;
  /** Client regions; each gets a server block. Default none: the default block answers all. */
  readonly regions?: readonly RegionSpec[];
  /**
   * Where regions send queries they cannot answer: this CoreDNS's own default block, reached on
   * this loopback address and `port`. Default `127.0.0.1`. Must not be in any region's CIDRs.
   */
  readonly fallbackAddress?: string;
}

/** Raised for an invalid spec; `issues` lists every problem found. */
export class CorefileError extends Error {
  override name = "CorefileError";
  constructor(readonly issues: readonly string[]) {
    super(`invalid Corefile spec:\n  - ${issues.join("\n  - ")}`);
  }
}

/** Default capacity of the cache plugin (256 shards x 39 items). */
const CACHE_CAPACITY = 9984;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)|(localhost)):(\d{1,5})$/;

function checkHostPort(field: string, value: string | undefined, issues: string[]): void {
  if (value === undefined) return;
  const match = HOST_PORT.exec(value);
  const host = match?.[1] ?? match?.[2] ?? match?.[3];
  const port = Number(match?.[4]);
  if (!match || (host !== "localhost" && !parseIp(host as string)) || port < 1 || port > 65535) {
    issues.push(`${field} "${value}" must be IP:port (e.g. 127.0.0.1:18053)`);
  }
}

function checkEndpoint(url: string, issues: string[]): void {
  const match = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    issues.push(`etcd endpoint "${url}" must be http(s)://host:port`);
  }
}

function checkSeconds(field: string, value: number | undefined, issues: string[]): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    issues.push(`${field} must be a whole number of seconds >= 0, got ${value}`);
  }
}

interface CheckedRegion {
  readonly name: string;
  readonly cidrs: readonly Cidr[];
}

/** Validates a spec; throws {@link CorefileError} listing every problem. */
export function validateCorefileSpec(spec: CorefileSpec): void {
  checkedRegions(spec);
}

function checkedRegions(spec: CorefileSpec): CheckedRegion[] {
  const issues: string[] = [];
  const tryIt = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof SkyDnsError) issues.push(err.message);
      else throw err;
    }
  };
  tryIt(() => normalizeZone(spec.zone));
  tryIt(() => normalizePrefix(spec.pathPrefix));
  if (spec.etcdEndpoints.length === 0) issues.push("etcdEndpoints must list at least one URL");
  for (const url of spec.etcdEndpoints) checkEndpoint(url, issues);
  const port = spec.port ?? 53;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    issues.push(`port must be 1-65535, got ${port}`);
  }
  for (const address of spec.bind ?? []) {
    if (!parseIp(address)) issues.push(`bind address "${address}" is not an IP address`);
  }
  if (spec.bind !== undefined && spec.bind.length === 0) {
    issues.push("bind must list at least one address (omit it to listen on all)");
  }
  checkSeconds("cacheTtl", spec.cacheTtl, issues);
  checkSeconds("minLeaseTtl", spec.minLeaseTtl, issues);
  checkSeconds("maxLeaseTtl", spec.maxLeaseTtl, issues);
  const whole = (v: number | undefined): v is number => Number.isInteger(v) && (v as number) >= 0;
  if (whole(spec.minLeaseTtl) && whole(spec.maxLeaseTtl) && spec.minLeaseTtl > spec.maxLeaseTtl) {
    issues.push("minLeaseTtl must not exceed maxLeaseTtl");
  }
  checkHostPort("health", spec.health, issues);
  checkHostPort("ready", spec.ready, issues);
  checkHostPort("prometheus", spec.prometheus, issues);
  if (spec.reload !== undefined && !DURATION.test(spec.reload)) {
    issues.push(`reload "${spec.reload}" must be a Go duration such as 5s`);
  }
  const fallbackText = spec.fallbackAddress ?? "127.0.0.1";
  const fallbackIp = parseIp(fallbackText);
  // Compared as CoreDNS compares: IPv4-mapped IPv6 forms match IPv4 clients.
  const fallback = fallbackIp && unmapIp(fallbackIp);
  if (!fallback) issues.push(`fallbackAddress "${fallbackText}" is not an IP address`);

  const regions: CheckedRegion[] = [];
  const seen = new Set<string>();
  for (const region of spec.regions ?? []) {
    tryIt(() => validateRegion(region.name));
    if (seen.has(region.name)) issues.push(`region "${region.name}" is listed twice`);
    seen.add(region.name);
    if (region.cidrs.length === 0) issues.push(`region "${region.name}" has no CIDRs`);
    const cidrs: Cidr[] = [];
    for (const text of region.cidrs) {
      const cidr = parseCidr(text);
      if (typeof cidr === "string") {
        issues.push(`region "${region.name}": ${cidr}`);
        continue;
      }
      if (fallback && cidrContains(unmapCidr(cidr), fallback)) {
        issues.push(
          `region "${region.name}": ${text} contains the fallback address ${fallbackText}: ` +
            "its fallback queries would loop back into the region",
        );
      }
      cidrs.push(cidr);
    }
    for (const other of regions) {
      for (const a of cidrs) {
        for (const b of other.cidrs) {
          if (cidrsOverlap(unmapCidr(a), unmapCidr(b))) {
            issues.push(
              `regions "${other.name}" and "${region.name}" overlap (${formatCidr(b)}, ` +
                `${formatCidr(a)}): a client must map to one region`,
            );
          }
        }
      }
    }
    regions.push({ name: region.name, cidrs });
  }
  if (issues.length > 0) throw new CorefileError(issues);
  return regions;
}

/** The `view` expression selecting a region's clients. */
export function viewExpression(cidrs: readonly string[]): string {
  return cidrs.map((cidr) => `incidr(client_ip(), '${cidr}')`).join(" || ");
}

/**
 * Renders the Corefile. Throws {@link CorefileError} when the spec is invalid.
 *
 * @example
 * ```ts
 * import { renderCorefile } from "./corefile.ts";
 * const text = renderCorefile({
 *   zone: "example.com",
 *   etcdEndpoints: ["http://127.0.0.1:2379"],
 *   port: 1053,
 *   cacheTtl: 2,
 *   regions: [{ name: "r1", cidrs: ["198.18.1.0/24"] }],
 * });
 * ```
 */
export function renderCorefile(spec: CorefileSpec): string {
  const regions = checkedRegions(spec);
  const zone = normalizeZone(spec.zone);
  const prefix = normalizePrefix(spec.pathPrefix);
  const port = spec.port ?? 53;
  const fallback = spec.fallbackAddress ?? "127.0.0.1";
  let bind = spec.bind;
  if (bind !== undefined && regions.length > 0 && !bind.includes(fallback)) {
    bind = [...bind, fallback];
  }
  const fallbackTarget = fallback.includes(":") ? `[${fallback}]:${port}` : `${fallback}:${port}`;

  const common = (lines: string[]): void => {
    if (bind !== undefined) lines.push(`    bind ${bind.join(" ")}`);
    lines.push("    errors");
    if (spec.log) lines.push("    log");
    if (spec.prometheus !== undefined) lines.push(`    prometheus ${spec.prometheus}`);
    if (spec.cacheTtl > 0) {
      // MINTTL 0 (default 5): an answer is never cached longer than its remaining TTL, so a
      // region's cached copy of a fallback answer expires with the default block's copy and
      // the cache TTL stays the bound on staleness.
      const ttl = spec.cacheTtl;
      lines.push(`    cache ${ttl} {`);
      lines.push(`        success ${CACHE_CAPACITY} ${ttl} 0`);
      lines.push(`        denial ${CACHE_CAPACITY} ${ttl} 0`);
      lines.push("    }");
    }
    if (spec.loadbalance ?? true) lines.push("    loadbalance round_robin");
  };
  const etcd = (lines: string[], path: string, fallthrough: boolean): void => {
    lines.push(`    etcd ${zone} {`);
    lines.push(`        path ${path}`);
    lines.push(`        endpoint ${spec.etcdEndpoints.join(" ")}`);
    if (spec.minLeaseTtl !== undefined) lines.push(`        min-lease-ttl ${spec.minLeaseTtl}`);
    if (spec.maxLeaseTtl !== undefined) lines.push(`        max-lease-ttl ${spec.maxLeaseTtl}`);
    if (fallthrough) lines.push("        fallthrough");
    lines.push("    }");
  };

  const out: string[] = [
    "# Generated by Switchyard (lib/dns/corefile.ts). Do not edit: regenerate.",
    `# Zone ${zone} from etcd ${spec.etcdEndpoints.join(", ")}, path prefix ${prefix}.`,
  ];
  if (regions.length > 0) {
    out.push(
      "# Region blocks come first (the first block whose view matches answers); a region with",
      `# no records falls through to forward, which asks the default block on ${fallbackTarget}.`,
    );
  }
  for (const region of regions) {
    const cidrs = region.cidrs.map(formatCidr);
    out.push("", `# Region ${region.name}: clients in ${cidrs.join(", ")}`, `${zone}:${port} {`);
    out.push(`    view ${region.name} {`, `        expr ${viewExpression(cidrs)}`, "    }");
    common(out);
    etcd(out, regionPath(region.name, prefix), true);
    out.push(`    forward . ${fallbackTarget} {`, "        max_fails 0", "    }", "}");
  }
  out.push("", "# Default: every other client, and the regions' fallback", `${zone}:${port} {`);
  if (spec.health !== undefined) out.push(`    health ${spec.health}`);
  if (spec.ready !== undefined) out.push(`    ready ${spec.ready}`);
  if (spec.reload !== undefined) out.push(`    reload ${spec.reload}`);
  common(out);
  etcd(out, prefix, false);
  out.push("}", "");
  return out.join("\n");
}
