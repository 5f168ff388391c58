/**
 * The JSON Schemas in `schema/` are what lib/config/json_schema.ts generates
 * from the zod schemas now (`deno task schema` rewrites them), and they
 * describe the README's example config.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ALGORITHMS } from "../../lib/config/schema.ts";
import { jsonSchemaFiles } from "../../lib/config/json_schema.ts";
import { SCHEMA_DIR } from "../../deploy/schema.ts";

Deno.test("schema/ holds exactly the generated JSON Schemas (run `deno task schema` if not)", () => {
  const generated = jsonSchemaFiles();
  const committed = fs.readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".json")).sort();
  assert.deepEqual(committed, Object.keys(generated).sort());
  for (const [name, text] of Object.entries(generated)) {
    assert.equal(
      fs.readFileSync(path.join(SCHEMA_DIR, name), "utf8"),
      text,
      `schema/${name} is stale: run \`deno task schema\``,
    );
  }
});

Deno.test("the generated schemas carry $schema and the group config's keys", () => {
  const files = jsonSchemaFiles();
  for (const text of Object.values(files)) {
    assert.equal(JSON.parse(text).$schema, "https://json-schema.org/draft/2020-12/schema");
  }
  const group = JSON.parse(files["group-config.schema.json"]!);
  assert.deepEqual(group.required, ["backend_servers"]);
  assert.equal(group.additionalProperties, false);
  assert.deepEqual(group.properties.algorithm.enum, [...ALGORITHMS]);
  const entry = group.properties.backend_servers.items.anyOf[1];
  assert.deepEqual(entry.properties.weight, {
    type: "integer",
    minimum: 1,
    maximum: 10_000,
    default: 1,
  });
  const file = JSON.parse(files["config-file.schema.json"]!);
  assert.deepEqual(file.additionalProperties.properties, group.properties);
  const listener = JSON.parse(files["listener-config.schema.json"]!);
  assert.deepEqual(listener.required, ["routes"]);
  assert.ok(listener.properties.routes.items.properties.forward);
});
