/**
 * Weighted Maglev lookup tables (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, section 3.4).
 *
 * Each member walks its own permutation of the table's slots (offset and skip
 * from two independent hashes of its address, the table size prime so every
 * skip visits every slot) and, on its turn, claims the next free slot. Taking
 * turns keeps the shares even; removing a member only frees its slots plus a
 * little churn, so few keys move. Weights are honoured by giving a member of
 * weight w a turn every `maxWeight / w` rounds (members due in the same round go
 * in canonical order), which makes slot counts proportional to weight, the same
 * idea as Envoy's weighted Maglev.
 *
 * @module
 */
import { hashKey, hashKeyAlt } from "./hash.ts";

/** Default table size: the Maglev paper's 65537 (a prime). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;
/** Tables are at least this many slots per member, so shares stay close to weights. */
export const MAGLEV_SLOTS_PER_MEMBER = 100;
/** Upper bound on a table's size (about 64 MiB of Uint32 slots). */
export const MAX_MAGLEV_TABLE_SIZE = 16_777_259;

/** True when `n` is prime (trial division; table sizes are small enough). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** The smallest prime >= `n`. */
export function nextPrime(n: number): number {
  let candidate = Math.max(2, Math.ceil(n));
  while (!isPrime(candidate)) candidate++;
  return candidate;
}

/**
 * The table size for `members` members: a prime at least `requested` (default
 * 65537) and at least 100 slots per member.
 */
export function maglevTableSize(members: number, requested = DEFAULT_MAGLEV_TABLE_SIZE): number {
  if (!Number.isInteger(requested) || requested < 1 || requested > MAX_MAGLEV_TABLE_SIZE) {
    throw new RangeError(
      `Maglev table size must be an integer from 1 to ${MAX_MAGLEV_TABLE_SIZE} (got ${requested})`,
    );
  }
  const size = nextPrime(Math.max(requested, MAGLEV_SLOTS_PER_MEMBER * members, 2));
  if (size > MAX_MAGLEV_TABLE_SIZE) {
    throw new RangeError(`too many members (${members}) for a Maglev table`);
  }
  return size;
}

/** One table member: its identity (hashed into its permutation) and weight. */
export interface MaglevMember {
  /** Stable identity, e.g. `host:port`. */
  readonly name: string;
  /** Positive, finite. */
  readonly weight: number;
  /** What the table stores for this member's slots (e.g. a candidate index). */
  readonly value: number;
}

/**
 * Fills a Maglev table of prime `size` with the members' values. Members take
 * turns in the order given (callers pass a canonical order so the same set gives
 * the same table). Returns an empty table when there are no members.
 *
 * Cost: O(size x log(members)) turns plus the permutation probes, about
 * size x ln(size) in the worst case; run once per snapshot, never per pick.
 */
export function buildMaglevTable(
  members: readonly MaglevMember[],
  size: number,
): Uint16Array | Uint32Array {
  const count = members.length;
  const table = count < 0xffff && maxValue(members) < 0xffff
    ? new Uint16Array(size).fill(0xffff)
    : new Uint32Array(size).fill(0xffffffff);
  if (count === 0) return table;
  const empty = table[0]!;

  let maxWeight = 0;
  for (const member of members) if (member.weight > maxWeight) maxWeight = member.weight;
  const position = new Float64Array(count);
  const skip = new Float64Array(count);
  const stride = new Float64Array(count);
  const due = new Float64Array(count);
  const turns = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    const member = members[r]!;
    position[r] = hashKey(member.name) % size;
    skip[r] = (hashKeyAlt(member.name) % (size - 1 || 1)) + 1;
    stride[r] = maxWeight / member.weight;
  }

  // A min-heap of members keyed by (round due, rank): all are due at round 0,
  // and [0, 1, ..., count-1] is already a valid heap for that key.
  const heap = new Int32Array(count);
  for (let r = 0; r < count; r++) heap[r] = r;
  const before = (a: number, b: number) => due[a]! < due[b]! || (due[a] === due[b] && a < b);

  for (let filled = 0; filled < size; filled++) {
    const r = heap[0]!;
    let slot = position[r]!;
    while (table[slot] !== empty) {
      slot += skip[r]!;
      if (slot >= size) slot -= size;
    }
    table[slot] = members[r]!.value;
    slot += skip[r]!;
    position[r] = slot >= size ? slot - size : slot;
    turns[r] = turns[r]! + 1;
    due[r] = turns[r]! * stride[r]!;
    // Sift the member down to its next turn.
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, r)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = r;
  }
  return table;
}

function maxValue(members: readonly MaglevMember[]): number {
  let max = 0;
  for (const member of members) if (member.value > max) max = member.value;
  return max;
}
