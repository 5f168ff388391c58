/**
 * A small Prometheus metrics registry built for hot paths.
 *
 * A labelled child is resolved once (string work happens then) and kept by the
 * caller; updating it is a number increment. Text exposition (format 0.0.4) is
 * rendered only when scraped.
 *
 * @module
 */

type LabelValues = readonly string[];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function labelText(names: readonly string[], values: LabelValues, extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) {
    parts.push(`${names[i]}="${escapeLabel(values[i] ?? "")}"`);
  }
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Anything the registry can render. */
export interface Collector {
  readonly name: string;
  /** Appends this metric's exposition lines. */
  render(out: string[]): void;
}

abstract class Family<C> implements Collector {
  readonly #children = new Map<string, { values: LabelValues; child: C }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: "counter" | "gauge" | "histogram",
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__")) throw new Error(`invalid label name ${l}`);
    }
  }

  protected abstract create(): C;

  /** The child for these label values (created on first use; keep the reference). */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name} takes ${this.labelNames.length} label values`);
    }
    const key = values.join("\u0000");
    let entry = this.#children.get(key);
    if (!entry) {
      entry = { values, child: this.create() };
      this.#children.set(key, entry);
    }
    return entry.child;
  }

  /** Drops a child (e.g. a backend removed from the config) so its series stop. */
  remove(...values: string[]): void {
    this.#children.delete(values.join("\u0000"));
  }

  /** Drops every child whose label values fail the predicate. */
  retain(keep: (values: LabelValues) => boolean): void {
    for (const [k, e] of this.#children) if (!keep(e.values)) this.#children.delete(k);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const { values, child } of this.#children.values()) this.renderChild(out, values, child);
  }

  protected abstract renderChild(out: string[], values: LabelValues, child: C): void;
}

/** One labelled counter series. */
export class CounterChild {
  value = 0;
  /** Adds `n` (default 1); a counter never goes down, so a negative or NaN `n` throws. */
  inc(n = 1): void {
    if (!(n >= 0)) throw new RangeError(`counter increment must be >= 0, got ${n}`);
    this.value += n;
  }
}

/** A monotonically increasing count; optionally copied from live state at scrape time. */
export class Counter extends Family<CounterChild> {
  #collect: ((c: Counter) => void) | null;
  /**
   * @param collect Called before each render to refresh values from a count kept
   * elsewhere (set `labels(...).value`; the source must never decrease).
   */
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    collect: ((c: Counter) => void) | null = null,
  ) {
    super(name, help, labelNames, "counter");
    this.#collect = collect;
  }
  protected create(): CounterChild {
    return new CounterChild();
  }
  override render(out: string[]): void {
    this.#collect?.(this);
    super.render(out);
  }
  protected renderChild(out: string[], values: LabelValues, c: CounterChild): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(c.value)}`);
  }
}

/** One labelled gauge series. */
export class GaugeChild {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A value that goes up and down; optionally computed at scrape time. */
export class Gauge extends Family<GaugeChild> {
  #collect: ((g: Gauge) => void) | null;
  /** @param collect Called before each render to refresh values from live state. */
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    collect: ((g: Gauge) => void) | null = null,
  ) {
    super(name, help, labelNames, "gauge");
    this.#collect = collect;
  }
  protected create(): GaugeChild {
    return new GaugeChild();
  }
  override render(out: string[]): void {
    this.#collect?.(this);
    super.render(out);
  }
  protected renderChild(out: string[], values: LabelValues, g: GaugeChild): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(g.value)}`);
  }
}

/** One labelled histogram series. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  /**
   * Records one observation (non-cumulative bucket counts; rendered cumulatively).
   * A value equal to a bound falls in that bound's bucket (`le` is inclusive);
   * NaN falls only in the implicit `+Inf` bucket.
   */
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && !(v <= b[i]!)) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** Default latency buckets in seconds: 0.5 ms to 30 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/**
 * A distribution in fixed buckets. The `+Inf` bucket is implicit: a trailing
 * `Infinity` bound is dropped; other bounds must be finite and increasing.
 * The label name `le` is reserved for buckets.
 */
export class Histogram extends Family<HistogramChild> {
  readonly bounds: readonly number[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    bounds: readonly number[] = LATENCY_BUCKETS,
  ) {
    super(name, help, labelNames, "histogram");
    if (labelNames.includes("le")) throw new Error(`invalid label name le in histogram ${name}`);
    const finite = bounds.at(-1) === Infinity ? bounds.slice(0, -1) : bounds;
    for (let i = 0; i < finite.length; i++) {
      if (!Number.isFinite(finite[i]!)) throw new Error("histogram buckets must be finite");
      if (i > 0 && !(finite[i]! > finite[i - 1]!)) {
        throw new Error("histogram buckets must increase");
      }
    }
    this.bounds = finite;
  }
  protected create(): HistogramChild {
    return new HistogramChild(this.bounds);
  }
  protected renderChild(out: string[], values: LabelValues, h: HistogramChild): void {
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += h.counts[i]!;
      out.push(
        `${this.name}_bucket${
          labelText(this.labelNames, values, `le="${formatNumber(this.bounds[i]!)}"`)
        } ${cumulative}`,
      );
    }
    out.push(
      `${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${h.count}`,
      `${this.name}_sum${labelText(this.labelNames, values)} ${formatNumber(h.sum)}`,
      `${this.name}_count${labelText(this.labelNames, values)} ${h.count}`,
    );
  }
}

/**
 * A set of metrics rendered together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Counter, Registry } from "./registry.ts";
 * const r = new Registry();
 * const c = r.add(new Counter("demo_total", "Demo.", ["kind"]));
 * c.labels("a").inc();
 * assert.ok(r.render().includes('demo_total{kind="a"} 1'));
 * ```
 */
export class Registry {
  readonly #collectors: Collector[] = [];
  add<T extends Collector>(c: T): T {
    if (this.#collectors.some((x) => x.name === c.name)) {
      throw new Error(`duplicate metric ${c.name}`);
    }
    this.#collectors.push(c);
    return c;
  }
  /** The whole registry in Prometheus text format 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const c of this.#collectors) c.render(out);
    return out.join("\n") + "\n";
  }
}

/** The content type of {@link Registry.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
