/**
 * The group config: the seed's JSON blob, validated with zod.
 *
 * The same blob lives in a config file (embedded mode) and under
 * `/lb-configs/<group>` in ZooKeeper. Only the seed's keys are needed; every
 * other key is optional with a documented default (see README, "Config
 * reference"). Unknown keys are rejected so a typo never silently does nothing.
 *
 * @module
 */
import { z } from "zod";
import { formatHostPort, type HostPort, parseHostPort } from "./address.ts";

/**
 * Every balancing algorithm a group may name in `algorithm`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ALGORITHMS } from "./schema.ts";
 * assert.ok(ALGORITHMS.includes("LEAST_CONNECTIONS"));
 * assert.equal(ALGORITHMS.length, 7);
 * ```
 */
export const ALGORITHMS = [
  "ROUND_ROBIN",
  "WEIGHTED_ROUND_ROBIN",
  "LEAST_CONNECTIONS",
  "POWER_OF_TWO_CHOICES",
  "CONSISTENT_HASH",
  "IP_HASH",
  "RANDOM",
] as const;

/**
 * A balancing algorithm name, as written in a group config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Algorithm, validateGroupConfig } from "./schema.ts";
 * const algorithm: Algorithm = "IP_HASH";
 * assert.equal(validateGroupConfig("g", { backend_servers: [], algorithm }).ok, true);
 * ```
 */
export type Algorithm = typeof ALGORITHMS[number];

/**
 * A backend after validation: canonical address plus its parts and weight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BackendSpec, validateGroupConfig } from "./schema.ts";
 * const r = validateGroupConfig("g", { backend_servers: [{ address: "127.0.0.1:9001", weight: 3 }] });
 * assert.ok(r.ok);
 * const backend: BackendSpec = r.value.backend_servers[0]!;
 * assert.deepEqual(backend, { address: "127.0.0.1:9001", host: "127.0.0.1", port: 9001, weight: 3 });
 * ```
 */
export interface BackendSpec {
  /** Canonical `host:port`; the backend's identity everywhere (health, stats, DNS). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Relative share of traffic, a positive integer (default 1). */
  readonly weight: number;
  /**
   * Draining: kept in the group (health checks, in-flight requests finish)
   * but never picked for new requests. Present only when true.
   */
  readonly drain?: true;
}

/** Group names are znode names and metric label values: keep them plain. */
export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const MAX_WEIGHT = 10_000;

const BACKEND_SHAPE =
  'must be "host:port" or {"address": "host:port", "weight": N, "drain": true|false}';

type Issue = { path: (string | number)[]; message: string };

/** Validates one `backend_servers` entry, returning every problem with it. */
function checkBackend(value: unknown): BackendSpec | Issue[] {
  let address: unknown = value;
  let weight: unknown = 1;
  let drain: unknown = false;
  const issues: Issue[] = [];
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  if (isObject) {
    const entry = value as Record<string, unknown>;
    for (const key of Object.keys(entry)) {
      if (key !== "address" && key !== "weight" && key !== "drain") {
        issues.push({ path: [key], message: "unknown key" });
      }
    }
    address = entry.address;
    if (Object.hasOwn(entry, "weight")) weight = entry.weight;
    if (Object.hasOwn(entry, "drain")) drain = entry.drain;
  } else if (typeof value !== "string") {
    return [{ path: [], message: BACKEND_SHAPE }];
  }
  const addressPath = isObject ? ["address"] : [];
  let parsed: HostPort | null = null;
  if (address === undefined && isObject) {
    issues.push({ path: addressPath, message: "is required" });
  } else if (typeof address !== "string") {
    issues.push({ path: addressPath, message: 'must be a "host:port" string' });
  } else {
    const p = parseHostPort(address);
    if (typeof p === "string") issues.push({ path: addressPath, message: p });
    else parsed = p;
  }
  if (
    typeof weight !== "number" || !Number.isInteger(weight) || weight <= 0 || weight > MAX_WEIGHT
  ) {
    issues.push({
      path: ["weight"],
      message: `must be an integer from 1 to ${MAX_WEIGHT} (got ${JSON.stringify(weight)})`,
    });
  }
  if (typeof drain !== "boolean") {
    issues.push({ path: ["drain"], message: "must be true or false" });
  }
  if (issues.length > 0 || !parsed) return issues;
  const host = parsed.host.toLowerCase();
  return {
    address: formatHostPort(host, parsed.port),
    host,
    port: parsed.port,
    weight: weight as number,
    ...(drain === true ? { drain: true as const } : {}),
  };
}

