/**
 * Which sockets carry the cleartext data plane: Bun's native ones under Bun,
 * `node:net` everywhere else. `SWITCHYARD_BUN_SOCKETS=node` keeps `node:net`
 * under Bun: a diagnostic (to compare the two paths, e.g. in an A/B
 * benchmark), not part of the contract.
 *
 * @module
 */

/** `"bun"`: `Bun.listen`/`Bun.connect`; `"node"`: `node:net`. */
export type SocketImplementation = "bun" | "node";

/**
 * The sockets to use, from whether this is Bun and the value of
 * `SWITCHYARD_BUN_SOCKETS` (unset, `""` or `bun`: native; `node`: `node:net`).
 * Throws on any other value, naming the variable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { socketImplementation } from "./socket_choice.ts";
 * assert.equal(socketImplementation(true, undefined), "bun");
 * assert.equal(socketImplementation(true, "node"), "node");
 * assert.equal(socketImplementation(false, undefined), "node");
 * ```
 */
export function socketImplementation(
  isBun: boolean,
  env: string | undefined,
): SocketImplementation {
  const v = (env ?? "").trim().toLowerCase();
  if (v !== "" && v !== "bun" && v !== "node") {
    throw new Error(`SWITCHYARD_BUN_SOCKETS: expected "bun" or "node", got ${JSON.stringify(env)}`);
  }
  return isBun && v !== "node" ? "bun" : "node";
}
