import assert from "node:assert/strict";
import { describeAction, describeMatch } from "./route_summary.ts";

Deno.test("describeMatch() summarizes every kind of condition, and a route without any", () => {
  const table: [unknown, string][] = [
    [{}, "everything"],
    [{ match: {} }, "everything"],
    [null, "everything"],
    [
      {
        match: {
          host: "*.example.com",
          path: { prefix: "/cart" },
          methods: ["GET", "POST"],
          headers: [{ name: "cookie", present: true }, { name: "x-env", one_of: ["a", "b"] }],
          query: [{ name: "id", exact: "1" }],
        },
      },
      "host *.example.com, path prefix /cart, methods GET|POST, header cookie present, " +
      "header x-env in [a, b], query id=1",
    ],
    [{ match: { path: { exact: "/gone" } } }, "path exact /gone"],
  ];
  for (const [route, want] of table) assert.equal(describeMatch(route), want);
});

Deno.test("describeAction() summarizes forward, split, redirect, direct response and a mirror", () => {
  const table: [unknown, string][] = [
    [{ forward: { group: "api" } }, "forward to api"],
    [
      { split: [{ group: "v1", weight: 95 }, { group: "v2", weight: 5 }] },
      "split v1 95, v2 5",
    ],
    [
      { redirect: { status: 301, scheme: "https", host: "shop.example.com" } },
      "redirect 301 to https://shop.example.com",
    ],
    [{ redirect: { status: 308 } }, "redirect 308"],
    [{ direct_response: { status: 410 } }, "direct response 410"],
    [
      { forward: { group: "api" }, mirror: { group: "shadow", percent: 5 } },
      "forward to api, mirror 5% to shadow",
    ],
    [{ name: "x" }, "no action"],
    ["junk", "?"],
  ];
  for (const [route, want] of table) assert.equal(describeAction(route), want);
});
