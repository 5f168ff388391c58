/**
 * The words the console shows for a group whose stored config is invalid (written around the API,
 * e.g. with zkCli.sh): the same facts the API and `ctl get` give (that it is invalid, each reason
 * as `field: reason` or the JSON error's position) and the way back (History's rollback, or
 * `ctl rollback`). Pure, so it is tested without a browser.
 *
 * @module
 */
import type { IssueView } from "../model.ts";

/** The notice's text: a headline, one line per issue, and what to do. */
export interface InvalidNotice {
  readonly headline: string;
  readonly lines: readonly string[];
  readonly hint: string;
}

/**
 * The notice for `group` at `version` with `issues`, or null when there are none.
 *
 * @example
 * ```ts
 * import { invalidNotice } from "./invalid_notice.ts";
 * invalidNotice("shop", 4, [{ field: "algorithm", reason: "must be one of ..." }])?.lines;
 * // ["algorithm: must be one of ..."]
 * ```
 */
export function invalidNotice(
  group: string,
  version: number | null,
  issues: readonly IssueView[],
): InvalidNotice | null {
  if (issues.length === 0) return null;
  return {
    headline: `The stored config${
      version === null ? "" : ` (version ${version})`
    } is invalid; the proxies keep serving their last good one.`,
    lines: issues.map((i) => `${i.field || "(config)"}: ${i.reason}`),
    hint: `Roll back: open History and roll back to a good version, or run ` +
      `\`ctl rollback ${group} VERSION\`.`,
  };
}
