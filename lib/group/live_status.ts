/**
 * The one mutable part of a group snapshot: each backend's health, passive
 * health (outlier) state and ejection, the availability the selector reads per
 * pick, and the counts that decide panic mode.
 *
 * Health flips and ejections happen often and the latter on the request path,
 * so they must not rebuild selection structures (a Maglev table is 65,537
 * slots). Instead the group state writes here, O(1) per change: one level in
 * the shared {@link Availability}, two counters, and the availability floor
 * when panic mode turns on or off. Config, backend list, weights and selector
 * stay immutable and are swapped whole when they change.
 *
 * Only the group state that built the snapshot writes to it, and only while
 * the snapshot is current; a replaced snapshot keeps its last values.
 *
 * @module
 */
import { Availability, NEVER, STANDBY, UP } from "../balancer/availability.ts";
import type { OutlierState } from "../health/outlier.ts";
import type { HealthState } from "../health/state_machine.ts";

/** One backend's status when the snapshot is built. */
export interface BackendStatusInit {
  readonly health: HealthState;
  readonly outlier: OutlierState;
  /** Ejected by outlier detection now. */
  readonly ejected: boolean;
  /** `"drain": true`: never picked, not counted for panic mode. */
  readonly draining: boolean;
  /** False for a weight that is not positive and finite: never picked. */
  readonly pickable: boolean;
}

/** Whether `up` of `total` backends is below the panic threshold. */
export function isPanic(up: number, total: number, thresholdPercent: number): boolean {
  return thresholdPercent > 0 && total > 0 && up * 100 < thresholdPercent * total;
}

/**
 * Live per-backend status of one snapshot, indexed like its backends.
 *
 * @example
 * ```ts
 * import { LiveStatus } from "./live_status.ts";
 * import { initialHealth } from "../health/state_machine.ts";
 * import { FRESH_OUTLIER } from "../health/outlier.ts";
 * const entry = { health: initialHealth(0), outlier: FRESH_OUTLIER, ejected: false,
 *   draining: false, pickable: true };
 * const s = new LiveStatus([entry, entry], 60, Infinity);
 * s.setEjected(0, true);
 * console.log(s.panic, s.usableCount, s.isUsable(0)); // true 2 true
 * ```
 */
export class LiveStatus {
  /** Read by the selector at every pick. */
  readonly availability: Availability;
  readonly #health: HealthState[];
  readonly #outlier: OutlierState[];
  readonly #ejected: Uint8Array;
  readonly #draining: Uint8Array;
  readonly #pickable: Uint8Array;
  /** Backends not draining: the panic-mode base. */
  readonly #total: number;
  readonly #panicPercent: number;
  /** Healthy, not ejected, not draining. */
  #up = 0;
  /** Healthy and not ejected, draining or not: what the ejection floor counts. */
  #available = 0;
  /** When the group state's `tick()` has work next (an ejection ends, a slow start steps). */
  nextChangeAt: number;

  constructor(
    entries: readonly BackendStatusInit[],
    panicThresholdPercent: number,
    nextChangeAt: number,
  ) {
    const n = entries.length;
    this.availability = new Availability(n);
    this.#health = entries.map((e) => e.health);
    this.#outlier = entries.map((e) => e.outlier);
    this.#ejected = new Uint8Array(n);
    this.#draining = new Uint8Array(n);
    this.#pickable = new Uint8Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      this.#ejected[i] = e.ejected ? 1 : 0;
      this.#draining[i] = e.draining ? 1 : 0;
      this.#pickable[i] = e.pickable ? 1 : 0;
      if (!e.draining) total++;
      if (this.#isAvailable(i)) {
        this.#available++;
        if (!e.draining) this.#up++;
      }
      this.availability.set(i, this.#level(i));
    }
    this.#total = total;
    this.#panicPercent = panicThresholdPercent;
    this.nextChangeAt = nextChangeAt;
    this.#updateFloor();
  }

  /** Too few backends are up: traffic is spread over every non-draining one. */
  get panic(): boolean {
    return this.availability.floor === STANDBY;
  }

  /** Backends that may be picked now (every non-draining one in panic mode). */
  get usableCount(): number {
    return this.panic ? this.#total : this.#up;
  }

  /** Backends healthy and not ejected, draining ones included (the ejection floor's count). */
  get availableCount(): number {
    return this.#available;
  }

  /** Whether backend `i` may be picked now. */
  isUsable(i: number): boolean {
    return this.availability.isAvailable(i);
  }

  health(i: number): HealthState {
    return this.#health[i]!;
  }

  outlier(i: number): OutlierState {
    return this.#outlier[i]!;
  }

  ejected(i: number): boolean {
    return this.#ejected[i] === 1;
  }

  /** Healthy and not ejected (what the ejection floor counts). */
  isAvailable(i: number): boolean {
    return this.#isAvailable(i);
  }

  /** Records a health state; O(1), flips availability when the status changed. */
  setHealth(i: number, health: HealthState): void {
    const before = this.#isAvailable(i);
    this.#health[i] = health;
    this.#changed(i, before);
  }

  /** Records an outlier state (failure streaks show in `/status` at once). */
  setOutlier(i: number, outlier: OutlierState): void {
    this.#outlier[i] = outlier;
  }

  /** Ejects or un-ejects backend `i`; O(1). */
  setEjected(i: number, ejected: boolean): void {
    const before = this.#isAvailable(i);
    this.#ejected[i] = ejected ? 1 : 0;
    this.#changed(i, before);
  }

  #isAvailable(i: number): boolean {
    return this.#health[i]!.status === "healthy" && this.#ejected[i] === 0;
  }

  #level(i: number): typeof NEVER | typeof STANDBY | typeof UP {
    if (this.#draining[i] === 1 || this.#pickable[i] === 0) return NEVER;
    return this.#isAvailable(i) ? UP : STANDBY;
  }

  #changed(i: number, before: boolean): void {
    const after = this.#isAvailable(i);
    if (after === before) return;
    const delta = after ? 1 : -1;
    this.#available += delta;
    if (this.#draining[i] === 0) this.#up += delta;
    this.availability.set(i, this.#level(i));
    this.#updateFloor();
  }

  #updateFloor(): void {
    this.availability.floor = isPanic(this.#up, this.#total, this.#panicPercent) ? STANDBY : UP;
  }
}
