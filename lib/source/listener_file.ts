/**
 * A config file with listeners (`--listener` with `--config`): two sections,
 *
 * ```json
 * { "groups": { "api": { ... }, "web": { ... } },
 *   "listeners": { "public": { "routes": [ ... ] } } }
 * ```
 *
 * A file is read this way when its top level has a `listeners` key (so
 * `listeners` is not usable as a group name in the one-section form). The
 * one-section form, group name -> blob, stays what `--group` reads; `--group`
 * also reads the `groups` section of a two-section file. Pure: reading and
 * watching the file is `file.ts`'s job.
 *
 * @module
 */
import { formatIssues, parseJsonConfig, validateConfigFile } from "../config/schema.ts";
import { type RouteIssue, validateListenerConfig } from "../routing/schema.ts";
import { contentVersion } from "./config_file.ts";
import { fileSections } from "./file_sections.ts";

/** What an edit of the file means for one listener. */
export type ListenerFileUpdate =
  | {
    readonly version: string;
    /** The listener's config, valid against the file's groups. */
    readonly listener: unknown;
    /** The file's group blobs (all valid). */
    readonly groups: Readonly<Record<string, unknown>>;
  }
  | { readonly version: string; readonly issues: readonly RouteIssue[] };

/**
 * The update the file's text means for `listener`: its routes and the
 * groups, when the whole file is valid and every group a route names is in
 * it; else the issues (nothing of the file is applied then).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenerFileUpdate } from "./listener_file.ts";
 * const text = JSON.stringify({
 *   groups: { api: { backend_servers: ["127.0.0.1:9001"] } },
 *   listeners: { pub: { routes: [{ name: "all", forward: { group: "web" } }] } },
 * });
 * const u = listenerFileUpdate(text, "pub");
 * assert.ok("issues" in u);
 * assert.equal(u.issues[0]!.field, "routes[0].forward.group");
 * ```
 */
export function listenerFileUpdate(text: string, listener: string): ListenerFileUpdate {
  const version = contentVersion(text);
  const issue = (field: string, reason: string) => ({
    version,
    issues: [{ listener, field, reason }],
  });
  const json = parseJsonConfig(text, listener);
  if (!json.ok) return issue("", json.issues[0]!.reason);
  const sections = fileSections(json.value);
  if (sections.listeners === null) {
    return issue("", 'the file has no "listeners" section');
  }
  const blob = sections.listeners[listener];
  if (blob === undefined) {
    const names = Object.keys(sections.listeners);
    return issue("", `the file has no listener "${listener}" (it has: ${names.join(", ")})`);
  }
  const groups = validateConfigFile(sections.groups);
  if (!groups.ok) return issue("groups", formatIssues(groups.issues));
  const v = validateListenerConfig(listener, blob, new Set(Object.keys(groups.value)));
  if (!v.ok) return { version, issues: v.issues };
  return { version, listener: blob, groups: sections.groups as Record<string, unknown> };
}
