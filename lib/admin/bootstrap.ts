/**
 * Creates the znode tree with per-role digest ACLs (`ctl zk-init`): only the
 * admin role writes configs, listeners' routes and their history, only the orchestrator writes health
 * and its coordination nodes, proxies only register themselves, everybody
 * reads, except TLS certificates (`/switchyard/certs`): they hold private
 * keys, so only the admin identity writes them and only the proxy identity
 * (and the admin) reads them; no world read. The operator identity that runs
 * the bootstrap keeps full rights on the top-level nodes so that it can be
 * re-run; a re-run also re-applies the certificates' ACL to each stored
 * certificate (a changed proxy identity reaches every key).
 *
 * @module
 */
import { ALL_PERMS, digestAcl, digestId, parseDigest, worldAcl } from "../store/acl.ts";
import {
  ASSIGNMENTS_PATH,
  AUTOSCALER_ROOT,
  CERTS_ROOT,
  CONFIG_ROOT,
  DNS_ROOT,
  ELECTION_PATH,
  HEALTH_ROOT,
  HISTORY_ROOT,
  INSTANCES_ROOT,
  ORCHESTRATOR_ROOT,
  PROXIES_ROOT,
  ROUTE_HISTORY_ROOT,
  ROUTES_ROOT,
  SWITCHYARD_ROOT,
  WORKERS_PATH,
} from "../store/layout.ts";
import {
  type AclEntry,
  type CoordinationStore,
  NodeExistsError,
  NoNodeError,
} from "../store/types.ts";

/** Digest credentials (`user:password`) of each role. */
export interface RoleCredentials {
  /** The identity running the bootstrap (full rights on the tree's fixed nodes). */
  readonly operator: string;
  readonly admin: string;
  readonly orchestrator: string;
  readonly proxy: string;
  /** The dns role; defaults to read-only access when absent. */
  readonly dns?: string;
  /** The autoscaler; defaults to read-only access when absent. */
  readonly autoscaler?: string;
}

/** The node -> ACL plan, parents first. */
export function aclPlan(c: RoleCredentials): [string, AclEntry[]][] {
  const read = worldAcl(["read"]);
  const op = digestAcl(c.operator, ALL_PERMS);
  const owned = (role: string): AclEntry[] =>
    role === c.operator ? [op, read] : [op, digestAcl(role, ALL_PERMS), read];
  return [
    [CONFIG_ROOT, owned(c.admin)],
    [ROUTES_ROOT, owned(c.admin)],
    [SWITCHYARD_ROOT, [op, read]],
    [HISTORY_ROOT, owned(c.admin)],
    [ROUTE_HISTORY_ROOT, owned(c.admin)],
    [HEALTH_ROOT, owned(c.orchestrator)],
    [ORCHESTRATOR_ROOT, owned(c.orchestrator)],
    [ELECTION_PATH, owned(c.orchestrator)],
    [WORKERS_PATH, owned(c.orchestrator)],
    [ASSIGNMENTS_PATH, owned(c.orchestrator)],
    [PROXIES_ROOT, owned(c.proxy)],
    [DNS_ROOT, c.dns ? owned(c.dns) : [op, read]],
    // every non-proxy role registers its /metrics address under its own child of this node
    [INSTANCES_ROOT, [
      op,
      ...[...new Set([c.admin, c.orchestrator, c.dns, c.autoscaler])]
        .filter((r): r is string => r !== undefined && r !== c.operator)
        .map((r) => digestAcl(r, ["create"])),
      read,
    ]],
    [AUTOSCALER_ROOT, c.autoscaler ? owned(c.autoscaler) : [op, read]],
    [CERTS_ROOT, certsAcl(c)],
  ];
}

/**
 * The ACL of `/switchyard/certs` and of every certificate under it (the admin role copies it onto
 * each certificate it creates): the operator and the admin hold every right, the proxies read,
 * nobody else (no world entry: a certificate node holds a private key). An identity given for two
 * roles appears once, with the larger rights.
 */
export function certsAcl(c: RoleCredentials): AclEntry[] {
  const id = (cred: string) => {
    const { user, password } = parseDigest(cred);
    return digestId(user, password);
  };
  const full = new Set([id(c.operator), id(c.admin)]);
  const out: AclEntry[] = [digestAcl(c.operator, ALL_PERMS)];
  if (id(c.admin) !== id(c.operator)) out.push(digestAcl(c.admin, ALL_PERMS));
  if (!full.has(id(c.proxy))) out.push(digestAcl(c.proxy, ["read"]));
  return out;
}

/**
 * Creates (or re-ACLs) every fixed node. The store must be authenticated as
 * the operator. Returns one line per action for the operator to read.
 *
 * @example
 * ```ts ignore
 * const lines = await bootstrapTree(store, { operator: "ops:pw", admin: "admin:pw",
 *   orchestrator: "orch:pw", proxy: "proxy:pw" });
 * ```
 */
export async function bootstrapTree(
  store: CoordinationStore,
  creds: RoleCredentials,
): Promise<string[]> {
  const out: string[] = [];
  for (const [path, acl] of aclPlan(creds)) {
    if (!await store.exists(path)) {
      try {
        await store.create(path, new Uint8Array(), { acl });
        out.push(`created ${path}`);
        continue;
      } catch (e) {
        // created by someone else since exists(): re-ACL it like any existing node
        if (!(e instanceof NodeExistsError)) throw e;
      }
    }
    await store.setAcl(path, acl);
    out.push(`set ACL on ${path}`);
  }
  // the certificates already stored get the root's ACL again (each node has its own ACL)
  const certs = certsAcl(creds);
  for (const name of await store.children(CERTS_ROOT)) {
    try {
      await store.setAcl(`${CERTS_ROOT}/${name}`, certs);
      out.push(`set ACL on ${CERTS_ROOT}/${name}`);
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e; // deleted meanwhile
    }
  }
  return out;
}
