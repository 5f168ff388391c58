/**
 * The group editor's model, apart from the DOM: form values from a stored
 * config, the config a form produces (keys the form does not show are kept
 * as they are), and where each schema issue belongs in the form. Pure.
 *
 * @module
 */
import { ALGORITHMS } from "../../../config/schema.ts";

/** One setting the editor shows. */
export interface SettingSpec {
  /** Config key; `hash_key.source` style for nested ones. */
  readonly key: string;
  readonly label: string;
  readonly kind: "select" | "text";
  readonly options?: readonly string[];
  /** Parse the text as a number (an unparsable text is sent as is, so the schema names it). */
  readonly number?: boolean;
  /** What an empty field means. */
  readonly hint: string;
}

/** The settings the editor shows; every other key of the config is kept untouched. */
export const SETTINGS: readonly SettingSpec[] = [
  {
    key: "algorithm",
    label: "Algorithm",
    kind: "select",
    options: ALGORITHMS,
    hint: "ROUND_ROBIN",
  },
  {
    key: "health_check_type",
    label: "Health check type",
    kind: "select",
    options: ["http", "tcp"],
    hint: "http",
  },
  { key: "health_endpoint", label: "Health endpoint", kind: "text", hint: "/health" },
  {
    key: "health_endpoint_expected_code",
    label: "Expected status",
    kind: "text",
    number: true,
    hint: "200",
  },
  {
    key: "health_check_frequency_seconds",
    label: "Check every (s)",
    kind: "text",
    number: true,
    hint: "10",
  },
  {
    key: "health_check_timeout_seconds",
    label: "Check timeout (s)",
    kind: "text",
    number: true,
    hint: "2",
  },
  { key: "healthy_threshold", label: "Healthy after", kind: "text", number: true, hint: "2" },
  { key: "unhealthy_threshold", label: "Unhealthy after", kind: "text", number: true, hint: "3" },
  {
    key: "hash_key.source",
    label: "Hash key source",
    kind: "select",
    options: ["client_ip", "header", "cookie", "query"],
    hint: "client_ip",
  },
  { key: "hash_key.name", label: "Hash key name", kind: "text", hint: "(header, cookie or query)" },
];

/** One row of the backends table. */
export interface BackendRow {
  /** Stable key of the row in the form (not an index). */
  readonly key: number;
  address: string;
  weight: string;
  drain: boolean;
  /** Marked for removal (shown struck through until saved). */
  removed: boolean;
  /** The entry as stored (string or object), undefined for a new row. */
  readonly original: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A config as an object (an invalid stored value edits as `{}`). */
export function asObject(config: unknown): Record<string, unknown> {
  return isObject(config) ? structuredClone(config) : {};
}

/** Rows of a stored config's backends. */
export function rowsFromConfig(config: unknown, nextKey: () => number): BackendRow[] {
  const list = isObject(config) && Array.isArray(config.backend_servers)
    ? config.backend_servers
    : [];
  return list.map((b): BackendRow => {
    if (isObject(b)) {
      return {
        key: nextKey(),
        address: typeof b.address === "string" ? b.address : "",
        weight: b.weight === undefined ? "" : String(b.weight),
        drain: b.drain === true,
        removed: false,
        original: b,
      };
    }
    return {
      key: nextKey(),
      address: typeof b === "string" ? b : JSON.stringify(b),
      weight: "",
      drain: false,
      removed: false,
      original: b,
    };
  });
}

function getPath(config: Record<string, unknown>, key: string): unknown {
  let cur: unknown = config;
  for (const part of key.split(".")) cur = isObject(cur) ? cur[part] : undefined;
  return cur;
}

/** Form values of the settings (empty: not set, the default applies). */
export function settingsFromConfig(config: unknown): Record<string, string> {
  const obj = asObject(config);
  const out: Record<string, string> = {};
  for (const spec of SETTINGS) {
    const v = getPath(obj, spec.key);
    out[spec.key] = v === undefined || v === null
      ? ""
      : typeof v === "string"
      ? v
      : JSON.stringify(v);
  }
  return out;
}

/**
 * A number when the text is one, undefined when empty, else the text itself
 * (so the schema reports "must be a number" next to the field).
 *
 * @example
 * ```ts
 * import { parseNumberish } from "./form_model.ts";
 * [parseNumberish(" 3 "), parseNumberish(""), parseNumberish("abc")]; // [3, undefined, "abc"]
 * ```
 */
export function parseNumberish(text: string): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  return t;
}

