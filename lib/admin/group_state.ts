/**
 * Reads what "which route?" needs of a group, now: its backends as configured and which of them
 * the orchestrator holds unhealthy (`/switchyard/health/<group>/<address>` exists, the same nodes
 * the console's live state watches and the proxies honour). The I/O edge of
 * `lib/routing/which_route.ts`.
 *
 * @module
 */
import { validateGroupConfig } from "../config/schema.ts";
import type { GroupState } from "../routing/which_route.ts";
import { healthGroupPath } from "../store/layout.ts";
import { NoNodeError } from "../store/types.ts";
import { backendEntries } from "./console/model.ts";
import type { ConfigRepo } from "./config_repo.ts";

/**
 * The state of each named group (null for a group that does not exist).
 *
 * @param groups the repository of group configs (its store is read for health)
 * @param names the groups to read
 */
export async function readGroupStates(
  groups: ConfigRepo,
  names: readonly string[],
): Promise<Map<string, GroupState>> {
  const out = new Map<string, GroupState>();
  for (const name of names) {
    const r = await groups.get(name);
    if (!r) {
      out.set(name, null);
      continue;
    }
    let unhealthy: Set<string>;
    try {
      unhealthy = new Set(await groups.store.children(healthGroupPath(name)));
    } catch (e) {
      if (!(e instanceof NoNodeError)) throw e;
      unhealthy = new Set();
    }
    // canonical addresses (the health nodes' names) when the blob is valid, else read leniently
    const v = validateGroupConfig(name, r.config);
    const configured = v.ok
      ? v.value.backend_servers.map((b) => ({
        address: b.address,
        weight: b.weight,
        drain: b.drain === true,
      }))
      : backendEntries(r.config);
    out.set(name, {
      backends: configured.map((b) => ({ ...b, unhealthy: unhealthy.has(b.address) })),
    });
  }
  return out;
}