/**
 * The backend list: every entry is checked and every problem reported (an
 * invalid entry does not hide a duplicate elsewhere). Host names compare
 * case-insensitively and IPv6 addresses in canonical form.
 */
const backendList = z.array(z.unknown(), { error: "must be a list of backends" }).transform(
  (list, ctx): BackendSpec[] => {
    const out: BackendSpec[] = [];
    const seen = new Map<string, number>();
    let failed = false;
    list.forEach((value, i) => {
      const r = checkBackend(value);
      if (Array.isArray(r)) {
        failed = true;
        for (const issue of r) {
          ctx.addIssue({ code: "custom", path: [i, ...issue.path], message: issue.message });
        }
        return;
      }
      const first = seen.get(r.address);
      if (first !== undefined) {
        failed = true;
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `duplicate backend ${r.address} (also at index ${first})`,
        });
        return;
      }
      seen.set(r.address, i);
      out.push(r);
    });
    return failed ? z.NEVER : out;
  },
);

const seconds = (min: number, max: number) =>
  z.number({ error: "must be a number of seconds" }).min(min, `must be at least ${min}`).max(
    max,
    `must be at most ${max}`,
  );
const count = (min: number, max: number) =>
  z.number({ error: "must be an integer" }).int("must be an integer").min(
    min,
    `must be at least ${min}`,
  ).max(
    max,
    `must be at most ${max}`,
  );

const path = z.string({ error: "must be a string" }).regex(
  /^\/[\x21-\x7e]*$/,
  'must be an absolute path starting with "/" without spaces or control characters',
);

/** An HTTP token (RFC 9110): what header and cookie names are made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Where CONSISTENT_HASH takes its key from. */
export const hashKeySchema = z.strictObject({
  source: z.enum(["client_ip", "header", "cookie", "query"], {
    error: "must be one of client_ip, header, cookie, query",
  }),
  /** Header, cookie or query parameter name; required unless source is client_ip. */
  name: z.string({ error: "must be a string" }).min(1, "must not be empty").max(
    256,
    "must be at most 256 characters",
  ).optional(),
}, { error: "must be an object" }).superRefine((v, ctx) => {
  // zod may run this after other issues: look only at values that passed their own checks
  if (v.source !== "header" && v.source !== "cookie" && v.source !== "query") return;
  if (v.name === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["name"],
      message: `is required when source is ${v.source}`,
    });
  } else if (
    v.source !== "query" && typeof v.name === "string" && v.name !== "" && !TOKEN.test(v.name)
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["name"],
      message: `must be a valid ${v.source} name (letters, digits and !#$%&'*+-.^_\`|~)`,
    });
  }
});

/**
 * The 5xx statuses `retry.on_status` may list: each an integer from 500 to
 * 599, each once. Checked item by item so an error names the entry
 * (`retry.on_status[1]: must be ...`, the index as for every list).
 */
const retryStatusList = z.array(
  z.number({ error: "must be an integer status from 500 to 599" }).int(
    "must be an integer status from 500 to 599",
  ).min(500, "must be an integer status from 500 to 599").max(
    599,
    "must be an integer status from 500 to 599",
  ),
  { error: "must be a list of status codes (500 to 599)" },
).superRefine((list, ctx) => {
  list.forEach((status, i) => {
    const first = list.indexOf(status);
    if (first < i) {
      ctx.addIssue({
        code: "custom",
        path: [i],
        message: `duplicate status ${status} (also at index ${first})`,
      });
    }
  });
});

/**
 * Retries of failed attempts (connect refused/reset before any response
 * byte) and, with `on_status`, of answers with a listed 5xx status.
 */
export const retrySchema = z.strictObject({
  /** Extra attempts per request, each on another backend. */
  max_retries: count(0, 10).default(2),
  /**
   * Response statuses (500-599) that send an idempotent request without a
   * body to another backend instead of to the client, as nginx's
   * `proxy_next_upstream http_503` or Envoy's `retriable-status-codes`; the
   * last attempt's answer is relayed as it is. Empty (the default): answers
   * are always relayed, and the request path checks nothing more.
   */
  on_status: retryStatusList.default([]),
  /** Retries may add at most this fraction of requests (a retry budget, as in Envoy/Linkerd). */
  budget_ratio: z.number({ error: "must be a number" }).min(0, "must be at least 0").max(
    10,
    "must be at most 10",
  ).default(0.2),
  /** ...but always allow this many retries per second, so a quiet group can still retry. */
  min_retries_per_second: count(0, 100_000).default(10),
}, { error: "must be an object" });

