/**
 * A listener's route config: an ordered list of named routes (first match
 * wins) and an optional default route, validated with zod.
 *
 * The blob will live under `/lb-routes/<listener>` in ZooKeeper and in config
 * files. Unknown keys are rejected, as in group configs, so a typo never
 * silently does nothing. Per-route policies (rewrite, headers, timeouts, retry,
 * sticky, rate_limit, mirror) are validated here even before the proxy applies
 * them, so configs written now stay valid.
 *
 * @module
 */
import { z } from "zod";
import { GROUP_NAME, toIssues } from "../config/schema.ts";
import { parseTemplate, type TemplateSegment } from "./template.ts";

/** Route names are metric label values and appear in logs: DNS-label-like. */
export const ROUTE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const MAX_ROUTES = 10_000;
const MAX_SPLIT_WEIGHT = 10_000;
const MAX_BODY = 64 * 1024;

/** An HTTP token (RFC 9110): methods and header names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value we are willing to send: visible ASCII, spaces and tabs, no CR/LF. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
/** One DNS label of a route host: letters, digits, hyphens. */
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A Host value to rewrite to or redirect to: a name or IPv4 and an optional port. */
const HOST_PORT = /^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$/;
/** Variables a header value may use, as `${name}`. */
export const HEADER_VARIABLES = ["client_ip", "request_id"] as const;

const got = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * Normalizes a route's host: lowercase, port stripped. `*.example.com` is a
 * wildcard matching any host that ends in `.example.com` (not `example.com`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeRouteHost } from "./schema.ts";
 * assert.equal(normalizeRouteHost("Shop.Example.com:443"), "shop.example.com");
 * assert.equal(normalizeRouteHost("*.example.com"), "*.example.com");
 * assert.equal(typeof normalizeRouteHost("a..b"), "object"); // { error }
 * ```
 */
export function normalizeRouteHost(text: string): string | { error: string } {
  let host = text.toLowerCase();
  const colon = host.lastIndexOf(":");
  if (colon >= 0) {
    if (!/^[0-9]{1,5}$/.test(host.slice(colon + 1))) {
      return { error: `must be a host name with an optional port (got ${got(text)})` };
    }
    host = host.slice(0, colon);
  }
  if (host === "") return { error: `must not be empty (got ${got(text)})` };
  let labels = host.split(".");
  if (labels[0] === "*") labels = labels.slice(1);
  if (labels.length === 0 || host.length > 253 || !labels.every((l) => HOST_LABEL.test(l))) {
    return {
      error: `must be a host name (labels of a-z, 0-9, -) or "*." and one (got ${got(text)})`,
    };
  }
  return host;
}

const host = z.string({ error: "must be a string" }).transform((v, ctx) => {
  const r = normalizeRouteHost(v);
  if (typeof r === "string") return r;
  ctx.addIssue({ code: "custom", message: r.error });
  return z.NEVER;
});

const absolutePath = z.string({ error: "must be a string" }).regex(
  /^\/[\x21-\x7e]*$/,
  'must be an absolute path starting with "/" without spaces or control characters',
);

const groupName = z.string({ error: "must be a string" }).regex(
  GROUP_NAME,
  "must be a group name (1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
);

const integer = (min: number, max: number) =>
  z.number({ error: "must be an integer" }).int("must be an integer").min(
    min,
    `must be at least ${min}`,
  ).max(max, `must be at most ${max}`);

const seconds = (min: number, max: number) =>
  z.number({ error: "must be a number of seconds" }).min(min, `must be at least ${min}`).max(
    max,
    `must be at most ${max}`,
  );

const headerName = z.string({ error: "must be a string" }).regex(
  TOKEN,
  "must be a header name (letters, digits and !#$%&'*+-.^_`|~)",
).transform((v) => v.toLowerCase());

/** Requires exactly one of `keys` to be present on an object. */
function exactlyOne(keys: readonly string[], what: string) {
  return (v: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const present = keys.filter((k) => v[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `must have exactly one ${what}: ${keys.join(", ")} (got ${
          present.length === 0 ? "none" : present.join(", ")
        })`,
      });
    }
  };
}

/** `{exact}`, `{prefix}` (on segment boundaries) or `{template}`. */
const pathMatch = z.strictObject({
  exact: absolutePath.optional(),
  /** Trailing `/` dropped: `/api/` and `/api` both match `/api`, `/api/`, `/api/x`, not `/apix`. */
  prefix: absolutePath.transform((p) =>
    p.length > 1 && p.endsWith("/") ? p.replace(/\/+$/, "") || "/" : p
  )
    .optional(),
  template: z.string({ error: "must be a string" }).transform((v, ctx) => {
    const r = parseTemplate(v);
    if (typeof r !== "string") return { text: v, segments: r };
    ctx.addIssue({ code: "custom", message: `${r} (got ${got(v)})` });
    return z.NEVER;
  }).optional(),
}, { error: "must be an object" }).superRefine(exactlyOne(["exact", "prefix", "template"], "of"));

