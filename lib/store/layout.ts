/**
 * The znode layout of a Switchyard cluster: every path any role reads or
 * writes, in one place (the README's "ZooKeeper layout" mirrors this).
 *
 * - `/lb-configs/<group>`: the group's config blob, exactly the seed's JSON
 *   (written by the admin role, or by an operator with zkCli.sh).
 * - `/switchyard/history/<group>/v-<seq>`: previous versions of the blob
 *   (admin), for history, diff and rollback.
 * - `/lb-routes/<listener>`: a listener's route config (ordered routes over
 *   groups; see lib/routing/schema.ts), written by the admin role.
 * - `/switchyard/route-history/<listener>/v-<seq>`: previous versions of a
 *   listener's route config (admin), for history, diff and rollback.
 * - `/switchyard/health/<group>/<address>`: exists while the orchestrator
 *   holds that backend unhealthy (data: why and since). Absent means
 *   healthy, so a steady state writes nothing and a proxy needs one children
 *   watch per group.
 * - `/switchyard/orchestrator/election/<protected-seq>`: leader election
 *   (ephemeral sequential), `/switchyard/orchestrator/workers/<id>`: live
 *   workers (ephemeral), `/switchyard/orchestrator/assignments/<id>`: the
 *   targets the master assigned to each worker, `/switchyard/orchestrator/master`:
 *   the acting master's id (ephemeral, informational).
 * - `/switchyard/proxies/<group>/<id>`: live proxy instances (ephemeral; address,
 *   region, load, applied config version).
 * - `/switchyard/dns/election/<zone>/...`: election among dns role processes.
 * - `/switchyard/instances/<role>/<id>`: live admin, orchestrator, dns and autoscaler
 *   processes (ephemeral; where their `/metrics` is), for service discovery.
 * - `/switchyard/autoscaler/<group>/election/...`: election among autoscalers of a group.
 * - `/switchyard/certs/<name>`: a TLS certificate chain and its private key,
 *   `{"cert": "<PEM chain, leaf first>", "key": "<PEM key>"}` (admin role).
 *   Under `ctl zk-init` only the admin identity writes them and only the
 *   proxy identity (and the admin) reads them: no world read, unlike the rest.
 *
 * @module
 */

/** Root of the config blobs (the seed's path). */
export const CONFIG_ROOT = "/lb-configs";
/** Root of everything else Switchyard keeps. */
export const SWITCHYARD_ROOT = "/switchyard";
/** Root of listeners' route configs. */
export const ROUTES_ROOT = "/lb-routes";
/** Root of route config history. */
export const ROUTE_HISTORY_ROOT = `${SWITCHYARD_ROOT}/route-history`;
/** Root of config history. */
export const HISTORY_ROOT = `${SWITCHYARD_ROOT}/history`;
/** Root of orchestrator-written health. */
export const HEALTH_ROOT = `${SWITCHYARD_ROOT}/health`;
/** Root of the orchestrator cluster's coordination nodes. */
export const ORCHESTRATOR_ROOT = `${SWITCHYARD_ROOT}/orchestrator`;
/** Leader election candidates (ephemeral sequential). */
export const ELECTION_PATH = `${ORCHESTRATOR_ROOT}/election`;
/** Live orchestrator workers (ephemeral, one per process). */
export const WORKERS_PATH = `${ORCHESTRATOR_ROOT}/workers`;
/** Per-worker target assignments (written by the master). */
export const ASSIGNMENTS_PATH = `${ORCHESTRATOR_ROOT}/assignments`;
/** The acting master's id (ephemeral). */
export const MASTER_PATH = `${ORCHESTRATOR_ROOT}/master`;
/** Root of proxy instance registrations. */
export const PROXIES_ROOT = `${SWITCHYARD_ROOT}/proxies`;
/** Root of the dns role's coordination. */
export const DNS_ROOT = `${SWITCHYARD_ROOT}/dns`;
/** Root of the other roles' instance registrations (service discovery of their /metrics). */
export const INSTANCES_ROOT = `${SWITCHYARD_ROOT}/instances`;
/** Root of the autoscalers' per-group elections. */
export const AUTOSCALER_ROOT = `${SWITCHYARD_ROOT}/autoscaler`;

/** Root of TLS certificates (chain and private key; not world-readable under zk-init). */
export const CERTS_ROOT = `${SWITCHYARD_ROOT}/certs`;

/** `/lb-configs/<group>` */
export function configPath(group: string): string {
  return `${CONFIG_ROOT}/${group}`;
}

/** `/lb-routes/<listener>` */
export function routesPath(listener: string): string {
  return `${ROUTES_ROOT}/${listener}`;
}

/** `/switchyard/route-history/<listener>` (children `v-<seq>`). */
export function routeHistoryPath(listener: string): string {
  return `${ROUTE_HISTORY_ROOT}/${listener}`;
}

/** `/switchyard/certs/<name>` */
export function certPath(name: string): string {
  return `${CERTS_ROOT}/${name}`;
}

/** `/switchyard/history/<group>` (children `v-<seq>`). */
export function historyPath(group: string): string {
  return `${HISTORY_ROOT}/${group}`;
}

/** `/switchyard/health/<group>` (children: unhealthy backend addresses). */
export function healthGroupPath(group: string): string {
  return `${HEALTH_ROOT}/${group}`;
}

/** `/switchyard/health/<group>/<address>` */
export function healthBackendPath(group: string, address: string): string {
  return `${HEALTH_ROOT}/${group}/${address}`;
}

/** `/switchyard/orchestrator/assignments/<worker>` */
export function assignmentPath(worker: string): string {
  return `${ASSIGNMENTS_PATH}/${worker}`;
}

/** `/switchyard/orchestrator/workers/<worker>` */
export function workerPath(worker: string): string {
  return `${WORKERS_PATH}/${worker}`;
}

/** `/switchyard/instances/<role>/<id>` */
export function instancePath(role: string, id: string): string {
  return `${INSTANCES_ROOT}/${role}/${id}`;
}

/** `/switchyard/proxies/<group>` */
export function proxiesGroupPath(group: string): string {
  return `${PROXIES_ROOT}/${group}`;
}

/** `/switchyard/proxies/<group>/<id>` */
export function proxyInstancePath(group: string, id: string): string {
  return `${PROXIES_ROOT}/${group}/${id}`;
}

/** Instance ids and addresses become znode names: no `/`, no control characters. */
export function isValidNodeName(name: string): boolean {
  if (name.length === 0 || name.length > 255 || name === "." || name === "..") return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2f) return false;
  }
  return true;
}
