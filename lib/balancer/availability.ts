/**
 * Which candidates may be picked right now, read at pick time.
 *
 * Selection structures (rotation orders, prefix sums, hash tables) depend only
 * on the candidate list and the weights, so they are built once per backend
 * set. Health flips, outlier ejections and panic mode change only this: one
 * byte per candidate and one threshold, written in O(1) by the owner of the
 * group and read by every pick, as Pingora's selection iterates and skips
 * unavailable backends. A health flip therefore never rebuilds a 65,537-slot
 * Maglev table.
 *
 * Each candidate has a level: {@link NEVER} (draining, or an invalid weight:
 * not even panic mode picks it), {@link STANDBY} (unhealthy or ejected: picked
 * only in panic mode) or {@link UP}. A candidate is available when its level is
 * at least the {@link Availability.floor}: `UP` normally, `STANDBY` in panic
 * mode, so entering or leaving panic mode is one write too.
 *
 * @module
 */
import { hasValidWeight } from "./eligible.ts";
import type { Candidate } from "./types.ts";

/** Never picked (draining, invalid weight). */
export const NEVER = 0;
/** Picked only in panic mode (unhealthy or ejected). */
export const STANDBY = 1;
/** Picked. */
export const UP = 2;

/** A candidate's availability level: {@link NEVER}, {@link STANDBY} or {@link UP}. */
export type AvailabilityLevel = typeof NEVER | typeof STANDBY | typeof UP;

/**
 * The live availability of a fixed candidate list: shared by the selector
 * (reader) and the group state (the one writer).
 *
 * @example
 * ```ts
 * import { Availability, STANDBY, UP } from "./availability.ts";
 * const a = new Availability(2);
 * a.set(0, UP);
 * a.set(1, STANDBY);
 * console.log(a.isAvailable(1)); // false
 * a.floor = STANDBY; // panic mode: standby backends serve too
 * console.log(a.isAvailable(1)); // true
 * ```
 */
export class Availability {
  /** One level per candidate index. */
  readonly levels: Uint8Array;
  /** Lowest level a pick may take: {@link UP}, or {@link STANDBY} in panic mode. */
  floor: typeof STANDBY | typeof UP = UP;

  /** All `size` candidates start at {@link NEVER}. */
  constructor(size: number) {
    this.levels = new Uint8Array(size);
  }

  /**
   * Availability fixed by the candidates' own `usable` flags (for selectors
   * built without a live availability: tests, one-off use).
   */
  static of(candidates: readonly Candidate[]): Availability {
    const availability = new Availability(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (c.usable && hasValidWeight(c)) availability.levels[i] = UP;
    }
    return availability;
  }

  /** Number of candidates. */
  get size(): number {
    return this.levels.length;
  }

  /** Sets one candidate's level. O(1). */
  set(index: number, level: AvailabilityLevel): void {
    this.levels[index] = level;
  }

  /** True when candidate `index` may be picked now. */
  isAvailable(index: number): boolean {
    return this.levels[index]! >= this.floor;
  }
}

/**
 * The availability a selector reads: the live one from `options` (which must
 * cover exactly the candidates), else one fixed by the candidates' `usable`.
 */
export function resolveAvailability(
  candidates: readonly Candidate[],
  live: Availability | undefined,
): Availability {
  if (live === undefined) return Availability.of(candidates);
  if (live.size !== candidates.length) {
    throw new RangeError(
      `availability covers ${live.size} candidates, the selector has ${candidates.length}`,
    );
  }
  return live;
}
