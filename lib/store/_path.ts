/**
 * Path rules shared by both stores, so a path the memory store accepts is one ZooKeeper accepts.
 *
 * @module
 */

import { StoreError } from "./errors.ts";

/**
 * Rejects paths ZooKeeper would reject: relative, trailing slash, empty, `.`/`..` segments, NUL.
 *
 * @param path the path to check
 * @param allowTrailingSlash true for sequential creates, whose name may be only the counter
 * @throws StoreError with code BAD_ARGUMENTS
 */
export function validatePath(path: string, allowTrailingSlash = false): void {
  const bad = (why: string): never => {
    throw new StoreError("BAD_ARGUMENTS", `invalid path (${why})`, path);
  };
  if (typeof path !== "string" || path.length === 0) bad("empty");
  if (path[0] !== "/") bad("must start with /");
  if (path.includes("\u0000")) bad("contains NUL");
  if (path === "/") return;
  const body = allowTrailingSlash && path.endsWith("/") ? path.slice(0, -1) : path;
  if (body.endsWith("/")) bad("trailing /");
  for (const segment of body.slice(1).split("/")) {
    if (segment === "" && body !== "") bad("empty segment");
    if (segment === "." || segment === "..") bad("relative segment");
  }
}

/**
 * Parent of a path (`/a/b` -> `/a`, `/a` -> `/`).
 *
 * @param path an absolute path other than `/`
 * @returns the parent path
 */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * Last segment of a path (`/a/b` -> `b`).
 *
 * @param path an absolute path
 * @returns the name
 */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Joins a parent path and a child name.
 *
 * @param parent absolute parent path
 * @param name child name
 * @returns the child's path
 */
export function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/**
 * Ancestors of a path from the top, excluding `/` and the path itself (`/a/b/c` -> `/a`, `/a/b`).
 *
 * @param path an absolute path
 * @returns the ancestors, outermost first
 */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  let i = path.indexOf("/", 1);
  while (i > 0) {
    out.push(path.slice(0, i));
    i = path.indexOf("/", i + 1);
  }
  return out;
}
