import assert from "node:assert/strict";
import { normalizeRouteHost, type RouteIssue, validateListenerConfig } from "./schema.ts";
import { parseTemplate } from "./template.ts";

const FWD = { forward: { group: "api" } };
const GROUPS = new Set(["api", "web-v1", "web-v2", "shadow"]);

/** One route with `extra` merged in, in a listener config. */
const one = (extra: Record<string, unknown>) => ({ routes: [{ name: "r", ...FWD, ...extra }] });

function issues(blob: unknown, groups?: ReadonlySet<string>): RouteIssue[] {
  const r = validateListenerConfig("l", blob, groups);
  if (r.ok) assert.fail(`expected invalid: ${JSON.stringify(blob)}`);
  return [...r.issues];
}

const VALID: [string, unknown][] = [
  ["no routes", { routes: [] }],
  ["a forward without match", one({})],
  ["an exact host", one({ match: { host: "shop.example.com" } })],
  ["a wildcard host", one({ match: { host: "*.example.com" } })],
  ["a host with a port", one({ match: { host: "a.example.com:8443" } })],
  ["an exact path", one({ match: { path: { exact: "/cart" } } })],
  ["a prefix", one({ match: { path: { prefix: "/api" } } })],
  ["a template", one({ match: { path: { template: "/users/:id/*" } } })],
  ["a catch-all template", one({ match: { path: { template: "/*" } } })],
  ["methods", one({ match: { methods: ["GET", "HEAD"] } })],
  ["a scheme", one({ match: { scheme: "https" } })],
  [
    "header conditions",
    one({
      match: {
        headers: [{ name: "X-Canary", present: true }, { name: "a", exact: "1" }, {
          name: "b",
          one_of: ["x", "y"],
        }],
      },
    }),
  ],
  [
    "query conditions",
    one({ match: { query: [{ name: "id", present: true }, { name: "v", one_of: ["1"] }] } }),
  ],
  ["a split with a zero weight", {
    routes: [{
      name: "r",
      split: [{ group: "web-v1", weight: 0 }, { group: "web-v2", weight: 5 }],
    }],
  }],
  ["a redirect", {
    routes: [{ name: "r", redirect: { status: 308, scheme: "https", host: "x.com", path: "/y" } }],
  }],
  ["a direct response", {
    routes: [{
      name: "r",
      direct_response: { status: 503, body: "down", headers: { "Retry-After": "5" } },
    }],
  }],
  ["a default route", { routes: [{ name: "r", ...FWD }], default_route: "r" }],
  [
    "every policy",
    one({
      rewrite: { strip_prefix: "/api", host: "internal:8080" },
      request_headers: {
        set: { "X-Request-Id": "${request_id}" },
        add: { "X-Client": "${client_ip}" },
        remove: ["Cookie"],
      },
      response_headers: { remove: ["Server"] },
      timeouts: { connect_seconds: 1, response_seconds: 30 },
      retry: { max_retries: 1, budget_ratio: 0.1 },
      sticky: { cookie: "sy", ttl_seconds: 3600 },
      rate_limit: { rate: 10, burst: 20, key: "header", header: "X-Api-Key" },
      mirror: { group: "shadow", percent: 5 },
    }),
  ],
  ["a replace_prefix rewrite", one({ rewrite: { replace_prefix: { from: "/v1", to: "/v2" } } })],
];

for (const [what, blob] of VALID) {
  Deno.test(`validateListenerConfig() accepts ${what}`, () => {
    const r = validateListenerConfig("l", blob, GROUPS);
    assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.issues));
  });
}

