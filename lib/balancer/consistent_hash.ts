/**
 * CONSISTENT_HASH: the same key goes to the same backend, and changing the
 * backend set moves as few keys as possible (weighted Maglev).
 *
 * The lookup table is built over every candidate with a valid weight, available
 * or not, and only when the backend set or the weights change: health flaps and
 * ejections never rebuild or reshuffle it, they only change which entries a pick
 * skips (availability is read per pick). A key looks up
 * `table[hash(key) % M]`; when that backend is unavailable or `accept` rejects it,
 * the pick walks forward through the table (whose next slots belong to
 * pseudo-random members in proportion to weight, so an unhealthy backend's keys
 * spread over the others and come back when it recovers). The walk is capped;
 * after it a linear scan over the candidates, starting at a key-derived index,
 * guarantees a pick whenever any candidate qualifies. Keys whose own backend is
 * available never move when another backend goes down. A pick without a key falls
 * back to a weighted random pick among available backends. The empty string is a
 * key like any other.
 *
 * Table members are ranked by address, so the same set of backends (whatever
 * order the config lists them in) and weights gives the same table in every
 * process and runtime.
 *
 * @module
 */
import { type Availability, resolveAvailability } from "./availability.ts";
import { canonicalOrder, firstUsableFrom, weightedIndices } from "./eligible.ts";
import { hashKey } from "./hash.ts";
import { buildMaglevTable, type MaglevMember, maglevTableSize } from "./maglev.ts";
import { weightedRandom } from "./random.ts";
import type { Candidate, PickContext, Selector, SelectorOptions } from "./types.ts";

/** Options of {@linkcode consistentHash}. */
export interface ConsistentHashOptions extends SelectorOptions {
  /**
   * Minimum lookup-table size; rounded up to a prime and to at least 100 slots
   * per backend. Default 65537. Bigger tables track weights more closely and
   * cost memory (2 or 4 bytes a slot) and build time.
   */
  readonly tableSize?: number;
}

/** A CONSISTENT_HASH selector, exposing its table size for diagnostics. */
export interface ConsistentHashSelector extends Selector {
  /** The prime number of slots in the Maglev table. */
  readonly tableSize: number;
}

/** `accept` calls a table walk may make (asking once per run of one backend) before the linear scan. */
export const HASH_WALK_ACCEPT_CALLS = 16;
/** A table walk visits at most max(64, 4 x candidates) slots before the linear scan. */
export const HASH_WALK_MIN_SLOTS = 64;

class ConsistentHashSelectorImpl implements ConsistentHashSelector {
  readonly algorithm = "CONSISTENT_HASH";
  readonly tableSize: number;
  readonly #table: Uint16Array | Uint32Array;
  readonly #availability: Availability;
  readonly #walkLimit: number;
  readonly #keyless: Selector;

  constructor(candidates: readonly Candidate[], options: ConsistentHashOptions) {
    const members: MaglevMember[] = [];
    for (const index of canonicalOrder(candidates, weightedIndices(candidates))) {
      const candidate = candidates[index]!;
      members.push({ name: candidate.address, weight: candidate.weight, value: index });
    }
    this.tableSize = maglevTableSize(members.length, options.tableSize);
    this.#table = buildMaglevTable(members, this.tableSize);
    this.#availability = resolveAvailability(candidates, options.availability);
    this.#walkLimit = Math.min(
      this.tableSize,
      Math.max(HASH_WALK_MIN_SLOTS, 4 * candidates.length),
    );
    this.#keyless = weightedRandom(candidates, {
      random: options.random,
      availability: this.#availability,
    });
  }

  pick(context?: PickContext): number {
    if (this.#availability.size === 0) return -1;
    const key = context?.key;
    if (key === undefined) return this.#keyless.pick(context);
    const accept = context?.accept;
    const availability = this.#availability;
    const levels = availability.levels;
    const floor = availability.floor;
    const table = this.#table;
    const size = this.tableSize;
    const hash = hashKey(key);
    let slot = hash % size;
    let lastRejected = -1;
    let acceptCalls = 0;
    for (let step = 0; step < this.#walkLimit; step++) {
      const index = table[slot]!;
      if (levels[index]! >= floor && index !== lastRejected) {
        if (accept === undefined || accept(index)) return index;
        lastRejected = index;
        if (++acceptCalls === HASH_WALK_ACCEPT_CALLS) break;
      }
      slot = slot + 1 === size ? 0 : slot + 1;
    }
    return firstUsableFrom(availability, hash % levels.length, accept);
  }
}

/**
 * Builds a CONSISTENT_HASH selector (weighted Maglev) keyed by `context.key`.
 * Building fills the whole table (65537 slots by default), so build once per
 * snapshot; picks then hash the key and read one slot.
 *
 * @example
 * ```ts
 * import { consistentHash } from "./consistent_hash.ts";
 * import { mulberry32 } from "./hash.ts";
 * const c = (address: string) => ({ address, weight: 1, usable: true, counters: { inflight: 0 } });
 * const selector = consistentHash([c("10.0.0.1:80"), c("10.0.0.2:80"), c("10.0.0.3:80")], {
 *   random: mulberry32(1),
 * });
 * const a = selector.pick({ key: "user-42" });
 * const b = selector.pick({ key: "user-42" }); // a === b, in every process
 * ```
 */
export function consistentHash(
  candidates: readonly Candidate[],
  options: ConsistentHashOptions,
): ConsistentHashSelector {
  return new ConsistentHashSelectorImpl(candidates, options);
}
