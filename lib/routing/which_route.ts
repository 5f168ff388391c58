/**
 * "Which route?": what a listener would do with a request, from its live config and the live
 * health of the groups involved. The admin API (`POST /api/listeners/:listener/route-test`),
 * `ctl route-test` and the console's box all show this answer: the route (or the default route,
 * or none: the proxy's 404), its action (the group; each group of a split with its weight and
 * share; a redirect's Location; a direct response's status), the template parameters, and for
 * every group involved its backends and whether each may be picked now. Pure: the caller reads
 * the configs and health; this decides with the same compiled matcher the proxies use.
 *
 * @module
 */
import { redirectLocation } from "./redirect.ts";
import { compileRoutes, type RouteRequest } from "./matcher.ts";
import { groupRefs, type ListenerConfig, type Route } from "./schema.ts";

/** A request to test, as a client would send it. */
export interface TestRequest {
  readonly method: string;
  /** Absolute URL: `https://shop.example.com/cart?id=1`. */
  readonly url: string;
  /** Request headers by name (any case). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A backend as configured, with the orchestrator's verdict. */
export interface BackendState {
  readonly address: string;
  readonly weight: number;
  readonly drain: boolean;
  /** The orchestrator holds it unhealthy (`/switchyard/health/<group>/<address>` exists). */
  readonly unhealthy: boolean;
}

/** A group as the admin reads it: null when `/lb-configs/<group>` does not exist. */
export type GroupState = { readonly backends: readonly BackendState[] } | null;

/** One backend in the answer. */
export interface BackendAnswer extends BackendState {
  /** May be picked for this request now: not draining, weight above 0, not unhealthy. */
  readonly usable: boolean;
}

/** One group the request could go to (or is mirrored to). */
export interface GroupAnswer {
  readonly group: string;
  /** `/lb-configs/<group>` exists. */
  readonly exists: boolean;
  readonly backends: readonly BackendAnswer[];
  /** The addresses that may be picked now. */
  readonly usable: readonly string[];
}

/** What the route does. */
export type ActionAnswer =
  | { readonly type: "forward"; readonly group: string }
  | {
    readonly type: "split";
    /** `share` is the weight's fraction of the total (0..1). */
    readonly groups: readonly { group: string; weight: number; share: number }[];
  }
  | { readonly type: "redirect"; readonly status: number; readonly location: string }
  | { readonly type: "direct_response"; readonly status: number };

/** The answer. */
export interface RouteAnswer {
  /** The request as matched: host (normalized by the matcher), path and query. */
  readonly request: {
    readonly method: string;
    readonly host: string;
    readonly path: string;
    readonly query: string;
  };
  /** The route taken; null when none matches and there is no default route. */
  readonly route:
    | { readonly name: string; readonly index: number; readonly default: boolean }
    | null;
  /** 404 when no route is taken (what the proxy answers), else absent. */
  readonly status?: 404;
  readonly action: ActionAnswer | null;
  /** Template parameters (`*` for the rest). */
  readonly params: Readonly<Record<string, string>>;
  /** The route's request mirroring, if any. */
  readonly mirror: { readonly group: string; readonly percent: number } | null;
  /** Every group involved (action groups in order, then the mirror), with its backends. */
  readonly groups: readonly GroupAnswer[];
}

function groupAnswer(group: string, state: GroupState | undefined): GroupAnswer {
  const backends = (state?.backends ?? []).map((b) => ({
    ...b,
    usable: !b.drain && b.weight > 0 && !b.unhealthy,
  }));
  return {
    group,
    exists: state !== null && state !== undefined,
    backends,
    usable: backends.filter((b) => b.usable).map((b) => b.address),
  };
}

/** The groups a route's action sends to, in order, then its mirror (each once). */
export function routeGroups(route: Route): string[] {
  return [...new Set(groupRefs(route, 0).map(([group]) => group))];
}

/**
 * Answers "which route?" for one request.
 *
 * @param config the listener's validated config
 * @param request the request (an invalid URL throws a TypeError)
 * @param groups the state of the groups the routes name (absent or null: no such group)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateListenerConfig } from "./schema.ts";
 * import { whichRoute } from "./which_route.ts";
 * const r = validateListenerConfig("public", {
 *   routes: [{ name: "cart", match: { path: { prefix: "/cart" } }, forward: { group: "shop" } }],
 * });
 * assert.ok(r.ok);
 * const shop = { backends: [{ address: "10.0.0.1:80", weight: 1, drain: false, unhealthy: false }] };
 * const a = whichRoute(r.value, { method: "GET", url: "https://shop.example.com/cart?id=1" },
 *   new Map([["shop", shop]]));
 * assert.equal(a.route?.name, "cart");
 * assert.deepEqual(a.groups[0]?.usable, ["10.0.0.1:80"]);
 * assert.equal(whichRoute(r.value, { method: "GET", url: "http://x/" }, new Map()).status, 404);
 * ```
 */
export function whichRoute(
  config: ListenerConfig,
  request: TestRequest,
  groups: ReadonlyMap<string, GroupState>,
): RouteAnswer {
  const url = new URL(request.url);
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(request.headers ?? {})) headers.set(k.toLowerCase(), v);
  const host = headers.get("host") ?? url.host;
  const query = url.search.slice(1);
  const req: RouteRequest = {
    method: request.method.toUpperCase(),
    scheme: url.protocol === "https:" ? "https" : "http",
    host,
    path: url.pathname,
    query,
    header: (name) => name === "host" ? host : headers.get(name),
  };
  const seen = { method: req.method, host, path: req.path, query };
  const m = compileRoutes(config).match(req);
  if (m === null) {
    return {
      request: seen,
      route: null,
      status: 404,
      action: null,
      params: {},
      mirror: null,
      groups: [],
    };
  }
  const route = m.route;
  let action: ActionAnswer;
  if (route.forward) action = { type: "forward", group: route.forward.group };
  else if (route.split) {
    const total = route.split.reduce((sum, s) => sum + s.weight, 0);
    action = {
      type: "split",
      groups: route.split.map((s) => ({
        group: s.group,
        weight: s.weight,
        share: total > 0 ? Math.round((s.weight / total) * 10_000) / 10_000 : 0,
      })),
    };
  } else if (route.redirect) {
    action = {
      type: "redirect",
      status: route.redirect.status,
      location: redirectLocation(route.redirect, {
        scheme: url.protocol.slice(0, -1),
        host: url.host,
        target: url.pathname + url.search,
      }),
    };
  } else action = { type: "direct_response", status: route.direct_response!.status };
  return {
    request: seen,
    route: { name: route.name, index: m.index, default: m.fallback },
    action,
    params: { ...m.params },
    mirror: route.mirror ? { group: route.mirror.group, percent: route.mirror.percent } : null,
    groups: routeGroups(route).map((g) => groupAnswer(g, groups.get(g))),
  };
}