/** Connection reuse towards the backends. */
export const upstreamKeepaliveSchema = z.strictObject({
  /** Idle connections kept per backend. */
  max_idle: count(0, 10_000).default(64),
  /** An idle connection is closed after this long (keep it below the backends' own timeout). */
  idle_timeout_seconds: seconds(0.1, 3600).default(4),
}, { error: "must be an object" });

/** Passive health: eject a backend after consecutive failed requests (Envoy's outlier detection). */
export const outlierDetectionSchema = z.strictObject({
  enabled: z.boolean({ error: "must be true or false" }).default(true),
  /** Consecutive failures (connect refused/reset/timeout, and 5xx when counted) that eject. */
  consecutive_failures: count(1, 1000).default(5),
  /** Whether 5xx answers count as failures. */
  count_5xx: z.boolean({ error: "must be true or false" }).default(true),
  /** First ejection; the n-th ejection in a row lasts n times this (capped). */
  base_ejection_seconds: seconds(0.05, 3600).default(10),
  max_ejection_seconds: seconds(0.05, 86_400).default(300),
  /** Never eject more than this share of the backends (a floor of available ones). */
  max_ejection_percent: count(0, 100).default(50),
}, { error: "must be an object" });

/** Client-side protocol limits and timeouts. */
export const limitsSchema = z.strictObject({
  /** Largest request head (request line + fields); 431 beyond. */
  max_header_bytes: count(1024, 1 << 20).default(32 * 1024),
  /** Most header fields in a request; 431 beyond. */
  max_header_count: count(1, 10_000).default(100),
  /** Longest request-target; 414 beyond. */
  max_uri_length: count(16, 1 << 20).default(8 * 1024),
  /** Largest request body; 413 beyond (0 = no limit). */
  max_body_bytes: count(0, Number.MAX_SAFE_INTEGER).default(0),
  /** Time to receive a complete request head (slowloris guard); 408 then close. */
  header_timeout_seconds: seconds(0.05, 3600).default(10),
  /** An idle keep-alive client connection is closed after this long. */
  idle_timeout_seconds: seconds(0.05, 86_400).default(60),
  /**
   * Longest pause in a body transfer with the client: a request body that stops
   * arriving (slow POST) or a response the client stops reading (slow read).
   */
  body_timeout_seconds: seconds(0.05, 86_400).default(60),
  /** Client connections open at once; beyond, new ones get 503 and are closed. */
  max_connections: count(1, 1_000_000).default(10_000),
  /** Client connections per client IP; beyond, 429 and close (0 = no limit). */
  max_connections_per_ip: count(0, 1_000_000).default(0),
}, { error: "must be an object" });

/** A DNS name (for SNI and certificate checks): labels of letters, digits and `-`. */
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * TLS towards the backends (requests and health probes). The CA file is read
 * by the proxy when it applies the config (lib/proxy/upstream_tls.ts), not
 * here: this schema stays pure, and the control plane has no such file.
 */
export const upstreamTlsSchema = z.strictObject({
  /** Connect to every backend of the group over TLS. */
  enabled: z.boolean({ error: "must be true or false" }).default(false),
  /** SNI and the name verified (default: the backend's host when it is a name, none for an IP). */
  server_name: z.string({ error: "must be a string" }).regex(DNS_NAME, "must be a DNS name")
    .optional(),
  /** PEM bundle of the CAs trusted for backends (default: the runtime's CA store). */
  ca_file: z.string({ error: "must be a string" }).min(1, "must not be empty").max(
    4096,
    "must be at most 4096 characters",
  ).optional(),
  /** Verify the backend's certificate chain and name; off only for tests and labs. */
  verify: z.boolean({ error: "must be true or false" }).default(true),
}, { error: "must be an object" });

/** Protocols a group may speak to its backends (`protocol`). */
export const UPSTREAM_PROTOCOLS = ["http/1.1", "h2"] as const;

/** What the Host header sent to backends may look like (`host` or `host:port`). */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]{1,5})?$/;

/**
 * The zod schema of one group's config blob (input: the seed's JSON; output:
 * normalized). Prefer {@linkcode validateGroupConfig}, which also checks the
 * group name and reports issues by field; use the schema to compose it into
 * your own zod schemas.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupConfigSchema } from "./schema.ts";
 * const r = groupConfigSchema.safeParse({ backend_servers: [], health_endpoint: "/health" });
 * assert.ok(r.success);
 * assert.equal(r.data.health_endpoint, "/health");
 * assert.equal(groupConfigSchema.safeParse({ backend_servers: [], typo: 1 }).success, false);
 * ```
 */
