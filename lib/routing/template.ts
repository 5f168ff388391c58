/**
 * Path templates such as `/users/:id/*`: parsed once when a listener config is
 * validated, matched segment by segment (never as a regular expression, so a
 * hostile request path cannot make matching backtrack).
 *
 * Grammar: `/` followed by one or more non-empty segments separated by `/`.
 * A segment is a literal (compared exactly, case-sensitively), a parameter
 * `:name` (matches one non-empty segment), or, last only, `*` (matches the
 * rest of the path: zero or more segments, captured as the parameter `*`).
 *
 * @module
 */

/** One parsed template segment. */
export type TemplateSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "rest" };

/** Parameter names: identifiers, so they read well in logs and rewrites. */
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Literal segments: RFC 3986 pchar without `*` (reserved for the rest). */
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=:@%-]+$/;
const MAX_SEGMENTS = 64;

/**
 * Parses a template, or returns why it is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTemplate } from "./template.ts";
 * assert.deepEqual(parseTemplate("/users/:id/*"), [
 *   { kind: "literal", value: "users" },
 *   { kind: "param", name: "id" },
 *   { kind: "rest" },
 * ]);
 * assert.equal(typeof parseTemplate("/a/*\/b"), "string"); // `*` must be last
 * ```
 */
export function parseTemplate(text: string): readonly TemplateSegment[] | string {
  if (!text.startsWith("/")) return 'must start with "/"';
  const parts = text.slice(1).split("/");
  if (parts.length > MAX_SEGMENTS) return `must have at most ${MAX_SEGMENTS} segments`;
  const out: TemplateSegment[] = [];
  const names = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "") {
      return parts.length === 1
        ? 'must have at least one segment (use {"exact": "/"} for the root)'
        : `segment ${i + 1} is empty`;
    }
    if (part === "*") {
      if (i !== parts.length - 1) return '"*" may only be the last segment';
      out.push({ kind: "rest" });
    } else if (part.startsWith(":")) {
      const name = part.slice(1);
      if (!PARAM_NAME.test(name)) {
        return `parameter ${JSON.stringify(part)} must be ":" and a name of letters, digits, _`;
      }
      if (names.has(name)) return `parameter ":${name}" appears twice`;
      names.add(name);
      out.push({ kind: "param", name });
    } else if (!LITERAL.test(part)) {
      return `segment ${JSON.stringify(part)} has characters not allowed in a path segment`;
    } else {
      out.push({ kind: "literal", value: part });
    }
  }
  return out;
}

/**
 * Matches a request path against a parsed template and returns its parameters
 * (raw, not percent-decoded), or null. Linear in the path's length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchTemplate, parseTemplate } from "./template.ts";
 * const t = parseTemplate("/users/:id/*");
 * assert.ok(typeof t !== "string");
 * assert.deepEqual(matchTemplate(t, "/users/42/photos/1"), { id: "42", "*": "photos/1" });
 * assert.deepEqual(matchTemplate(t, "/users/42"), { id: "42", "*": "" });
 * assert.equal(matchTemplate(t, "/users"), null);
 * ```
 */
export function matchTemplate(
  segments: readonly TemplateSegment[],
  path: string,
): Record<string, string> | null {
  if (path.charCodeAt(0) !== 47 /* / */) return null;
  const params: Record<string, string> = {};
  let pos = 1; // start of the current request segment
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.kind === "rest") {
      params["*"] = pos > path.length ? "" : path.slice(pos);
      return params;
    }
    if (pos > path.length) return null; // the request ran out of segments
    let end = path.indexOf("/", pos);
    if (end < 0) end = path.length;
    const value = path.slice(pos, end);
    if (seg.kind === "literal") {
      if (value !== seg.value) return null;
    } else {
      if (value === "") return null;
      params[seg.name] = value;
    }
    pos = end + 1;
  }
  return pos > path.length ? params : null; // no request segments left over
}
