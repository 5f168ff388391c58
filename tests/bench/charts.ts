/**
 * The report's SVG charts, written by the suite itself (no plotting
 * library): horizontal bars with the runs' range as whiskers, an optional
 * median tick and a dashed line at an issue's bar; and grouped bars (one
 * group per target, one bar per series, optionally on a log scale).
 *
 * @module
 */

/** One bar. */
export interface Row {
  readonly label: string;
  /** Null: not measured (the row says so instead of drawing a bar). */
  readonly value: number | null;
  readonly min: number;
  readonly max: number;
  readonly note: string;
  readonly flagged: boolean;
  /** A tick at this value (e.g. the median when the bar is a p99). */
  readonly marker?: number;
  /** Colour the bar as Switchyard's (default: when the label starts with "Switchyard"). */
  readonly ours?: boolean;
}

/** Options of {@link barChart}. */
export interface BarOptions {
  /** A dashed vertical line: an issue's bar. */
  readonly threshold?: { readonly value: number; readonly label: string };
  /** The legend line at the bottom. */
  readonly legend?: string;
}

const BLUE = "#3b7dd8";
const GREY = "#8a8f98";
const ORANGE = "#e8a33d";

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const DEFAULT_LEGEND = "Blue: Switchyard; orange: figure flagged by the harness's checks " +
  "(see results.md); whiskers: range of the runs.";

/** A horizontal bar chart with range whiskers; flagged bars are orange. */
export function barChart(title: string, rows: readonly Row[], o: BarOptions = {}): string {
  const labelW = 250;
  const plotW = 420;
  const noteW = 190;
  const barH = 22;
  const gap = 10;
  const top = 40;
  const width = labelW + plotW + noteW;
  const legendLines = o.threshold ? 2 : 1;
  const height = top + rows.length * (barH + gap) + 10 + legendLines * 15;
  const maxV = Math.max(
    ...rows.map((x) => Math.max(x.max, x.value ?? 0, x.marker ?? 0)),
    o.threshold ? o.threshold.value * 1.05 : 0,
    1e-9,
  );
  const x = (v: number) => labelW + Math.max(0, v) / maxV * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  rows.forEach((row, i) => {
    const y = top + i * (barH + gap);
    const ours = row.ours ?? row.label.startsWith("Switchyard");
    const color = row.flagged ? ORANGE : ours ? BLUE : GREY;
    parts.push(
      `<text x="${labelW - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(row.label)}</text>`,
    );
    if (row.value === null) {
      parts.push(
        `<text x="${labelW + 4}" y="${y + barH / 2 + 4}" fill="#a33">not measured</text>`,
      );
    } else {
      parts.push(
        `<rect x="${labelW}" y="${y}" width="${(x(row.value) - labelW).toFixed(1)}" ` +
          `height="${barH}" fill="${color}"/>`,
      );
    }
    if (row.value !== null && row.max > row.min) {
      const cy = y + barH / 2;
      parts.push(
        `<line x1="${x(row.min).toFixed(1)}" y1="${cy}" x2="${x(row.max).toFixed(1)}" ` +
          `y2="${cy}" stroke="black"/>`,
        `<line x1="${x(row.min).toFixed(1)}" y1="${cy - 5}" x2="${x(row.min).toFixed(1)}" ` +
          `y2="${cy + 5}" stroke="black"/>`,
        `<line x1="${x(row.max).toFixed(1)}" y1="${cy - 5}" x2="${x(row.max).toFixed(1)}" ` +
          `y2="${cy + 5}" stroke="black"/>`,
      );
    }
    if (row.value !== null && row.marker !== undefined) {
      const mx = x(row.marker).toFixed(1);
      parts.push(
        `<line x1="${mx}" y1="${y - 2}" x2="${mx}" y2="${y + barH + 2}" stroke="black" ` +
          `stroke-width="3"/>`,
      );
    }
    parts.push(
      `<text x="${labelW + plotW + 8}" y="${y + barH / 2 + 4}">${esc(row.note)}${
        row.flagged ? " ⚠" : ""
      }</text>`,
    );
  });
  const bottom = top + rows.length * (barH + gap);
  if (o.threshold) {
    const tx = x(o.threshold.value).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${bottom - gap + 4}" stroke="#c0392b" ` +
        `stroke-width="1.5" stroke-dasharray="5,3"/>`,
      `<text x="10" y="${bottom + 12}" font-size="11" fill="#c0392b">Dashed red line: ` +
        `${esc(o.threshold.label)}</text>`,
    );
  }
  parts.push(
    `<text x="10" y="${height - 8}" font-size="11" fill="#555">${
      esc(o.legend ?? DEFAULT_LEGEND)
    }</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}

/** One group of {@link groupedChart}. */
export interface Group {
  readonly label: string;
  /** One value per series (null: not measured). */
  readonly values: readonly (number | null)[];
  readonly flagged: boolean;
}

/**
 * Grouped horizontal bars: one group per target, one bar per series (e.g.
 * p50 / p99 / p99.9), on a linear or log10 scale.
 */
export function groupedChart(
  title: string,
  series: readonly string[],
  groups: readonly Group[],
  o: { readonly log?: boolean; readonly unit: string; readonly legend?: string },
): string {
  const labelW = 250;
  const plotW = 450;
  const noteW = 90;
  const barH = 12;
  const groupGap = 12;
  const top = 58;
  const width = labelW + plotW + noteW;
  const groupH = series.length * barH + groupGap;
  const height = top + groups.length * groupH + 28;
  const colors = ["#3b7dd8", "#7fb3f0", "#1b3f73", "#5aa469", "#c9a227"];
  const all = groups.flatMap((g) => g.values.filter((v): v is number => v !== null && v > 0));
  const maxV = Math.max(...all, 1e-9);
  const minV = o.log ? Math.max(1e-9, Math.min(...all) / 2) : 0;
  const scale = (v: number) =>
    o.log
      ? (Math.log10(Math.max(v, minV)) - Math.log10(minV)) / (Math.log10(maxV) - Math.log10(minV))
      : v / maxV;
  const x = (v: number) => labelW + Math.max(0, scale(v)) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  series.forEach((s, i) => {
    const lx = labelW + i * 110;
    parts.push(
      `<rect x="${lx}" y="32" width="12" height="12" fill="${colors[i % colors.length]}"/>`,
      `<text x="${lx + 16}" y="42">${esc(s)}</text>`,
    );
  });
  groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    parts.push(
      `<text x="${labelW - 8}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end"` +
        `${g.flagged ? ` fill="${ORANGE}"` : ""}>${esc(g.label)}${g.flagged ? " ⚠" : ""}</text>`,
    );
    g.values.forEach((v, si) => {
      const y = y0 + si * barH;
      if (v === null) return;
      parts.push(
        `<rect x="${labelW}" y="${y}" width="${(x(v) - labelW).toFixed(1)}" ` +
          `height="${barH - 2}" fill="${colors[si % colors.length]}"/>`,
        `<text x="${(x(v) + 4).toFixed(1)}" y="${y + barH - 3}" font-size="10">${
          esc(fmtShort(v))
        }</text>`,
      );
    });
  });
  parts.push(
    `<text x="10" y="${height - 8}" font-size="11" fill="#555">${
      esc(
        o.legend ??
          `${o.unit}${o.log ? ", log scale" : ""}; medians over the runs; ⚠: flagged (see ` +
            `results.md).`,
      )
    }</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}

function fmtShort(v: number): string {
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  return v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}