export const groupConfigSchema = z.strictObject({
  backend_servers: backendList,
  health_endpoint: path.default("/health"),
  health_endpoint_expected_code: count(100, 599).default(200),
  health_check_frequency_seconds: seconds(0.05, 86_400).default(10),
  algorithm: z.enum(ALGORITHMS, { error: `must be one of ${ALGORITHMS.join(", ")}` }).default(
    "ROUND_ROBIN",
  ),
  health_check_type: z.enum(["http", "tcp"], { error: "must be http or tcp" }).default("http"),
  health_check_timeout_seconds: seconds(0.01, 3600).default(2),
  healthy_threshold: count(1, 100).default(2),
  unhealthy_threshold: count(1, 100).default(3),
  hash_key: hashKeySchema.default({ source: "client_ip" }),
  connect_timeout_seconds: seconds(0.01, 600).default(3),
  response_timeout_seconds: seconds(0.01, 86_400).default(60),
  retry: retrySchema.prefault({}),
  upstream_keepalive: upstreamKeepaliveSchema.prefault({}),
  outlier_detection: outlierDetectionSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  /** TLS towards the backends; absent: plain TCP. */
  tls: upstreamTlsSchema.optional(),
  /**
   * The protocol spoken to the backends: HTTP/1.1 (absent), or HTTP/2 for
   * gRPC backends (h2 over TLS by ALPN with `tls.enabled`, else h2c with
   * prior knowledge).
   */
  protocol: z.enum(UPSTREAM_PROTOCOLS, { error: "must be http/1.1 or h2" }).optional(),
  /** Host header sent to backends instead of the client's (null: pass it through). */
  host_rewrite: z.string({ error: "must be a string or null" }).regex(
    HOST_HEADER,
    "must be a host or host:port",
  ).nullable().default(null),
  /** A backend added or back from unhealthy/ejected ramps its weight up over this long (0 = off). */
  slow_start_seconds: seconds(0, 3600).default(0),
  /** Below this share of usable backends, spread over all of them (Envoy's panic mode; 0 = off). */
  panic_threshold_percent: count(0, 100).default(0),
  /**
   * Forward request header fields whose name contains `_`. Off (as nginx's
   * `underscores_in_headers off`): CGI-style backends read `X_Real_IP` as `X-Real-IP`
   * and `Transfer_Encoding` as the framing field, so such fields are dropped.
   */
  allow_underscores_in_headers: z.boolean({ error: "must be true or false" }).default(false),
});

/**
 * A group config as written (the seed's blob); what stores hold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type GroupConfigInput, validateGroupConfig } from "./schema.ts";
 * const blob: GroupConfigInput = {
 *   backend_servers: ["10.0.0.1:80", "10.0.0.2:80"],
 *   health_endpoint: "/health",
 *   algorithm: "WEIGHTED_ROUND_ROBIN",
 * };
 * assert.equal(validateGroupConfig("lb-group-1", blob).ok, true);
 * ```
 */
export type GroupConfigInput = z.input<typeof groupConfigSchema>;
/**
 * A validated group config with every default filled in; what the cores use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type GroupConfig, validateGroupConfig } from "./schema.ts";
 * const r = validateGroupConfig("g", { backend_servers: ["10.0.0.1:80"] });
 * assert.ok(r.ok);
 * const config: GroupConfig = r.value;
 * assert.equal(config.algorithm, "ROUND_ROBIN"); // the default
 * assert.equal(config.backend_servers[0]!.weight, 1);
 * ```
 */
export type GroupConfig = Omit<z.output<typeof groupConfigSchema>, "backend_servers"> & {
  readonly backend_servers: readonly BackendSpec[];
};

/**
 * One reason a config was rejected: which group, which field, why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ConfigIssue, validateGroupConfig } from "./schema.ts";
 * const r = validateGroupConfig("g", { backend_servers: ["10.0.0.1:80"], algorithm: "FASTEST" });
 * assert.ok(!r.ok);
 * const issue: ConfigIssue = r.issues[0]!;
 * assert.equal(issue.group, "g");
 * assert.equal(issue.field, "algorithm");
 * ```
 */
export interface ConfigIssue {
  readonly group: string;
  /** Dotted path such as `backend_servers[1].weight`; empty for the whole blob. */
  readonly field: string;
  readonly reason: string;
}

/**
 * The result of validating a config: the normalized value, or every issue found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type GroupConfig, type Validated, validateGroupConfig } from "./schema.ts";
 * const r: Validated<GroupConfig> = validateGroupConfig("g", { backend_servers: ["nope"] });
 * assert.equal(r.ok, false);
 * if (!r.ok) assert.equal(r.issues[0]!.field, "backend_servers[0]");
 * ```
 */
