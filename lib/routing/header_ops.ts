/**
 * A route's header operations (`remove`, `set`, `add`, with `${client_ip}` and
 * `${request_id}`), compiled once per config and applied to a head's fields
 * in one pass, shared by the request and the response policy.
 *
 * Compiling parses every value template into constant parts and variable
 * slots, and folds `remove` and the names `set` replaces into one set, so a
 * request costs one pass over its fields, no regular expression and no
 * template parsing.
 *
 * @module
 */
import type { Fields } from "../http1/head.ts";
import type { Route } from "./schema.ts";

/** A route's `request_headers` or `response_headers`, as validated. */
export type HeaderOps = NonNullable<Route["request_headers"]>;

/** The values variables take for one request. */
export interface HeaderVars {
  /** The client's address as the proxy sees it. */
  readonly clientIp: string;
  /** The request's id (the client's when valid, else generated). */
  readonly requestId: string;
}

/** Variable slots in a compiled template. */
const CLIENT_IP = 0;
const REQUEST_ID = 1;

/** A value: a constant, or constant parts and variable slots in order. */
export type ValueTemplate = string | readonly (string | typeof CLIENT_IP | typeof REQUEST_ID)[];

const VARIABLES: Readonly<Record<string, typeof CLIENT_IP | typeof REQUEST_ID>> = {
  client_ip: CLIENT_IP,
  request_id: REQUEST_ID,
};

/**
 * Parses `${client_ip}` and `${request_id}` out of a value. Anything else
 * (the schema already refused unknown variables) stays literal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileTemplate, renderTemplate } from "./header_ops.ts";
 * const t = compileTemplate("ip=${client_ip}; id=${request_id}");
 * assert.equal(renderTemplate(t, { clientIp: "10.0.0.1", requestId: "r1" }), "ip=10.0.0.1; id=r1");
 * assert.equal(compileTemplate("plain"), "plain");
 * ```
 */
export function compileTemplate(text: string): ValueTemplate {
  const parts: (string | typeof CLIENT_IP | typeof REQUEST_ID)[] = [];
  let literal = "";
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf("${", pos);
    const close = open < 0 ? -1 : text.indexOf("}", open + 2);
    const slot = close < 0 ? undefined : VARIABLES[text.slice(open + 2, close)];
    if (slot === undefined) {
      const end = open < 0 ? text.length : open + 2;
      literal += text.slice(pos, end);
      pos = end;
      continue;
    }
    literal += text.slice(pos, open);
    if (literal !== "") parts.push(literal);
    literal = "";
    parts.push(slot);
    pos = close + 1;
  }
  if (parts.length === 0) return literal;
  if (literal !== "") parts.push(literal);
  return parts;
}

/** A template's value for one request. */
export function renderTemplate(t: ValueTemplate, vars: HeaderVars): string {
  if (typeof t === "string") return t;
  let out = "";
  for (let i = 0; i < t.length; i++) {
    const p = t[i]!;
    out += p === CLIENT_IP ? vars.clientIp : p === REQUEST_ID ? vars.requestId : p;
  }
  return out;
}

/** Header operations ready to apply. */
export interface CompiledHeaderOps {
  /** Lower-case names whose existing lines are dropped: `remove`, and every `set` name. */
  readonly drop: ReadonlySet<string>;
  /** Lines appended after the kept ones: the `set` ones, then the `add` ones. */
  readonly append: readonly (readonly [string, ValueTemplate])[];
  /** True when there is nothing to do. */
  readonly empty: boolean;
}

const NOTHING: CompiledHeaderOps = { drop: new Set(), append: [], empty: true };

/**
 * Compiles a route's header operations, applied in the order remove, set, add:
 * `set` replaces every line of its name by one, `add` appends a line (after
 * any `set` of the same name), `remove` drops every line of its name. `extra`
 * names are set after the route's own ops (the proxy's own fields, such as
 * `x-request-id` or a rewritten `host`), so a route cannot override them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyHeaderOps, compileHeaderOps } from "./header_ops.ts";
 * const ops = compileHeaderOps({ remove: ["x-debug"], set: { "x-env": "prod" }, add: { via: "sy ${request_id}" } });
 * const out = applyHeaderOps(
 *   { names: ["X-Debug", "X-Env", "Via"], lower: ["x-debug", "x-env", "via"], values: ["1", "dev", "a"] },
 *   ops,
 *   { clientIp: "10.0.0.1", requestId: "r1" },
 * );
 * assert.deepEqual(out.values, ["a", "prod", "sy r1"]);
 * assert.deepEqual(out.lower, ["via", "x-env", "via"]);
 * ```
 */
export function compileHeaderOps(
  ops: HeaderOps | undefined,
  extra: readonly (readonly [string, string])[] = [],
): CompiledHeaderOps {
  const set = Object.entries(ops?.set ?? {});
  const add = Object.entries(ops?.add ?? {});
  const remove = ops?.remove ?? [];
  if (set.length + add.length + remove.length + extra.length === 0) return NOTHING;
  const drop = new Set<string>(remove);
  const append: [string, ValueTemplate][] = [];
  for (const [name, value] of set) {
    drop.add(name);
    append.push([name, compileTemplate(value)]);
  }
  for (const [name, value] of add) append.push([name, compileTemplate(value)]);
  for (const [name, value] of extra) {
    drop.add(name);
    for (let i = append.length - 1; i >= 0; i--) if (append[i]![0] === name) append.splice(i, 1);
    append.push([name, compileTemplate(value)]);
  }
  return { drop, append, empty: false };
}

/**
 * New fields: the lines of `fields` whose name is not dropped, in order, then
 * the appended lines with variables filled in, then `tail` lines (values used
 * as is, e.g. per-request `set-cookie` lines). Never mutates `fields`.
 * Appended names are the lower-case ones.
 */
export function applyHeaderOps(
  fields: Fields,
  ops: CompiledHeaderOps,
  vars: HeaderVars,
  tailName?: string,
  tail?: readonly string[],
): Fields {
  const names: string[] = [];
  const lower: string[] = [];
  const values: string[] = [];
  const drop = ops.drop;
  const n = fields.lower.length;
  for (let i = 0; i < n; i++) {
    const low = fields.lower[i]!;
    if (drop.has(low)) continue;
    names.push(fields.names[i]!);
    lower.push(low);
    values.push(fields.values[i]!);
  }
  const append = ops.append;
  for (let i = 0; i < append.length; i++) {
    const [name, template] = append[i]!;
    names.push(name);
    lower.push(name);
    values.push(renderTemplate(template, vars));
  }
  if (tailName !== undefined && tail !== undefined) {
    for (let i = 0; i < tail.length; i++) {
      names.push(tailName);
      lower.push(tailName);
      values.push(tail[i]!);
    }
  }
  return { names, lower, values };
}