/** [what, blob, field, a part of the reason]: each blob has exactly this one issue. */
const INVALID: [string, unknown, string, string][] = [
  ["a non-object", [], "", "must be a JSON object"],
  ["missing routes", {}, "routes", "is required"],
  ["an unknown top-level key", { routes: [], typo: 1 }, "typo", "unknown key"],
  ["an unknown route key", one({ typo: 1 }), "routes[0].typo", "unknown key"],
  [
    "a bad route name",
    { routes: [{ name: "Bad_Name", ...FWD }] },
    "routes[0].name",
    "must be 1-63",
  ],
  [
    "duplicate route names",
    { routes: [{ name: "r", ...FWD }, { name: "r", ...FWD }] },
    "routes[1].name",
    'duplicate route name "r" (also at index 0)',
  ],
  ["no action", { routes: [{ name: "r" }] }, "routes[0]", "exactly one action"],
  ["two actions", one({ redirect: { status: 301 } }), "routes[0]", "(got forward, redirect)"],
  ["an empty host", one({ match: { host: "" } }), "routes[0].match.host", "must not be empty"],
  [
    "a host with bad characters",
    one({ match: { host: "a_b.com" } }),
    "routes[0].match.host",
    "must be a host name",
  ],
  [
    "a host with an empty label",
    one({ match: { host: "a..com" } }),
    "routes[0].match.host",
    "must be a host name",
  ],
  ["a bare wildcard", one({ match: { host: "*" } }), "routes[0].match.host", "must be a host name"],
  [
    "a wildcard in the middle",
    one({ match: { host: "a.*.com" } }),
    "routes[0].match.host",
    "must be a host name",
  ],
  ["a bad port", one({ match: { host: "a.com:http" } }), "routes[0].match.host", "optional port"],
  [
    "two path kinds",
    one({ match: { path: { exact: "/a", prefix: "/a" } } }),
    "routes[0].match.path",
    "exactly one of",
  ],
  [
    "a relative path",
    one({ match: { path: { exact: "a" } } }),
    "routes[0].match.path.exact",
    "absolute path",
  ],
  [
    "a template with * inside",
    one({ match: { path: { template: "/a/*/b" } } }),
    "routes[0].match.path.template",
    '"*" may only be the last segment',
  ],
  [
    "a template with an empty segment",
    one({ match: { path: { template: "/a//b" } } }),
    "routes[0].match.path.template",
    "segment 2 is empty",
  ],
  [
    "a template with a bad param",
    one({ match: { path: { template: "/a/:1x" } } }),
    "routes[0].match.path.template",
    "parameter",
  ],
  [
    "a template with a repeated param",
    one({ match: { path: { template: "/:a/:a" } } }),
    "routes[0].match.path.template",
    "appears twice",
  ],
  [
    "a scheme other than http or https",
    one({ match: { scheme: "ftp" } }),
    "routes[0].match.scheme",
    "must be http or https",
  ],
  [
    "an empty method list",
    one({ match: { methods: [] } }),
    "routes[0].match.methods",
    "must not be empty",
  ],
  [
    "a bad method",
    one({ match: { methods: ["G T"] } }),
    "routes[0].match.methods[0]",
    "method name",
  ],
  [
    "a header with no condition",
    one({ match: { headers: [{ name: "x" }] } }),
    "routes[0].match.headers[0]",
    "exactly one condition",
  ],
  [
    "a header with two conditions",
    one({ match: { headers: [{ name: "x", present: true, exact: "1" }] } }),
    "routes[0].match.headers[0]",
    "(got present, exact)",
  ],
  [
    "a bad header name",
    one({ match: { headers: [{ name: "x y", present: true }] } }),
    "routes[0].match.headers[0].name",
    "header name",
  ],
  [
    "present: false",
    one({ match: { headers: [{ name: "x", present: false }] } }),
    "routes[0].match.headers[0].present",
    "must be true",
  ],
  [
    "an empty one_of",
    one({ match: { query: [{ name: "x", one_of: [] }] } }),
    "routes[0].match.query[0].one_of",
    "must not be empty",
  ],
  [
    "an empty query name",
    one({ match: { query: [{ name: "", present: true }] } }),
    "routes[0].match.query[0].name",
    "must not be empty",
  ],
  [
    "split weights summing to 0",
    { routes: [{ name: "r", split: [{ group: "web-v1", weight: 0 }] }] },
    "routes[0].split",
    "sum to more than 0",
  ],
  [
    "an empty split",
    { routes: [{ name: "r", split: [] }] },
    "routes[0].split",
    "must not be empty",
  ],
  [
    "a negative weight",
    { routes: [{ name: "r", split: [{ group: "web-v1", weight: -1 }] }] },
    "routes[0].split[0].weight",
    "at least 0",
  ],
  [
    "a fractional weight",
    { routes: [{ name: "r", split: [{ group: "web-v1", weight: 1.5 }] }] },
    "routes[0].split[0].weight",
    "integer",
  ],
  [
    "a split naming a group twice",
    {
      routes: [{
        name: "r",
        split: [{ group: "web-v1", weight: 1 }, { group: "web-v1", weight: 1 }],
      }],
    },
    "routes[0].split[1].group",
    "duplicate group",
  ],
  [
    "a redirect status of 200",
    { routes: [{ name: "r", redirect: { status: 200 } }] },
    "routes[0].redirect.status",
    "one of 301",
  ],
  [
    "a redirect without status",
    { routes: [{ name: "r", redirect: {} }] },
    "routes[0].redirect.status",
    "is required",
  ],
  [
    "a redirect scheme of ftp",
    { routes: [{ name: "r", redirect: { status: 301, scheme: "ftp" } }] },
    "routes[0].redirect.scheme",
    "http or https",
  ],
  [
    "a direct response status of 99",
    { routes: [{ name: "r", direct_response: { status: 99 } }] },
    "routes[0].direct_response.status",
    "at least 200",
  ],
  [
    "a direct response header with CR LF",
    { routes: [{ name: "r", direct_response: { status: 200, headers: { a: "x\r\nb: y" } } }] },
    "routes[0].direct_response.headers.a",
    "without CR or LF",
  ],
  [
    "default_route naming no route",
    { routes: [{ name: "r", ...FWD }], default_route: "nope" },
    "default_route",
    'must name a route (got "nope")',
  ],
  [
    "strip_prefix and replace_prefix",
    one({ rewrite: { strip_prefix: "/a", replace_prefix: { from: "/a", to: "/b" } } }),
    "routes[0].rewrite",
    "not both",
  ],
  [
    "a rewrite host with a path",
    one({ rewrite: { host: "a/b" } }),
    "routes[0].rewrite.host",
    "host or host:port",
  ],
  [
    "an unknown header variable",
    one({ request_headers: { set: { a: "${user}" } } }),
    "routes[0].request_headers.set.a",
    'unknown variable "${user}"',
  ],
  [
    "an unclosed header variable",
    one({ request_headers: { add: { a: "${client_ip" } } }),
    "routes[0].request_headers.add.a",
    "unknown variable",
  ],
  [
    "a bad header to remove",
    one({ response_headers: { remove: ["a b"] } }),
    "routes[0].response_headers.remove[0]",
    "header name",
  ],
  [
    "a zero timeout",
    one({ timeouts: { response_seconds: 0 } }),
    "routes[0].timeouts.response_seconds",
    "at least 0.01",
  ],
  [
    "too many retries",
    one({ retry: { max_retries: 11 } }),
    "routes[0].retry.max_retries",
    "at most 10",
  ],
  [
    "a sticky cookie with a space",
    one({ sticky: { cookie: "a b" } }),
    "routes[0].sticky.cookie",
    "cookie name",
  ],
  [
    "a rate of 0",
    one({ rate_limit: { rate: 0, burst: 1 } }),
    "routes[0].rate_limit.rate",
    "more than 0",
  ],
  [
    "a header rate limit without header",
    one({ rate_limit: { rate: 1, burst: 1, key: "header" } }),
    "routes[0].rate_limit.header",
    "is required when key is header",
  ],
  [
    "a mirror percent over 100",
    one({ mirror: { group: "shadow", percent: 101 } }),
    "routes[0].mirror.percent",
    "at most 100",
  ],
];

