/**
 * The compiled route table: which route a request takes, in well under a
 * microsecond for a thousand routes.
 *
 * The answer is defined by the naive rule, "the first route in config order
 * whose every condition holds" (first match wins). The compiled form only
 * narrows the candidates: a host map picks one bucket (the routes for that
 * exact host, the wildcards that cover it and the host-less routes, in config
 * order), and within the bucket a path index (an exact-path map, a prefix trie
 * and a template trie on segments) yields the routes whose path condition
 * holds. Each index yields route numbers in ascending order, so the smallest
 * number whose remaining conditions (methods, headers, query) hold is exactly
 * the naive answer. No regular expression ever runs on the request.
 *
 * @module
 */
import type { ListenerConfig, Route, ValueMatch } from "./schema.ts";
import { matchTemplate, type TemplateSegment } from "./template.ts";

/** What the matcher reads from a request. */
export interface RouteRequest {
  readonly method: string;
  /** `https` when the request came over TLS; absent means `http`. */
  readonly scheme?: "http" | "https";
  /** The Host header (or authority): any case, with or without a port. */
  readonly host: string;
  /** The request path without the query, as sent (not decoded). */
  readonly path: string;
  /** The raw query without `?`, if any. */
  readonly query?: string;
  /** A request header's value by lowercase name, or null/undefined when absent. */
  header(name: string): string | null | undefined;
}

/** The route a request takes. */
export interface RouteMatch {
  readonly route: Route;
  /** The route's position in the config. */
  readonly index: number;
  /** Template parameters (`*` for the rest), raw; empty for other routes. */
  readonly params: Readonly<Record<string, string>>;
  /** True when no route matched and this is the configured default route. */
  readonly fallback: boolean;
}

/** A compiled listener config. */
export interface RouteTable {
  readonly routes: readonly Route[];
  /** The first route (in config order) that matches, else the default route, else null. */
  match(request: RouteRequest): RouteMatch | null;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Normalizes a request's host for matching: lowercase, without port or a
 * trailing dot (`example.com.`). An IPv6 literal keeps its brackets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestHost } from "./matcher.ts";
 * assert.equal(requestHost("Shop.Example.com:8443"), "shop.example.com");
 * assert.equal(requestHost("[::1]:80"), "[::1]");
 * assert.equal(requestHost("example.com.:80"), "example.com");
 * ```
 */
export function requestHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf("]");
    if (close > 0) end = close + 1;
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) end = colon;
    // the fully qualified form `example.com.` names the same host
    if (end > 1 && host.charCodeAt(end - 1) === 46 /* . */) end--;
  }
  return (end === host.length ? host : host.slice(0, end)).toLowerCase();
}

/** `+` as space, then percent-decoding; a malformed escape leaves the text raw. */
function decodeQueryPart(text: string): string {
  if (text.indexOf("%") < 0 && text.indexOf("+") < 0) return text;
  const spaced = text.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * The first value of query parameter `name` (decoded; `""` when it has no
 * `=`), or null when absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { queryParam } from "./matcher.ts";
 * assert.equal(queryParam("a=1&id=x%20y&id=2", "id"), "x y");
 * assert.equal(queryParam("flag&b=2", "flag"), "");
 * assert.equal(queryParam("a=1", "b"), null);
 * ```
 */
export function queryParam(query: string, name: string): string | null {
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf("&", start);
    if (end < 0) end = query.length;
    if (end > start) {
      const eq = query.indexOf("=", start);
      const keyEnd = eq >= 0 && eq < end ? eq : end;
      if (decodeQueryPart(query.slice(start, keyEnd)) === name) {
        return keyEnd === end ? "" : decodeQueryPart(query.slice(keyEnd + 1, end));
      }
    }
    start = end + 1;
  }
  return null;
}

function valueHolds(m: ValueMatch, value: string | null | undefined): boolean {
  if (value === null || value === undefined) return false;
  if ("present" in m) return true;
  if ("exact" in m) return value === m.exact;
  return m.one_of.includes(value);
}

/**
 * Whether a route's conditions other than host and path hold (scheme,
 * methods, headers, query). Shared by the compiled table and
 * {@linkcode routeMatches}.
 */
export function restHolds(route: Route, req: RouteRequest): boolean {
  const m = route.match;
  if (m.scheme !== undefined && m.scheme !== (req.scheme ?? "http")) return false;
  if (m.methods !== undefined && !m.methods.includes(req.method)) return false;
  if (m.headers !== undefined) {
    for (const h of m.headers) if (!valueHolds(h, req.header(h.name))) return false;
  }
  if (m.query !== undefined) {
    const query = req.query ?? "";
    for (const q of m.query) if (!valueHolds(q, queryParam(query, q.name))) return false;
  }
  return true;
}

