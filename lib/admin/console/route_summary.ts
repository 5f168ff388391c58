/**
 * One-line summaries of a stored route, for the console's read-only listener view: what it
 * matches and what it does. Read leniently (a stored blob may be invalid) and pure, so the browser
 * bundle and tests share it.
 *
 * @module
 */

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function valueCondition(c: unknown): string {
  if (!isObject(c)) return "?";
  const name = String(c.name);
  if (c.present === true) return `${name} present`;
  if (typeof c.exact === "string") return `${name}=${c.exact}`;
  if (Array.isArray(c.one_of)) return `${name} in [${c.one_of.join(", ")}]`;
  return name;
}

/**
 * What a route matches: `host shop.example.com, path prefix /cart, methods GET|POST, header
 * cookie present`, or `everything`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeMatch } from "./route_summary.ts";
 * assert.equal(
 *   describeMatch({ match: { host: "a.example.com", path: { template: "/u/:id" } } }),
 *   "host a.example.com, path template /u/:id",
 * );
 * ```
 */
export function describeMatch(route: unknown): string {
  const m = isObject(route) && isObject(route.match) ? route.match : {};
  const parts: string[] = [];
  if (typeof m.host === "string") parts.push(`host ${m.host}`);
  if (isObject(m.path)) {
    for (const kind of ["exact", "prefix", "template"]) {
      if (typeof m.path[kind] === "string") parts.push(`path ${kind} ${m.path[kind]}`);
    }
  }
  if (Array.isArray(m.methods)) parts.push(`methods ${m.methods.join("|")}`);
  if (Array.isArray(m.headers)) {
    for (const c of m.headers) parts.push(`header ${valueCondition(c)}`);
  }
  if (Array.isArray(m.query)) { for (const c of m.query) parts.push(`query ${valueCondition(c)}`); }
  return parts.length ? parts.join(", ") : "everything";
}

/**
 * What a route does: `forward to api`, `split api-v1 95, api-v2 5`, `redirect 301 to https://…`,
 * `direct response 410`, plus `, mirror 5% to shadow`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeAction } from "./route_summary.ts";
 * assert.equal(describeAction({ forward: { group: "api" } }), "forward to api");
 * ```
 */
export function describeAction(route: unknown): string {
  if (!isObject(route)) return "?";
  let text = "no action";
  if (isObject(route.forward)) text = `forward to ${route.forward.group}`;
  else if (Array.isArray(route.split)) {
    text = `split ${
      route.split.map((s) => isObject(s) ? `${s.group} ${s.weight}` : "?").join(", ")
    }`;
  } else if (isObject(route.redirect)) {
    const r = route.redirect;
    const to = [
      typeof r.scheme === "string" ? `${r.scheme}://` : "",
      typeof r.host === "string" ? r.host : "",
      typeof r.path === "string" ? r.path : "",
    ].join("");
    text = `redirect ${r.status}${to ? ` to ${to}` : ""}`;
  } else if (isObject(route.direct_response)) {
    text = `direct response ${route.direct_response.status}`;
  }
  if (isObject(route.mirror)) {
    text += `, mirror ${route.mirror.percent}% to ${route.mirror.group}`;
  }
  return text;
}