for (const [what, blob, field, reason] of INVALID) {
  Deno.test(`validateListenerConfig() rejects ${what}, naming ${field || "the blob"}`, () => {
    const found = issues(blob, GROUPS);
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.listener, "l");
    assert.equal(found[0]!.field, field);
    assert.ok(found[0]!.reason.includes(reason), found[0]!.reason);
  });
}

Deno.test("validateListenerConfig() names the route and field of every unknown group", () => {
  const blob = {
    routes: [
      { name: "a", forward: { group: "api" } },
      { name: "b", split: [{ group: "web-v1", weight: 1 }, { group: "gone", weight: 1 }] },
      { name: "c", forward: { group: "missing" } },
    ],
  };
  assert.deepEqual(issues(blob, GROUPS).map((i) => [i.field, i.reason]), [
    ["routes[1].split[1].group", 'route "b" names unknown group "gone"'],
    ["routes[2].forward.group", 'route "c" names unknown group "missing"'],
  ]);
  // without knownGroups, any well-formed group name is accepted
  assert.ok(validateListenerConfig("l", blob).ok);
});

Deno.test("validateListenerConfig() rejects a bad listener name", () => {
  const r = validateListenerConfig("bad name", { routes: [] });
  assert.ok(!r.ok);
  assert.match(r.issues[0]!.reason, /listener name/);
});