/** A prefix trie node: routes whose prefix ends here, children by segment. */
interface PrefixNode {
  readonly here: number[];
  readonly children: Map<string, PrefixNode>;
}

/** A template trie node. */
interface TemplateNode {
  readonly literal: Map<string, TemplateNode>;
  param: TemplateNode | null;
  /** Routes whose template ends here. */
  readonly end: number[];
  /** Routes whose template has `*` here. */
  readonly rest: number[];
}

const prefixNode = (): PrefixNode => ({ here: [], children: new Map() });
const templateNode = (): TemplateNode => ({
  literal: new Map(),
  param: null,
  end: [],
  rest: [],
});

/** The routes of one host bucket, indexed by their path condition. */
interface PathIndex {
  readonly exact: Map<string, number[]>;
  readonly prefix: PrefixNode;
  readonly templates: TemplateNode;
  /** Routes without a path condition. */
  readonly any: number[];
}

/** The request segments of a prefix (`/` has none). */
function prefixSegments(prefix: string): string[] {
  return prefix === "/" ? [] : prefix.slice(1).split("/");
}

function buildPathIndex(routes: readonly Route[], members: readonly number[]): PathIndex {
  const index: PathIndex = {
    exact: new Map(),
    prefix: prefixNode(),
    templates: templateNode(),
    any: [],
  };
  for (const i of members) {
    const path = routes[i]!.match.path;
    if (path === undefined) {
      index.any.push(i);
    } else if ("exact" in path) {
      const list = index.exact.get(path.exact);
      if (list) list.push(i);
      else index.exact.set(path.exact, [i]);
    } else if ("prefix" in path) {
      let node = index.prefix;
      for (const seg of prefixSegments(path.prefix)) {
        let next = node.children.get(seg);
        if (!next) node.children.set(seg, next = prefixNode());
        node = next;
      }
      node.here.push(i);
    } else {
      addTemplate(index.templates, path.template.segments, i);
    }
  }
  return index;
}

function addTemplate(root: TemplateNode, segments: readonly TemplateSegment[], i: number): void {
  let node = root;
  for (const seg of segments) {
    if (seg.kind === "rest") {
      node.rest.push(i);
      return;
    }
    if (seg.kind === "literal") {
      let next = node.literal.get(seg.value);
      if (!next) node.literal.set(seg.value, next = templateNode());
      node = next;
    } else {
      node = node.param ??= templateNode();
    }
  }
  node.end.push(i);
}

/**
 * Compiles a validated listener config into a {@linkcode RouteTable}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileRoutes } from "./matcher.ts";
 * import { validateListenerConfig } from "./schema.ts";
 * const r = validateListenerConfig("public", {
 *   routes: [
 *     { name: "user", match: { host: "api.example.com", path: { template: "/users/:id" } }, forward: { group: "users" } },
 *     { name: "shop", match: { host: "*.example.com" }, forward: { group: "shop" } },
 *   ],
 * });
 * assert.ok(r.ok);
 * const table = compileRoutes(r.value);
 * const req = (host: string, path: string) => ({ method: "GET", host, path, header: () => null });
 * const m = table.match(req("API.example.com:443", "/users/7"));
 * assert.equal(m?.route.name, "user");
 * assert.deepEqual(m?.params, { id: "7" });
 * assert.equal(table.match(req("api.example.com", "/cart"))?.route.name, "shop");
 * assert.equal(table.match(req("example.org", "/")), null);
 * ```
 */
export function compileRoutes(config: ListenerConfig): RouteTable {
  return new CompiledTable(config);
}

class CompiledTable implements RouteTable {
  readonly routes: readonly Route[];
  readonly #exactHosts = new Map<string, PathIndex>();
  /** Wildcard `*.S` buckets by S. */
  readonly #wildcards = new Map<string, PathIndex>();
  readonly #hostless: PathIndex;
  /** The last request host seen and its normalized form (a one-entry cache). */
  #rawHost = "";
  #host = "";
  /** Precomputed results for routes without parameters: a match allocates nothing. */
  readonly #hits: RouteMatch[];
  readonly #templates: (readonly TemplateSegment[] | null)[];
  readonly #fallback: RouteMatch | null;

