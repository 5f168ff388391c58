import assert from "node:assert/strict";
import { type ExportDocument, planImport, validateExport } from "./export.ts";

const doc = (groups: Record<string, unknown>, listeners: Record<string, unknown> = {}) => ({
  format: "switchyard-export",
  format_version: 1,
  exported_at: "2026-12-07T00:00:00.000Z",
  groups,
  listeners,
});

Deno.test("validateExport() accepts a whole cluster and reports every problem otherwise", () => {
  const table: [string, unknown, ReadonlySet<string>, RegExp[] | null][] = [
    ["valid", doc({ a: { backend_servers: [] } }), new Set(), null],
    ["empty cluster", doc({}), new Set(), null],
    [
      "route to a cluster group",
      doc({}, { l: { routes: [{ name: "r", forward: { group: "c" } }] } }),
      new Set(["c"]),
      null,
    ],
    ["not an object", [], new Set(), [/must be a JSON object/]],
    ["other format", { ...doc({}), format: "x" }, new Set(), [
      /format must be "switchyard-export"/,
    ]],
    ["newer layout", { ...doc({}), format_version: 2 }, new Set(), [/format_version 2/]],
    ["groups not an object", { ...doc({}), groups: [] }, new Set(), [/groups must be an object/]],
    [
      "every bad group and route",
      doc(
        { a: { backend_servers: "x" }, "b/c": { backend_servers: [] } },
        { l: { routes: [{ name: "r", forward: { group: "nope" } }] } },
      ),
      new Set(),
      [
        /^group "a": backend_servers/,
        /^group "b\/c": group name/,
        /^listener "l": routes\[0\]\.forward\.group/,
      ],
    ],
  ];
  for (const [name, input, cluster, want] of table) {
    const r = validateExport(input, cluster);
    if (want === null) assert.ok(r.ok, `${name}: ${JSON.stringify(r)}`);
    else {
      assert.ok(!r.ok, name);
      assert.equal(r.problems.length, want.length, `${name}: ${r.problems.join("; ")}`);
      want.forEach((re, i) => assert.match(r.problems[i]!, re, name));
    }
  }
});

Deno.test("planImport() creates what is missing, replaces what differs, deletes nothing", () => {
  const d = doc(
    { a: { backend_servers: [], algorithm: "RANDOM" }, b: { backend_servers: [] } },
    { l: { routes: [] } },
  ) as ExportDocument;
  const steps = planImport(d, {
    groups: new Map([
      // same content, other key order: unchanged
      ["a", { version: 4, config: { algorithm: "RANDOM", backend_servers: [] } }],
      ["b", { version: 1, config: { backend_servers: ["10.0.0.1:80"] } }],
      ["z", { version: 0, config: { backend_servers: [] } }],
    ]),
    listeners: new Map(),
  });
  assert.deepEqual(steps, [
    { kind: "group", name: "a", action: "unchanged", version: 4 },
    { kind: "group", name: "b", action: "replace", version: 1 },
    { kind: "listener", name: "l", action: "create", version: null },
  ]);
});