/** A header or query parameter condition: present, exact value, or one of a list. */
const valueMatch = (name: z.ZodType<string>) =>
  z.strictObject({
    name,
    present: z.literal(true, { error: "must be true" }).optional(),
    exact: z.string({ error: "must be a string" }).optional(),
    one_of: z.array(z.string({ error: "must be a string" }), { error: "must be a list" }).min(
      1,
      "must not be empty",
    ).optional(),
  }, { error: "must be an object" }).superRefine(
    exactlyOne(["present", "exact", "one_of"], "condition"),
  );

const matchSchema = z.strictObject({
  host: host.optional(),
  scheme: z.enum(["http", "https"], { error: "must be http or https" }).optional(),
  path: pathMatch.optional(),
  methods: z.array(
    z.string({ error: "must be a string" }).regex(TOKEN, "must be a method name (a token)"),
    { error: "must be a list of methods" },
  ).min(1, "must not be empty").optional(),
  headers: z.array(valueMatch(headerName), { error: "must be a list" }).optional(),
  query: z.array(
    valueMatch(z.string({ error: "must be a string" }).min(1, "must not be empty")),
    { error: "must be a list" },
  ).optional(),
}, { error: "must be an object" });

const redirectSchema = z.strictObject({
  status: z.union([
    z.literal(301),
    z.literal(302),
    z.literal(303),
    z.literal(307),
    z.literal(308),
  ], { error: "must be one of 301, 302, 303, 307, 308" }),
  scheme: z.enum(["http", "https"], { error: "must be http or https" }).optional(),
  host: z.string({ error: "must be a string" }).regex(HOST_PORT, "must be a host or host:port")
    .optional(),
  path: absolutePath.optional(),
  keep_query: z.boolean({ error: "must be true or false" }).default(true),
}, { error: "must be an object" });

const headerMap = z.record(
  headerName,
  z.string({ error: "must be a string" }).regex(
    FIELD_VALUE,
    "must be visible ASCII without CR or LF",
  ),
  { error: "must be an object of header names to values" },
);

const directResponseSchema = z.strictObject({
  status: integer(200, 599),
  body: z.string({ error: "must be a string" }).max(
    MAX_BODY,
    `must be at most ${MAX_BODY} characters`,
  )
    .optional(),
  headers: headerMap.optional(),
}, { error: "must be an object" });

const splitSchema = z.array(
  z.strictObject({ group: groupName, weight: integer(0, MAX_SPLIT_WEIGHT) }, {
    error: "must be an object",
  }),
  { error: 'must be a list of {"group", "weight"}' },
).min(1, "must not be empty").superRefine((list, ctx) => {
  const seen = new Set<string>();
  let sum = 0;
  list.forEach((s, i) => {
    if (seen.has(s.group)) {
      ctx.addIssue({
        code: "custom",
        path: [i, "group"],
        message: `duplicate group ${got(s.group)}`,
      });
    }
    seen.add(s.group);
    sum += s.weight;
  });
  if (list.length > 0 && sum === 0) {
    ctx.addIssue({ code: "custom", message: "weights must sum to more than 0 (got 0)" });
  }
});

/** A header value with `${variable}` placeholders; each must be a known variable. */
const templatedValue = z.string({ error: "must be a string" }).regex(
  FIELD_VALUE,
  "must be visible ASCII without CR or LF",
).superRefine((v, ctx) => {
  for (const m of v.matchAll(/\$\{([^}]*)\}?/g)) {
    if (!m[0].endsWith("}") || !(HEADER_VARIABLES as readonly string[]).includes(m[1]!)) {
      ctx.addIssue({
        code: "custom",
        message: `unknown variable ${got(m[0])} (known: ${
          HEADER_VARIABLES.map((n) => `\${${n}}`).join(", ")
        })`,
      });
    }
  }
});

const headerOps = z.strictObject({
  set: z.record(headerName, templatedValue, { error: "must be an object" }).optional(),
  add: z.record(headerName, templatedValue, { error: "must be an object" }).optional(),
  remove: z.array(headerName, { error: "must be a list of header names" }).optional(),
}, { error: "must be an object" });

const rewriteSchema = z.strictObject({
  /** Drop this prefix (on a segment boundary) before forwarding. */
  strip_prefix: absolutePath.optional(),
  /** Replace `from` (on a segment boundary) by `to`. */
  replace_prefix: z.strictObject({ from: absolutePath, to: absolutePath }, {
    error: 'must be {"from": "/old", "to": "/new"}',
  }).optional(),
  host: z.string({ error: "must be a string" }).regex(HOST_PORT, "must be a host or host:port")
    .optional(),
}, { error: "must be an object" }).superRefine((v, ctx) => {
  if (v.strip_prefix !== undefined && v.replace_prefix !== undefined) {
    ctx.addIssue({
      code: "custom",
      message: "must have strip_prefix or replace_prefix, not both (got both)",
    });
  }
});

