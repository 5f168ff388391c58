/**
 * Parsing of ZooKeeper connection strings (`host:port[,host:port...][/chroot]`), shared by both
 * stores so a malformed string fails the same way everywhere, before any socket is opened.
 *
 * @module
 */

import { validatePath } from "./_path.ts";
import { StoreError } from "./errors.ts";

/** One server of the ensemble. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** A parsed connection string. */
export interface ParsedConnectionString {
  /** Servers in the given order (may be empty for the memory store's `memory` strings). */
  readonly servers: readonly ServerAddress[];
  /** Chroot path, `null` when absent or `/`. */
  readonly chroot: string | null;
}

/**
 * Parses `host:port[,host:port...][/chroot]`. A missing port means 2181. IPv6 hosts go in
 * brackets (`[::1]:2181`).
 *
 * @param text the connection string
 * @param requireServers false lets the memory store accept e.g. `memory/app`
 * @returns servers and chroot
 * @throws StoreError BAD_ARGUMENTS on malformed input
 *
 * @example
 * ```ts
 * import { parseConnectionString } from "./connection_string.ts";
 * const parsed = parseConnectionString("10.0.0.1:2181,10.0.0.2:2181/switchyard");
 * console.assert(parsed.chroot === "/switchyard" && parsed.servers.length === 2);
 * ```
 */
export function parseConnectionString(
  text: string,
  requireServers = true,
): ParsedConnectionString {
  const bad = (why: string): never => {
    throw new StoreError("BAD_ARGUMENTS", `invalid connection string "${text}" (${why})`);
  };
  if (typeof text !== "string" || text.trim() === "") bad("empty");
  const slash = text.indexOf("/");
  const hostPart = slash < 0 ? text : text.slice(0, slash);
  let chroot: string | null = slash < 0 ? null : text.slice(slash);
  if (chroot !== null) {
    if (chroot.length > 1 && chroot.endsWith("/")) chroot = chroot.slice(0, -1);
    try {
      validatePath(chroot);
    } catch {
      bad("bad chroot");
    }
    if (chroot === "/") chroot = null;
  }
  if (!requireServers) return { servers: [], chroot };
  const servers: ServerAddress[] = [];
  for (const raw of hostPart.split(",")) {
    const item = raw.trim();
    if (item === "") bad("empty server");
    let host: string;
    let portText: string | undefined;
    if (item.startsWith("[")) {
      const close = item.indexOf("]");
      if (close < 0) bad("unclosed [");
      host = item.slice(1, close);
      const rest = item.slice(close + 1);
      if (rest !== "" && !rest.startsWith(":")) bad(`bad server "${item}"`);
      portText = rest === "" ? undefined : rest.slice(1);
    } else {
      const parts = item.split(":");
      if (parts.length > 2) bad(`bad server "${item}" (IPv6 needs [brackets])`);
      host = parts[0] ?? "";
      portText = parts[1];
    }
    if (host === "") bad(`bad server "${item}"`);
    const port = portText === undefined ? 2181 : Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`bad port in "${item}"`);
    servers.push({ host, port });
  }
  return { servers, chroot };
}
