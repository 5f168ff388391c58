/// <reference lib="dom" />
/**
 * The console's API client: every call carries the bearer token (writes are
 * never cookie-authenticated), answers are parsed, the `ETag` version kept.
 *
 * @module
 */

/** An API answer. */
export interface ApiAnswer {
  readonly status: number;
  // deno-lint-ignore no-explicit-any
  readonly json: any;
  /** The version in `ETag`, when sent. */
  readonly version: number | null;
}

/** A group as `GET /api/groups/:group` returns it. */
export interface GroupRecord {
  readonly group: string;
  readonly version: number;
  readonly modified_at: string;
  readonly config: unknown;
}

/** A history entry as the API returns it. */
export interface HistoryEntry {
  readonly id: string;
  readonly version: number;
  readonly action: string;
  readonly by: string;
  readonly at: string;
  readonly config: unknown;
}

/**
 * Calls the admin API with a token.
 *
 * @example
 * ```ts ignore
 * const api = new Api(token);
 * const r = await api.call("PUT", "/api/groups/g", config, { "if-match": '"3"' });
 * ```
 */
export class Api {
  constructor(readonly token: string) {}

  /** One call; network errors become status 0 with the message. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    let r: Response;
    try {
      r = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (e) {
      return {
        status: 0,
        json: { error: `network error: ${(e as Error).message}` },
        version: null,
      };
    }
    const text = await r.text();
    let json: unknown = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { error: text };
    }
    const etag = r.headers.get("etag");
    const version = etag && /^"?\d+"?$/.test(etag) ? Number(etag.replace(/"/g, "")) : null;
    return { status: r.status, json, version };
  }
}

/** The path of a group's API resource. */
export function groupPath(group: string, rest = ""): string {
  return `/api/groups/${encodeURIComponent(group)}${rest}`;
}

/** A one-line error message from an API answer. */
export function errorText(a: ApiAnswer): string {
  const j = a.json ?? {};
  if (typeof j.reason === "string") return j.reason;
  if (typeof j.error === "string") return j.error;
  return `HTTP ${a.status}`;
}
