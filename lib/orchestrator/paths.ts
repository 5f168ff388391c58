/**
 * Creating the orchestrator's parent nodes when they are missing, with the right ACLs.
 *
 * With credentials, nodes the orchestrator owns get `writerOnlyAcl` (its digest: all, world:
 * read). The shared root `/switchyard` (when the orchestrator happens to create it first) gets
 * its digest all plus world read and create, so other roles can still make their subtrees. When a
 * bootstrap already created the tree with per-role ACLs, existing nodes are left as they are.
 *
 * @module
 */
import {
  type AclEntry,
  type CoordinationStore,
  digestAcl,
  NodeExistsError,
  worldAcl,
  writerOnlyAcl,
} from "../store/mod.ts";
import { SWITCHYARD_ROOT } from "../store/layout.ts";

/** ACLs the orchestrator writes with. */
export interface OrchestratorAcls {
  /** For nodes it owns (undefined: the store's default, open). */
  readonly owned: readonly AclEntry[] | undefined;
  /** For the shared root, if it has to create it. */
  readonly shared: readonly AclEntry[] | undefined;
}

/**
 * The ACLs for a digest (or none without credentials).
 *
 * @param digest `user:password`, or undefined
 */
export function orchestratorAcls(digest: string | undefined): OrchestratorAcls {
  if (digest === undefined) return { owned: undefined, shared: undefined };
  return {
    owned: writerOnlyAcl(digest),
    shared: [digestAcl(digest), worldAcl(["read", "create"])],
  };
}

/**
 * Creates `path` and its missing ancestors; existing nodes are not touched.
 *
 * @param store the store
 * @param path absolute path
 * @param acls ACLs by kind of node
 */
export async function ensureOwnedPath(
  store: CoordinationStore,
  path: string,
  acls: OrchestratorAcls,
): Promise<void> {
  const parts = path.split("/").filter((p) => p !== "");
  let cur = "";
  for (const part of parts) {
    cur += `/${part}`;
    if (await store.exists(cur) !== null) continue;
    const acl = cur === SWITCHYARD_ROOT ? acls.shared : acls.owned;
    try {
      await store.create(cur, undefined, acl === undefined ? {} : { acl });
    } catch (error) {
      if (!(error instanceof NodeExistsError)) throw error;
    }
  }
}
