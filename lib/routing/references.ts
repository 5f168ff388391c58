/**
 * Which groups a listener's routes send traffic to (forward, split, mirror), read leniently from
 * the stored blob: a blob written around the admin API may be invalid, and the proxies may still
 * serve the last good version of it, so a group it names is in use all the same. The admin API
 * refuses to delete a group while a route names it, and conditions a listener write on the
 * versions of the groups it names. Pure: no I/O.
 *
 * @module
 */

/** One place where a route names a group. */
export interface GroupReference {
  /** The route's name (`#<index>` when it has none). */
  readonly route: string;
  /** The route's position in the config. */
  readonly index: number;
  /** The field naming the group, e.g. `routes[1].split[0].group`. */
  readonly field: string;
  readonly group: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function groupOf(v: unknown): string | null {
  return isObject(v) && typeof v.group === "string" ? v.group : null;
}

/**
 * Every group a listener config's routes name, in config order.
 *
 * @param config the listener's stored blob (anything: unknown shapes name no group)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupReferences } from "./references.ts";
 * const refs = groupReferences({
 *   routes: [
 *     { name: "api", forward: { group: "api" }, mirror: { group: "shadow", percent: 5 } },
 *     { name: "web", split: [{ group: "web-v1", weight: 95 }, { group: "web-v2", weight: 5 }] },
 *   ],
 * });
 * assert.deepEqual(refs.map((r) => `${r.route}:${r.group}`), [
 *   "api:api", "api:shadow", "web:web-v1", "web:web-v2",
 * ]);
 * ```
 */
export function groupReferences(config: unknown): GroupReference[] {
  const out: GroupReference[] = [];
  if (!isObject(config) || !Array.isArray(config.routes)) return out;
  config.routes.forEach((r: unknown, index) => {
    if (!isObject(r)) return;
    const route = typeof r.name === "string" ? r.name : `#${index}`;
    const at = `routes[${index}]`;
    const forward = groupOf(r.forward);
    if (forward !== null) out.push({ route, index, field: `${at}.forward.group`, group: forward });
    if (Array.isArray(r.split)) {
      r.split.forEach((s: unknown, j) => {
        const group = groupOf(s);
        if (group !== null) out.push({ route, index, field: `${at}.split[${j}].group`, group });
      });
    }
    const mirror = groupOf(r.mirror);
    if (mirror !== null) out.push({ route, index, field: `${at}.mirror.group`, group: mirror });
  });
  return out;
}
