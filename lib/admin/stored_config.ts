/**
 * What is wrong with a group's stored blob. The admin API validates every write, but an operator
 * with the admin digest can write `/lb-configs/<group>` with zkCli.sh; the proxies reject such a
 * blob and keep their last good config, and the API, `ctl` and the console must say the same
 * thing: that the stored data is invalid, why (the JSON error's position, or each schema issue as
 * `field: reason`), and how to get back to a good version (rollback). Pure: no I/O.
 *
 * @module
 */
import { validateGroupConfig } from "../config/schema.ts";
import { jsonSyntaxError } from "./json_syntax.ts";

/** One reason, as the schema reports it (`field` empty for the whole blob). */
export interface StoredIssue {
  readonly field: string;
  readonly reason: string;
}

/** Why a stored blob is not a valid config. */
export interface StoredConfigProblem {
  /** One line per issue: `invalid JSON at position 8 (line 1, column 9): ...` or `field: reason`. */
  readonly reason: string;
  readonly issues: readonly StoredIssue[];
}

/**
 * The reason a text is not JSON, with its position (the runtime's own message as the detail).
 *
 * @param raw the text
 * @param message `JSON.parse`'s error message
 */
export function invalidJsonReason(raw: string, message: string): string {
  const at = jsonSyntaxError(raw);
  return at === null
    ? `invalid JSON: ${message}`
    : `invalid JSON at position ${at.position} (line ${at.line}, column ${at.column}): ${at.found} (${message})`;
}

/** The schema issues of a group config (the default check of {@linkcode inspectStoredConfig}). */
function groupIssues(group: string, config: unknown): readonly StoredIssue[] {
  const r = validateGroupConfig(group, config);
  return r.ok ? [] : r.issues.map((i) => ({ field: i.field, reason: i.reason }));
}

/**
 * Parses and validates a stored blob.
 *
 * @param name the group (or listener) it belongs to
 * @param raw the stored text
 * @param issuesOf the schema check (default: a group config's); empty when valid
 * @returns the parsed value (null when it is not JSON) and the problem (null when valid)
 * @example
 * ```ts
 * import { inspectStoredConfig } from "./stored_config.ts";
 * inspectStoredConfig("g", "{bad").problem?.reason;
 * // 'invalid JSON at position 1 (line 1, column 2): unexpected character "b" (...)'
 * ```
 */
export function inspectStoredConfig(
  name: string,
  raw: string,
  issuesOf: (name: string, config: unknown) => readonly StoredIssue[] = groupIssues,
): { config: unknown; problem: StoredConfigProblem | null } {
  let config: unknown;
  try {
    config = JSON.parse(raw);
  } catch (e) {
    const reason = invalidJsonReason(raw, (e as Error).message);
    return { config: null, problem: { reason, issues: [{ field: "", reason }] } };
  }
  const issues = issuesOf(name, config);
  if (issues.length === 0) return { config, problem: null };
  return {
    config,
    problem: {
      reason: issues.map((i) => (i.field ? `${i.field}: ${i.reason}` : i.reason)).join("; "),
      issues,
    },
  };
}

/**
 * What to do about an invalid stored config: roll back to `lastGood` (the newest version in the
 * history that is valid) or, without one, write a valid config.
 *
 * @param group the group
 * @param lastGood the version to roll back to, or null
 */
export function rollbackHint(group: string, lastGood: number | null): string {
  return lastGood === null
    ? `no valid version in the history: write a valid config with \`ctl set ${group} FILE\` ` +
      `(PUT /api/groups/${group})`
    : `the proxies keep serving their last good config; restore version ${lastGood} with ` +
      `\`ctl rollback ${group} ${lastGood}\` (POST /api/groups/${group}/rollback ` +
      `{"version":${lastGood}}), or write a valid config with \`ctl set ${group} FILE\``;
}