  constructor(config: ListenerConfig) {
    const routes = config.routes;
    this.routes = routes;
    this.#hits = routes.map((route, index) => ({ route, index, params: EMPTY, fallback: false }));
    this.#templates = routes.map((r) => {
      const p = r.match.path;
      return p !== undefined && "template" in p ? p.template.segments : null;
    });
    const fallbackIndex = config.default_route === undefined
      ? -1
      : routes.findIndex((r) => r.name === config.default_route);
    this.#fallback = fallbackIndex < 0
      ? null
      : { route: routes[fallbackIndex]!, index: fallbackIndex, params: EMPTY, fallback: true };

    const exact = new Map<string, number[]>();
    const wild = new Map<string, number[]>();
    const hostless: number[] = [];
    routes.forEach((r, i) => {
      const host = r.match.host;
      if (host === undefined) hostless.push(i);
      else {
        const [key, map] = host.startsWith("*.") ? [host.slice(2), wild] : [host, exact];
        const list = map.get(key);
        if (list) list.push(i);
        else map.set(key, [i]);
      }
    });
    /** The wildcard routes covering `host` (every `*.S` with host ending in `.S`). */
    const coveringWildcards = (host: string): number[] => {
      const out: number[] = [];
      for (let dot = host.indexOf("."); dot >= 0; dot = host.indexOf(".", dot + 1)) {
        const list = wild.get(host.slice(dot + 1));
        if (list) out.push(...list);
      }
      return out;
    };
    const bucket = (own: readonly number[], covering: readonly number[]) =>
      buildPathIndex(routes, [...own, ...covering, ...hostless].sort((a, b) => a - b));
    for (const [host, own] of exact) {
      this.#exactHosts.set(host, bucket(own, coveringWildcards(host)));
    }
    for (const [suffix, own] of wild) {
      this.#wildcards.set(suffix, bucket(own, coveringWildcards(suffix)));
    }
    this.#hostless = buildPathIndex(routes, hostless);
  }

  match(req: RouteRequest): RouteMatch | null {
    // a connection sends the same Host on every request: normalize it once
    const raw = req.host;
    if (raw !== this.#rawHost) {
      this.#rawHost = raw;
      this.#host = requestHost(raw);
    }
    const index = this.#bucket(this.#host);
    const best = this.#search(index, req);
    if (best === Infinity) return this.#fallback;
    const template = this.#templates[best];
    if (template === null || template === undefined) return this.#hits[best]!;
    return {
      route: this.routes[best]!,
      index: best,
      params: matchTemplate(template, req.path) ?? EMPTY,
      fallback: false,
    };
  }

  #bucket(host: string): PathIndex {
    const exact = this.#exactHosts.get(host);
    if (exact !== undefined) return exact;
    if (this.#wildcards.size > 0) {
      // leftmost dot first: the longest covering suffix, whose bucket includes the shorter ones
      for (let dot = host.indexOf("."); dot >= 0; dot = host.indexOf(".", dot + 1)) {
        const wild = this.#wildcards.get(host.slice(dot + 1));
        if (wild !== undefined) return wild;
      }
    }
    return this.#hostless;
  }

  /** The smallest route number in `index` that matches, or Infinity. */
  #search(index: PathIndex, req: RouteRequest): number {
    let best = this.#scan(index.any, Infinity, req);
    const path = req.path;
    const exact = index.exact.get(path);
    if (exact !== undefined) best = this.#scan(exact, best, req);
    if (path.charCodeAt(0) !== 47 /* / */) return best;
    // prefix trie: the routes at every node along the request's segments
    let node: PrefixNode | undefined = index.prefix;
    best = this.#scan(node.here, best, req);
    let pos = 1;
    while (pos <= path.length) {
      let end = path.indexOf("/", pos);
      if (end < 0) end = path.length;
      node = node.children.get(path.slice(pos, end));
      if (node === undefined) break;
      best = this.#scan(node.here, best, req);
      pos = end + 1;
    }
    const t = index.templates;
    if (t.literal.size > 0 || t.param !== null || t.rest.length > 0) {
      best = this.#walkTemplates(t, path, 1, best, req);
    }
    return best;
  }

  /**
   * Visits the template trie along the request's segments (literal child and
   * parameter child). A trie node sits at one depth, hence at one request
   * segment, so each node is visited at most once: bounded by the trie's size.
   */
  #walkTemplates(
    node: TemplateNode,
    path: string,
    pos: number,
    best: number,
    req: RouteRequest,
  ): number {
    if (node.rest.length > 0) best = this.#scan(node.rest, best, req);
    if (pos > path.length) return node.end.length > 0 ? this.#scan(node.end, best, req) : best;
    let end = path.indexOf("/", pos);
    if (end < 0) end = path.length;
    if (node.literal.size > 0) {
      const child = node.literal.get(path.slice(pos, end));
      if (child !== undefined) best = this.#walkTemplates(child, path, end + 1, best, req);
    }
    if (node.param !== null && end > pos) {
      best = this.#walkTemplates(node.param, path, end + 1, best, req);
    }
    return best;
  }

  /** The first route in `list` (ascending) below `best` whose other conditions hold. */
  #scan(list: readonly number[], best: number, req: RouteRequest): number {
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      if (i >= best) return best;
      if (restHolds(this.routes[i]!, req)) return i;
    }
    return best;
  }
}
