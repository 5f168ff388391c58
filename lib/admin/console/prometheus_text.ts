/**
 * A small parser of the Prometheus text exposition format (what every role's
 * `/metrics` serves): sample lines only, `# HELP`/`# TYPE` and blank lines
 * skipped. Pure.
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

function parseValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  return Number(text);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // '{'
  while (i < line.length) {
    while (line[i] === " " || line[i] === ",") i++;
    if (line[i] === "}") return { labels, end: i + 1 };
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i));
    if (!m) throw new Error("bad label name");
    const key = m[0];
    i += key.length;
    while (line[i] === " ") i++;
    if (line[i] !== "=") throw new Error("expected =");
    i++;
    while (line[i] === " ") i++;
    if (line[i] !== '"') throw new Error("expected a quoted label value");
    i++;
    let value = "";
    for (; i < line.length && line[i] !== '"'; i++) {
      if (line[i] === "\\" && i + 1 < line.length) {
        const next = line[++i];
        value += next === "n" ? "\n" : next;
      } else value += line[i];
    }
    if (line[i] !== '"') throw new Error("unterminated label value");
    i++;
    labels[key] = value;
  }
  throw new Error("unterminated label set");
}

/**
 * Parses exposition text; malformed lines are skipped (one bad line must not
 * hide a whole proxy).
 *
 * @example
 * ```ts
 * import { parsePrometheusText } from "./prometheus_text.ts";
 * parsePrometheusText('# TYPE x counter\nx_total{code="200"} 3\n');
 * // [{ name: "x_total", labels: { code: "200" }, value: 3 }]
 * ```
 */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = NAME.exec(line);
    if (!m) continue;
    const name = m[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    try {
      if (line[i] === "{") {
        const r = parseLabels(line, i);
        labels = r.labels;
        i = r.end;
      }
    } catch {
      continue;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest[0] === undefined || rest[0] === "") continue;
    const value = parseValue(rest[0]);
    if (Number.isNaN(value) && rest[0] !== "NaN") continue;
    out.push({ name, labels, value });
  }
  return out;
}
