/**
 * ACL helpers: digest identities computed exactly like ZooKeeper's DigestAuthenticationProvider,
 * so an ACL written here matches what `addauth digest user:pass` authenticates as in zkCli.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { StoreError } from "./errors.ts";
import type { AclEntry, DigestCredentials, Permission } from "./types.ts";

/** Every permission, ZooKeeper's `ALL`. */
export const ALL_PERMS: readonly Permission[] = ["read", "write", "create", "delete", "admin"];

/** ZooKeeper's OPEN_ACL_UNSAFE: anyone may do anything. The default for new nodes. */
export const OPEN_ACL: readonly AclEntry[] = [{ scheme: "world", id: "anyone", perms: ALL_PERMS }];

const PERM_BITS: Record<Permission, number> = {
  read: 1,
  write: 2,
  create: 4,
  delete: 8,
  admin: 16,
};

/**
 * Permission list to ZooKeeper's bit mask.
 *
 * @param perms permissions
 * @returns the mask (read=1 write=2 create=4 delete=8 admin=16)
 */
export function permsToMask(perms: readonly Permission[]): number {
  let mask = 0;
  for (const p of perms) {
    const bit = PERM_BITS[p];
    if (bit === undefined) throw new StoreError("INVALID_ACL", `unknown permission "${p}"`);
    mask |= bit;
  }
  return mask;
}

/**
 * ZooKeeper's bit mask to a permission list (in the canonical order of {@linkcode ALL_PERMS}).
 *
 * @param mask permission bits
 * @returns permissions
 */
export function maskToPerms(mask: number): Permission[] {
  return ALL_PERMS.filter((p) => (mask & PERM_BITS[p]) !== 0);
}

/**
 * Parses `"user:password"` (the password may contain `:`).
 *
 * @param credentials string or object form
 * @returns the object form
 * @throws StoreError BAD_ARGUMENTS without a `:`
 */
export function parseDigest(credentials: string | DigestCredentials): DigestCredentials {
  if (typeof credentials !== "string") return credentials;
  const i = credentials.indexOf(":");
  if (i <= 0) throw new StoreError("BAD_ARGUMENTS", "digest credentials must be user:password");
  return { user: credentials.slice(0, i), password: credentials.slice(i + 1) };
}

/**
 * The digest ACL id of credentials: `user:base64(sha1("user:password"))`.
 *
 * @param user user name
 * @param password clear-text password
 * @returns the id ZooKeeper stores in the ACL
 *
 * @example
 * ```ts
 * import { digestId } from "./acl.ts";
 * // Same as `java -cp zookeeper.jar ...DigestAuthenticationProvider super:secret`.
 * console.assert(digestId("super", "secret") === "super:lK75jTNcA+U9vtVEw5vB51mj/w4=");
 * ```
 */
export function digestId(user: string, password: string): string {
  const hash = createHash("sha1").update(`${user}:${password}`, "utf8").digest("base64");
  return `${user}:${hash}`;
}

/**
 * A digest ACL entry for credentials.
 *
 * @param credentials `"user:password"` or object form
 * @param perms granted permissions, all by default
 * @returns the entry
 */
export function digestAcl(
  credentials: string | DigestCredentials,
  perms: readonly Permission[] = ALL_PERMS,
): AclEntry {
  const { user, password } = parseDigest(credentials);
  return { scheme: "digest", id: digestId(user, password), perms };
}

/**
 * A world (anyone) ACL entry, typically `worldAcl(["read"])` beside a digest entry so that
 * proxies read configs without credentials while only the control plane writes.
 *
 * @param perms granted permissions
 * @returns the entry
 */
export function worldAcl(perms: readonly Permission[]): AclEntry {
  return { scheme: "world", id: "anyone", perms };
}

/**
 * The usual config-node ACL: full rights for the writer's digest identity, read for everyone.
 *
 * @param writer `"user:password"` of the control plane
 * @returns the ACL list
 *
 * @example
 * ```ts
 * import { writerOnlyAcl } from "./acl.ts";
 * const acl = writerOnlyAcl("control:s3cret");
 * console.assert(acl.length === 2 && acl[1]?.scheme === "world");
 * ```
 */
export function writerOnlyAcl(writer: string | DigestCredentials): AclEntry[] {
  return [digestAcl(writer), worldAcl(["read"])];
}
