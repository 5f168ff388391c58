/// <reference lib="dom" />
/**
 * Small time-series charts drawn as SVG: a pure geometry step
 * ({@link chartModel}: scales, ticks, path data, gaps where data is missing)
 * and a DOM step ({@link renderChart}). Colours come from CSS classes, so
 * the page's Content-Security-Policy needs no inline styles.
 *
 * @module
 */
import { s } from "./dom.ts";
import { short } from "./format.ts";

/** One line of a chart. */
export interface ChartLine {
  /** CSS class suffix: `line-<cls>` and `area-<cls>`. */
  readonly cls: string;
  /** One value per time; null is a gap. */
  readonly values: readonly (number | null)[];
  /** Fill the area under the line. */
  readonly area?: boolean;
}

/** Everything needed to draw a chart. */
export interface ChartModel {
  readonly width: number;
  readonly height: number;
  readonly yMax: number;
  readonly yTicks: readonly { readonly y: number; readonly label: string }[];
  readonly xTicks: readonly { readonly x: number; readonly label: string }[];
  readonly lines: readonly {
    readonly cls: string;
    readonly d: string;
    readonly area: string | null;
  }[];
  readonly plot: {
    readonly left: number;
    readonly top: number;
    readonly right: number;
    readonly bottom: number;
  };
}

/**
 * The smallest of 1, 2, 2.5, 5 x 10^n at or above `v` (1 for 0 or less).
 *
 * @example
 * ```ts
 * import { niceMax } from "./chart.ts";
 * niceMax(37); // 50
 * ```
 */
export function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Lays out a chart of `lines` over `times` within the window [start, end].
 *
 * @example
 * ```ts
 * import { chartModel } from "./chart.ts";
 * const m = chartModel([0, 1000], [{ cls: "rps", values: [1, 3] }], { start: 0, end: 1000 });
 * m.yMax; // 5
 * ```
 */
export function chartModel(
  times: readonly number[],
  lines: readonly ChartLine[],
  options: { start: number; end: number; width?: number; height?: number; minMax?: number },
): ChartModel {
  const width = options.width ?? 300;
  const height = options.height ?? 96;
  const plot = { left: 30, top: 6, right: width - 4, bottom: height - 14 };
  let max = options.minMax ?? 0;
  for (const l of lines) {
    l.values.forEach((v, i) => {
      if (v !== null && v > max && (times[i] ?? -Infinity) >= options.start) max = v;
    });
  }
  const yMax = niceMax(max);
  const span = Math.max(1, options.end - options.start);
  const x = (t: number) => r1(plot.left + (t - options.start) / span * (plot.right - plot.left));
  const y = (v: number) => r1(plot.bottom - Math.min(v, yMax) / yMax * (plot.bottom - plot.top));
  const out = lines.map((l) => {
    let d = "";
    let area = "";
    let segment: { x: number; y: number }[] = [];
    const flush = () => {
      if (segment.length === 0) return;
      d += segment.map((p, i) => `${i === 0 ? "M" : "L"}${p.x} ${p.y}`).join("");
      if (l.area) {
        const first = segment[0]!;
        const last = segment[segment.length - 1]!;
        area += `M${first.x} ${plot.bottom}` + segment.map((p) => `L${p.x} ${p.y}`).join("") +
          `L${last.x} ${plot.bottom}Z`;
      }
      segment = [];
    };
    times.forEach((t, i) => {
      const v = l.values[i];
      if (v === null || v === undefined || t < options.start) flush();
      else segment.push({ x: x(t), y: y(v) });
    });
    flush();
    return { cls: l.cls, d, area: l.area ? area : null };
  });
  const yTicks = [0, 0.5, 1].map((f) => ({ y: y(yMax * f), label: short(yMax * f) }));
  const minutes = Math.round(span / 60_000);
  const xTicks = [
    { x: plot.left, label: minutes >= 1 ? `-${minutes}m` : `-${Math.round(span / 1000)}s` },
    { x: r1((plot.left + plot.right) / 2), label: "" },
    { x: plot.right, label: "now" },
  ];
  return { width, height, yMax, yTicks, xTicks, lines: out, plot };
}

/** Draws a chart model as an `<svg>`. */
export function renderChart(m: ChartModel, title: string): SVGElement {
  return s(
    "svg",
    {
      viewBox: `0 0 ${m.width} ${m.height}`,
      role: "img",
      "aria-label": title,
    },
    s("title", null, title),
    m.yTicks.map((t) => [
      s("line", { class: "grid", x1: m.plot.left, x2: m.plot.right, y1: t.y, y2: t.y }),
      s("text", { class: "axis", x: m.plot.left - 3, y: t.y + 3, "text-anchor": "end" }, t.label),
    ]),
    m.xTicks.map((t, i) =>
      t.label
        ? s("text", {
          class: "axis",
          x: t.x,
          y: m.height - 2,
          "text-anchor": i === 0 ? "start" : i === m.xTicks.length - 1 ? "end" : "middle",
        }, t.label)
        : null
    ),
    m.lines.map((l) => [
      l.area ? s("path", { class: `area area-${l.cls}`, d: l.area }) : null,
      s("path", { class: `line line-${l.cls}`, d: l.d, "vector-effect": "non-scaling-stroke" }),
    ]),
  );
}