function backendValue(row: BackendRow): unknown {
  const address = row.address.trim();
  const weight = parseNumberish(row.weight);
  const original = row.original;
  const extra = isObject(original)
    ? Object.keys(original).filter((k) => k !== "address" && k !== "weight" && k !== "drain")
    : [];
  const plain = !row.drain && extra.length === 0 &&
    (weight === undefined || (weight === 1 && !isObject(original)));
  if (plain && (original === undefined || typeof original === "string")) return address;
  const out: Record<string, unknown> = isObject(original) ? { ...original } : {};
  out.address = address;
  if (weight === undefined) delete out.weight;
  else out.weight = weight;
  if (row.drain) out.drain = true;
  else delete out.drain;
  return out;
}

/**
 * The config the form describes: `base` with the shown settings and the
 * backend rows applied.
 *
 * @returns the config and, for each `backend_servers` index, the row key it came from
 */
export function buildConfig(
  base: unknown,
  settings: Readonly<Record<string, string>>,
  rows: readonly BackendRow[],
): { config: Record<string, unknown>; rowKeys: number[] } {
  const config = asObject(base);
  const hashKey: Record<string, unknown> = isObject(config.hash_key) ? { ...config.hash_key } : {};
  let hashTouched = false;
  for (const spec of SETTINGS) {
    const text = settings[spec.key] ?? "";
    const value = spec.number ? parseNumberish(text) : text.trim() === "" ? undefined : text.trim();
    if (spec.key.startsWith("hash_key.")) {
      const k = spec.key.slice("hash_key.".length);
      if (value === undefined) delete hashKey[k];
      else hashKey[k] = value;
      hashTouched = true;
    } else if (value === undefined) delete config[spec.key];
    else config[spec.key] = value;
  }
  if (hashTouched) {
    if (Object.keys(hashKey).length === 0) delete config.hash_key;
    else config.hash_key = hashKey;
  }
  const kept = rows.filter((r) => !r.removed);
  config.backend_servers = kept.map(backendValue);
  return { config, rowKeys: kept.map((r) => r.key) };
}

/** The form slot of a backend field: `backend:<row key>:<address|weight|drain>`. */
export function backendSlot(rowKey: number, part: "address" | "weight" | "drain"): string {
  return `backend:${rowKey}:${part}`;
}

/**
 * Where an issue's field is shown: a setting key, a backend slot,
 * `backend_servers` for the table as a whole, or "" for the general list.
 *
 * @example
 * ```ts
 * import { issueSlot } from "./form_model.ts";
 * issueSlot("backend_servers[1].weight", [7, 9]); // "backend:9:weight"
 * ```
 */
export function issueSlot(field: string, rowKeys: readonly number[]): string {
  const m = /^backend_servers\[(\d+)\](?:\.([A-Za-z_]+))?/.exec(field);
  if (m) {
    const key = rowKeys[Number(m[1])];
    if (key === undefined) return "backend_servers";
    const part = m[2] === "weight" ? "weight" : m[2] === "drain" ? "drain" : "address";
    return backendSlot(key, part);
  }
  if (field === "backend_servers") return "backend_servers";
  if (field === "hash_key") return "hash_key.source";
  if (SETTINGS.some((s) => s.key === field)) return field;
  return "";
}
