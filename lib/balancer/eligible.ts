/**
 * Which candidates a selector may pick.
 *
 * Every algorithm shares one rule so they agree on edge cases: a candidate is
 * eligible when it is available (see `availability.ts`, read at pick time) and
 * its weight is a positive finite number. A weight of 0, a negative weight, NaN
 * or Infinity never wins a pick (it would otherwise poison prefix sums and
 * ratios); slow-start fractions such as 0.25 are fine. Weights are fixed for a
 * selector's life, so selectors keep the candidates with a valid weight in typed
 * arrays built once and check availability per pick.
 *
 * @module
 */
import type { Availability } from "./availability.ts";
import type { Candidate } from "./types.ts";

/** True when the weight can take part in weighted arithmetic (positive and finite). */
export function hasValidWeight(candidate: Candidate): boolean {
  const weight = candidate.weight;
  return weight > 0 && weight < Infinity;
}

/** True when a candidate may be picked at all: usable, with a valid weight. */
export function isEligible(candidate: Candidate): boolean {
  return candidate.usable && hasValidWeight(candidate);
}

/**
 * Maps a uniform `r` in [0, 1) to an index in [0, n), n > 0. Clamps whatever an
 * injected `random` returns (1, a negative, NaN), so a bad source can skew picks
 * but never index out of range.
 */
export function scaledIndex(r: number, n: number): number {
  const i = Math.floor(r * n);
  return i >= n ? n - 1 : i >= 0 ? i : 0;
}

/**
 * Addresses ranked in a canonical order (by address, then list index): hash
 * tables are filled in this order so the same set of backends yields the same
 * table whatever order the config lists them in. Returns candidate indices.
 */
export function canonicalOrder(candidates: readonly Candidate[], keep: Int32Array): Int32Array {
  const ranked = Array.from(keep);
  ranked.sort((a, b) => {
    const x = candidates[a]!.address;
    const y = candidates[b]!.address;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  return Int32Array.from(ranked);
}

/** Indices of the candidates with a valid weight, usable or not (hash-table members). */
export function weightedIndices(candidates: readonly Candidate[]): Int32Array {
  let count = 0;
  for (const candidate of candidates) if (hasValidWeight(candidate)) count++;
  const indices = new Int32Array(count);
  let next = 0;
  for (let i = 0; i < candidates.length; i++) {
    if (hasValidWeight(candidates[i]!)) indices[next++] = i;
  }
  return indices;
}

/**
 * The first available candidate that `accept` allows, scanning all of them from
 * `start` with wrap-around, or -1. The hash algorithms' last resort: it finds any
 * qualifying candidate, and a key-derived `start` keeps a key on one backend as
 * long as the available set does not change. Only candidates with a valid weight
 * may be available (see `Availability.of` and the group snapshot).
 */
export function firstUsableFrom(
  availability: Availability,
  start: number,
  accept: ((index: number) => boolean) | undefined,
): number {
  const levels = availability.levels;
  const floor = availability.floor;
  const count = levels.length;
  let index = start;
  for (let k = 0; k < count; k++) {
    if (levels[index]! >= floor && (accept === undefined || accept(index))) return index;
    index = index + 1 === count ? 0 : index + 1;
  }
  return -1;
}
