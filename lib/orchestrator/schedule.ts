/**
 * The probe schedule of one worker: a binary min-heap of due times (one timer for thousands of
 * targets, not one each), jittered intervals, and probe lag statistics (how late a probe starts
 * against its schedule).
 *
 * Pure: times are passed in, randomness is injected.
 *
 * @module
 */
import { nextProbeAt } from "../health/state_machine.ts";

/** Spread of probe times around the interval (±10%, as the embedded checker). */
export const PROBE_JITTER = 0.1;

interface Entry<K> {
  readonly key: K;
  readonly dueAt: number;
  readonly gen: number;
}

/** A due probe popped from the schedule. */
export interface Due<K> {
  readonly key: K;
  readonly dueAt: number;
}

/**
 * Keys with due times; `schedule` replaces a key's earlier time, `remove` drops it.
 *
 * @example
 * ```ts
 * import { ProbeSchedule } from "./schedule.ts";
 * const s = new ProbeSchedule<string>();
 * s.schedule("a", 20);
 * s.schedule("b", 10);
 * console.log(s.nextDue(), s.popDue(15).map((d) => d.key)); // 10 ["b"]
 * ```
 */
export class ProbeSchedule<K> {
  readonly #heap: Entry<K>[] = [];
  readonly #live = new Map<K, number>();
  #gen = 0;

  /** Number of scheduled keys. */
  get size(): number {
    return this.#live.size;
  }

  /** Whether a key is scheduled. */
  has(key: K): boolean {
    return this.#live.has(key);
  }

  /** Schedules (or reschedules) a key. */
  schedule(key: K, dueAt: number): void {
    const gen = ++this.#gen;
    this.#live.set(key, gen);
    this.#push({ key, dueAt, gen });
    // Lazy deletion leaves stale entries; rebuild when they dominate.
    if (this.#heap.length > 64 && this.#heap.length > 4 * this.#live.size) this.#compact();
  }

  /** Unschedules a key. */
  remove(key: K): void {
    this.#live.delete(key);
  }

  /** The earliest due time, undefined when empty. */
  nextDue(): number | undefined {
    this.#dropStale();
    return this.#heap[0]?.dueAt;
  }

  /**
   * Pops every key due at or before `now` (they are unscheduled), earliest first.
   *
   * @param now the current time
   * @param max pop at most this many
   */
  popDue(now: number, max = Infinity): Due<K>[] {
    const out: Due<K>[] = [];
    while (out.length < max) {
      this.#dropStale();
      const top = this.#heap[0];
      if (top === undefined || top.dueAt > now) break;
      this.#pop();
      this.#live.delete(top.key);
      out.push({ key: top.key, dueAt: top.dueAt });
    }
    return out;
  }

  #isStale(e: Entry<K>): boolean {
    return this.#live.get(e.key) !== e.gen;
  }

  #dropStale(): void {
    while (this.#heap.length > 0 && this.#isStale(this.#heap[0]!)) this.#pop();
  }

  #compact(): void {
    const keep = this.#heap.filter((e) => !this.#isStale(e));
    this.#heap.length = 0;
    for (const e of keep) this.#push(e);
  }

  #push(e: Entry<K>): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.dueAt <= e.dueAt) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.dueAt < h[l]!.dueAt ? r : l;
      if (h[c]!.dueAt >= last.dueAt) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

/**
 * When a target's next probe is due: one jittered interval after the last probe started, but
 * never before it finished (a probe slower than the interval is followed at once, not piled up).
 *
 * @param startedAt when the last probe started
 * @param finishedAt when it finished
 * @param intervalMs the group's interval
 * @param random uniform in [0, 1)
 */
export function nextDueAt(
  startedAt: number,
  finishedAt: number,
  intervalMs: number,
  random: () => number,
): number {
  return Math.max(nextProbeAt(startedAt, intervalMs, PROBE_JITTER, random), finishedAt);
}

/**
 * When a newly assigned target is first probed: spread over half an interval (at most a few
 * seconds) so a takeover of many targets does not probe them all at once, yet soon.
 *
 * @param now the current time
 * @param intervalMs the group's interval
 * @param random uniform in [0, 1)
 */
export function firstDueAt(now: number, intervalMs: number, random: () => number): number {
  return now + random() * Math.min(intervalMs / 2, 5_000);
}

/** Percentiles of recent probe lag. */
export interface LagSummary {
  /** Samples in the window. */
  readonly count: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * The last `capacity` lag samples (a ring buffer) and their percentiles.
 *
 * @example
 * ```ts
 * import { LagStats } from "./schedule.ts";
 * const s = new LagStats(100);
 * for (let i = 1; i <= 100; i++) s.record(i);
 * console.log(s.summary().medianMs, s.summary().p99Ms); // 50 99
 * ```
 */
export class LagStats {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  /** @param capacity samples kept */
  constructor(capacity = 16_384) {
    this.#samples = new Float64Array(capacity);
  }

  /** Records one lag (ms; negative values count as 0). */
  record(lagMs: number): void {
    this.#samples[this.#next] = lagMs > 0 ? lagMs : 0;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#next = 0;
    this.#count = 0;
  }

  /** Median, p99 and max of the samples kept (nearest rank). */
  summary(): LagSummary {
    if (this.#count === 0) return { count: 0, medianMs: 0, p99Ms: 0, maxMs: 0 };
    const sorted = this.#samples.slice(0, this.#count).sort();
    const rank = (q: number) => sorted[Math.min(this.#count - 1, Math.ceil(q * this.#count) - 1)]!;
    return {
      count: this.#count,
      medianMs: rank(0.5),
      p99Ms: rank(0.99),
      maxMs: sorted[this.#count - 1]!,
    };
  }
}
