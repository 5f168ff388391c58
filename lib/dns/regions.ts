/**
 * The operator's map of client networks to regions, from a flag
 * (`us=198.18.1.0/24,198.18.3.0/24;eu=198.18.2.0/24`) or a JSON file, validated: region names
 * are DNS labels, CIDRs are exact (no host bits), no CIDR is in two regions. The Corefile
 * generator (`corefile.ts`) turns it into one `view` block per region.
 *
 * Pure: no I/O, no runtime globals.
 *
 * @module
 */
import type { RegionSpec } from "./corefile.ts";
import { cidrsOverlap, formatCidr, parseCidr, unmapCidr } from "./ip.ts";
import type { Cidr } from "./ip.ts";
import { validateRegion } from "./skydns.ts";

/** Raised for an invalid region map; `issues` lists every problem. */
export class RegionsError extends Error {
  override name = "RegionsError";
  constructor(readonly issues: readonly string[]) {
    super(issues.join("; "));
  }
}

/**
 * Validates regions and returns them with canonical CIDRs, in the given order. Throws
 * {@link RegionsError} listing every problem (bad name, bad CIDR, a region twice, overlaps).
 */
export function validateRegions(regions: readonly RegionSpec[]): RegionSpec[] {
  const issues: string[] = [];
  const seen = new Map<string, Cidr[]>();
  const out: RegionSpec[] = [];
  for (const region of regions) {
    try {
      validateRegion(region.name);
    } catch (e) {
      issues.push((e as Error).message);
    }
    if (seen.has(region.name)) issues.push(`region "${region.name}" is listed twice`);
    if (region.cidrs.length === 0) issues.push(`region "${region.name}" has no CIDRs`);
    const cidrs: Cidr[] = [];
    for (const text of region.cidrs) {
      const cidr = parseCidr(text);
      if (typeof cidr === "string") issues.push(`region "${region.name}": ${cidr}`);
      else cidrs.push(cidr);
    }
    for (const [other, otherCidrs] of seen) {
      for (const a of cidrs) {
        for (const b of otherCidrs) {
          if (cidrsOverlap(unmapCidr(a), unmapCidr(b))) {
            issues.push(
              `regions "${other}" and "${region.name}" overlap (${formatCidr(b)}, ${
                formatCidr(a)
              })`,
            );
          }
        }
      }
    }
    seen.set(region.name, [...(seen.get(region.name) ?? []), ...cidrs]);
    out.push({ name: region.name, cidrs: cidrs.map(formatCidr) });
  }
  if (issues.length > 0) throw new RegionsError(issues);
  return out;
}

/**
 * Parses the `--regions` flag: `NAME=CIDR[,CIDR...]` entries separated by `;` (spaces around
 * the separators are ignored). An empty string is no regions.
 *
 * @example
 * ```ts
 * import { parseRegionsFlag } from "./regions.ts";
 * parseRegionsFlag("us=198.18.1.0/24,198.18.3.0/24;eu=198.18.2.0/24");
 * // [{ name: "us", cidrs: ["198.18.1.0/24", "198.18.3.0/24"] },
 * //  { name: "eu", cidrs: ["198.18.2.0/24"] }]
 * ```
 */
export function parseRegionsFlag(text: string): RegionSpec[] {
  const regions: RegionSpec[] = [];
  const issues: string[] = [];
  for (const entry of text.split(";").map((e) => e.trim()).filter((e) => e !== "")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) {
      issues.push(`"${entry}" must be NAME=CIDR[,CIDR...]`);
      continue;
    }
    const name = entry.slice(0, eq).trim();
    const cidrs = entry.slice(eq + 1).split(",").map((c) => c.trim()).filter((c) => c !== "");
    regions.push({ name, cidrs });
  }
  if (issues.length > 0) throw new RegionsError(issues);
  return validateRegions(regions);
}

/**
 * Parses a regions file: a JSON object `{"us": ["198.18.1.0/24"], "eu": [...]}` or an array
 * `[{"name": "us", "cidrs": ["198.18.1.0/24"]}, ...]` (the Corefile spec's `regions`).
 */
export function parseRegionsJson(text: string): RegionSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RegionsError([`not JSON: ${(e as Error).message}`]);
  }
  const regions: RegionSpec[] = [];
  const isStrings = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((c) => typeof c === "string");
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const r = item as { name?: unknown; cidrs?: unknown } | null;
      if (typeof r?.name !== "string" || !isStrings(r.cidrs)) {
        throw new RegionsError([`[${i}] must be {"name": "...", "cidrs": ["..."]}`]);
      }
      regions.push({ name: r.name, cidrs: r.cidrs });
    }
  } else if (typeof value === "object" && value !== null) {
    for (const [name, cidrs] of Object.entries(value)) {
      if (!isStrings(cidrs)) throw new RegionsError([`"${name}" must map to a list of CIDRs`]);
      regions.push({ name, cidrs });
    }
  } else {
    throw new RegionsError(["must be an object (region -> CIDRs) or a list of {name, cidrs}"]);
  }
  return validateRegions(regions);
}