const routeTimeouts = z.strictObject({
  connect_seconds: seconds(0.01, 600).optional(),
  response_seconds: seconds(0.01, 86_400).optional(),
}, { error: "must be an object" });

const routeRetry = z.strictObject({
  max_retries: integer(0, 10).optional(),
  budget_ratio: z.number({ error: "must be a number" }).min(0, "must be at least 0").max(
    10,
    "must be at most 10",
  ).optional(),
}, { error: "must be an object" });

const stickySchema = z.strictObject({
  cookie: z.string({ error: "must be a string" }).regex(TOKEN, "must be a cookie name (a token)"),
  /** Cookie lifetime; 0 = a session cookie. */
  ttl_seconds: integer(0, 365 * 86_400).default(0),
}, { error: "must be an object" });

const rateLimitSchema = z.strictObject({
  /** Tokens added per second. */
  rate: z.number({ error: "must be a number" }).gt(0, "must be more than 0").max(
    1_000_000,
    "must be at most 1000000",
  ),
  burst: integer(1, 1_000_000),
  key: z.enum(["client_ip", "header"], { error: "must be client_ip or header" }).default(
    "client_ip",
  ),
  /** The header whose value keys the bucket; required when key is header. */
  header: headerName.optional(),
  /** Buckets kept at most (least recently used evicted): bounded memory. */
  max_keys: integer(1, 10_000_000).default(100_000),
}, { error: "must be an object" }).superRefine((v, ctx) => {
  if (v.key === "header" && v.header === undefined) {
    ctx.addIssue({ code: "custom", path: ["header"], message: "is required when key is header" });
  }
});

const mirrorSchema = z.strictObject({
  group: groupName,
  percent: z.number({ error: "must be a number" }).min(0, "must be at least 0").max(
    100,
    "must be at most 100",
  ),
}, { error: "must be an object" });

const ACTIONS = ["forward", "split", "redirect", "direct_response"] as const;

const routeSchema = z.strictObject({
  name: z.string({ error: "must be a string" }).regex(
    ROUTE_NAME,
    "must be 1-63 of a-z 0-9 - starting and ending with a letter or digit",
  ),
  match: matchSchema.prefault({}),
  forward: z.strictObject({ group: groupName }, { error: 'must be {"group": "name"}' }).optional(),
  split: splitSchema.optional(),
  redirect: redirectSchema.optional(),
  direct_response: directResponseSchema.optional(),
  rewrite: rewriteSchema.optional(),
  request_headers: headerOps.optional(),
  response_headers: headerOps.optional(),
  timeouts: routeTimeouts.optional(),
  retry: routeRetry.optional(),
  sticky: stickySchema.optional(),
  rate_limit: rateLimitSchema.optional(),
  mirror: mirrorSchema.optional(),
}, { error: "must be an object" }).superRefine(exactlyOne(ACTIONS, "action"));

/**
 * The zod schema of a listener's route config. Prefer
 * {@linkcode validateListenerConfig}, which also checks group names and
 * reports issues by field.
 */
export const listenerConfigSchema = z.strictObject({
  routes: z.array(routeSchema, { error: "must be a list of routes" }).max(
    MAX_ROUTES,
    `must have at most ${MAX_ROUTES} routes`,
  ),
  default_route: z.string({ error: "must be a string" }).optional(),
}).superRefine((v, ctx) => {
  for (const issue of crossRouteIssues(v)) ctx.addIssue({ code: "custom", ...issue });
});

/**
 * The checks across routes: unique names, and a default_route that names one.
 * Run on the raw blob too, so they are reported even when zod stopped early
 * on another issue (a bad host or template aborts the schema's refinement).
 */
function crossRouteIssues(input: unknown): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  if (typeof input !== "object" || input === null) return out;
  const { routes, default_route } = input as { routes?: unknown; default_route?: unknown };
  if (!Array.isArray(routes)) return out;
  const seen = new Map<string, number>();
  routes.forEach((r: unknown, i) => {
    const name = typeof r === "object" && r !== null ? (r as { name?: unknown }).name : undefined;
    if (typeof name !== "string") return;
    const first = seen.get(name);
    if (first !== undefined) {
      out.push({
        path: ["routes", i, "name"],
        message: `duplicate route name ${got(name)} (also at index ${first})`,
      });
    } else seen.set(name, i);
  });
  if (typeof default_route === "string" && !seen.has(default_route)) {
    out.push({ path: ["default_route"], message: `must name a route (got ${got(default_route)})` });
  }
  return out;
}

