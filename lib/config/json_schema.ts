/**
 * JSON Schemas for editors, generated from the zod schemas (zod 4's
 * `z.toJSONSchema`), so they cannot drift from what the proxies accept:
 *
 * - `group-config.schema.json`: one group's blob (`/lb-configs/<group>`);
 * - `config-file.schema.json`: a `--config` file, in both its forms (group
 *   name -> blob; or the `groups` and `listeners` sections);
 * - `listener-config.schema.json`: a listener's routes (`/lb-routes/<listener>`).
 *
 * `deno task schema` writes them into `schema/`; a test fails when the
 * committed files are not what this module generates. They describe the
 * input (defaults are not required), and allow the top-level `"$schema"` an
 * editor reads (Switchyard drops it, see schema_key.ts). Checks zod runs in code (duplicate
 * backends or route names, host syntax, exactly one action per route) are
 * not expressible here: the zod schema stays the authority, and a file an
 * editor accepts can still be refused with a field and a reason.
 *
 * @module
 */
import { z } from "zod";
import { GROUP_NAME, groupConfigSchema } from "./schema.ts";
import { SCHEMA_KEY } from "./schema_key.ts";
import { listenerConfigSchema } from "../routing/schema.ts";

/**
 * A `backend_servers` entry: the list is checked by code (every entry, then
 * duplicates), which zod cannot export, so the entry's shape is spelled out
 * here. Mirrors `checkBackend` in schema.ts (its table tests are the contract).
 */
const BACKEND_ENTRY = {
  anyOf: [
    { type: "string", description: '"host:port" (IPv6 as "[addr]:port")', minLength: 3 },
    {
      type: "object",
      properties: {
        address: { type: "string", description: '"host:port" (IPv6 as "[addr]:port")' },
        weight: { type: "integer", minimum: 1, maximum: 10_000, default: 1 },
        drain: {
          type: "boolean",
          default: false,
          description: "keep the backend but send it no new request",
        },
      },
      required: ["address"],
      additionalProperties: false,
    },
  ],
};

function generate(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
}

function groupConfig(): Record<string, unknown> {
  const out = generate(groupConfigSchema);
  const props = out.properties as Record<string, Record<string, unknown>>;
  props.backend_servers = { ...props.backend_servers, items: BACKEND_ENTRY };
  return out;
}

/**
 * The top-level `"$schema"` an editor reads (see schema_key.ts): allowed at
 * the top of every file, dropped before validation; nowhere else.
 */
const SCHEMA_KEY_PROPERTY = {
  type: "string",
  description: "this file's JSON Schema, for editors (ignored by Switchyard)",
};

/** `body` (an object schema) with `$schema` allowed among its top-level properties. */
function withSchemaKey(body: Record<string, unknown>): Record<string, unknown> {
  const properties = body.properties as Record<string, unknown>;
  return { ...body, properties: { [SCHEMA_KEY]: SCHEMA_KEY_PROPERTY, ...properties } };
}

/**
 * Every schema file, by file name, as its JSON text (two-space indent, final newline).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonSchemaFiles } from "./json_schema.ts";
 * const files = jsonSchemaFiles();
 * const group = JSON.parse(files["group-config.schema.json"]!);
 * assert.equal(group.$schema, "https://json-schema.org/draft/2020-12/schema");
 * assert.ok(group.properties.algorithm.enum.includes("LEAST_CONNECTIONS"));
 * ```
 */
export function jsonSchemaFiles(): Record<string, string> {
  const group = groupConfig();
  const { $schema, ...groupBody } = group;
  const { $schema: _, ...listenerBody } = generate(listenerConfigSchema);
  const names = { pattern: GROUP_NAME.source };
  const groupMap = {
    type: "object",
    minProperties: 1,
    propertyNames: names,
    additionalProperties: { $ref: "#/$defs/group" },
  };
  const files: Record<string, Record<string, unknown>> = {
    "group-config.schema.json": {
      $schema,
      title: "Switchyard group config",
      description: "One group's config blob, as stored in /lb-configs/<group>.",
      ...withSchemaKey(groupBody),
    },
    "config-file.schema.json": {
      $schema,
      title: "Switchyard config file",
      description: 'A --config file: group name -> group config blob; or, with a "listeners" ' +
        'key, the sections { "groups": { name -> blob }, "listeners": { name -> routes } }.',
      type: "object",
      if: { required: ["listeners"] },
      then: {
        properties: {
          [SCHEMA_KEY]: SCHEMA_KEY_PROPERTY,
          groups: groupMap,
          listeners: {
            type: "object",
            propertyNames: names,
            additionalProperties: { $ref: "#/$defs/listener" },
          },
        },
        required: ["groups", "listeners"],
        additionalProperties: false,
      },
      else: {
        ...groupMap,
        properties: { [SCHEMA_KEY]: SCHEMA_KEY_PROPERTY },
        propertyNames: { anyOf: [{ const: SCHEMA_KEY }, names] },
      },
      $defs: { group: groupBody, listener: listenerBody },
    },
    "listener-config.schema.json": {
      $schema,
      title: "Switchyard listener route config",
      description: "A listener's routes, as stored in /lb-routes/<listener>.",
      ...withSchemaKey(listenerBody),
    },
  };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(files)) {
    out[name] = JSON.stringify(value, null, 2) + "\n";
  }
  return out;
}
