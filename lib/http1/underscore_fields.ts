/**
 * Request header fields whose name contains `_`, dropped before forwarding
 * unless the group allows them (`allow_underscores_in_headers`).
 *
 * Why: CGI-style backends (and frameworks that read headers from CGI-like
 * environment variables, such as PHP, WSGI and Rack) turn `-` into `_`, so
 * `Transfer_Encoding` or `Content_Length` can reach them as the real framing
 * field, or override an `X-Forwarded-For` the proxy set. nginx drops such
 * fields by default (`underscores_in_headers off`) for the same reason. The
 * parser has already read the framing from the real names only (no framing,
 * Host, Connection, Upgrade, TE or Expect name has an underscore), so dropping
 * them changes nothing else about the request. Pure.
 *
 * @module
 */
import type { Fields } from "./head.ts";

/** A head with the underscore fields removed, and their names as received. */
export interface WithoutUnderscores<T extends Fields> {
  /** The head to forward: the very same object when nothing was dropped. */
  readonly head: T;
  /** Names of the dropped fields, in order (empty when none). */
  readonly dropped: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

/** True when a header name contains an underscore. */
export function hasUnderscore(name: string): boolean {
  return name.indexOf("_") >= 0;
}

/**
 * Removes every field whose name contains `_`, keeping the others in order.
 * Returns the same head (no copy) when there is none, which is the common case.
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "./head.ts";
 * import { dropUnderscoreFields } from "./underscore_fields.ts";
 * const h = parseRequestHead("GET / HTTP/1.1\r\nHost: a\r\nX_Real_IP: 1.2.3.4", {
 *   maxHeaderCount: 100,
 *   maxUriLength: 8192,
 * });
 * if (!("error" in h)) console.log(dropUnderscoreFields(h).dropped); // ["X_Real_IP"]
 * ```
 */
export function dropUnderscoreFields<T extends Fields>(head: T): WithoutUnderscores<T> {
  const { names, lower, values } = head;
  let first = -1;
  for (let i = 0; i < names.length; i++) {
    if (hasUnderscore(names[i]!)) {
      first = i;
      break;
    }
  }
  if (first < 0) return { head, dropped: NONE };
  const keptNames = names.slice(0, first);
  const keptLower = lower.slice(0, first);
  const keptValues = values.slice(0, first);
  const dropped: string[] = [];
  for (let i = first; i < names.length; i++) {
    const name = names[i]!;
    if (hasUnderscore(name)) {
      dropped.push(name);
    } else {
      keptNames.push(name);
      keptLower.push(lower[i]!);
      keptValues.push(values[i]!);
    }
  }
  return { head: { ...head, names: keptNames, lower: keptLower, values: keptValues }, dropped };
}
