/**
 * A small client of Prometheus's HTTP API (`/api/v1/query`, `/api/v1/targets`, `/-/ready`),
 * on the web-standard `fetch`: what the autoscaler reads its samples through, and what the tests
 * check a running Prometheus with.
 *
 * @module
 */

/** One element of an instant vector. */
export interface VectorElement {
  readonly metric: Readonly<Record<string, string>>;
  /** Evaluation time (ms). */
  readonly at: number;
  readonly value: number;
}

/** One of Prometheus's active targets. */
export interface ActiveTarget {
  readonly labels: Readonly<Record<string, string>>;
  readonly discoveredLabels: Readonly<Record<string, string>>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly health: "up" | "down" | "unknown";
  readonly lastError: string;
  readonly lastScrape: string;
}

/** Raised for an error answer (`status: "error"`) or an unexpected result. */
export class PrometheusError extends Error {
  override name = "PrometheusError";
}

/** Options of {@link PrometheusClient}. */
export interface PrometheusClientOptions {
  /** Per-request deadline (ms, default 5000). */
  readonly timeoutMs?: number;
  /** The fetch to use (tests). */
  readonly fetch?: typeof fetch;
}

function parseValue(v: unknown): number {
  if (typeof v !== "string") throw new PrometheusError(`bad sample value ${JSON.stringify(v)}`);
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  return Number(v);
}

/**
 * Prometheus's HTTP API.
 *
 * @example
 * ```ts ignore
 * const prom = new PrometheusClient("http://127.0.0.1:9095");
 * const up = await prom.query('up{role="proxy"}');
 * console.log(up.map((e) => `${e.metric.instance} ${e.value}`));
 * ```
 */
export class PrometheusClient {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(baseUrl: string, options: PrometheusClientOptions = {}) {
    this.#base = baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The server's base URL. */
  get url(): string {
    return this.#base;
  }

  async #get(path: string): Promise<unknown> {
    const r = await this.#fetch(`${this.#base}${path}`, {
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await r.text();
    let body: { status?: string; data?: unknown; error?: string; errorType?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new PrometheusError(`${path}: HTTP ${r.status}: ${text.slice(0, 200)}`);
    }
    if (body.status !== "success") {
      throw new PrometheusError(`${path}: ${body.errorType ?? r.status}: ${body.error ?? text}`);
    }
    return body.data;
  }

  /**
   * Evaluates an instant query (at `timeMs`, default now).
   *
   * @returns the vector (a scalar comes back as one element without labels)
   * @throws PrometheusError on an error answer or a matrix/string result
   */
  async query(expr: string, timeMs?: number): Promise<VectorElement[]> {
    const params = new URLSearchParams({ query: expr });
    if (timeMs !== undefined) params.set("time", String(timeMs / 1000));
    const data = await this.#get(`/api/v1/query?${params}`) as {
      resultType?: string;
      result?: unknown;
    };
    if (data.resultType === "scalar") {
      const [t, v] = data.result as [number, string];
      return [{ metric: {}, at: t * 1000, value: parseValue(v) }];
    }
    if (data.resultType !== "vector" || !Array.isArray(data.result)) {
      throw new PrometheusError(`query ${expr}: result type ${data.resultType}, not a vector`);
    }
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map(
      (e) => ({ metric: e.metric, at: e.value[0] * 1000, value: parseValue(e.value[1]) }),
    );
  }

  /** The active targets. */
  async targets(): Promise<ActiveTarget[]> {
    const data = await this.#get("/api/v1/targets?state=active") as {
      activeTargets?: ActiveTarget[];
    };
    return data.activeTargets ?? [];
  }

  /** The loaded rule groups (recording and alerting). */
  async rules(): Promise<
    { name: string; file: string; rules: { name: string; type: string; health: string }[] }[]
  > {
    const data = await this.#get("/api/v1/rules") as { groups?: [] };
    return data.groups ?? [];
  }

  /** True when `/-/ready` answers 200. */
  async ready(): Promise<boolean> {
    try {
      const r = await this.#fetch(`${this.#base}/-/ready`, {
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await r.body?.cancel();
      return r.ok;
    } catch {
      return false;
    }
  }
}

/** A PromQL string literal (double-quoted, escaped). */
export function promString(s: string): string {
  return JSON.stringify(s);
}

/** A regex matching exactly one of `values` (for `label=~"..."`), RE2-escaped. */
export function exactAlternatives(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
}
