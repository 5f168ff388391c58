/**
 * Prometheus file-based service discovery for the whole Switchyard fleet: from the proxies'
 * registrations (`/switchyard/proxies/<group>/<id>`) and the other roles' instance
 * registrations (`/switchyard/instances/<role>/<id>`), the target files Prometheus reads
 * (`file_sd_configs`, one file per role: `<role>.json`). Pure: registrations in, file texts out.
 *
 * Every target carries the labels `role` and `instance_id`; proxies add `proxy_group` (not
 * `group`: the proxies' own series carry `group`, and a target label of the same name would
 * push theirs to `exported_group`), and `region` when they have one. The `instance` label stays
 * Prometheus's default, the admin `host:port`, which is also what the registrations say: the
 * autoscaler joins Prometheus's answers to the fleet by it.
 *
 * @module
 */

/** The roles whose target files always exist (empty when none runs), so Prometheus's config
 * can name them all. Other roles found registered get a file too. */
export const KNOWN_ROLES = ["proxy", "admin", "orchestrator", "dns", "autoscaler"] as const;

/** One scrape target. */
export interface ScrapeTarget {
  readonly role: string;
  readonly id: string;
  /** `host:port` of the admin listener. */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A Prometheus file_sd target group. */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

const UNSPECIFIED = new Set(["0.0.0.0", "::", "[::]", "*", ""]);
const LABEL_VALUE_MAX = 128;

function hostOf(hostPort: string): string | null {
  const i = hostPort.lastIndexOf(":");
  return i <= 0 ? null : hostPort.slice(0, i);
}

/**
 * The address to scrape: the admin `host:port`, with an unspecified host (`0.0.0.0`, `::`)
 * replaced by the host of `fallback` (a proxy's advertised address). Null when unusable.
 */
export function scrapeAddress(admin: unknown, fallback?: unknown): string | null {
  if (typeof admin !== "string") return null;
  const m = /^(.*):(\d{1,5})$/.exec(admin);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return null;
  if (!UNSPECIFIED.has(m[1]!)) return admin;
  const host = typeof fallback === "string" ? hostOf(fallback) : null;
  return host !== null && !UNSPECIFIED.has(host) ? `${host}:${m[2]}` : null;
}

function parseJson(data: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(data));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

function label(v: unknown): string | null {
  return typeof v === "string" && v !== "" && v.length <= LABEL_VALUE_MAX ? v : null;
}

/** The target of a proxy registration (null: no usable admin address). */
export function proxyTarget(group: string, id: string, data: Uint8Array): ScrapeTarget | null {
  const reg = parseJson(data);
  if (reg === null) return null;
  const address = scrapeAddress(reg.admin, reg.address);
  if (address === null) return null;
  const labels: Record<string, string> = { role: "proxy", instance_id: id, proxy_group: group };
  const region = label(reg.region);
  if (region !== null) labels.region = region;
  return { role: "proxy", id, address, labels };
}

/** The target of an instance registration (null: no usable admin address). */
export function instanceTarget(role: string, id: string, data: Uint8Array): ScrapeTarget | null {
  const reg = parseJson(data);
  if (reg === null) return null;
  const address = scrapeAddress(reg.admin);
  if (address === null) return null;
  const labels: Record<string, string> = { role, instance_id: id };
  const region = label(reg.region);
  if (region !== null) labels.region = region;
  return { role, id, address, labels };
}

/**
 * The target files: role -> JSON text (a file per known role, even empty, plus one per other
 * role seen). Deterministic (sorted), so an unchanged fleet renders byte-identical files. Two
 * registrations with the same address (one proxy re-registered under a new id, say) are
 * scraped once.
 *
 * @example
 * ```ts
 * import { renderTargetFiles } from "./file_sd.ts";
 * const files = renderTargetFiles([
 *   { role: "proxy", id: "p1", address: "127.0.0.1:9090", labels: { role: "proxy" } },
 * ]);
 * console.log(JSON.parse(files.get("proxy")!)[0].targets); // ["127.0.0.1:9090"]
 * console.log(files.get("dns")); // "[]\n"
 * ```
 */
export function renderTargetFiles(targets: readonly ScrapeTarget[]): Map<string, string> {
  const byRole = new Map<string, ScrapeTarget[]>();
  for (const r of KNOWN_ROLES) byRole.set(r, []);
  for (const t of targets) {
    const list = byRole.get(t.role) ?? [];
    byRole.set(t.role, list);
    list.push(t);
  }
  const out = new Map<string, string>();
  for (const [role, list] of [...byRole].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const seen = new Set<string>();
    const groups: TargetGroup[] = [];
    for (
      const t of [...list].sort((a, b) =>
        a.address < b.address ? -1 : a.address > b.address ? 1 : a.id < b.id ? -1 : 1
      )
    ) {
      if (seen.has(t.address)) continue;
      seen.add(t.address);
      const labels = Object.fromEntries(Object.entries(t.labels).sort());
      groups.push({ targets: [t.address], labels });
    }
    out.set(role, JSON.stringify(groups, null, 2) + "\n");
  }
  return out;
}
