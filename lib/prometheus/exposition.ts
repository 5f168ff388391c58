/**
 * Reading the Prometheus text exposition format (what every role's `/metrics` serves, format
 * 0.0.4): sample lines only; `# HELP`, `# TYPE`, comments and blank lines are skipped, and a
 * malformed line is skipped rather than failing the whole scrape. Plus the one histogram
 * computation the autoscaler needs, {@link histogramQuantile}, with Prometheus's own
 * interpolation. Pure.
 *
 * @module
 */

/** One sample line. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const LABEL = /^[A-Za-z_][A-Za-z0-9_]*/;

function parseValue(text: string): number | null {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const n = Number(text);
  return text === "" || Number.isNaN(n) ? null : n;
}

/** Parses `{a="x",b="y"}` from `i` (at `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    while (line[i] === " " || line[i] === ",") i++;
    if (i >= line.length) throw new Error("unterminated label set");
    if (line[i] === "}") return { labels, end: i + 1 };
    const m = LABEL.exec(line.slice(i));
    if (!m) throw new Error("bad label name");
    i += m[0].length;
    while (line[i] === " ") i++;
    if (line[i++] !== "=") throw new Error("expected =");
    while (line[i] === " ") i++;
    if (line[i++] !== '"') throw new Error("expected a quoted value");
    let value = "";
    while (i < line.length && line[i] !== '"') {
      if (line[i] === "\\" && i + 1 < line.length) {
        const next = line[i + 1]!;
        value += next === "n" ? "\n" : next;
        i += 2;
      } else value += line[i++];
    }
    if (line[i++] !== '"') throw new Error("unterminated value");
    labels[m[0]] = value;
  }
}

/**
 * Parses exposition text into samples.
 *
 * @example
 * ```ts
 * import { parseExposition } from "./exposition.ts";
 * const s = parseExposition('# TYPE x_total counter\nx_total{code="200"} 3\n');
 * console.log(s); // [{ name: "x_total", labels: { code: "200" }, value: 3 }]
 * ```
 */
export function parseExposition(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = NAME.exec(line);
    if (!m) continue;
    let i = m[0].length;
    let labels: Record<string, string> = {};
    if (line[i] === "{") {
      try {
        const r = parseLabels(line, i);
        labels = r.labels;
        i = r.end;
      } catch {
        continue;
      }
    }
    const value = parseValue(line.slice(i).trim().split(/\s+/)[0] ?? "");
    if (value === null) continue;
    out.push({ name: m[0], labels, value });
  }
  return out;
}

/** Sums the values of the samples named `name` whose labels include `match`. */
export function sumOf(
  samples: readonly PromSample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): number | null {
  let found = false;
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).some(([k, v]) => s.labels[k] !== v)) continue;
    found = true;
    sum += s.value;
  }
  return found ? sum : null;
}

/**
 * A histogram's cumulative buckets summed over every series named `<name>_bucket` whose labels
 * include `match` (e.g. over backends), as `le -> count`.
 */
export function bucketsOf(
  samples: readonly PromSample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): Map<number, number> {
  const out = new Map<number, number>();
  const bucket = `${name}_bucket`;
  for (const s of samples) {
    if (s.name !== bucket || s.labels.le === undefined) continue;
    if (Object.entries(match).some(([k, v]) => s.labels[k] !== v)) continue;
    const le = parseValue(s.labels.le);
    if (le === null || Number.isNaN(le)) continue;
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/**
 * The `q` quantile of cumulative buckets (`le -> count`, the `+Inf` bucket included), computed
 * like PromQL's `histogram_quantile`: linear interpolation inside the bucket holding the rank,
 * the lower bound of the first bucket taken as 0, and a rank in the `+Inf` bucket answered with
 * the highest finite bound. Null when there are no observations (or no `+Inf` bucket).
 *
 * @example
 * ```ts
 * import { histogramQuantile } from "./exposition.ts";
 * const b = new Map([[0.1, 50], [0.2, 90], [0.5, 100], [Infinity, 100]]);
 * console.log(histogramQuantile(0.5, b)); // 0.1
 * console.log(histogramQuantile(0.9, b)); // 0.2
 * ```
 */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const last = sorted.at(-1);
  if (!last || last[0] !== Infinity || !(last[1] > 0)) return null;
  if (q <= 0) return 0;
  if (q >= 1) return sorted.length > 1 ? sorted.at(-2)![0] : null;
  // monotonic counts (a scrape can be torn): never let a bucket count fewer than the previous
  let running = 0;
  const fixed = sorted.map(([le, c]) => [le, running = Math.max(running, c)] as const);
  const total = fixed.at(-1)![1];
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of fixed) {
    if (count >= rank) {
      if (le === Infinity) return fixed.length > 1 ? fixed.at(-2)![0] : null;
      const lower = prevLe;
      if (count === prevCount) return le;
      return lower + (le - lower) * ((rank - prevCount) / (count - prevCount));
    }
    prevLe = le;
    prevCount = count;
  }
  return null;
}
