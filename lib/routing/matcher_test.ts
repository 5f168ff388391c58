import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import { compileRoutes, queryParam, type RouteRequest, type RouteTable } from "./matcher.ts";
import { type ListenerConfig, type Route, validateListenerConfig } from "./schema.ts";

function config(routes: Record<string, unknown>[], default_route?: string): ListenerConfig {
  const blob = {
    routes: routes.map((r, i) => ({ name: `r${i}`, forward: { group: "g" }, ...r })),
    ...(default_route === undefined ? {} : { default_route }),
  };
  const r = validateListenerConfig("l", blob);
  if (!r.ok) assert.fail(JSON.stringify(r.issues));
  return r.value;
}

function request(
  host: string,
  target: string,
  method = "GET",
  headers: Record<string, string> = {},
): RouteRequest {
  const q = target.indexOf("?");
  return {
    method,
    host,
    path: q < 0 ? target : target.slice(0, q),
    ...(q < 0 ? {} : { query: target.slice(q + 1) }),
    header: (name) => headers[name] ?? null,
  };
}

const nameOf = (table: RouteTable, req: RouteRequest) => table.match(req)?.route.name ?? null;

/** [what, routes, [host, target, method?, headers?], expected route name or null]. */
const CASES: [
  string,
  Record<string, unknown>[],
  [string, string, string?, Record<string, string>?],
  string | null,
][] = [
  ["an exact host, any case and port", [{ match: { host: "a.com" } }], ["A.COM:8080", "/"], "r0"],
  [
    "a fully qualified host with a trailing dot",
    [{ match: { host: "a.com" } }],
    ["a.com.:80", "/"],
    "r0",
  ],
  ["another host misses", [{ match: { host: "a.com" } }], ["b.com", "/"], null],
  ["a wildcard covers a subdomain", [{ match: { host: "*.a.com" } }], ["x.y.a.com", "/"], "r0"],
  ["a wildcard does not cover its apex", [{ match: { host: "*.a.com" } }], ["a.com", "/"], null],
  [
    "an earlier wildcard beats a later exact host",
    [{ match: { host: "*.a.com" } }, {
      match: { host: "b.a.com" },
    }],
    ["b.a.com", "/"],
    "r0",
  ],
  [
    "an earlier host-less route beats a later exact host",
    [{ match: { path: { prefix: "/" } } }, {
      match: { host: "a.com" },
    }],
    ["a.com", "/x"],
    "r0",
  ],
  ["an exact path", [{ match: { path: { exact: "/a" } } }], ["h", "/a?x=1"], "r0"],
  ["an exact path is exact", [{ match: { path: { exact: "/a" } } }], ["h", "/a/"], null],
  ["a prefix matches itself", [{ match: { path: { prefix: "/api" } } }], ["h", "/api"], "r0"],
  [
    "a prefix matches below it",
    [{ match: { path: { prefix: "/api/" } } }],
    ["h", "/api/v1/x"],
    "r0",
  ],
  ["a prefix stops at segment boundaries", [{ match: { path: { prefix: "/api" } } }], [
    "h",
    "/apix",
  ], null],
  [
    "a longer prefix listed later loses",
    [{ match: { path: { prefix: "/a" } }, forward: { group: "x" } }, {
      match: { path: { prefix: "/a/b" } },
    }],
    ["h", "/a/b"],
    "r0",
  ],
  ["a template parameter", [{ match: { path: { template: "/u/:id" } } }], ["h", "/u/7"], "r0"],
  ["a parameter needs a non-empty segment", [{ match: { path: { template: "/u/:id" } } }], [
    "h",
    "/u/",
  ], null],
  ["a template rest matches nothing more", [{ match: { path: { template: "/u/:id/*" } } }], [
    "h",
    "/u/7",
  ], "r0"],
  [
    "a literal beats a parameter only by order",
    [
      { match: { path: { template: "/u/:id" } } },
      { match: { path: { template: "/u/me" } } },
    ],
    ["h", "/u/me"],
    "r0",
  ],
  ["methods", [{ match: { methods: ["POST"] } }, {}], ["h", "/", "GET"], "r1"],
  ["a header present", [{ match: { headers: [{ name: "X-Canary", present: true }] } }], [
    "h",
    "/",
    "GET",
    { "x-canary": "" },
  ], "r0"],
  ["a header exact miss", [{ match: { headers: [{ name: "x", exact: "1" }] } }], ["h", "/", "GET", {
    x: "2",
  }], null],
  ["a header one_of", [{ match: { headers: [{ name: "x", one_of: ["1", "2"] }] } }], [
    "h",
    "/",
    "GET",
    { x: "2" },
  ], "r0"],
  ["a query parameter decoded", [{ match: { query: [{ name: "a b", exact: "c d" }] } }], [
    "h",
    "/?a+b=c%20d",
  ], "r0"],
  ["a query parameter's first value counts", [{ match: { query: [{ name: "v", exact: "2" }] } }], [
    "h",
    "/?v=1&v=2",
  ], null],
  [
    "a query parameter present without value",
    [{ match: { query: [{ name: "v", present: true }] } }],
    ["h", "/?v"],
    "r0",
  ],
  ["an absent query", [{ match: { query: [{ name: "v", present: true }] } }], ["h", "/"], null],
];