function percent(share: number): string {
  return `${Math.round(share * 10_000) / 100}%`;
}

/**
 * The answer as text, as `ctl route-test` prints it and the console's "Which route?" box shows
 * it: the route, the action, the parameters, the mirror, then every group with each backend and
 * why one may not be picked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRouteAnswer } from "./which_route.ts";
 * const text = formatRouteAnswer({
 *   request: { method: "GET", host: "x", path: "/", query: "" },
 *   route: null, status: 404, action: null, params: {}, mirror: null, groups: [],
 * });
 * assert.equal(text, "GET x/\nroute: none (the proxy answers 404)");
 * ```
 */
export function formatRouteAnswer(a: RouteAnswer): string {
  const r = a.request;
  const lines = [`${r.method} ${r.host}${r.path}${r.query ? `?${r.query}` : ""}`];
  if (a.route === null || a.action === null) {
    lines.push(`route: none (the proxy answers ${a.status ?? 404})`);
    return lines.join("\n");
  }
  lines.push(
    `route: ${a.route.name} (#${a.route.index}${a.route.default ? ", the default route" : ""})`,
  );
  const act = a.action;
  if (act.type === "forward") lines.push(`action: forward to ${act.group}`);
  else if (act.type === "split") {
    lines.push(
      `action: split: ${
        act.groups.map((g) => `${g.group} weight ${g.weight} (${percent(g.share)})`).join(", ")
      }`,
    );
  } else if (act.type === "redirect") {
    lines.push(`action: redirect ${act.status} to ${act.location}`);
  } else lines.push(`action: direct response ${act.status}`);
  const params = Object.entries(a.params);
  if (params.length > 0) lines.push(`params: ${params.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  if (a.mirror) lines.push(`mirror: ${a.mirror.percent}% to ${a.mirror.group}`);
  for (const g of a.groups) {
    if (!g.exists) {
      lines.push(`group ${g.group}: does not exist`);
      continue;
    }
    lines.push(`group ${g.group}: ${g.usable.length} of ${g.backends.length} backends usable`);
    for (const b of g.backends) {
      const why = b.usable ? "usable" : [
        b.unhealthy ? "unhealthy" : "",
        b.drain ? "draining" : "",
        b.weight > 0 ? "" : "weight 0",
      ]
        .filter((x) => x).join(", ");
      lines.push(`  ${b.address}\t${why}`);
    }
  }
  return lines.join("\n");
}

/**
 * Request headers written as `Name: value` lines (ctl's `--header`, the console's box): a
 * repeated name is joined with `, `; blank lines are skipped.
 *
 * @returns the headers, or the first line that is not `Name: value`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHeaderLines } from "./which_route.ts";
 * assert.deepEqual(parseHeaderLines(["Cookie: a=1", "", "X-A: 1", "x-a: 2"]), {
 *   headers: { cookie: "a=1", "x-a": "1, 2" },
 * });
 * assert.deepEqual(parseHeaderLines(["nope"]), { error: 'not "Name: value": "nope"' });
 * ```
 */
export function parseHeaderLines(
  lines: readonly string[],
): { headers: Record<string, string> } | { error: string } {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : "";
    if (name === "") return { error: `not "Name: value": ${JSON.stringify(line)}` };
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { headers };
}
