/**
 * The sections of a config file: `groups` and `listeners` when the top level
 * has a `listeners` key (see listener_file.ts), else the one-section form of
 * groups only. A top-level `$schema` (an editor's link to schema/) is no
 * section and no group: it is dropped in both forms. Pure.
 *
 * @module
 */
import { withoutSchemaKey } from "../config/schema_key.ts";

/** The two sections of a config file (the one-section form has no listeners). */
export interface FileSections {
  readonly groups: unknown;
  readonly listeners: Readonly<Record<string, unknown>> | null;
}

/**
 * Splits a parsed config file into its sections.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileSections } from "./file_sections.ts";
 * assert.deepEqual(fileSections({ api: {} }), { groups: { api: {} }, listeners: null });
 * assert.deepEqual(fileSections({ groups: { api: {} }, listeners: { pub: {} } }), {
 *   groups: { api: {} },
 *   listeners: { pub: {} },
 * });
 * // an editor's $schema is neither a group nor a section
 * assert.deepEqual(fileSections({ $schema: "schema/config-file.schema.json", api: {} }), {
 *   groups: { api: {} },
 *   listeners: null,
 * });
 * ```
 */
export function fileSections(value: unknown): FileSections {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { groups: value, listeners: null };
  }
  const v = value as Record<string, unknown>;
  if (!("listeners" in v)) return { groups: withoutSchemaKey(value), listeners: null };
  const listeners = v.listeners;
  return {
    groups: v.groups ?? {},
    listeners: typeof listeners === "object" && listeners !== null && !Array.isArray(listeners)
      ? listeners as Record<string, unknown>
      : {},
  };
}
