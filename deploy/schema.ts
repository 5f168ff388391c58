/**
 * `deno task schema` (`npm run schema`): writes the JSON Schemas generated
 * from the zod schemas into `schema/` (see lib/config/json_schema.ts). Run it
 * after changing a schema; tests/packaging/schema_test.ts fails until the
 * committed files match.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { jsonSchemaFiles } from "../lib/config/json_schema.ts";
import { REPO_ROOT } from "../lib/runtime/role_command.ts";

/** The directory the schema files live in. */
export const SCHEMA_DIR: string = path.join(REPO_ROOT, "schema");

if (import.meta.main) {
  fs.mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [name, text] of Object.entries(jsonSchemaFiles())) {
    fs.writeFileSync(path.join(SCHEMA_DIR, name), text);
    process.stdout.write(`wrote schema/${name}\n`);
  }
}
