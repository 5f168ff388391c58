/**
 * The kinds of config the admin role keeps, each as one descriptor: where its blobs and history
 * live, how a stored blob is validated, and what to tell an operator about an invalid one. The
 * config repository, the API and `ctl` are written once over a descriptor, so groups
 * (`/lb-configs`) and listeners (`/lb-routes`) get the same versions, history, diff and rollback.
 * Pure: no I/O.
 *
 * @module
 */
import { validateGroupConfig } from "../config/schema.ts";
import { validateListenerConfig } from "../routing/schema.ts";
import {
  CONFIG_ROOT,
  configPath,
  HISTORY_ROOT,
  historyPath,
  ROUTE_HISTORY_ROOT,
  routeHistoryPath,
  ROUTES_ROOT,
  routesPath,
} from "../store/layout.ts";
import { rollbackHint, type StoredIssue } from "./stored_config.ts";

/** One kind of config kept by the admin role. */
export interface ConfigKind {
  /** `group` or `listener`: the key naming the config in API bodies, and the word in messages. */
  readonly noun: string;
  /** `groups` or `listeners`: the API's collection (`/api/<plural>`). */
  readonly plural: string;
  /** The parent of the blobs (`/lb-configs`). */
  readonly root: string;
  /** The blob's znode. */
  path(name: string): string;
  /** The parent of every history node (`/switchyard/history`). */
  readonly historyRoot: string;
  /** The history node of one config (children `v-<seq>`). */
  historyPath(name: string): string;
  /**
   * The schema issues of a stored blob (empty when valid). For listeners this is the schema
   * alone: whether the groups it names exist is checked when it is written, against the groups of
   * that moment.
   */
  issues(name: string, config: unknown): readonly StoredIssue[];
  /** What to do about an invalid stored blob, given the newest valid version (or null). */
  rollbackHint(name: string, lastGood: number | null): string;
}

/** Group configs: `/lb-configs/<group>`, history under `/switchyard/history/<group>`. */
export const GROUP_CONFIGS: ConfigKind = {
  noun: "group",
  plural: "groups",
  root: CONFIG_ROOT,
  path: configPath,
  historyRoot: HISTORY_ROOT,
  historyPath,
  issues: (name, config) => {
    const r = validateGroupConfig(name, config);
    return r.ok ? [] : r.issues.map((i) => ({ field: i.field, reason: i.reason }));
  },
  rollbackHint,
};

/**
 * What to do about an invalid stored listener config (the listener counterpart of
 * {@linkcode rollbackHint}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenerRollbackHint } from "./config_kind.ts";
 * assert.match(listenerRollbackHint("public", 3), /ctl listener rollback public 3/);
 * ```
 */
export function listenerRollbackHint(listener: string, lastGood: number | null): string {
  return lastGood === null
    ? `no valid version in the history: write a valid config with ` +
      `\`ctl listener put ${listener} FILE\` (PUT /api/listeners/${listener})`
    : `the proxies keep serving their last good routes; restore version ${lastGood} with ` +
      `\`ctl listener rollback ${listener} ${lastGood}\` (POST /api/listeners/${listener}/rollback ` +
      `{"version":${lastGood}}), or write a valid config with \`ctl listener put ${listener} FILE\``;
}

/** Listener route configs: `/lb-routes/<listener>`, history under `/switchyard/route-history/<listener>`. */
export const LISTENER_CONFIGS: ConfigKind = {
  noun: "listener",
  plural: "listeners",
  root: ROUTES_ROOT,
  path: routesPath,
  historyRoot: ROUTE_HISTORY_ROOT,
  historyPath: routeHistoryPath,
  issues: (name, config) => {
    const r = validateListenerConfig(name, config);
    return r.ok ? [] : r.issues.map((i) => ({ field: i.field, reason: i.reason }));
  },
  rollbackHint: listenerRollbackHint,
};
