/**
 * A listener's routes over its groups: one process, one {@link GroupRuntime}
 * (state, pools, health, outlier ejection, retry budget, metrics) per group
 * that a route references, and the compiled route table that picks, for each
 * request, a route and from it a group or an answer.
 *
 * A listener config is applied only when it is valid against the groups
 * loaded now: every group a route names must have a valid config. Then the
 * compiled table, its per-route actions and the groups they point at are
 * swapped in as one value, so a request sees either the old routes with the
 * old groups or the new with the new. A rejected config changes nothing: the
 * last good routes keep serving.
 *
 * @module
 */
import type { ConfigIssue } from "../config/schema.ts";
import type { ApplyResult } from "../group/group_state.ts";
import type { GroupSnapshot } from "../group/snapshot.ts";
import type { RequestHead } from "../http1/head.ts";
import type { Logger } from "../log.ts";
import { type CompiledDirectResponse, compileDirectResponse } from "../routing/direct_response.ts";
import { compileRoutes, type RouteRequest, type RouteTable } from "../routing/matcher.ts";
import { redirectResponse } from "../routing/redirect.ts";
import {
  applyRequestPolicy,
  compileRequestPolicy,
  type RequestPolicy,
} from "../routing/request_policy.ts";
import { clientRequestId, RequestIdGenerator } from "../routing/request_id.ts";
import { compileResponsePolicy } from "../routing/response_policy.ts";
import type { Redirect } from "../routing/redirect.ts";
import { TokenBucketLimiter } from "../routing/rate_limiter.ts";
import {
  type ListenerConfig,
  type Route,
  type RouteIssue,
  validateListenerConfig,
} from "../routing/schema.ts";
import { type CompiledSplit, compileSplit } from "../routing/split.ts";
import { type Answer, type Dispatch, type ListenerFacts, textAnswer } from "./context.ts";
import { GroupLane } from "./group_lane.ts";
import type { AccessLog } from "./access_log.ts";
import { GroupRuntime } from "./group_runtime.ts";
import type { GroupRuntimeCore } from "./group_runtime_core.ts";
import { type ProxyMetricFamilies, ProxyMetrics } from "./metrics.ts";
import { RouteLane } from "./route_lane.ts";
import { routePolicy } from "./route_policy.ts";
import { stickyPin } from "./sticky_pin.ts";
import { sendMirror } from "./mirror_sender.ts";
import { mirrorThis } from "../routing/mirror.ts";
import type { RequestRouter } from "./server.ts";

/** Options of a {@link ListenerRuntime}. */
export interface ListenerRuntimeOptions {
  readonly listener: string;
  readonly log: Logger;
  readonly families: ProxyMetricFamilies;
  /** Creates a group's runtime (default: a {@link GroupRuntime} over sockets). */
  readonly newRuntime?: (
    group: string,
    onSwap: (next: GroupSnapshot) => void,
  ) => GroupRuntimeCore;
  /** Uniform random numbers in [0, 1) (splits, request ids). */
  readonly random?: () => number;
  /** Wall clock in ms (rate limits). */
  readonly wallNow?: () => number;
}

/** One group the listener routes to. */
export interface ListenerGroup {
  readonly runtime: GroupRuntimeCore;
  readonly lane: GroupLane;
}

/** What a route does, resolved against the groups at compile time. */
type Action =
  | { readonly kind: "forward"; readonly group: ListenerGroup }
  | {
    readonly kind: "split";
    readonly split: CompiledSplit;
    readonly groups: ReadonlyMap<string, ListenerGroup>;
  }
  | { readonly kind: "redirect"; readonly redirect: Redirect }
  | { readonly kind: "direct"; readonly response: CompiledDirectResponse };

/** A route compiled with everything a request on it needs. */
interface CompiledRoute {
  readonly route: Route;
  readonly lane: RouteLane;
  readonly action: Action;
  readonly request: RequestPolicy;
  readonly limiter: TokenBucketLimiter | null;
  /** The mirror group and the share of requests copied to it, or null. */
  readonly mirror: { readonly group: ListenerGroup; readonly percent: number } | null;
}

/** A listener config compiled: swapped in as one value. */
interface Compiled {
  readonly version: string;
  readonly config: ListenerConfig;
  readonly table: RouteTable;
  readonly routes: readonly CompiledRoute[];
  /** The groups its routes reference. */
  readonly groups: ReadonlySet<string>;
}

/** The outcome of applying a listener config. */
export type ListenerApplied =
  | { readonly ok: true; readonly changed: boolean }
  | { readonly ok: false; readonly issues: readonly RouteIssue[] };

