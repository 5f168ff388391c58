/**
 * The config file of embedded mode, as text: a JSON object of groups (group
 * name -> config blob). Which group a proxy serves is chosen once, from the
 * file at start (`--group`, or the file's only group); every later edit is
 * turned into that group's {@link ConfigUpdate}. Pure: reading and watching
 * the file is `file.ts`'s job.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { formatIssues, parseJsonConfig, validateConfigFile } from "../config/schema.ts";
import type { ConfigUpdate } from "./config_source.ts";
import { fileSections } from "./file_sections.ts";

/** A short content hash used as the config version of a blob. */
export function contentVersion(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** The group chosen at start and its first config, or why the file cannot be served. */
export type GroupChoice =
  | { readonly ok: true; readonly group: string; readonly update: ConfigUpdate }
  | { readonly ok: false; readonly message: string };

/**
 * Chooses the group to serve from the file's first reading: the one asked
 * for, or the file's only group. The whole file must be valid.
 *
 * @param label How messages name the file (its path).
 * @param text The file's text.
 * @param requested The `--group` flag, if given.
 * @returns The group and its first update, or a message naming the file, group and field.
 *
 * @example
 * ```ts
 * import { chooseGroup } from "./config_file.ts";
 * const c = chooseGroup("lb.json", '{"api": {"backend_servers": ["127.0.0.1:9001"]}}', undefined);
 * console.log(c.ok && c.group); // api
 * ```
 */
export function chooseGroup(
  label: string,
  text: string,
  requested: string | undefined,
): GroupChoice {
  const parsed = parseJsonConfig(text);
  if (!parsed.ok) return { ok: false, message: `${label}: ${formatIssues(parsed.issues)}` };
  const file = validateConfigFile(fileSections(parsed.value).groups);
  if (!file.ok) {
    return { ok: false, message: `${label}: invalid config\n${formatIssues(file.issues)}` };
  }
  const groups = Object.keys(file.value);
  if (requested === undefined && groups.length !== 1) {
    return {
      ok: false,
      message: `${label} has ${groups.length} groups (${groups.join(", ")}): use --group`,
    };
  }
  const group = requested ?? groups[0]!;
  if (!groups.includes(group)) {
    return {
      ok: false,
      message: `${label} has no group "${group}" (it has: ${groups.join(", ")})`,
    };
  }
  return { ok: true, group, update: groupUpdate(text, group) };
}

/**
 * The update an edit of the file means for `group`: its blob, versioned by
 * the blob's content (an edit of another group does not change it); or the
 * issues, versioned by the file's content, when the file is not JSON, any
 * group in it is invalid, or the group is gone.
 *
 * @example
 * ```ts
 * import { groupUpdate } from "./config_file.ts";
 * const u = groupUpdate('{"other": {"backend_servers": ["127.0.0.1:9001"]}}', "api");
 * console.log("issues" in u && u.issues[0]?.reason); // group removed from the file
 * ```
 */
export function groupUpdate(text: string, group: string): ConfigUpdate {
  const version = contentVersion(text);
  const json = parseJsonConfig(text, group);
  if (!json.ok) return { version, issues: json.issues };
  const groups = fileSections(json.value).groups;
  const all = validateConfigFile(groups);
  if (!all.ok) return { version, issues: all.issues };
  const blob = (groups as Record<string, unknown>)[group];
  if (blob === undefined) {
    return { version, issues: [{ group, field: "", reason: "group removed from the file" }] };
  }
  return { version: contentVersion(JSON.stringify(blob)), blob };
}
