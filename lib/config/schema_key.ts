/**
 * The `$schema` key an editor's JSON file carries to find its JSON Schema
 * (`"$schema": "../schema/group-config.schema.json"`, see schema/). It is not
 * config: a config file, or a group or listener config sent to the admin API,
 * may carry it at the top level, and it is dropped before validation, so the
 * strict schemas need not know it and no proxy ever sees it in ZooKeeper.
 * Pure.
 *
 * @module
 */

/** The key editors read a file's JSON Schema from. */
export const SCHEMA_KEY = "$schema";

/**
 * `value` without its top-level {@link SCHEMA_KEY} (a shallow copy, only when
 * it has one); anything else unchanged (validation reports it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withoutSchemaKey } from "./schema_key.ts";
 * const file = { $schema: "./group-config.schema.json", backend_servers: ["10.0.0.1:80"] };
 * assert.deepEqual(withoutSchemaKey(file), { backend_servers: ["10.0.0.1:80"] });
 * const plain = { backend_servers: [] };
 * assert.equal(withoutSchemaKey(plain), plain);
 * assert.equal(withoutSchemaKey("x"), "x");
 * ```
 */
export function withoutSchemaKey(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  if (!Object.hasOwn(value, SCHEMA_KEY)) return value;
  const { [SCHEMA_KEY]: _, ...rest } = value as Record<string, unknown>;
  return rest;
}
