/**
 * Reading a sticky-session pin from a request: the cookie's value, and the
 * usable backend of a list it names. Used by the upstream attempt (which
 * backend of the group) and by a split route (which group holds the pinned
 * backend, so the canary split does not move a pinned client).
 *
 * @module
 */
import type { RequestHead } from "../http1/head.ts";
import type { BackendView } from "../group/snapshot.ts";
import { readCookie, stickyChoice, stickyIndex } from "../routing/sticky.ts";

/** The sticky values of a snapshot's backends, computed once per backend list. */
const STICKY_INDEX = new WeakMap<readonly BackendView[], Map<string, number>>();

function stickyIndexOf(backends: readonly BackendView[]): Map<string, number> {
  let index = STICKY_INDEX.get(backends);
  if (index === undefined) STICKY_INDEX.set(backends, index = stickyIndex(backends));
  return index;
}

/** The values of the request's Cookie lines. */
function cookieValues(req: RequestHead): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.lower.length; i++) {
    if (req.lower[i] === "cookie") out.push(req.values[i]!);
  }
  return out;
}

/**
 * The pin `req` carries in `cookie`: its value (null when none), and the
 * index in `backends` of the usable backend it names (-1: none, so the
 * balancer picks and the answer re-pins).
 */
export function stickyPin(
  req: RequestHead,
  cookie: string,
  backends: readonly BackendView[],
): { readonly value: string | null; readonly index: number } {
  const value = readCookie(cookieValues(req), cookie);
  return { value, index: stickyChoice(value, backends, stickyIndexOf(backends)) };
}
