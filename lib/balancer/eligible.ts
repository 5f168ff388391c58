/**
 * Which candidates a selector may pick, decided once per snapshot.
 *
 * Every algorithm shares one rule so they agree on edge cases: a candidate is
 * eligible when it is `usable` and its weight is a positive finite number. A
 * weight of 0, a negative weight, NaN or Infinity never wins a pick (it would
 * otherwise poison prefix sums and ratios); slow-start fractions such as 0.25
 * are fine. Candidates are immutable apart from their counters, so selectors read
 * these fields once, at build time, and keep typed arrays for the pick path.
 *
 * @module
 */
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

/** Indices of the eligible candidates, in list order, so picks skip the rest for free. */
export function eligibleIndices(candidates: readonly Candidate[]): Int32Array {
  let count = 0;
  for (const candidate of candidates) if (isEligible(candidate)) count++;
  const indices = new Int32Array(count);
  let next = 0;
  for (let i = 0; i < candidates.length; i++) {
    if (isEligible(candidates[i]!)) indices[next++] = i;
  }
  return indices;
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

/** One flag per candidate, 1 when eligible: O(1) checks on hash-table walks. */
export function usableFlags(candidates: readonly Candidate[]): Uint8Array {
  const flags = new Uint8Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) if (isEligible(candidates[i]!)) flags[i] = 1;
  return flags;
}

/**
 * The first flagged candidate that `accept` allows, scanning all of them from
 * `start` with wrap-around, or -1. The hash algorithms' last resort: it finds any
 * qualifying candidate, and a key-derived `start` keeps a key on one backend as
 * long as the usable set does not change.
 */
export function firstUsableFrom(
  usable: Uint8Array,
  start: number,
  accept: ((index: number) => boolean) | undefined,
): number {
  const count = usable.length;
  let index = start;
  for (let k = 0; k < count; k++) {
    if (usable[index] === 1 && (accept === undefined || accept(index))) return index;
    index = index + 1 === count ? 0 : index + 1;
  }
  return -1;
}
