import assert from "node:assert/strict";
import { type ListenerConfig, listenerConfigSchema } from "./schema.ts";
import { formatRouteAnswer, type GroupState, type TestRequest, whichRoute } from "./which_route.ts";

/** Parsed by the zod schema alone: mirror is refused by validateListenerConfig until the proxy applies it. */
function listener(blob: unknown): ListenerConfig {
  return listenerConfigSchema.parse(blob) as unknown as ListenerConfig;
}

const CONFIG = listener({
  routes: [
    {
      name: "old-shop",
      match: { host: "old.example.com" },
      redirect: { status: 301, scheme: "https", host: "shop.example.com" },
    },
    {
      name: "beta",
      match: {
        host: "shop.example.com",
        path: { prefix: "/cart" },
        headers: [{ name: "cookie", exact: "beta=1" }],
      },
      forward: { group: "shop-beta" },
    },
    {
      name: "cart",
      match: { host: "shop.example.com", path: { prefix: "/cart" }, methods: ["GET", "POST"] },
      split: [{ group: "shop-v1", weight: 95 }, { group: "shop-v2", weight: 5 }],
      mirror: { group: "shadow", percent: 10 },
    },
    {
      name: "user",
      match: { host: "*.example.com", path: { template: "/users/:id/*" } },
      forward: { group: "users" },
    },
    { name: "gone", match: { path: { exact: "/gone" } }, direct_response: { status: 410 } },
    { name: "fallback", direct_response: { status: 503 }, match: { host: "never.invalid" } },
  ],
  default_route: "fallback",
});

const NO_DEFAULT = listener({
  routes: [{ name: "only", match: { host: "a.example.com" }, forward: { group: "shop-v1" } }],
});

const b = (
  address: string,
  extra: Partial<{ weight: number; drain: boolean; unhealthy: boolean }> = {},
) => ({
  address,
  weight: 1,
  drain: false,
  unhealthy: false,
  ...extra,
});

const GROUPS = new Map<string, GroupState>([
  ["shop-v1", {
    backends: [
      b("10.0.0.1:80"),
      b("10.0.0.2:80", { unhealthy: true }),
      b("10.0.0.3:80", { drain: true }),
    ],
  }],
  ["shop-v2", { backends: [b("10.0.1.1:80", { weight: 3 })] }],
  ["shop-beta", { backends: [] }],
  ["users", { backends: [b("10.0.2.1:80")] }],
  ["shadow", null],
]);

Deno.test("whichRoute() names the route, its action and params for each kind of request", () => {
  const table: [string, ListenerConfig, TestRequest, unknown][] = [
    [
      "a redirect keeps the query and says where it sends",
      CONFIG,
      { method: "GET", url: "http://old.example.com/a/b?x=1" },
      {
        route: { name: "old-shop", index: 0, default: false },
        action: { type: "redirect", status: 301, location: "https://shop.example.com/a/b?x=1" },
      },
    ],
    [
      "a header condition picks the earlier route (first match wins)",
      CONFIG,
      { method: "GET", url: "https://shop.example.com/cart", headers: { Cookie: "beta=1" } },
      {
        route: { name: "beta", index: 1, default: false },
        action: { type: "forward", group: "shop-beta" },
      },
    ],
    [
      "a split gives each group its weight and share",
      CONFIG,
      { method: "get", url: "https://SHOP.example.com:443/cart?id=1" },
      {
        route: { name: "cart", index: 2, default: false },
        action: {
          type: "split",
          groups: [
            { group: "shop-v1", weight: 95, share: 0.95 },
            { group: "shop-v2", weight: 5, share: 0.05 },
          ],
        },
      },
    ],
    [
      "a method the route does not take falls through to the default route",
      CONFIG,
      { method: "DELETE", url: "https://shop.example.com/cart" },
      {
        route: { name: "fallback", index: 5, default: true },
        action: { type: "direct_response", status: 503 },
      },
    ],
    [
      "a template route reports its parameters",
      CONFIG,
      { method: "GET", url: "https://api.example.com/users/42/photos/7" },
      {
        route: { name: "user", index: 3, default: false },
        action: { type: "forward", group: "users" },
        params: { id: "42", "*": "photos/7" },
      },
    ],
    [
      "a Host header overrides the URL's host",
      CONFIG,
      { method: "GET", url: "http://10.0.0.9/users/1", headers: { host: "x.example.com" } },
      { route: { name: "user", index: 3, default: false } },
    ],
    [
      "a direct response gives its status",
      CONFIG,
      { method: "GET", url: "http://any.where/gone" },
      { action: { type: "direct_response", status: 410 } },
    ],
    [
      "no route and no default: null and the proxy's 404",
      NO_DEFAULT,
      { method: "GET", url: "http://b.example.com/" },
      { route: null, status: 404, action: null, groups: [] },
    ],
  ];
  for (const [what, config, request, want] of table) {
    const got = whichRoute(config, request, GROUPS) as unknown as Record<string, unknown>;
    const picked = Object.fromEntries(Object.keys(want as object).map((k) => [k, got[k]]));
    assert.deepEqual(picked, want, what);
  }
});

