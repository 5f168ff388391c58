/**
 * Fixtures shared by the balancer tests (not part of the public API): candidate
 * builders, share measurement and deterministic key generators.
 *
 * @module
 */
import { mulberry32 } from "./hash.ts";
import type { BackendCounters, Candidate, PickContext, Selector } from "./types.ts";

/** Per-candidate overrides for {@linkcode makeCandidates}. */
export interface CandidateSpec {
  readonly weight?: number;
  readonly usable?: boolean;
  readonly inflight?: number;
  readonly address?: string;
  readonly counters?: BackendCounters;
}

/** Candidates `10.0.0.<i+1>:8080` with the given weights (or specs), usable and idle. */
export function makeCandidates(specs: readonly (number | CandidateSpec)[]): Candidate[] {
  return specs.map((spec, i) => {
    const s: CandidateSpec = typeof spec === "number" ? { weight: spec } : spec;
    return {
      address: s.address ?? `10.0.0.${i + 1}:8080`,
      weight: s.weight ?? 1,
      usable: s.usable ?? true,
      counters: s.counters ?? { inflight: s.inflight ?? 0 },
    };
  });
}

/** Expected shares: each weight over the sum. */
export function weightShares(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** Fraction of `picks` picks that went to each candidate (a -1 pick throws). */
export function measureShares(
  selector: Selector,
  candidates: number,
  picks: number,
  context?: (i: number) => PickContext | undefined,
): number[] {
  const counts = new Array<number>(candidates).fill(0);
  for (let i = 0; i < picks; i++) {
    const index = selector.pick(context?.(i));
    if (index < 0 || index >= candidates) throw new Error(`pick ${i} returned ${index}`);
    counts[index]!++;
  }
  return counts.map((c) => c / picks);
}

/** Largest absolute difference between two share vectors. */
export function maxShareError(actual: readonly number[], expected: readonly number[]): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs((actual[i] ?? 0) - expected[i]!));
  }
  return worst;
}

/** `count` distinct pseudo-random keys (deterministic for a seed). */
export function randomKeys(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    keys.push(`session-${i}-${Math.floor(random() * 2 ** 32).toString(36)}`);
  }
  return keys;
}

/** `count` distinct pseudo-random IPv4 addresses (deterministic for a seed). */
export function randomIps(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const seen = new Set<number>();
  const ips: string[] = [];
  while (ips.length < count) {
    const n = Math.floor(random() * 2 ** 32) >>> 0;
    if (seen.has(n)) continue;
    seen.add(n);
    ips.push(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
  }
  return ips;
}

/** A `random` that replays `values` in a loop, for tests that script each draw. */
export function scriptedRandom(values: readonly number[]): () => number {
  let next = 0;
  return () => {
    const value = values[next]!;
    next = (next + 1) % values.length;
    return value;
  };
}

/** A `random` for algorithms that must not use randomness: throws when called. */
export function forbiddenRandom(): number {
  throw new Error("random() must not be called");
}
