import assert from "node:assert/strict";
import { chooseGroup, contentVersion, groupUpdate } from "./config_file.ts";
import { isIssues } from "./config_source.ts";
import { fileSections } from "./file_sections.ts";
import { listenerFileUpdate } from "./listener_file.ts";

const A = { backend_servers: ["127.0.0.1:9001"] };
const ROUTES = { routes: [{ name: "all", forward: { group: "a" } }] };
const SCHEMA = "../schema/config-file.schema.json";
const json = (v: unknown) => JSON.stringify(v);

Deno.test("fileSections() drops a top-level $schema in both forms, and nothing else", () => {
  const table: [string, unknown, unknown, unknown][] = [
    // name, file, groups, listeners
    ["groups only", { $schema: SCHEMA, a: A }, { a: A }, null],
    ["groups only, no $schema", { a: A }, { a: A }, null],
    ["two sections", { $schema: SCHEMA, groups: { a: A }, listeners: { pub: ROUTES } }, { a: A }, {
      pub: ROUTES,
    }],
    // a $schema inside a group is the group's (and the schema refuses it)
    ["inside a group", { a: { ...A, $schema: SCHEMA } }, { a: { ...A, $schema: SCHEMA } }, null],
    ["$schema alone", { $schema: SCHEMA }, {}, null],
  ];
  for (const [name, file, groups, listeners] of table) {
    assert.deepEqual(fileSections(file), { groups, listeners }, name);
  }
});

Deno.test("a config file with an editor's $schema is served, in both forms", () => {
  for (
    const file of [{ $schema: SCHEMA, a: A }, { $schema: SCHEMA, groups: { a: A }, listeners: {} }]
  ) {
    const c = chooseGroup("lb.json", json(file), undefined);
    assert.ok(c.ok, json(file));
    assert.equal(c.group, "a");
    assert.deepEqual(c.update, { version: contentVersion(json(A)), blob: A });
    const u = groupUpdate(json(file), "a");
    assert.equal(isIssues(u), false, json(file));
  }
  const u = listenerFileUpdate(
    json({ $schema: SCHEMA, groups: { a: A }, listeners: { pub: ROUTES } }),
    "pub",
  );
  assert.ok(!("issues" in u), json(u));
  assert.deepEqual(u.listener, ROUTES);
  assert.deepEqual(u.groups, { a: A });
});

Deno.test("a config file that is only a $schema, or has one inside a group, is refused", () => {
  const none = chooseGroup("lb.json", json({ $schema: SCHEMA }), undefined);
  assert.equal(none.ok, false);
  assert.match((none as { message: string }).message, /config file has no groups/);
  const inside = chooseGroup("lb.json", json({ a: { ...A, $schema: SCHEMA } }), undefined);
  assert.equal(inside.ok, false);
  assert.match((inside as { message: string }).message, /group "a": .*\$schema/);
});
