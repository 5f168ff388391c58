/**
 * The game day's timelines as SVG: one value per second (client success rate, p99 latency) as a
 * line, every fault as a vertical mark at its injection second with a short label (its number in
 * the report's tables: long names would overlap). Pure string building,
 * no dependency, so the report renders on GitHub as is.
 *
 * @module
 */

/** A fault mark: its injection time in seconds since the run's start. */
export interface Mark {
  readonly second: number;
  readonly label: string;
}

/** Options of {@link timelineSvg}. */
export interface TimelineOptions {
  readonly title: string;
  /** Unit shown on the y axis, e.g. `%` or `ms`. */
  readonly unit: string;
  /** Top of the y axis; default the largest value (at least 1). */
  readonly yMax?: number;
  readonly width?: number;
  readonly height?: number;
}

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** An SVG line chart of `values` (one per second) with `marks`. */
export function timelineSvg(
  values: readonly number[],
  marks: readonly Mark[],
  o: TimelineOptions,
): string {
  const width = o.width ?? 960;
  const height = o.height ?? 240;
  const left = 56, right = 12, top = 28, bottom = 28;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const n = Math.max(values.length, 2);
  const yMax = o.yMax ?? Math.max(1, ...values);
  const x = (second: number) => left + (second / (n - 1)) * plotW;
  const y = (v: number) => top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const fmt = (v: number) => (Math.round(v * 10) / 10).toString();
  const points = values.map((v, i) => `${fmt(x(i))},${fmt(y(v))}`).join(" ");
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="16" font-size="13">${escapeXml(o.title)}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${
      top + plotH
    }" stroke="#888"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#888"/>`,
    `<text x="${left - 4}" y="${top + 4}" text-anchor="end">${fmt(yMax)} ${
      escapeXml(o.unit)
    }</text>`,
    `<text x="${left - 4}" y="${top + plotH}" text-anchor="end">0</text>`,
    `<text x="${left + plotW}" y="${height - 8}" text-anchor="end">${values.length} s</text>`,
  ];
  for (const m of marks) {
    const mx = fmt(x(m.second));
    out.push(
      `<line class="fault" x1="${mx}" y1="${top}" x2="${mx}" y2="${top + plotH}" ` +
        `stroke="#d33" stroke-dasharray="4 3"/>`,
      `<text x="${mx}" y="${top - 4}" fill="#d33" text-anchor="middle">${
        escapeXml(m.label)
      }</text>`,
    );
  }
  out.push(`<polyline fill="none" stroke="#2a6" stroke-width="1.5" points="${points}"/>`, `</svg>`);
  return out.join("\n") + "\n";
}
