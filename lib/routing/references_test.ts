import assert from "node:assert/strict";
import { groupReferences } from "./references.ts";

Deno.test("groupReferences() lists forward, split and mirror groups by route and field", () => {
  const table: [string, unknown, string[]][] = [
    ["not an object", "x", []],
    ["no routes", {}, []],
    ["routes not a list", { routes: { a: 1 } }, []],
    ["a forward", { routes: [{ name: "a", forward: { group: "g" } }] }, [
      "a#0 routes[0].forward.group=g",
    ]],
    [
      "a split and a mirror",
      {
        routes: [
          { name: "r", redirect: { status: 301 } },
          {
            name: "c",
            split: [{ group: "v1", weight: 9 }, { group: "v2", weight: 1 }],
            mirror: { group: "m", percent: 1 },
          },
        ],
      },
      [
        "c#1 routes[1].split[0].group=v1",
        "c#1 routes[1].split[1].group=v2",
        "c#1 routes[1].mirror.group=m",
      ],
    ],
    // an invalid blob still names its groups: the proxies may serve its last good version
    ["an unnamed route, a bad split entry", {
      routes: [{ forward: { group: "g" } }, { name: "s", split: [7, { group: "h" }] }, null],
    }, ["#0#0 routes[0].forward.group=g", "s#1 routes[1].split[1].group=h"]],
    ["a group that is not a string", { routes: [{ name: "a", forward: { group: 1 } }] }, []],
  ];
  for (const [what, config, want] of table) {
    assert.deepEqual(
      groupReferences(config).map((r) => `${r.route}#${r.index} ${r.field}=${r.group}`),
      want,
      what,
    );
  }
});
