/**
 * LEAST_CONNECTIONS: the backend with the fewest in-flight requests per unit of
 * weight, as nginx's `least_conn`.
 *
 * Loads are compared as `inflight / weight` (by cross-multiplying, so no
 * division), read live from the shared counters, which is why in-flight counts
 * keep steering picks across rebuilds. Ties, including the common "everyone is
 * idle" case, are broken by smooth weighted round robin among the tied peers, so
 * idle backends get work in proportion to their weights instead of the first one
 * in the list getting it all. Negative or NaN counts (a bookkeeping bug upstream)
 * count as 0. Backends unavailable at pick time are skipped like rejected ones.
 *
 * @module
 */
import { type Availability, resolveAvailability } from "./availability.ts";
import { weightedIndices } from "./eligible.ts";
import type {
  BackendCounters,
  Candidate,
  PickContext,
  Selector,
  SelectorOptions,
} from "./types.ts";

class LeastConnectionsSelector implements Selector {
  readonly algorithm = "LEAST_CONNECTIONS";
  readonly #order: Int32Array;
  readonly #weight: Float64Array;
  readonly #counters: readonly BackendCounters[];
  readonly #current: Float64Array;
  /** Per-pick scratch: load of each accepted peer, or -1 when rejected. */
  readonly #load: Float64Array;
  readonly #availability: Availability;

  constructor(candidates: readonly Candidate[], availability: Availability) {
    this.#availability = availability;
    const order = weightedIndices(candidates);
    this.#order = order;
    this.#weight = new Float64Array(order.length);
    const counters: BackendCounters[] = [];
    for (let p = 0; p < order.length; p++) {
      const candidate = candidates[order[p]!]!;
      this.#weight[p] = candidate.weight;
      counters.push(candidate.counters);
    }
    this.#counters = counters;
    this.#current = new Float64Array(order.length);
    this.#load = new Float64Array(order.length);
  }

  pick(context?: PickContext): number {
    const order = this.#order;
    const weight = this.#weight;
    const load = this.#load;
    const levels = this.#availability.levels;
    const floor = this.#availability.floor;
    const accept = context?.accept;
    let best = -1;
    let bestLoad = 0;
    let tied = false;
    for (let p = 0; p < order.length; p++) {
      const index = order[p]!;
      if (levels[index]! < floor || (accept !== undefined && !accept(index))) {
        load[p] = -1;
        continue;
      }
      const inflight = this.#counters[p]!.inflight;
      const l = inflight > 0 ? inflight : 0;
      load[p] = l;
      if (best < 0) {
        best = p;
        bestLoad = l;
        tied = false;
        continue;
      }
      const mine = l * weight[best]!;
      const theirs = bestLoad * weight[p]!;
      if (mine < theirs) {
        best = p;
        bestLoad = l;
        tied = false;
      } else if (mine === theirs) {
        tied = true;
      }
    }
    if (best < 0) return -1;
    if (!tied) return order[best]!;
    // Smooth weighted round robin among the peers tied with `best`.
    const current = this.#current;
    const bestWeight = weight[best]!;
    let chosen = -1;
    let total = 0;
    for (let p = best; p < order.length; p++) {
      const l = load[p]!;
      if (l < 0 || l * bestWeight !== bestLoad * weight[p]!) continue;
      const w = weight[p]!;
      const c = current[p]! + w;
      current[p] = c;
      total += w;
      if (chosen < 0 || c > current[chosen]!) chosen = p;
    }
    current[chosen] = current[chosen]! - total;
    return order[chosen]!;
  }
}

/**
 * Builds a LEAST_CONNECTIONS selector over live `counters.inflight`, ties broken
 * by smooth weighted round robin. Deterministic: `options.random` is not used.
 * The caller increments `inflight` when it sends and decrements when it finishes.
 *
 * @example
 * ```ts
 * import { leastConnections } from "./least_connections.ts";
 * import { mulberry32 } from "./hash.ts";
 * const busy = { inflight: 3 };
 * const idle = { inflight: 0 };
 * const selector = leastConnections([
 *   { address: "10.0.0.1:80", weight: 1, usable: true, counters: busy },
 *   { address: "10.0.0.2:80", weight: 1, usable: true, counters: idle },
 * ], { random: mulberry32(1) });
 * selector.pick(); // 1, the idle one
 * ```
 */
export function leastConnections(
  candidates: readonly Candidate[],
  options: SelectorOptions,
): Selector {
  return new LeastConnectionsSelector(
    candidates,
    resolveAvailability(candidates, options.availability),
  );
}
