/**
 * What the balancer is told about a request when it picks a backend: the
 * hash key for the key-based algorithms, and which backends a retry must
 * skip. Pure.
 *
 * @module
 */
import type { PickContext } from "../balancer/types.ts";
import type { GroupConfig } from "../config/schema.ts";
import type { RequestHead } from "../http1/head.ts";
import { requestHashKey, usesKey } from "./hash_key.ts";

/** Shared: a first pick without a key allocates nothing. */
const NO_CONTEXT: PickContext = Object.freeze({});

/**
 * The pick context of `req` from `clientIp` under `config`; `accept` (for
 * retries) filters backend indexes. Repeated header fields named by
 * `hash_key` are joined with `; `.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pickContext } from "./pick_context.ts";
 * import type { GroupConfig } from "../config/schema.ts";
 * import type { RequestHead } from "../http1/head.ts";
 * const config = { algorithm: "ROUND_ROBIN" } as GroupConfig;
 * assert.deepEqual(pickContext(config, {} as RequestHead, "10.0.0.1", null), {});
 * ```
 */
export function pickContext(
  config: GroupConfig,
  req: RequestHead,
  clientIp: string,
  accept: ((i: number) => boolean) | null,
): PickContext {
  if (!usesKey(config.algorithm)) return accept ? { accept } : NO_CONTEXT;
  const key = requestHashKey(config.algorithm, config.hash_key, clientIp, (name) => {
    let value: string | null = null;
    for (let i = 0; i < req.lower.length; i++) {
      if (req.lower[i] === name) {
        value = value === null ? req.values[i]! : `${value}; ${req.values[i]}`;
      }
    }
    return value;
  }, req.target);
  return accept ? { key, accept } : { key };
}
