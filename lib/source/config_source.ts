/**
 * The one interface every config source of the proxy implements (the watched
 * file, ZooKeeper): it emits either a config to validate and apply,
 * `{version, blob}`, or a config that could not be used at all,
 * `{version, issues}` (an unreadable file, bad JSON, a deleted node...). The
 * proxy role wires a source to its instance through this and nothing else.
 *
 * @module
 */
import type { ConfigIssue } from "../config/schema.ts";

/** A config to validate and apply. */
export interface ConfigBlob {
  /** The source's name for this config (a content hash, a znode version). */
  readonly version: string;
  /** The group's config blob, not validated yet. */
  readonly blob: unknown;
}

/** A config that could not be used at all. */
export interface ConfigIssues {
  readonly version: string;
  /** Why (never empty). */
  readonly issues: readonly ConfigIssue[];
}

/** What a source emits. */
export type ConfigUpdate = ConfigBlob | ConfigIssues;

/**
 * Receives a source's updates. Returns whether a blob was applied (valid and
 * taken): a source may act on it (the ZooKeeper source writes its snapshot
 * file and re-publishes health only after an apply). For issues it returns false.
 */
export type ConfigConsumer = (update: ConfigUpdate) => boolean;

/** A source of one group's configs. */
export interface ConfigSource {
  /** Where the configs come from, shown in `/status` (e.g. `file:/etc/lb.json`). */
  readonly description: string;
  /** Starts emitting to `consume`; a source may emit its current config before returning. */
  start(consume: ConfigConsumer): void;
  /** Stops emitting: nothing reaches the consumer once this resolves. */
  stop(): Promise<void>;
}

/** What a consumer usually drives (a proxy instance is one). */
export interface ConfigSink {
  /** Validates and applies; returns whether it was applied. */
  applyBlob(version: string, blob: unknown): boolean;
  /** Records a config that could not be used. */
  reject(version: string, issues: readonly ConfigIssue[]): void;
}

/** True for an update that carries issues instead of a blob. */
export function isIssues(update: ConfigUpdate): update is ConfigIssues {
  return "issues" in update;
}

/**
 * The consumer that hands each update to a sink.
 *
 * @example
 * ```ts
 * import { deliverTo } from "./config_source.ts";
 * const seen: string[] = [];
 * const consume = deliverTo({
 *   applyBlob: (v) => (seen.push(`apply ${v}`), true),
 *   reject: (v) => void seen.push(`reject ${v}`),
 * });
 * consume({ version: "1", blob: {} });
 * consume({ version: "2", issues: [{ group: "g", field: "", reason: "invalid JSON" }] });
 * console.log(seen); // ["apply 1", "reject 2"]
 * ```
 */
export function deliverTo(sink: ConfigSink): ConfigConsumer {
  return (update) => {
    if (isIssues(update)) {
      sink.reject(update.version, update.issues);
      return false;
    }
    return sink.applyBlob(update.version, update.blob);
  };
}
