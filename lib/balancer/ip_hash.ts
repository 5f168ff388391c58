/**
 * IP_HASH: requests from one client IP stick to one backend.
 *
 * Simpler than CONSISTENT_HASH, in the spirit of nginx's `ip_hash`: the weighted
 * members (every candidate with a valid weight, usable or not, ranked by
 * address) are laid out over a fixed array of slots, each getting a share of
 * slots proportional to its weight (largest-remainder rounding), and an IP maps
 * to `slots[hash(ip) % slots]`. The slots are laid out when the backend set or
 * the weights change, never on a health flip: availability is read per pick.
 * When that backend is unavailable or rejected the
 * hash is re-mixed and tried again, a bounded number of times, then a linear
 * scan from an IP-derived index takes the first qualifying candidate. Health
 * changes and ejections therefore move only the affected backend's clients; changing the
 * backend set or weights may move many (use CONSISTENT_HASH for minimal
 * movement).
 *
 * The key is the whole client IP (not nginx's /24). An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`) hashes like the plain IPv4 one, so a dual-stack listener
 * does not split a client in two. A pick without a key falls back to a weighted
 * random pick. A member whose share is below one slot (weight ratio beyond about
 * 1:4096) may get no slots and is then only reached by fallbacks.
 *
 * @module
 */
import { type Availability, resolveAvailability } from "./availability.ts";
import { canonicalOrder, firstUsableFrom, weightedIndices } from "./eligible.ts";
import { mix32, murmur3, PRIMARY_SEED } from "./hash.ts";
import { weightedRandom } from "./random.ts";
import type { Candidate, PickContext, Selector, SelectorOptions } from "./types.ts";

/** Minimum number of slots in the weighted slot array. */
export const IP_HASH_MIN_SLOTS = 4096;
/** Slots per member, when that exceeds the minimum. */
export const IP_HASH_SLOTS_PER_MEMBER = 64;
/** Slot probes per pick (the first plus rehashes) before the linear scan. */
export const IP_HASH_ATTEMPTS = 16;

const REHASH_INCREMENT = 0x9e3779b9;

/**
 * Where the hashed part of a client IP starts: 7 for an IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`), else 0. Lets the hash skip the prefix without
 * allocating a substring.
 */
export function ipKeyStart(ip: string): number {
  if (ip.length < 14 || ip.charCodeAt(0) !== COLON || ip.charCodeAt(1) !== COLON) return 0;
  for (let i = 2; i < 6; i++) if ((ip.charCodeAt(i) | 0x20) !== LOWER_F) return 0;
  return ip.charCodeAt(6) === COLON && ip.indexOf(".", 7) > 0 ? 7 : 0;
}

const COLON = 0x3a;
const LOWER_F = 0x66;

/**
 * Lays members out contiguously over `size` slots, shares proportional to
 * `weights` by largest-remainder rounding (ties to the earlier member).
 * `values[m]` is written into member m's slots.
 */
export function buildSlotArray(
  weights: ArrayLike<number>,
  values: ArrayLike<number>,
  size: number,
): Uint16Array | Uint32Array {
  const count = weights.length;
  let maxValue = 0;
  for (let m = 0; m < count; m++) maxValue = Math.max(maxValue, values[m]!);
  const slots = maxValue < 0xffff ? new Uint16Array(size) : new Uint32Array(size);
  if (count === 0) return slots;
  let total = 0;
  for (let m = 0; m < count; m++) total += weights[m]!;
  const quota = new Float64Array(count);
  const remainder = new Float64Array(count);
  let assigned = 0;
  for (let m = 0; m < count; m++) {
    const exact = (weights[m]! / total) * size;
    quota[m] = Math.floor(exact);
    remainder[m] = exact - quota[m]!;
    assigned += quota[m]!;
  }
  const byRemainder = Array.from({ length: count }, (_, m) => m)
    .sort((a, b) => remainder[b]! - remainder[a]! || a - b);
  for (let k = 0; assigned < size; k = (k + 1) % count) {
    const m = byRemainder[k]!;
    quota[m] = quota[m]! + 1;
    assigned++;
  }
  let slot = 0;
  for (let m = 0; m < count; m++) {
    const end = Math.min(size, slot + quota[m]!);
    slots.fill(values[m]!, slot, end);
    slot = end;
  }
  return slots;
}

class IpHashSelector implements Selector {
  readonly algorithm = "IP_HASH";
  readonly #slots: Uint16Array | Uint32Array;
  readonly #availability: Availability;
  readonly #keyless: Selector;

  constructor(candidates: readonly Candidate[], options: SelectorOptions) {
    const members = canonicalOrder(candidates, weightedIndices(candidates));
    const weights = new Float64Array(members.length);
    for (let m = 0; m < members.length; m++) weights[m] = candidates[members[m]!]!.weight;
    const size = Math.max(IP_HASH_MIN_SLOTS, IP_HASH_SLOTS_PER_MEMBER * members.length);
    this.#slots = buildSlotArray(weights, members, size);
    this.#availability = resolveAvailability(candidates, options.availability);
    this.#keyless = weightedRandom(candidates, {
      random: options.random,
      availability: this.#availability,
    });
  }

  pick(context?: PickContext): number {
    if (this.#availability.size === 0) return -1;
    const ip = context?.key;
    if (ip === undefined) return this.#keyless.pick(context);
    const accept = context?.accept;
    const availability = this.#availability;
    const levels = availability.levels;
    const floor = availability.floor;
    const slots = this.#slots;
    let hash = murmur3(ip, PRIMARY_SEED, ipKeyStart(ip));
    const first = hash;
    for (let attempt = 0; attempt < IP_HASH_ATTEMPTS; attempt++) {
      const index = slots[hash % slots.length]!;
      if (levels[index]! >= floor && (accept === undefined || accept(index))) return index;
      hash = mix32(hash + REHASH_INCREMENT);
    }
    return firstUsableFrom(availability, first % levels.length, accept);
  }
}

/**
 * Builds an IP_HASH selector: `context.key` is the client IP; the same IP picks
 * the same backend while that backend stays usable.
 *
 * @example
 * ```ts
 * import { ipHash } from "./ip_hash.ts";
 * import { mulberry32 } from "./hash.ts";
 * const c = (address: string) => ({ address, weight: 1, usable: true, counters: { inflight: 0 } });
 * const selector = ipHash([c("10.0.0.1:80"), c("10.0.0.2:80")], { random: mulberry32(1) });
 * selector.pick({ key: "192.0.2.7" }) === selector.pick({ key: "::ffff:192.0.2.7" }); // true
 * ```
 */
export function ipHash(candidates: readonly Candidate[], options: SelectorOptions): Selector {
  return new IpHashSelector(candidates, options);
}