Deno.test("RouteTable.match(): the scheme condition (a request without one is http)", () => {
  const table = compileRoutes(config([
    { match: { scheme: "http" } },
    { match: { scheme: "https", path: { prefix: "/admin" } } },
    {},
  ]));
  const at = (scheme: "http" | "https" | undefined, target: string) =>
    nameOf(table, { ...request("h", target), ...(scheme ? { scheme } : {}) });
  const cases: Array<["http" | "https" | undefined, string, string]> = [
    ["http", "/", "r0"],
    [undefined, "/admin", "r0"],
    ["https", "/admin/x", "r1"],
    ["https", "/", "r2"],
  ];
  for (const [scheme, target, want] of cases) {
    assert.equal(at(scheme, target), want, `${scheme} ${target}`);
  }
});

for (const [what, routes, [host, target, method, headers], expected] of CASES) {
  Deno.test(`RouteTable.match(): ${what}`, () => {
    const table = compileRoutes(config(routes));
    assert.equal(nameOf(table, request(host, target, method, headers)), expected);
  });
}

Deno.test("RouteTable.match() falls back to the default route, marked as such", () => {
  const table = compileRoutes(
    config([{ match: { host: "a.com" } }, { match: { host: "b.com" } }], "r1"),
  );
  assert.deepEqual(table.match(request("a.com", "/")), {
    route: table.routes[0],
    index: 0,
    params: {},
    fallback: false,
  });
  const m = table.match(request("c.com", "/"));
  assert.equal(m?.route.name, "r1");
  assert.equal(m?.fallback, true);
});

Deno.test("RouteTable.match() returns template parameters, the rest as *", () => {
  const table = compileRoutes(config([{ match: { path: { template: "/users/:id/*" } } }]));
  assert.deepEqual(table.match(request("h", "/users/42/photos/1"))?.params, {
    id: "42",
    "*": "photos/1",
  });
});

Deno.test("queryParam() leaves a malformed escape raw", () => {
  assert.equal(queryParam("a=%ZZ+x", "a"), "%ZZ x");
  assert.equal(queryParam("&&a=1&", "a"), "1");
  assert.equal(queryParam("", "a"), null);
});

// ---- the property: the compiled table agrees with a naive in-order scan ----

function naiveHost(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  const bare = colon < 0 ? h : h.slice(0, colon);
  return bare.length > 1 && bare.endsWith(".") ? bare.slice(0, -1) : bare;
}

/** Template params by splitting, or null (written apart from template.ts on purpose). */
function naiveTemplate(template: string, path: string): Record<string, string> | null {
  if (!path.startsWith("/")) return null;
  const t = template.slice(1).split("/");
  const p = path.slice(1).split("/");
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    if (t[i] === "*") {
      params["*"] = p.slice(i).join("/");
      return params;
    }
    if (i >= p.length) return null;
    if (t[i]!.startsWith(":")) {
      if (p[i] === "") return null;
      params[t[i]!.slice(1)] = p[i]!;
    } else if (t[i] !== p[i]) return null;
  }
  return t.length === p.length ? params : null;
}

function naiveMatch(routes: readonly Route[], req: RouteRequest) {
  const host = naiveHost(req.host);
  const query = new URLSearchParams(req.query ?? "");
  for (let i = 0; i < routes.length; i++) {
    const m = routes[i]!.match;
    if (m.host !== undefined) {
      if (m.host.startsWith("*.") ? !host.endsWith(m.host.slice(1)) : host !== m.host) continue;
    }
    let params: Record<string, string> = {};
    if (m.path !== undefined) {
      const p = m.path;
      if ("exact" in p) {
        if (req.path !== p.exact) continue;
      } else if ("prefix" in p) {
        const ok = p.prefix === "/"
          ? req.path.startsWith("/")
          : req.path === p.prefix || req.path.startsWith(p.prefix + "/");
        if (!ok) continue;
      } else {
        const got = naiveTemplate(p.template.text, req.path);
        if (got === null) continue;
        params = got;
      }
    }
    if (m.scheme && m.scheme !== (req.scheme ?? "http")) continue;
    if (m.methods && !m.methods.includes(req.method)) continue;
    const valueOk = (
      c: { present?: true; exact?: string; one_of?: readonly string[] },
      v: string | null | undefined,
    ) =>
      v !== null && v !== undefined &&
      (c.present === true || c.exact === v || (c.one_of?.includes(v) ?? false));
    if (m.headers && !m.headers.every((h) => valueOk(h, req.header(h.name)))) continue;
    if (m.query && !m.query.every((q) => valueOk(q, query.get(q.name)))) continue;
    return { index: i, params };
  }
  return null;
}