/** The last listener config rejected, for `/status`. */
export interface ListenerRejection {
  readonly version: string;
  readonly issues: readonly RouteIssue[];
  readonly at: number;
}

/**
 * A request as the route matcher reads it: a view of the parsed head, reused
 * for every request of the runtime (matching is synchronous and keeps no
 * reference), so routing allocates nothing for a target without a query and
 * only the path for one with a query (which is sliced only when a route asks).
 */
class HeadRequest implements RouteRequest {
  head!: RequestHead;
  method = "";
  scheme: "http" | "https" = "http";
  host = "";
  path = "";
  #queryAt = -1;

  /** Points the view at `head` (`secure`: it came over TLS); returns it. */
  of(head: RequestHead, secure: boolean): this {
    this.head = head;
    this.method = head.method;
    this.scheme = secure ? "https" : "http";
    this.host = head.host ?? "";
    const t = head.target;
    const q = t.indexOf("?");
    this.#queryAt = q;
    this.path = q < 0 ? t : t.slice(0, q);
    return this;
  }
  get query(): string | undefined {
    const q = this.#queryAt;
    return q < 0 ? undefined : this.head.target.slice(q + 1);
  }
  header(name: string): string | null {
    const { lower, values } = this.head;
    for (let i = 0; i < lower.length; i++) if (lower[i] === name) return values[i]!;
    return null;
  }
}

/** The routes of one listener and the groups they send traffic to. */
export class ListenerRuntime implements RequestRouter, ListenerFacts {
  readonly listener: string;
  readonly #o: ListenerRuntimeOptions;
  readonly #groups = new Map<string, ListenerGroup>();
  readonly #routeLanes = new Map<string, RouteLane>();
  /** Each route's rate limiter and the settings it was made for. */
  #limiters = new Map<string, { key: string; limiter: TokenBucketLimiter }>();
  readonly #none: RouteLane;
  readonly #notFound: Answer;
  readonly #ids: RequestIdGenerator;
  readonly #view = new HeadRequest();
  readonly #random: () => number;
  readonly #wallNow: () => number;
  #facts: ListenerFacts | null = null;
  #compiled: Compiled | null = null;
  #probing = false;
  /** When the current listener config was applied (wall ms), 0 before. */
  lastAppliedAt = 0;
  appliedTotal = 0;
  rejectedTotal = 0;
  rejected: ListenerRejection | null = null;

  constructor(options: ListenerRuntimeOptions) {
    this.#o = options;
    this.listener = options.listener;
    this.#random = options.random ?? Math.random;
    this.#wallNow = options.wallNow ?? Date.now;
    this.#ids = new RequestIdGenerator(this.#random);
    this.#none = new RouteLane(options.families, options.listener, "none");
    this.#notFound = textAnswer(404, "no route\n", null, null, this.#none);
  }

  // ------------------------------------------------------------ ListenerFacts

  bind(listener: ListenerFacts): void {
    this.#facts = listener;
  }

  get log(): Logger {
    return this.#o.log;
  }
  now(): number {
    return this.#facts!.now();
  }
  wallNow(): number {
    return this.#facts!.wallNow();
  }
  get coarseNow(): number {
    return this.#facts!.coarseNow;
  }
  get coarseWall(): number {
    return this.#facts!.coarseWall;
  }
  get draining(): boolean {
    return this.#facts?.draining ?? false;
  }
  get accessLog(): AccessLog | null {
    return this.#facts?.accessLog ?? null;
  }

  // ------------------------------------------------------------ groups

  /** The groups loaded (referenced by the current routes or by a config being applied). */
  get groups(): ReadonlyMap<string, ListenerGroup> {
    return this.#groups;
  }