Deno.test("validateListenerConfig() normalizes hosts, prefixes, header names and defaults", () => {
  const r = validateListenerConfig("l", {
    routes: [
      {
        name: "r",
        match: {
          host: "*.Example.COM:443",
          path: { prefix: "/api/" },
          headers: [{ name: "X-Canary", present: true }],
        },
        redirect: { status: 301 },
        rate_limit: { rate: 1, burst: 1 },
      },
      { name: "root", match: { path: { prefix: "/" } }, ...FWD },
    ],
  });
  assert.ok(r.ok);
  const [route, root] = r.value.routes;
  assert.equal(route!.match.host, "*.example.com");
  assert.deepEqual(route!.match.path, { prefix: "/api" });
  assert.equal(route!.match.headers![0]!.name, "x-canary");
  assert.equal(route!.redirect!.keep_query, true);
  assert.equal(route!.rate_limit!.key, "client_ip");
  assert.deepEqual(root!.match.path, { prefix: "/" });
});

Deno.test("validateListenerConfig() reports every issue at once", () => {
  const found = issues({
    routes: [
      { name: "a", match: { methods: [] }, split: [{ group: "web-v1", weight: 0 }] },
      { name: "a", ...FWD },
    ],
    default_route: "z",
  });
  assert.deepEqual(found.map((i) => i.field), [
    "routes[0].match.methods",
    "routes[0].split",
    "routes[1].name",
    "default_route",
  ]);
});

Deno.test("normalizeRouteHost() lowercases and strips the port", () => {
  assert.equal(normalizeRouteHost("A.B:1"), "a.b");
  assert.equal(normalizeRouteHost("10.0.0.1"), "10.0.0.1");
  assert.deepEqual(typeof normalizeRouteHost(":80"), "object");
});

Deno.test("parseTemplate() rejects the root and a trailing slash", () => {
  assert.match(String(parseTemplate("/")), /at least one segment/);
  assert.match(String(parseTemplate("/a/")), /segment 2 is empty/);
  assert.match(String(parseTemplate("a")), /must start with/);
  assert.match(String(parseTemplate("/a*")), /not allowed/);
});

Deno.test("validateListenerConfig() reports duplicate names and default_route next to a bad host", () => {
  const found = issues({
    routes: [
      { name: "a", match: { host: "" }, ...FWD },
      { name: "a", match: { path: { template: "/x//" } }, ...FWD },
    ],
    default_route: "z",
  });
  assert.deepEqual(found.map((i) => i.field), [
    "routes[0].match.host",
    "routes[1].match.path.template",
    "routes[1].name",
    "default_route",
  ]);
});
