/**
 * Keeps a streaming proxy's memory flat under Deno.
 *
 * Every chunk read from a socket is a fresh ArrayBuffer outside the V8 heap.
 * The proxy's hot path allocates almost nothing on the JS heap, so V8 runs
 * few garbage collections and the dead chunks pile up: under Deno 2.9 a
 * 1 GiB transfer left 350-700 MiB of such "external" memory behind (V8 does
 * not collect for external ArrayBuffer memory alone). Bun collects them in
 * time on its own.
 *
 * A {@link GcNudge} is checked on a timer (every 25 ms, a few microseconds;
 * never on the request path): when external memory has grown by more than a step since
 * the last collection it asks V8 for a young-generation collection (where
 * nearly all relayed chunks die), and for a full one when that did not bring
 * external memory back down. Measured under Deno 2.9: about 25 ms per
 * collection (mostly freeing the dead buffers), 5-6 per GiB relayed, for a
 * peak of ~150 MiB instead of 320-780 MiB. The collector
 * is reached through `node:v8`'s `setFlagsFromString("--expose-gc")`, which
 * Deno supports.
 *
 * @module
 */
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { runtimeName } from "../runtime/serve.ts";

/** A V8 `gc()` function (the `--expose-gc` one). */
type GcFunction = (options?: { type?: "minor" | "major"; execution?: "sync" | "async" }) => void;

/** External memory growth (bytes) that triggers a collection. */
export const GC_STEP_BYTES = 64 * 1024 * 1024;

/** V8's collector, or null when it cannot be reached. */
function exposeGc(): GcFunction | null {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? gc as GcFunction : null;
  } catch {
    return null;
  }
}

/**
 * Collects garbage when external (off-heap) memory grows.
 *
 * @example
 * ```ts ignore
 * const nudge = GcNudge.forRuntime();
 * setInterval(() => nudge?.check(), 100);
 * ```
 */
export class GcNudge {
  #baseline: number;
  /** Collections asked for so far (young, full). */
  minor = 0;
  major = 0;

  constructor(
    readonly gc: GcFunction,
    readonly external: () => number = () => process.memoryUsage().external,
    readonly stepBytes = GC_STEP_BYTES,
  ) {
    this.#baseline = external();
  }

  /** A nudge for this runtime: under Deno when the collector is reachable, else null. */
  static forRuntime(): GcNudge | null {
    if (runtimeName() !== "deno") return null;
    const gc = exposeGc();
    return gc ? new GcNudge(gc) : null;
  }

  /** Called periodically: collects when external memory grew by a step. */
  check(): void {
    const ext = this.external();
    if (ext - this.#baseline < this.stepBytes) {
      if (ext < this.#baseline) this.#baseline = ext;
      return;
    }
    this.minor++;
    this.gc({ type: "minor" });
    let after = this.external();
    if (after - this.#baseline >= this.stepBytes) {
      // the dead chunks were already in the old generation
      this.major++;
      this.gc({ type: "major" });
      after = this.external();
    }
    this.#baseline = after;
  }
}