  /** The group's runtime, created on first use (with no config yet). */
  group(name: string): ListenerGroup {
    let g = this.#groups.get(name);
    if (g === undefined) {
      let lane: GroupLane | null = null;
      const onSwap = (next: GroupSnapshot) => lane?.onSnapshot(next);
      const runtime = this.#o.newRuntime?.(name, onSwap) ??
        new GroupRuntime({ group: name, log: this.#o.log, onSwap });
      const metrics = new ProxyMetrics(runtime.state, this.#o.families);
      lane = new GroupLane(runtime, this, metrics);
      runtime.setProbing(this.#probing);
      g = { runtime, lane };
      this.#groups.set(name, g);
    }
    return g;
  }

  /** Validates and applies a group's config blob. */
  applyGroup(name: string, version: string, blob: unknown): ApplyResult {
    const r = this.group(name).runtime.state.applyConfig(version, blob);
    if (!r.ok) {
      this.#o.log.warn("group config rejected; keeping the last good one", {
        group: name,
        version,
        reason: r.rejected.reason,
      });
    } else if (r.changed) {
      this.#o.log.info("group config applied", { group: name, version });
    }
    return r;
  }

  /** Records a group config that could not be used at all (not JSON, node deleted...). */
  rejectGroup(name: string, version: string, issues: readonly ConfigIssue[]): void {
    this.group(name).runtime.state.reject(version, issues);
  }

  /** The groups with a valid config now. */
  loadedGroups(): Set<string> {
    const out = new Set<string>();
    for (const [name, g] of this.#groups) if (g.runtime.state.snapshot !== null) out.add(name);
    return out;
  }

  /** Turns every group's embedded health checker on or off. */
  setProbing(on: boolean): boolean {
    const changed = this.#probing !== on;
    this.#probing = on;
    for (const g of this.#groups.values()) g.runtime.setProbing(on);
    return changed;
  }

  get probing(): boolean {
    return this.#probing;
  }

  // ------------------------------------------------------------ routes

  /** The listener config being served, or null. */
  get config(): ListenerConfig | null {
    return this.#compiled?.config ?? null;
  }

  /** Its version, or null. */
  get version(): string | null {
    return this.#compiled?.version ?? null;
  }

  /** The groups the current routes reference. */
  get referenced(): ReadonlySet<string> {
    return this.#compiled?.groups ?? new Set();
  }

  /**
   * Validates `blob` against the groups loaded now and, when valid, swaps in
   * the compiled routes. Groups no longer referenced are closed (after the
   * swap, so no new request reaches them; requests in flight finish on their
   * open connections).
   */
  applyListener(version: string, blob: unknown): ListenerApplied {
    const v = validateListenerConfig(this.listener, blob, this.loadedGroups());
    if (!v.ok) return this.rejectListener(version, v.issues);
    if (this.#compiled?.version === version) return { ok: true, changed: false };
    const compiled = this.#compile(version, v.value);
    const before = this.#compiled;
    this.#compiled = compiled;
    this.lastAppliedAt = this.#wallNow();
    this.appliedTotal++;
    for (const [name, lane] of this.#routeLanes) {
      if (!compiled.routes.some((r) => r.lane === lane)) {
        lane.remove();
        this.#routeLanes.delete(name);
      }
    }
    for (const [name, g] of this.#groups) {
      if (!compiled.groups.has(name)) {
        this.#groups.delete(name);
        g.runtime.close();
        this.#o.families.forget(g.runtime.state);
      }
    }
    this.#o.log.info("routes applied", {
      listener: this.listener,
      version,
      routes: compiled.routes.length,
      groups: [...compiled.groups],
      previous: before?.version ?? null,
    });
    return { ok: true, changed: true };
  }

  /** Records a rejected listener config; the last good one keeps serving. */
  rejectListener(version: string, issues: readonly RouteIssue[]): ListenerApplied {
    this.rejectedTotal++;
    this.rejected = { version, issues, at: this.#wallNow() };
    this.#o.log.warn("routes rejected; keeping the last good ones", {
      listener: this.listener,
      version,
      issues: issues.map((i) => `${i.field ? `${i.field}: ` : ""}${i.reason}`),
    });
    return { ok: false, issues };
  }

  #compile(version: string, config: ListenerConfig): Compiled {
    const groups = new Set<string>();
    const limiters = new Map<string, { key: string; limiter: TokenBucketLimiter }>();
    const routes = config.routes.map((route): CompiledRoute => {
      let lane = this.#routeLanes.get(route.name);
      if (lane === undefined) {
        lane = new RouteLane(this.#o.families, this.listener, route.name);
        this.#routeLanes.set(route.name, lane);
      }
      if (route.mirror) groups.add(route.mirror.group);
      // a response head is copied only for a route that changes it (header ops, a sticky cookie)
      const response = compileResponsePolicy(route);
      lane.response = response.ops.empty && !route.sticky ? null : response;
      lane.policy = routePolicy(route);
      const rl = route.rate_limit;
      let limiter: TokenBucketLimiter | null = null;
      if (rl) {
        // an unchanged limit keeps its buckets across swaps (an edit elsewhere resets nobody)
        const key = JSON.stringify(rl);
        const kept = this.#limiters.get(route.name);
        limiter = kept?.key === key ? kept.limiter : new TokenBucketLimiter({
          rate: rl.rate,
          burst: rl.burst,
          maxKeys: rl.max_keys,
        });
        limiters.set(route.name, { key, limiter });
      }
      return {
        route,
        lane,
        action: this.#action(route, groups),
        request: compileRequestPolicy(route),
        limiter,
        mirror: route.mirror
          ? { group: this.group(route.mirror.group), percent: route.mirror.percent }
          : null,
      };
    });
    this.#limiters = limiters;
    return { version, config, table: compileRoutes(config), routes, groups };
  }

  #action(route: Route, groups: Set<string>): Action {
    if (route.forward) {
      groups.add(route.forward.group);
      return { kind: "forward", group: this.group(route.forward.group) };
    }
    if (route.split) {
      const split = compileSplit(route.split);
      const map = new Map<string, ListenerGroup>();
      for (const s of route.split) {
        groups.add(s.group);
        map.set(s.group, this.group(s.group));
      }
      return { kind: "split", split, groups: map };
    }
    if (route.redirect) return { kind: "redirect", redirect: route.redirect };
    return { kind: "direct", response: compileDirectResponse(route.direct_response!) };
  }

  // ------------------------------------------------------------ requests

  /**
   * Where a request goes: a group (with the route's policies applied to its
   * head) or an answer. `secure`: it came over TLS (the scheme match, redirects).
   */
  dispatch(head: RequestHead, clientIp: string, secure = false): Dispatch {
    const c = this.#compiled;
    if (c === null) return NO_ROUTES;
    const req = this.#view.of(head, secure);
    const m = c.table.match(req);
    if (m === null) return this.#notFound;
    const r = c.routes[m.index]!;
    if (r.limiter !== null) {
      const rl = r.route.rate_limit!;
      const key = rl.key === "header" ? req.header(rl.header!) ?? "" : clientIp;
      const wait = r.limiter.take(key, this.coarseWall);
      if (wait > 0) {
        r.lane.countLimited();
        return textAnswer(429, "rate limited\n", { "retry-after": String(wait) }, "limit", r.lane);
      }
    }
    const a = r.action;
    switch (a.kind) {
      case "forward":
        return this.#forward(head, clientIp, r, a.group);
      case "split": {
        const sticky = r.lane.policy?.sticky;
        const pinned = sticky ? pinnedGroup(head, sticky.cookie, a.groups) : null;
        const g = pinned ?? a.groups.get(a.split.pick(this.#random()))!;
        return this.#forward(head, clientIp, r, g);
      }
      case "redirect": {
        const at = { scheme: req.scheme, host: head.host ?? "", target: head.target };
        return {
          status: a.redirect.status,
          cause: null,
          route: r.lane,
          render: (keepAlive, headRequest) =>
            redirectResponse(a.redirect, at, keepAlive, headRequest),
        };
      }
      case "direct":
        return {
          status: a.response.status,
          cause: null,
          route: r.lane,
          render: (keepAlive, headRequest) => a.response.bytes(headRequest, keepAlive),
        };
    }
  }

  #forward(head: RequestHead, clientIp: string, r: CompiledRoute, g: ListenerGroup): Dispatch {
    const snap = g.runtime.state.snapshot;
    if (snap === null) return NO_GROUP_CONFIG;
    const requestId = clientRequestId(head) ?? this.#ids.next();
    const out = applyRequestPolicy(head, r.request, { clientIp, requestId });
    const m = r.mirror;
    if (m !== null && mirrorThis(m.percent, this.#random())) {
      sendMirror(m.group.runtime, out, clientIp, requestId, r.lane);
    }
    return { ctx: g.lane, snap, head: out, route: r.lane, requestId };
  }

  /** Closes every group's runtime (timers, pools, health checks). */
  close(): void {
    for (const g of this.#groups.values()) g.runtime.close();
  }
}

/** The group of a sticky split whose usable backend the request's cookie names, or null. */
function pinnedGroup(
  head: RequestHead,
  cookie: string,
  groups: ReadonlyMap<string, ListenerGroup>,
): ListenerGroup | null {
  for (const g of groups.values()) {
    const snap = g.runtime.state.snapshot;
    if (snap !== null && stickyPin(head, cookie, snap.backends).index >= 0) return g;
  }
  return null;
}

/** Before any listener config: 503, as a `--group` proxy without config answers. */
const NO_ROUTES: Answer = textAnswer(
  503,
  "no routes loaded\n",
  { "retry-after": "1" },
  "no_backend",
  null,
);

/** A referenced group without a config (cannot happen once validated; a guard). */
const NO_GROUP_CONFIG: Answer = textAnswer(
  503,
  "no config loaded\n",
  { "retry-after": "1" },
  "no_backend",
  null,
);
