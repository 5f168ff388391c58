/**
 * The JSON Schemas in `schema/` are what lib/config/json_schema.ts generates
 * from the zod schemas now (`deno task schema` rewrites them), they describe
 * the README's example config, and a real validator (as editors run) accepts
 * a top-level `$schema` where Switchyard does.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ALGORITHMS, validateConfigFile } from "../../lib/config/schema.ts";
import { jsonSchemaFiles } from "../../lib/config/json_schema.ts";
import { SCHEMA_DIR } from "../../deploy/schema.ts";
import { fileSections } from "../../lib/source/file_sections.ts";
import { listenerFileUpdate } from "../../lib/source/listener_file.ts";

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
  const { $schema: _, ...groupProperties } = group.properties;
  assert.deepEqual(file.$defs.group.properties, groupProperties);
  assert.deepEqual(file.else.additionalProperties, { $ref: "#/$defs/group" });
  assert.deepEqual(file.if, { required: ["listeners"] });
  const listener = JSON.parse(files["listener-config.schema.json"]!);
  assert.deepEqual(listener.required, ["routes"]);
  assert.deepEqual(file.$defs.listener.required, ["routes"]);
  assert.ok(listener.properties.routes.items.properties.forward);
});

/**
 * Validates `samples` against schema/`file` with a real JSON Schema validator
 * (python3-jsonschema, draft 2020-12, installed by deploy/provision.sh), as an
 * editor would; true per sample when valid.
 */
function editorAccepts(file: string, samples: readonly unknown[]): boolean[] {
  const script = [
    "import json, sys",
    "from jsonschema import Draft202012Validator",
    "schema_file, samples = json.load(sys.stdin)",
    "v = Draft202012Validator(json.load(open(schema_file)))",
    "print(json.dumps([v.is_valid(s) for s in samples]))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", script], {
    input: JSON.stringify([path.join(SCHEMA_DIR, file), samples]),
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const SAMPLE_GROUP = { backend_servers: ["127.0.0.1:9001"] };
const SAMPLE_ROUTES = { routes: [{ name: "all", forward: { group: "a" } }] };

Deno.test("an editor accepts a top-level $schema in every file and both config-file forms, as Switchyard does", () => {
  const $schema = "./config-file.schema.json";
  // sample, accepted (by the editor's validator and by the proxies' reading of a --config file)
  const files: [unknown, boolean][] = [
    [{ $schema, a: SAMPLE_GROUP }, true],
    [{ a: SAMPLE_GROUP }, true],
    [{ $schema, groups: { a: SAMPLE_GROUP }, listeners: { pub: SAMPLE_ROUTES } }, true],
    [{ groups: { a: SAMPLE_GROUP }, listeners: { pub: SAMPLE_ROUTES } }, true],
    // only at the top: inside a group it is an unknown key
    [{ a: { ...SAMPLE_GROUP, $schema } }, false],
    [{ $schema, groups: { a: { ...SAMPLE_GROUP, $schema } }, listeners: {} }, false],
    // positive controls: the validator does refuse what the proxies refuse
    [{ a: { backend_servers: "127.0.0.1:9001" } }, false],
    [{ "bad name": SAMPLE_GROUP }, false],
    [{ groups: { a: SAMPLE_GROUP }, listeners: { pub: { routes: 1 } } }, false],
  ];
  assert.deepEqual(
    editorAccepts("config-file.schema.json", files.map(([f]) => f)),
    files.map(([, ok]) => ok),
  );
  for (const [file, ok] of files) {
    const text = JSON.stringify(file);
    const sections = fileSections(JSON.parse(text));
    const groups = validateConfigFile(sections.groups);
    const listeners = sections.listeners === null ? [] : Object.keys(sections.listeners);
    const served = groups.ok &&
      listeners.every((l) => !("issues" in listenerFileUpdate(text, l)));
    assert.equal(served, ok, `Switchyard reads ${text}`);
  }
  assert.deepEqual(
    editorAccepts("group-config.schema.json", [
      { $schema, ...SAMPLE_GROUP },
      SAMPLE_GROUP,
      { ...SAMPLE_GROUP, bogus: 1 },
    ]),
    [true, true, false],
  );
  assert.deepEqual(
    editorAccepts("listener-config.schema.json", [
      { $schema, ...SAMPLE_ROUTES },
      SAMPLE_ROUTES,
      { ...SAMPLE_ROUTES, bogus: 1 },
    ]),
    [true, true, false],
  );
});
