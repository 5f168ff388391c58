/**
 * Rendezvous (highest-random-weight) hashing of probe targets over orchestrator workers.
 *
 * Every (worker, target) pair gets a pseudo-random score; a target goes to the live worker with
 * the highest score. Removing a worker moves exactly the targets it held (each to its second
 * choice), adding one moves only the targets it now wins; nothing else changes. Every master
 * computes the same answer from the same inputs (MurmurHash3, integer arithmetic only), so a
 * failover does not reshuffle targets either.
 *
 * Pure: no I/O, no clock.
 *
 * @module
 */
import { mix32, murmur3 } from "../balancer/hash.ts";

const WORKER_SEED = 0x5f3759df;

/**
 * The score of a target on a worker: a 32-bit value from both keys' hashes.
 *
 * @param workerHash `murmur3(worker, WORKER_SEED)` (see {@linkcode workerHash})
 * @param targetHash `murmur3(target)` (see {@linkcode targetHash})
 * @returns an unsigned 32-bit score
 */
export function score(workerHash: number, targetHash: number): number {
  return mix32((workerHash ^ Math.imul(targetHash, 0x9e3779b1)) >>> 0);
}

/** Hash of a worker id, computed once per assignment round. */
export function workerHash(worker: string): number {
  return murmur3(worker, WORKER_SEED);
}

/** Hash of a target key, computed once per assignment round. */
export function targetHash(key: string): number {
  return mix32(murmur3(key));
}

/**
 * The worker a target belongs to: the highest score, ties broken by the smaller worker id.
 *
 * @param key the target key
 * @param workers worker ids (any order)
 * @returns the owner, or undefined when there is no worker
 *
 * @example
 * ```ts
 * import { ownerOf } from "./rendezvous.ts";
 * const owner = ownerOf("g/10.0.0.1:80", ["w1", "w2", "w3"]);
 * console.log(["w1", "w2", "w3"].includes(owner!)); // true
 * ```
 */
export function ownerOf(key: string, workers: readonly string[]): string | undefined {
  return assign([key], workers).get(key);
}

/**
 * Assigns every target to a worker.
 *
 * @param targets target keys (duplicates are assigned once)
 * @param workers live worker ids (duplicates ignored)
 * @returns target key -> worker id (empty when there are no workers)
 *
 * @example
 * ```ts
 * import { assign } from "./rendezvous.ts";
 * const before = assign(["a", "b", "c", "d"], ["w1", "w2", "w3"]);
 * const after = assign(["a", "b", "c", "d"], ["w1", "w2"]);
 * // Only targets that were on w3 move.
 * for (const [t, w] of before) if (w !== "w3") console.assert(after.get(t) === w);
 * ```
 */
export function assign(
  targets: Iterable<string>,
  workers: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  const ws = [...new Set(workers)].sort();
  if (ws.length === 0) return out;
  const wh = ws.map(workerHash);
  for (const key of targets) {
    if (out.has(key)) continue;
    const th = targetHash(key);
    let best = 0;
    let bestScore = -1;
    for (let i = 0; i < ws.length; i++) {
      const s = score(wh[i]!, th);
      // Sorted ids: the first of equal scores is the smaller id.
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    out.set(key, ws[best]!);
  }
  return out;
}

/**
 * Groups an assignment by worker (every given worker appears, possibly with no target).
 *
 * @param assignment target -> worker, from {@linkcode assign}
 * @param workers the workers to list
 * @returns worker -> sorted target keys
 */
export function byWorker(
  assignment: ReadonlyMap<string, string>,
  workers: readonly string[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const w of workers) out.set(w, []);
  for (const [target, worker] of assignment) {
    let list = out.get(worker);
    if (list === undefined) {
      list = [];
      out.set(worker, list);
    }
    list.push(target);
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** What changed between two assignments. */
export interface AssignmentDiff {
  /** Targets whose worker changed (present in both): target -> [from, to]. */
  readonly moved: ReadonlyMap<string, readonly [string, string]>;
  /** Targets only in the new assignment. */
  readonly added: readonly string[];
  /** Targets only in the old assignment. */
  readonly removed: readonly string[];
}

/**
 * Compares two assignments.
 *
 * @param before the previous target -> worker map
 * @param after the new one
 * @returns moved, added and removed targets
 */
export function diffAssignments(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): AssignmentDiff {
  const moved = new Map<string, readonly [string, string]>();
  const added: string[] = [];
  const removed: string[] = [];
  for (const [t, w] of after) {
    const prev = before.get(t);
    if (prev === undefined) added.push(t);
    else if (prev !== w) moved.set(t, [prev, w]);
  }
  for (const t of before.keys()) if (!after.has(t)) removed.push(t);
  return { moved, added, removed };
}
