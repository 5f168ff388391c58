/**
 * What the admin API's route modules share about a request: the client error they throw (its
 * status and JSON body), reading and checking the body, the version a write is conditioned on,
 * the name in the path, and the note an audited write fills in. The app's error handler
 * (api.ts) turns an {@linkcode ApiError} into its answer.
 *
 * @module
 */
import type { Context } from "hono";
import type { z } from "zod";
import { GROUP_NAME } from "../config/schema.ts";

/**
 * The API app's context: `who` the caller is; `noun` what the route is about (`group` unless a
 * listener or certificate route says).
 */
export type Env = { Variables: { who: string; noun: string } };

/** Runs a write request, counting it and logging who did what (api.ts's `audited`). */
export type Audited = (
  c: Context<Env>,
  action: string,
  run: (note: WriteNote) => Promise<Response>,
  noun?: string,
) => Promise<Response>;

/** A client error with its status and JSON body. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(String(body.error));
  }
}

/** The body as JSON: 400 when it is not (the parser's message is not repeated: it may quote it). */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new ApiError(400, { error: "the request body must be JSON" });
  }
}

/** The body checked with a zod schema: 422 with each field and reason. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new ApiError(422, {
      error: "invalid request",
      issues: r.error.issues.map((i) => ({ field: i.path.join("."), reason: i.message })),
    });
  }
  return r.data;
}

/** The version a write is conditioned on: `If-Match: "<n>"` or `?version=<n>`; undefined if none. */
export function expectedVersion(c: Context): number | undefined {
  const header = c.req.header("if-match");
  const query = c.req.query("version");
  const raw = header !== undefined ? header.replace(/^W\//, "").replace(/"/g, "").trim() : query;
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) throw new ApiError(400, { error: `invalid version "${raw}"` });
  return Number(raw);
}

/** The version a write needs: 428 without one. */
export function requireVersion(c: Context): number {
  const v = expectedVersion(c);
  if (v === undefined) {
    throw new ApiError(428, {
      error: 'this write needs the version you read: send If-Match: "<version>" or ?version=',
    });
  }
  return v;
}

/**
 * The `:group` (or `:listener`, `:certificate`) path parameter: 400 when it is not a valid name
 * (every named thing follows the group name rules).
 */
export function nameParam(c: Context, noun: string): string {
  const name = c.req.param(noun) ?? "";
  if (!GROUP_NAME.test(name)) throw new ApiError(400, { error: `invalid ${noun} name "${name}"` });
  return name;
}

/** What an audited write is about; handlers refine it as they learn more. */
export interface WriteNote {
  action: string;
  /** The group's (or listener's, certificate's) name. */
  group: string;
  /** `group`, `listener` or `certificate`: the log field naming it (and a body's key). */
  noun: string;
  version?: number;
  /** More fields for the audit log line (never secret: they are logged as they are). */
  details?: Record<string, unknown>;
}
