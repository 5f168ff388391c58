/**
 * A fixed-capacity ring buffer: the last N chart points, oldest dropped. Pure.
 *
 * @module
 */

/**
 * The last `capacity` values pushed.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * const r = new Ring<number>(2);
 * r.push(1); r.push(2); r.push(3);
 * r.toArray(); // [2, 3]
 * ```
 */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error("capacity must be >= 1");
    this.#items = new Array(capacity);
  }

  /** Number of values held. */
  get size(): number {
    return this.#size;
  }

  /** Appends a value, dropping the oldest when full. */
  push(value: T): void {
    const end = (this.#start + this.#size) % this.capacity;
    this.#items[end] = value;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /** The newest value, or undefined. */
  last(): T | undefined {
    if (this.#size === 0) return undefined;
    return this.#items[(this.#start + this.#size - 1) % this.capacity];
  }

  /** Values, oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++) out.push(this.#items[(this.#start + i) % this.capacity]!);
    return out;
  }
}