export type Validated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Escapes control characters (newlines above all) so that one issue stays one line. */
function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/**
 * Formats issues as one line each: `group "g": field: reason` (or
 * `group "g": reason` for the whole blob). Control characters in a group
 * name, field or reason are escaped, so every issue is exactly one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIssues } from "./schema.ts";
 * assert.equal(
 *   formatIssues([
 *     { group: "g", field: "weight", reason: "must be > 0" },
 *     { group: "g", field: "", reason: "config must be a JSON object" },
 *   ]),
 *   'group "g": weight: must be > 0\ngroup "g": config must be a JSON object',
 * );
 * ```
 */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) =>
    `group ${JSON.stringify(i.group)}: ${i.field ? `${oneLine(i.field)}: ` : ""}${
      oneLine(i.reason)
    }`
  ).join("\n");
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `a.b[1].c`; a key that is not a plain identifier is written `["the key"]`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (typeof p === "string" && PLAIN_KEY.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/** Whether `path` names a present (not undefined) value inside `input`. */
function isPresent(input: unknown, path: readonly PropertyKey[]): boolean {
  let cur: unknown = input;
  for (const p of path) {
    if (typeof cur !== "object" || cur === null) return false;
    const obj = cur as Record<PropertyKey, unknown>;
    if (!Object.hasOwn(obj, p)) return false;
    cur = obj[p];
  }
  return cur !== undefined;
}

/**
 * Turns a zod error into issues by field (`unknown key`, `is required`, or the
 * schema's own message); shared with the other config schemas (routing).
 */
export function toIssues(group: string, error: z.ZodError, input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        issues.push({ group, field: fieldPath([...issue.path, key]), reason: "unknown key" });
      }
    } else if (issue.code !== "custom" && !isPresent(input, issue.path)) {
      issues.push({ group, field: fieldPath(issue.path), reason: "is required" });
    } else {
      issues.push({ group, field: fieldPath(issue.path), reason: issue.message });
    }
  }
  return issues;
}

/**
 * Validates one group's blob and fills in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateGroupConfig } from "./schema.ts";
 * const r = validateGroupConfig("lb-group-1", { backend_servers: ["127.0.0.1:9001"] });
 * assert.ok(r.ok);
 * assert.equal(r.value.algorithm, "ROUND_ROBIN");
 * assert.equal(validateGroupConfig("lb-group-1", { backend_servers: [], typo: 1 }).ok, false);
 * ```
 */
export function validateGroupConfig(group: string, input: unknown): Validated<GroupConfig> {
  if (!GROUP_NAME.test(group)) {
    return {
      ok: false,
      issues: [{
        group,
        field: "",
        reason: "group name must be 1-128 of A-Z a-z 0-9 . _ - and start with a letter or digit",
      }],
    };
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ group, field: "", reason: "config must be a JSON object" }] };
  }
  const parsed = groupConfigSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: toIssues(group, parsed.error, input) };
  return { ok: true, value: parsed.data as GroupConfig };
}

/**
 * A config file: group name to blob.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ConfigFile, validateConfigFile } from "./schema.ts";
 * const r = validateConfigFile({ api: { backend_servers: ["10.0.0.1:80"] } });
 * assert.ok(r.ok);
 * const file: ConfigFile = r.value;
 * assert.deepEqual(Object.keys(file), ["api"]);
 * ```
 */
export type ConfigFile = Readonly<Record<string, GroupConfig>>;

/**
 * Validates a whole config file (group name -> blob); every group must be valid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfigFile } from "./schema.ts";
 * const r = validateConfigFile({ "lb-group-1": { backend_servers: ["127.0.0.1:9001"] } });
 * assert.equal(r.ok, true);
 * // every group must be valid: one bad group rejects the file
 * assert.equal(validateConfigFile({ a: { backend_servers: [] }, b: {} }).ok, false);
 * ```
 */
export function validateConfigFile(input: unknown): Validated<ConfigFile> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return {
      ok: false,
      issues: [{ group: "*", field: "", reason: "config file must be a JSON object of groups" }],
    };
  }
  const out: Record<string, GroupConfig> = {};
  const issues: ConfigIssue[] = [];
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0) {
    return { ok: false, issues: [{ group: "*", field: "", reason: "config file has no groups" }] };
  }
  for (const [group, blob] of entries) {
    const r = validateGroupConfig(group, blob);
    if (r.ok) out[group] = r.value;
    else issues.push(...r.issues);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

/**
 * Parses JSON text, turning a syntax error into a config issue instead of a throw.
 */
export function parseJsonConfig(text: string, group = "*"): Validated<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return {
      ok: false,
      issues: [{ group, field: "", reason: `invalid JSON: ${(e as Error).message}` }],
    };
  }
}
