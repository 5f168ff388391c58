/**
 * A route's share of the process: its metric children, resolved once when
 * the listener config is compiled, so that counting a request by route is an
 * array index and an increment.
 *
 * @module
 */
import type { CounterChild, HistogramChild } from "../metrics/registry.ts";
import type { ResponsePolicy } from "../routing/response_policy.ts";
import type { RoutePolicy } from "./route_policy.ts";
import { CLASS_LABELS, classIndex, type ProxyMetricFamilies } from "./metrics.ts";

/** The metrics of one route of one listener (or of "none": no route matched). */
export class RouteLane {
  readonly #families: ProxyMetricFamilies;
  readonly #byClass: (CounterChild | undefined)[] = [];
  readonly #duration: HistogramChild;
  #limited: CounterChild | null = null;
  readonly #mirrored = new Map<string, CounterChild>();
  /** The route's response policy (set at each compile), or null for "none". */
  response: ResponsePolicy | null = null;
  /** The route's overrides of its groups' timeouts, retries and stickiness (set at each compile). */
  policy: RoutePolicy | null = null;

  constructor(families: ProxyMetricFamilies, readonly listener: string, readonly name: string) {
    this.#families = families;
    this.#duration = families.routeDuration.labels(listener, name);
  }

  /** Counts one response (from a backend or the proxy) and its duration. */
  count(status: number, seconds: number): void {
    const ci = classIndex(status);
    let c = this.#byClass[ci];
    if (c === undefined) {
      c = this.#families.routeRequests.labels(this.listener, this.name, CLASS_LABELS[ci]!);
      this.#byClass[ci] = c;
    }
    c.inc();
    this.#duration.observe(seconds);
  }

  /** Counts a request the route's rate limit refused. */
  countLimited(): void {
    (this.#limited ??= this.#families.rateLimited.labels(this.listener, this.name)).inc();
  }

  /** Counts a mirrored copy by outcome (sent, failed, skipped). */
  countMirrored(outcome: "sent" | "failed" | "skipped"): void {
    let c = this.#mirrored.get(outcome);
    if (c === undefined) {
      c = this.#families.mirrored.labels(this.listener, this.name, outcome);
      this.#mirrored.set(outcome, c);
    }
    c.inc();
  }

  /** Stops the route's series (the route left the config). */
  remove(): void {
    const f = this.#families;
    f.routeRequests.retain((v) => v[0] !== this.listener || v[1] !== this.name);
    f.routeDuration.remove(this.listener, this.name);
    f.rateLimited.remove(this.listener, this.name);
    f.mirrored.retain((v) => v[0] !== this.listener || v[1] !== this.name);
  }
}