Deno.test("whichRoute() lists every group involved with the backends that may be picked now", () => {
  const a = whichRoute(CONFIG, { method: "GET", url: "https://shop.example.com/cart" }, GROUPS);
  assert.deepEqual(a.mirror, { group: "shadow", percent: 10 });
  assert.deepEqual(a.groups.map((g) => [g.group, g.exists, g.usable]), [
    ["shop-v1", true, ["10.0.0.1:80"]],
    ["shop-v2", true, ["10.0.1.1:80"]],
    ["shadow", false, []],
  ]);
  assert.deepEqual(a.groups[0]!.backends.map((x) => [x.address, x.usable]), [
    ["10.0.0.1:80", true],
    ["10.0.0.2:80", false], // unhealthy
    ["10.0.0.3:80", false], // draining
  ]);
  const beta = whichRoute(CONFIG, {
    method: "GET",
    url: "https://shop.example.com/cart",
    headers: { cookie: "beta=1" },
  }, GROUPS);
  assert.deepEqual(beta.groups, [{ group: "shop-beta", exists: true, backends: [], usable: [] }]);
});

Deno.test("whichRoute() reports the request as matched and refuses a URL that is not absolute", () => {
  const a = whichRoute(
    CONFIG,
    { method: "post", url: "https://shop.example.com/cart?id=1&x" },
    GROUPS,
  );
  assert.deepEqual(a.request, {
    method: "POST",
    host: "shop.example.com",
    path: "/cart",
    query: "id=1&x",
  });
  assert.throws(() => whichRoute(CONFIG, { method: "GET", url: "/cart" }, GROUPS), TypeError);
});

Deno.test("formatRouteAnswer() prints the route, the action, params, mirror and each backend's state", () => {
  const a = whichRoute(
    CONFIG,
    { method: "GET", url: "https://shop.example.com/cart?id=1" },
    GROUPS,
  );
  assert.equal(
    formatRouteAnswer(a),
    [
      "GET shop.example.com/cart?id=1",
      "route: cart (#2)",
      "action: split: shop-v1 weight 95 (95%), shop-v2 weight 5 (5%)",
      "mirror: 10% to shadow",
      "group shop-v1: 1 of 3 backends usable",
      "  10.0.0.1:80\tusable",
      "  10.0.0.2:80\tunhealthy",
      "  10.0.0.3:80\tdraining",
      "group shop-v2: 1 of 1 backends usable",
      "  10.0.1.1:80\tusable",
      "group shadow: does not exist",
    ].join("\n"),
  );
  const user = whichRoute(CONFIG, { method: "GET", url: "http://a.example.com/users/1/x" }, GROUPS);
  assert.match(formatRouteAnswer(user), /\nparams: id=1 \*=x\n/);
  const fallback = whichRoute(CONFIG, { method: "PUT", url: "http://a.b/c" }, GROUPS);
  assert.match(
    formatRouteAnswer(fallback),
    /route: fallback \(#5, the default route\)\naction: direct response 503$/,
  );
  const redirect = whichRoute(CONFIG, { method: "GET", url: "http://old.example.com/" }, GROUPS);
  assert.match(
    formatRouteAnswer(redirect),
    /action: redirect 301 to https:\/\/shop.example.com\/$/,
  );
});

Deno.test("whichRoute() matches a scheme condition on the test URL's scheme", () => {
  const config = listener({
    routes: [
      { name: "to-https", match: { scheme: "http" }, redirect: { scheme: "https", status: 308 } },
      { name: "web", forward: { group: "web" } },
    ],
  });
  const plain = whichRoute(config, { method: "GET", url: "http://shop.test/a?b=1" }, new Map());
  assert.equal(plain.route?.name, "to-https");
  assert.deepEqual(plain.action, {
    type: "redirect",
    status: 308,
    location: "https://shop.test/a?b=1",
  });
  const secure = whichRoute(config, { method: "GET", url: "https://shop.test/a" }, new Map());
  assert.equal(secure.route?.name, "web");
});
