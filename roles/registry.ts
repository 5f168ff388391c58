/**
 * Every role, by name, loaded on demand so that one role does not load
 * another's dependencies. The dispatcher (`roles/main.ts`) and the build
 * (`deploy/build.ts`) both read this list.
 *
 * @module
 */
import type { RoleDefinition } from "../lib/cli/role.ts";

/** Role name -> loader of its module (`roles/<name>.ts`). */
export const ROLES: Readonly<Record<string, () => Promise<{ role: RoleDefinition }>>> = {
  proxy: () => import("./proxy.ts"),
  backend: () => import("./backend.ts"),
  orchestrator: () => import("./orchestrator.ts"),
  admin: () => import("./admin.ts"),
  dns: () => import("./dns.ts"),
  autoscaler: () => import("./autoscaler.ts"),
  ctl: () => import("./ctl.ts"),
};

/** The role names, in listing order. */
export const ROLE_NAMES: readonly string[] = Object.keys(ROLES);