/** A validated route's path condition (`template` parsed). */
export type PathMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly template: { readonly text: string; readonly segments: readonly TemplateSegment[] } };

/** A header or query parameter condition. */
export type ValueMatch =
  & { readonly name: string }
  & (
    | { readonly present: true }
    | { readonly exact: string }
    | { readonly one_of: readonly string[] }
  );

/** A validated route, normalized (hosts lowercased, header names lowercased). */
export type Route = Omit<z.output<typeof routeSchema>, "match"> & {
  readonly match: {
    readonly host?: string;
    /** The scheme the client used: `https` on a TLS listener, else `http`. */
    readonly scheme?: "http" | "https";
    readonly path?: PathMatch;
    readonly methods?: readonly string[];
    readonly headers?: readonly ValueMatch[];
    readonly query?: readonly ValueMatch[];
  };
};

/** A listener config as written. */
export type ListenerConfigInput = z.input<typeof listenerConfigSchema>;

/** A validated listener config. */
export interface ListenerConfig {
  readonly routes: readonly Route[];
  readonly default_route?: string;
}

/** One reason a listener config was rejected: which listener, which field, why. */
export interface RouteIssue {
  readonly listener: string;
  /** Dotted path such as `routes[1].split`; empty for the whole blob. */
  readonly field: string;
  readonly reason: string;
}

/** The normalized value, or every issue found. */
export type RoutesValidated =
  | { readonly ok: true; readonly value: ListenerConfig }
  | { readonly ok: false; readonly issues: readonly RouteIssue[] };

/** Adds the cross-route issues that zod did not get to report. */
function withCrossIssues(listener: string, issues: RouteIssue[], input: unknown): RouteIssue[] {
  const reported = new Set(issues.map((i) => `${i.field}\n${i.reason}`));
  for (const issue of crossRouteIssues(input)) {
    const field = issue.path.map((p, i) => typeof p === "number" ? `[${p}]` : i ? `.${p}` : p)
      .join("");
    if (!reported.has(`${field}\n${issue.message}`)) {
      issues.push({ listener, field, reason: issue.message });
    }
  }
  return issues;
}

/**
 * Every group a route sends traffic to (forward, split, mirror), with its
 * field (`routes[i].split[0].group`), in that order; a group may repeat.
 */
export function groupRefs(route: Route, i: number): [group: string, field: string][] {
  const refs: [string, string][] = [];
  if (route.forward) refs.push([route.forward.group, `routes[${i}].forward.group`]);
  route.split?.forEach((s, j) => refs.push([s.group, `routes[${i}].split[${j}].group`]));
  if (route.mirror) refs.push([route.mirror.group, `routes[${i}].mirror.group`]);
  return refs;
}

/**
 * Validates a listener's route config. With `knownGroups`, every group a route
 * names (forward, split, mirror) must be one of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateListenerConfig } from "./schema.ts";
 * const blob = {
 *   routes: [
 *     { name: "api", match: { host: "API.example.com", path: { prefix: "/v1" } }, forward: { group: "api" } },
 *     { name: "web", split: [{ group: "web-v1", weight: 95 }, { group: "web-v2", weight: 5 }] },
 *   ],
 * };
 * const r = validateListenerConfig("public", blob, new Set(["api", "web-v1", "web-v2"]));
 * assert.ok(r.ok);
 * assert.equal(r.value.routes[0]!.match.host, "api.example.com");
 * const bad = validateListenerConfig("public", blob, new Set(["api"]));
 * assert.ok(!bad.ok);
 * assert.equal(bad.issues[0]!.field, "routes[1].split[0].group");
 * ```
 */
export function validateListenerConfig(
  listener: string,
  input: unknown,
  knownGroups?: ReadonlySet<string>,
): RoutesValidated {
  if (!GROUP_NAME.test(listener)) {
    return {
      ok: false,
      issues: [{
        listener,
        field: "",
        reason: "listener name must be 1-128 of A-Z a-z 0-9 . _ - and start with a letter or digit",
      }],
    };
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ listener, field: "", reason: "config must be a JSON object" }] };
  }
  const parsed = listenerConfigSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      issues: withCrossIssues(
        listener,
        toIssues(listener, parsed.error, input).map((i) => ({
          listener,
          field: i.field,
          reason: i.reason,
        })),
        input,
      ),
    };
  }
  const value = parsed.data as unknown as ListenerConfig;
  if (knownGroups) {
    const issues: RouteIssue[] = [];
    value.routes.forEach((route, i) => {
      for (const [group, field] of groupRefs(route, i)) {
        if (!knownGroups.has(group)) {
          issues.push({
            listener,
            field,
            reason: `route ${got(route.name)} names unknown group ${got(group)}`,
          });
        }
      }
    });
    if (issues.length > 0) return { ok: false, issues };
  }
  return { ok: true, value };
}
