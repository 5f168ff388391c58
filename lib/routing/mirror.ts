/**
 * A route's `mirror`: whether this request is also copied to the mirror group.
 * The caller sends the copy without waiting and discards its response.
 *
 * @module
 */

/**
 * Whether to mirror a request, for `percent` in [0, 100] and a uniform `r` in
 * [0, 1): true for `percent`% of requests; 0 never, 100 always.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mirrorThis } from "./mirror.ts";
 * assert.equal(mirrorThis(10, 0.05), true);
 * assert.equal(mirrorThis(10, 0.1), false);
 * assert.equal(mirrorThis(0, 0), false);
 * ```
 */
export function mirrorThis(percent: number, r: number): boolean {
  return r * 100 < percent;
}