const HOSTS = ["a.com", "b.a.com", "x.b.a.com", "c.com", "com", "d.c.com"];
const WILDCARDS = ["*.a.com", "*.b.a.com", "*.com", "*.c.com"];
const SEGMENTS = ["a", "b", "u", "1", ""];

function randomCase(random: () => number, pick: <T>(xs: readonly T[]) => T) {
  const seg = () => pick(SEGMENTS.filter((s) => s !== ""));
  const segs = (n: number) => Array.from({ length: n }, seg);
  const route = (): Record<string, unknown> => {
    const match: Record<string, unknown> = {};
    const r = random();
    if (r < 0.4) match.host = pick(HOSTS);
    else if (r < 0.6) match.host = pick(WILDCARDS);
    const n = Math.floor(random() * 3);
    const kind = random();
    if (kind < 0.2) match.path = { exact: "/" + segs(n).join("/") };
    else if (kind < 0.45) match.path = { prefix: "/" + segs(n).join("/") };
    else if (kind < 0.75) {
      const t = Array.from({ length: n + 1 }, (_, i) => random() < 0.4 ? `:p${i}` : seg());
      if (random() < 0.3) t.push("*");
      match.path = { template: "/" + t.join("/") };
    }
    if (random() < 0.15) match.methods = random() < 0.5 ? ["GET"] : ["POST", "PUT"];
    if (random() < 0.15) match.scheme = random() < 0.5 ? "http" : "https";
    if (random() < 0.15) {
      match.headers = [
        random() < 0.5 ? { name: "X-H", present: true } : { name: "x-h", one_of: ["1", "2"] },
      ];
    }
    if (random() < 0.15) {
      match.query = [random() < 0.5 ? { name: "q", exact: "1" } : { name: "q", present: true }];
    }
    return { match };
  };
  const routes = Array.from({ length: 1 + Math.floor(random() * 25) }, route);
  const requests = Array.from({ length: 20 }, () => {
    let host = pick([...HOSTS, "zz.b.a.com", "other.org", "", "b.a.com.", "."]);
    if (random() < 0.3) host = host.toUpperCase();
    if (random() < 0.3) host += ":8080";
    const n = Math.floor(random() * 4);
    let path = "/" + Array.from({ length: n }, () => pick(SEGMENTS)).join("/");
    if (random() < 0.05) path = "*";
    const method = pick(["GET", "POST", "PUT"]);
    const headers: Record<string, string> = random() < 0.5 ? { "x-h": pick(["1", "2", "3"]) } : {};
    const target = path + pick(["", "?q=1", "?q", "?q=2&q=1", "?a=1&q=1"]);
    const scheme = pick(["http", "https", undefined] as const);
    return { ...request(host, target, method, headers), ...(scheme ? { scheme } : {}) };
  });
  return { routes, requests };
}

Deno.test("RouteTable.match() agrees with a naive in-order scan on random route sets", () => {
  const random = mulberry32(20261207);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let compared = 0;
  let matched = 0;
  for (let round = 0; round < 500; round++) {
    const { routes, requests } = randomCase(random, pick);
    const fallback = random() < 0.3 ? `r${Math.floor(random() * routes.length)}` : undefined;
    const cfg = config(routes, fallback);
    const table = compileRoutes(cfg);
    for (const req of requests) {
      const want = naiveMatch(cfg.routes, req);
      const got = table.match(req);
      const context = () =>
        JSON.stringify({
          routes: cfg.routes.map((r) => r.match),
          req: { ...req, header: undefined },
        });
      const wantIndex = want?.index ??
        (fallback === undefined ? null : cfg.routes.findIndex((r) => r.name === fallback));
      assert.equal(got?.index ?? null, wantIndex, context());
      assert.equal(got?.fallback ?? false, want === null && fallback !== undefined, context());
      if (want) assert.deepEqual({ ...got!.params }, want.params, context());
      compared++;
      if (want) matched++;
    }
  }
  assert.equal(compared, 10_000);
  // the generator must exercise both outcomes, or the agreement means little
  assert.ok(matched > 2_000 && matched < 9_000, `matched ${matched}`);
});
